// The mesh configuration: one JSON file can configure every process.
//
//   {
//     "proxy":         {"port": 8080, "address": "0.0.0.0"},      // frontend's client port
//     "configService": {"port": 9090, "stateFile": "/var/lib/upmesh/router-state.json", "tokenFile": ...,
//                       "requestTimeoutMs": 10000, "idleTimeoutMs": 5000, "maxConnections": 1024,
//                       "tls": {"certFile": ..., "keyFile": ...}},  // router's REST API
//     "cluster":       {"version": 1, "servers": [{"ip": "127.0.0.1", "port": 8001}]},
//     "frontend":      {"routerEndpoint": "tcp://127.0.0.1:5550", "configEndpoint": "tcp://127.0.0.1:5552",
//                       "workerBind": "tcp://127.0.0.1:5553", ...limits},
//     "router":        {"frontendBind": "tcp://127.0.0.1:5550", "workerBind": "tcp://127.0.0.1:5551",
//                       "publishBind": "tcp://127.0.0.1:5552", ...},
//     "worker":        {"routerEndpoint": "tcp://127.0.0.1:5551", "configEndpoint": "tcp://127.0.0.1:5552",
//                       "frontends": [], ...},
//     "mesh":          {"curve": {...key files}},                 // CURVE on every mesh socket
//     "backendNetworks": {"allow": [], "deny": ["169.254.0.0/16", "fe80::/10"]},  // router and worker
//     "logLevel":      "info"
//   }
//
// Every key is optional and has a default; docs/configuration.md lists them
// all. Unknown keys are errors (a typo must not silently fall back to a
// default), and every error names the key: "proxy.port: must be an integer
// in 1..65535".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shared/cluster.h"
#include "shared/cluster_limits.h"
#include "shared/network_policy.h"
#include "shared/status.h"

