// upmesh-worker: forwards requests from the frontends to the cluster's backend
// servers. See docs/worker.md.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "shared/command_line.h"
#include "shared/config.h"
#include "shared/curve.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"
#include "worker/backend_pool.h"
#include "worker/worker.h"

namespace {

constexpr const char* kProgram = "upmesh-worker";

std::string DefaultName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "worker");
  return std::string(host) + "-" + std::to_string(getpid());
}

}  // namespace

int main(int argc, char** argv) {
  using upmesh::ExitWithConfigError;
  namespace po = upmesh::po;

  upmesh::MeshConfig config;
  po::options_description options("Worker options");
  options.add_options()
      ("router", po::value<std::string>()->value_name("EP"),
       "router endpoint for workers (default tcp://127.0.0.1:5551, or worker.routerEndpoint)")
      ("config-endpoint", po::value<std::string>()->value_name("EP"),
       "the router's config broadcast (default tcp://127.0.0.1:5552, or worker.configEndpoint)")
      ("frontend", po::value<std::vector<std::string>>()->value_name("EP"),
       "a frontend's worker endpoint to take requests from, repeatable (worker.frontends); besides "
       "these, the worker connects to every frontend the router lists")
      ("capacity", po::value<int64_t>()->value_name("N"),
       "requests in flight at once (default 256, or worker.capacity)")
      ("name", po::value<std::string>()->value_name("NAME"),
       "worker id, also sent as X-Upmesh-Worker (default <hostname>-<pid>)")
      ("access-log", po::value<std::string>()->value_name("PATH"),
       "write one JSON line per request to PATH (appended; \"-\" for stdout), off by default "
       "(worker.accessLog); lines are dropped, never waited for, when PATH is slower than the traffic")
      ("access-log-sample", po::value<double>()->value_name("R"),
       "log this fraction of requests, 0 < R <= 1 (default 1, or worker.accessLogSample)")
      ("curve-secret-key", po::value<std::string>()->value_name("FILE"),
       "CURVE: this worker's secret key (mesh.curve.clientSecretKeyFile)")
      ("curve-server-key", po::value<std::string>()->value_name("FILE"),
       "CURVE: the mesh's server public key, the router's and the frontends' (mesh.curve.serverPublicKeyFile)");
  upmesh::ProgramInfo info{
      kProgram, "forwards requests from upmesh frontends to the backend servers of each cluster version",
      "The cluster versions come from the router (a snapshot at start, then its config broadcast);\n"
      "the newest version's upgradeTransition decides, per request, which version serves it.\n"
      "Requests come straight from the frontends: the router lists them (FRONTENDS) and the worker\n"
      "keeps one link to each, which survives the router being down.\n"
      "Other settings (timeouts, pool size) come from the \"worker\" section of --config."};
  po::variables_map flags = upmesh::ParseCommandLine(argc, argv, info, options, &config);

  upmesh::WorkerConfig& worker_config = config.worker;
  if (flags.count("router")) worker_config.router_endpoint = flags["router"].as<std::string>();
  if (flags.count("config-endpoint")) worker_config.config_endpoint = flags["config-endpoint"].as<std::string>();
  if (flags.count("frontend")) worker_config.frontends = flags["frontend"].as<std::vector<std::string>>();
  for (const std::string& endpoint : worker_config.frontends) {
    upmesh::Status valid = upmesh::ValidateEndpoint("--frontend", endpoint);
    if (!valid.ok()) ExitWithConfigError(kProgram, valid.message());
  }
  for (const auto& [flag, endpoint] : {std::pair{"--router", worker_config.router_endpoint},
                                       std::pair{"--config-endpoint", worker_config.config_endpoint}}) {
    upmesh::Status valid = upmesh::ValidateEndpoint(flag, endpoint);
    if (!valid.ok()) ExitWithConfigError(kProgram, valid.message());
  }
  if (flags.count("capacity")) {
    worker_config.capacity = static_cast<int>(upmesh::FlagInt(flags, "capacity", 1, 100000, kProgram));
  }
  if (flags.count("access-log")) worker_config.access_log = flags["access-log"].as<std::string>();
  if (flags.count("access-log-sample")) {
    double sample = flags["access-log-sample"].as<double>();
    if (!(sample > 0 && sample <= 1)) {
      ExitWithConfigError(kProgram, "--access-log-sample: must be > 0 and <= 1, got " + std::to_string(sample));
    }
    worker_config.access_log_sample = sample;
  }
  std::string name = flags.count("name") ? flags["name"].as<std::string>() : DefaultName();
  // The name is the ZeroMQ routing id: 1..255 bytes, not starting with NUL.
  if (name.empty() || name.size() > 255 || name[0] == '\0') {
    ExitWithConfigError(kProgram, "--name: must be 1..255 bytes");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      ExitWithConfigError(kProgram, "--name: must be printable without spaces (it becomes a header value)");
    }
  }

  upmesh::worker::WorkerOptions worker_options;
  worker_options.name = name;
  worker_options.config = worker_config;
  upmesh::CurveConfig& curve = config.curve;
  if (flags.count("curve-secret-key")) curve.client_secret_key_file = flags["curve-secret-key"].as<std::string>();
  if (flags.count("curve-server-key")) curve.server_public_key_file = flags["curve-server-key"].as<std::string>();
  upmesh::Status keys = upmesh::LoadCurveClientKeys(curve, &worker_options.curve);
  if (!keys.ok()) ExitWithConfigError(kProgram, keys.message());

  upmesh::InstallShutdownHandlers();
  upmesh::worker::Worker worker(std::move(worker_options));
  upmesh::Status status = worker.Run();
  if (status.code() == upmesh::Status::Code::kInvalidArgument) {
    ExitWithConfigError(kProgram, status.message());
  }
  if (!status.ok()) {
    LOG_ERROR("%s", status.message().c_str());
    return 1;
  }
  LOG_INFO("stopped");
  return 0;
}
