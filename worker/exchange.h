// Exchange: one request from the router on its way through the worker, from
// the REQ that brought it until the REP that answers it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>

#include <zmq.hpp>

#include "shared/wire.h"

namespace upmesh::worker {

struct BackendConnection;

struct Exchange {
  // Where the exchange is, which decides what its deadline means.
  enum class Phase {
    kWaitingForCapacity,    // the router sent more than our capacity
    kWaitingForConnection,  // the server's pool is at max connections
    kConnecting,            // a new connection is being opened for it
    kExchanging,            // request written (or being written), response awaited
  };

  // Frames echoed back in the REP, kept as received (no copies).
  zmq::message_t frontend_id;
  zmq::message_t request_id;
  wire::RequestMeta meta;
  zmq::message_t head;  // request line + fields, no final blank line
  zmq::message_t body;

  size_t server = 0;  // index of the backend server it goes to
  Phase phase = Phase::kWaitingForCapacity;
  int64_t deadline_ms = 0;  // monotonic; what happens then depends on phase
  bool retried = false;     // the one stale keep-alive retry has been used
  BackendConnection* connection = nullptr;  // while kConnecting/kExchanging

  std::list<Exchange>::iterator self;  // its place in the worker's list
};

}  // namespace upmesh::worker
