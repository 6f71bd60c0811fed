// upmesh-router: the hub between frontends and workers.
#include "router/router_server.h"
#include "shared/command_line.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"

int main(int argc, char** argv) {
  using namespace upmesh;
  ProgramInfo info{"upmesh-router",
                   "balances whole HTTP requests from upmesh frontends over live upmesh workers",
                   "Config file keys: router.* (docs/configuration.md). Workers announce their capacity\n"
                   "and heartbeat; a worker silent for heartbeatLiveness intervals is dropped and its\n"
                   "idempotent requests go to another worker. SIGINT/SIGTERM: finish requests in flight\n"
                   "(bounded by router.drainTimeoutMs), then exit 0."};
  po::options_description options("Router options");
  options.add_options()
      ("frontend-bind", po::value<std::string>()->value_name("ENDPOINT"),
       "where frontends connect (default tcp://*:5550)")
      ("worker-bind", po::value<std::string>()->value_name("ENDPOINT"),
       "where workers connect (default tcp://*:5551)");
  MeshConfig config;
  po::variables_map flags = ParseCommandLine(argc, argv, info, options, &config);
  if (flags.count("frontend-bind")) config.router.frontend_bind = flags["frontend-bind"].as<std::string>();
  if (flags.count("worker-bind")) config.router.worker_bind = flags["worker-bind"].as<std::string>();
  for (const auto& [flag, endpoint] : {std::pair{"--frontend-bind", config.router.frontend_bind},
                                       std::pair{"--worker-bind", config.router.worker_bind}}) {
    Status valid = ValidateEndpoint(flag, endpoint);
    if (!valid.ok()) ExitWithConfigError(info.name, valid.message());
  }

  InstallShutdownHandlers();
  router::RouterServer server(config.router);
  Status status = server.Start();
  if (!status.ok()) {
    LOG_ERROR("%s", status.message().c_str());
    return 1;
  }
  server.Run();
  return 0;
}
