// ClientRequest and Exchange: one request from the router, and each of its
// trips to a backend server.
//
// A ClientRequest lives from the REQ that brings it until the one REP that
// answers it. It has one leg, or two in CONCURRENT mode (the new and the old
// version, compared). Each leg is carried by an Exchange: the request sent
// to one server of one cluster version over one pooled connection. When a
// version cannot be reached, the leg's next Exchange goes to the next older
// version (fallback).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>

#include <zmq.hpp>

#include "shared/health_report.h"
#include "shared/wire.h"

namespace upmesh::worker {

struct BackendConnection;
struct ClientRequest;

// How a leg ended.
struct LegResult {
  enum class Kind { kPending, kResponse, kFailed };
  Kind kind = Kind::kPending;
  std::string cluster_uuid;  // the version that answered (or failed last)
  // kResponse: the backend's response, in the mesh's shape (mesh_response.h).
  int status = 0;
  std::string head;
  std::string body;
  bool chunked = false;     // how the backend framed it
  int64_t elapsed_ms = 0;   // request start to response complete
  int64_t elapsed_us = 0;
  // kFailed: what upmesh answers instead (502/504), why, and what kind of failure.
  int error_status = 0;
  std::string error;
  Outcome failure = Outcome::kRefused;
};

struct Exchange {
  // Where the exchange is, which decides what its deadline means.
  enum class Phase {
    kWaitingForConnection,  // the server's pool is at max connections
    kConnecting,            // a new connection is being opened for it
    kExchanging,            // request written (or being written), response awaited
  };

  ClientRequest* request = nullptr;
  int leg = 0;            // 0: primary (the chosen or newer version), 1: compared (older)
  int cluster_index = 0;  // in the worker's route table, newest first
  std::string cluster_uuid;
  int64_t started_ms = 0;
  int64_t started_us = 0;

  zmq::message_t head;  // request line + fields, no final blank line (shares the request's buffer)
  zmq::message_t body;

  size_t server = 0;    // index of the backend pool it goes to
  size_t position = 0;  // ...and that server's place in its route
  Phase phase = Phase::kWaitingForConnection;
  int64_t deadline_ms = 0;  // monotonic; what happens then depends on phase
  int64_t give_up_ms = INT64_MAX;  // an active health check's own timeout, whatever the phase
  bool retried = false;     // the one stale keep-alive retry has been used
  BackendConnection* connection = nullptr;  // while kConnecting/kExchanging

  std::list<Exchange>::iterator self;  // its place in the Upstream's list
};

struct ClientRequest {
  std::string origin;  // the endpoint of the frontend link it came on: the REP goes back there
  // Frames echoed back in the REP, kept as received (no copies).
  zmq::message_t request_id;
  wire::RequestMeta meta;
  wire::RouteStamp stamp;
  zmq::message_t head;
  zmq::message_t body;

  int64_t deadline_ms = 0;     // while waiting for capacity or for the cluster table
  std::string response_fields; // added to the response head (Set-Cookie, ...)
  bool concurrent = false;     // two legs, compared
  bool shielded = false;       // the watched version failed it; an older one answers
  bool probe = false;          // an active health check of one server: no client, no reply
  size_t probe_pool = 0;       // ...of this server (pool index)
  int64_t delay_tolerance_ms = 0;
  int legs_open = 0;
  // Per leg, the servers of one version tried so far (bits: places in the
  // route, the first 64), so a retry goes to another server; and whether
  // the one re-send of an idempotent request whose server died was used.
  int tried_version[2] = {-1, -1};
  uint64_t tried_servers[2] = {0, 0};
  bool resent[2] = {false, false};
  Exchange* live[2] = {nullptr, nullptr};  // each leg's exchange under way
  LegResult results[2];
  // For the access log: when the request arrived (0 when not logged), its
  // trips to backends, the pool of each leg's last trip, and the leg whose
  // result is the reply (-1: a reply made before any leg ended).
  int64_t received_us = 0;
  int trips = 0;
  size_t last_pool[2] = {0, 0};
  int answer_leg = -1;

  std::list<ClientRequest>::iterator self;
};

}  // namespace upmesh::worker
