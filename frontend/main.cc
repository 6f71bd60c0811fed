// upmesh-frontend: accepts HTTP/1.1 clients and hands whole requests to the router.
#include <cstdlib>
#include <utility>

#include "frontend/frontend_server.h"
#include "shared/command_line.h"
#include "shared/curve.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"

int main(int argc, char** argv) {
  using namespace upmesh;
  ProgramInfo info{"upmesh-frontend",
                   "accepts HTTP/1.1 clients and sends whole requests through the upmesh router",
                   "Config file keys: proxy.port, proxy.address, frontend.* (docs/configuration.md).\n"
                   "Stamps every request with the config seq and GRADUAL share of its copy of the router's\n"
                   "cluster table (--config-endpoint) and acknowledges each change to the router.\n"
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
      ("curve-secret-key", po::value<std::string>()->value_name("FILE"),
       "CURVE: this frontend's secret key (mesh.curve.clientSecretKeyFile)")
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
  for (const auto& [flag, endpoint] : {std::pair{"--router", frontend.router_endpoint},
                                       std::pair{"--config-endpoint", frontend.config_endpoint}}) {
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
  CurveClientKeys keys;
  Status loaded = LoadCurveClientKeys(curve, &keys);
  if (!loaded.ok()) ExitWithConfigError(info.name, loaded.message());

  InstallShutdownHandlers();
  frontend::FrontendServer server(frontend, std::move(keys));
  Status status = server.Start();
  if (!status.ok()) {
    LOG_ERROR("%s", status.message().c_str());
    return status.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  server.Run();
  return 0;
}
