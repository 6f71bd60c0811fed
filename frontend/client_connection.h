// ClientConnection: what the frontend knows about one client TCP connection
// (one ZMQ_STREAM peer). Owned by FrontendServer; plain data plus the
// request reader.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "shared/http_request_reader.h"

namespace upmesh::frontend {

// One request of the connection, from the moment it was sent to the router
// until its response has been handed to the STREAM socket. Responses leave in
// the order requests arrived (pipelining), whatever order workers answer in.
struct ResponseSlot {
  uint64_t request_id = 0;
  int64_t sent_at_ms = 0;     // when the request went to the router (reply timeout)
  bool close_after = false;   // the connection closes once this response is out
  bool http10 = false;        // client spoke HTTP/1.0 (keep-alive must be explicit)
  bool is_head = false;       // HEAD: never a body, even on an error response
  bool unsafe = false;        // not a safe method: nothing else is in flight beside it
  bool ready = false;         // the response below has arrived
  std::string head;           // status line + fields, no Connection field, no blank line
  zmq::message_t body;
};

struct ClientConnection {
  explicit ClientConnection(const http::RequestLimits& limits) : reader(limits) {}

  std::string routing_id;  // the STREAM peer id
  std::string client_ip;   // for X-Forwarded-For
  http::RequestReader reader;
  std::string unparsed;    // bytes read but not parsed yet (pipeline full)
  std::deque<ResponseSlot> slots;
  // A request read while earlier ones are in flight, that may not go to the
  // mesh before they are answered (an unsafe method, RFC 9112 9.3.2).
  std::optional<http::Request> held;
  std::deque<zmq::message_t> outbox;  // response bytes the STREAM socket refused for now (EAGAIN)

  int64_t last_activity_ms = 0;   // last byte received or response sent (idle timeout)
  int64_t message_start_ms = 0;   // first byte of the request being read (408 timeouts)
  int64_t body_start_ms = 0;      // its header section completed
  bool reading_stopped = false;   // refused, closing, or draining: input is discarded
  int64_t close_at_ms = 0;        // when to close (lingering close), 0: not closing
};

}  // namespace upmesh::frontend
