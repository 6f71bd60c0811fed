// upmesh-frontend: accepts HTTP/1.1 clients and hands whole requests to the workers.
#include <cstdlib>
#include <utility>

#include "frontend/frontend_server.h"
#include "shared/command_line.h"
#include "shared/curve.h"
#include "shared/log.h"
#include "shared/open_files.h"
#include "shared/shutdown_signal.h"

int main(int argc, char** argv) {
  using namespace upmesh;
  ProgramInfo info{"upmesh-frontend",
                   "accepts HTTP/1.1 clients and sends whole requests straight to upmesh workers",
                   "Config file keys: proxy.port, proxy.address, frontend.* (docs/configuration.md).\n"
                   "Stamps every request with the config seq and GRADUAL share of its copy of the router's\n"
                   "cluster table (--config-endpoint) and acknowledges each change to the router.\n"
                   "Workers connect to --worker-bind; the router tells them --worker-advertise. While the\n"
                   "router is away, traffic goes on with the last table.\n"
                   "Refuses ambiguous framing with 400, oversized headers with 431, long targets with\n"
                   "414, large bodies with 413. SIGINT/SIGTERM: finish requests in flight, then exit 0."};
  po::options_description options("Frontend options");
  options.add_options()
      ("address", po::value<std::string>()->value_name("ADDR"), "address to listen on (default 0.0.0.0)")
      ("port,p", po::value<int64_t>()->value_name("PORT"), "client port (default 8080)")
      ("router", po::value<std::string>()->value_name("ENDPOINT"),
       "router endpoint for frontends (default tcp://127.0.0.1:5550, or frontend.routerEndpoint)")
      ("config-endpoint", po::value<std::string>()->value_name("ENDPOINT"),
       "the router's config broadcast, to stamp requests by the current table (default "
       "tcp://127.0.0.1:5552, or frontend.configEndpoint; the router's --publish-bind)")
      ("worker-bind", po::value<std::string>()->value_name("ENDPOINT"),
       "where workers connect for requests (default tcp://127.0.0.1:5553, or frontend.workerBind)")
      ("worker-advertise", po::value<std::string>()->value_name("ENDPOINT"),
       "the endpoint the router tells workers (default: --worker-bind; a wildcard host such as "
       "tcp://0.0.0.0:5553 becomes the address this frontend connects to the router from)")
      ("queue-timeout-ms", po::value<int64_t>()->value_name("MS"),
       "longest wait for a worker with capacity, then 503 (default 10000, or frontend.queueTimeoutMs)")
      ("curve-secret-key", po::value<std::string>()->value_name("FILE"),
       "CURVE: this frontend's secret key (mesh.curve.clientSecretKeyFile)")
      ("curve-worker-secret-key", po::value<std::string>()->value_name("FILE"),
       "CURVE: the mesh's server secret key, for the worker socket (mesh.curve.serverSecretKeyFile)")
      ("curve-allowed-keys", po::value<std::string>()->value_name("PATH"),
       "CURVE: public keys of the workers allowed to connect (mesh.curve.allowedClientKeys)")
      ("curve-server-key", po::value<std::string>()->value_name("FILE"),
       "CURVE: the router's public key (mesh.curve.serverPublicKeyFile)")
      ("max-header-bytes", po::value<int64_t>()->value_name("N"), "largest header section accepted (default 16384)")
      ("max-body-bytes", po::value<int64_t>()->value_name("N"), "largest request body accepted (default 16 MiB)");
  MeshConfig config;
  po::variables_map flags = ParseCommandLine(argc, argv, info, options, &config);
  FrontendConfig& frontend = config.frontend;
  if (flags.count("address")) frontend.address = flags["address"].as<std::string>();
  if (flags.count("port")) frontend.port = static_cast<uint16_t>(FlagInt(flags, "port", 1, 65535, info.name));
  if (flags.count("router")) frontend.router_endpoint = flags["router"].as<std::string>();
  if (flags.count("config-endpoint")) frontend.config_endpoint = flags["config-endpoint"].as<std::string>();
  if (flags.count("worker-bind")) frontend.worker_bind = flags["worker-bind"].as<std::string>();
  if (flags.count("worker-advertise")) frontend.worker_advertise = flags["worker-advertise"].as<std::string>();
  if (flags.count("queue-timeout-ms")) {
    frontend.queue_timeout_ms = static_cast<int>(FlagInt(flags, "queue-timeout-ms", 1, 86400000, info.name));
  }
  for (const auto& [flag, endpoint] : {std::pair{"--router", frontend.router_endpoint},
                                       std::pair{"--config-endpoint", frontend.config_endpoint},
                                       std::pair{"--worker-bind", frontend.worker_bind},
                                       std::pair{"--worker-advertise", frontend.worker_advertise.empty()
                                                                          ? frontend.worker_bind
                                                                          : frontend.worker_advertise}}) {
    Status valid = ValidateEndpoint(flag, endpoint);
    if (!valid.ok()) ExitWithConfigError(info.name, valid.message());
  }
  if (flags.count("max-header-bytes")) {
    frontend.max_header_bytes = static_cast<size_t>(FlagInt(flags, "max-header-bytes", 256, 80 * 1024, info.name));
  }
  if (flags.count("max-body-bytes")) {
    frontend.max_body_bytes = static_cast<size_t>(FlagInt(flags, "max-body-bytes", 0, int64_t(1) << 40, info.name));
  }

  CurveConfig& curve = config.curve;
  if (flags.count("curve-secret-key")) curve.client_secret_key_file = flags["curve-secret-key"].as<std::string>();
  if (flags.count("curve-server-key")) curve.server_public_key_file = flags["curve-server-key"].as<std::string>();
  if (flags.count("curve-worker-secret-key")) {
    curve.server_secret_key_file = flags["curve-worker-secret-key"].as<std::string>();
  }
  if (flags.count("curve-allowed-keys")) curve.allowed_client_keys = flags["curve-allowed-keys"].as<std::string>();
  frontend::FrontendSecurity security;
  Status loaded = LoadCurveClientKeys(curve, &security.curve);
  bool server_keys_named = !curve.server_secret_key_file.empty() || !curve.allowed_client_keys.empty();
  if (loaded.ok() && server_keys_named) {
    loaded = LoadCurveServerKeys(curve, &security.worker_curve, &security.allowed_client_keys);
  }
  if (loaded.ok() && security.curve.enabled() != security.worker_curve.enabled()) {
    // Half a CURVE mesh would leave the worker socket open (or the router link).
    loaded = Status::InvalidArgument(
        "with CURVE, a frontend needs both its client key (mesh.curve.clientSecretKeyFile, serverPublicKeyFile) "
        "and the mesh's server key for its worker socket (mesh.curve.serverSecretKeyFile, allowedClientKeys; "
        "--curve-worker-secret-key, --curve-allowed-keys)");
  }
  if (!loaded.ok()) ExitWithConfigError(info.name, loaded.message());

  // One descriptor per client connection: past the limit, libzmq stops
  // accepting and further clients wait in the listen queue, never answered.
  constexpr uint64_t kFewOpenFiles = 4096;
  uint64_t open_files = RaiseOpenFilesLimit();
  if (open_files < kFewOpenFiles) {
    LOG_WARN("open files limit %llu: clients beyond about that many connections at once are not accepted; "
             "raise the hard limit (LimitNOFILE=, ulimit -Hn)",
             static_cast<unsigned long long>(open_files));
  }

  InstallShutdownHandlers();
  frontend::FrontendServer server(frontend, std::move(security));
  Status status = server.Start();
  if (!status.ok()) {
    LOG_ERROR("%s", status.message().c_str());
    return status.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  server.Run();
  return 0;
}