namespace upmesh {

struct FrontendConfig {
  std::string address = "0.0.0.0";  // proxy.address
  uint16_t port = 8080;              // proxy.port
  std::string router_endpoint = "tcp://127.0.0.1:5550";
  std::string config_endpoint = "tcp://127.0.0.1:5552";  // the router's config broadcast (SUB)
  // frontend.workerBind: workers connect here for requests (ROUTER).
  std::string worker_bind = "tcp://127.0.0.1:5553";
  // frontend.workerAdvertise: the endpoint the router tells workers; empty: worker_bind.
  std::string worker_advertise;
  size_t max_queued = 10000;     // requests waiting for a worker with capacity
  int queue_timeout_ms = 10000;  // waiting longer than this -> 503
  int heartbeat_ms = 500;        // HB to workers; a worker silent for liveness intervals is lost
  int heartbeat_liveness = 3;
  size_t max_header_bytes = 16 * 1024;     // whole header section -> 431
  size_t max_target_bytes = 8 * 1024;      // request target -> 414
  size_t max_body_bytes = 16 * 1024 * 1024;  // de-chunked body -> 413
  int header_timeout_ms = 10000;  // first byte to end of headers -> 408
  int body_timeout_ms = 60000;    // end of headers to end of body -> 408
  int reply_timeout_ms = 60000;   // request sent to router until reply -> 504
  int idle_timeout_ms = 60000;    // keep-alive connection with nothing to do
  int max_pipelined = 32;         // requests in flight per connection
  int drain_timeout_ms = 10000;   // on SIGTERM, how long in-flight work may take
};

// Everything the router binds defaults to loopback: other hosts reach it
// only through an endpoint an operator opened on purpose.
struct RouterConfig {
  std::string frontend_bind = "tcp://127.0.0.1:5550";
  std::string worker_bind = "tcp://127.0.0.1:5551";
  uint16_t config_port = 9090;  // configService.port: the REST config API
  std::string config_address = "127.0.0.1";  // configService.address
  std::string token_file;  // configService.tokenFile: the API's bearer token (empty: no token)
  // configService.tls.certFile / keyFile: the API speaks TLS with this chain and key (both or neither).
  std::string tls_cert_file;
  std::string tls_key_file;
  // configService.stateFile: API changes persist here; empty: DefaultStateFile() (shared/state_path.h).
  std::string state_file;
  ClusterLimits limits;  // configService.max*: what the API accepts and the table holds
  // The API stays reachable: a whole request (and a new connection's TLS
  // handshake) must arrive within api_request_timeout_ms (408), a keep-alive
  // connection may idle api_idle_timeout_ms, and beyond api_max_connections
  // the connection waiting longest without a complete request is closed.
  int api_request_timeout_ms = 10000;  // configService.requestTimeoutMs
  int api_idle_timeout_ms = 5000;      // configService.idleTimeoutMs
  size_t api_max_connections = 1024;   // configService.maxConnections
  NetworkPolicy backend_networks = NetworkPolicy::Default();  // backendNetworks: checked at PUT
  std::string publish_bind = "tcp://127.0.0.1:5552";  // config broadcast (PUB)
  int heartbeat_ms = 500;
  int heartbeat_liveness = 3;  // missed heartbeats before a worker or frontend is dropped
  // An API change is answered once every live frontend acknowledged it, or
  // after this long (the frontends that did not are dropped from the live set).
  int ack_wait_ms = 1000;
};

struct WorkerConfig {
  std::string router_endpoint = "tcp://127.0.0.1:5551";
  std::string config_endpoint = "tcp://127.0.0.1:5552";  // the router's config broadcast (SUB)
  // worker.frontends: frontends' worker endpoints to connect to besides those the router lists.
  std::vector<std::string> frontends;
  int capacity = 256;  // requests in flight at once
  int connect_timeout_ms = 2000;    // -> 502
  int response_timeout_ms = 30000;  // request written until response complete -> 504
  size_t max_response_bytes = 64 * 1024 * 1024;  // -> 502
  int max_connections_per_server = 128;
  int idle_connection_timeout_ms = 30000;  // pooled keep-alive connection unused
  int heartbeat_ms = 500;
  int heartbeat_liveness = 3;
  int drain_timeout_ms = 10000;
  NetworkPolicy backend_networks = NetworkPolicy::Default();  // backendNetworks: checked when resolved
  std::string access_log;         // "": off; "-": stdout; else a file (shared/access_log.h)
  double access_log_sample = 1;   // fraction of requests logged
};

// mesh.curve: ZeroMQ CURVE on every mesh socket (shared/curve.h). All empty:
// CURVE is off. The router needs server_secret_key_file and
// allowed_client_keys; a frontend or worker needs client_secret_key_file and
// server_public_key_file.
struct CurveConfig {
  std::string server_secret_key_file;  // the router's secret key
  std::string server_public_key_file;  // the router's public key (the router checks it matches its secret)
  std::string allowed_client_keys;     // router: a directory of *.pub files, or a file of keys, one a line
  std::string client_secret_key_file;  // a frontend's or worker's own secret key
};

struct MeshConfig {
  FrontendConfig frontend;
  RouterConfig router;
  WorkerConfig worker;
  CurveConfig curve;  // mesh.curve
  Cluster cluster;  // the initial cluster version (router); see has_cluster
  bool has_cluster = false;
  std::string log_level = "info";
};

// Reads and validates a config file into *config (whose fields keep their
// defaults for absent keys). Errors name the file and the key.
Status LoadConfigFile(const std::string& path, MeshConfig* config);

// Same, from JSON text already in memory (`origin` names it in errors).
Status ParseConfig(const std::string& text, const std::string& origin, MeshConfig* config);

// Checks that `endpoint` looks like tcp://HOST:PORT or ipc://PATH; errors start with `name`.
Status ValidateEndpoint(const std::string& name, const std::string& endpoint);

// Parses "host:port" (e.g. "127.0.0.1:8001", "backend-v1:80", "[::1]:8001").
Status ParseServerAddress(const std::string& text, ServerAddress* server);

}  // namespace upmesh
