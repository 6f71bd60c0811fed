// upmesh-router: the hub between frontends and workers, and the owner of the
// cluster table (REST config API, state file, config broadcast).
#include <arpa/inet.h>

#include <memory>
#include <string>
#include <vector>

#include "router/router_server.h"
#include "shared/api_token.h"
#include "shared/command_line.h"
#include "shared/curve.h"
#include "shared/log.h"
#include "shared/open_files.h"
#include "shared/shutdown_signal.h"
#include "shared/state_path.h"

namespace {

using namespace upmesh;

bool IsIpLiteral(const std::string& host) {
  unsigned char address[16];
  return inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// "7" -> 7 (a number, as the original proxy's config files have it);
// anything else ("1.10", "2024-05-rc1") stays a string, so "1.10" is not read as 1.1.
nlohmann::json VersionFromFlag(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) return std::stoll(text);
  return text;
}

// Applies --server and --cluster-version to the initial cluster (config file
// "cluster" or none) and validates the result like an API PUT would.
void ApplyClusterFlags(const po::variables_map& flags, const std::string& program, MeshConfig* config) {
  bool has_servers = flags.count("server") > 0;
  bool has_version = flags.count("cluster-version") > 0;
  if (!has_servers && !has_version) return;
  nlohmann::json cluster = config->has_cluster ? ClusterToJson(config->cluster) : nlohmann::json::object();
  if (cluster.contains("uuid") && cluster["uuid"] == "") cluster.erase("uuid");
  if (has_servers) {
    nlohmann::json servers = nlohmann::json::array();
    for (const std::string& text : flags["server"].as<std::vector<std::string>>()) {
      ServerAddress server;
      Status parsed = ParseServerAddress(text, &server);
      if (!parsed.ok()) ExitWithConfigError(program, "--server: " + parsed.message());
      servers.push_back({{IsIpLiteral(server.host) ? "ip" : "hostname", server.host}, {"port", server.port}});
    }
    cluster["servers"] = servers;
  } else if (!config->has_cluster) {
    ExitWithConfigError(program, "--cluster-version: there is no initial cluster to apply it to (add --server HOST:PORT)");
  }
  if (has_version) cluster["version"] = VersionFromFlag(flags["cluster-version"].as<std::string>());
  Cluster parsed;
  Status valid = ParseCluster(cluster, "cluster", &parsed);
  if (!valid.ok()) {
    ExitWithConfigError(program, std::string(has_version ? "--cluster-version/--server: " : "--server: ") +
                                     valid.message());
  }
  config->cluster = parsed;
  config->has_cluster = true;
}

// The config API's TLS context from --tls-cert/--tls-key over
// configService.tls (null: plain HTTP); exits with status 2 naming the
// setting and the file when the pair is incomplete or unusable.
std::unique_ptr<router::TlsServerContext> LoadApiTls(const po::variables_map& flags, const std::string& program,
                                                     const RouterConfig& router) {
  std::string cert_origin = "configService.tls.certFile";
  std::string key_origin = "configService.tls.keyFile";
  std::string cert_file = router.tls_cert_file;
  std::string key_file = router.tls_key_file;
  if (flags.count("tls-cert")) {
    cert_origin = "--tls-cert";
    cert_file = flags["tls-cert"].as<std::string>();
  }
  if (flags.count("tls-key")) {
    key_origin = "--tls-key";
    key_file = flags["tls-key"].as<std::string>();
  }
  if (cert_file.empty() && key_file.empty()) return nullptr;
  if (cert_file.empty()) {
    ExitWithConfigError(program,
                        key_origin + " needs its certificate too: --tls-cert FILE or configService.tls.certFile");
  }
  if (key_file.empty()) {
    ExitWithConfigError(program,
                        cert_origin + " needs its private key too: --tls-key FILE or configService.tls.keyFile");
  }
  std::unique_ptr<router::TlsServerContext> context;
  Status loaded = router::TlsServerContext::Load(cert_origin, cert_file, key_origin, key_file, &context);
  if (!loaded.ok()) ExitWithConfigError(program, loaded.message());
  LOG_INFO("config API: TLS with the certificate %s (valid until %s)", cert_file.c_str(),
           context->valid_until().c_str());
  if (context->expired()) {
    LOG_WARN("config API: the certificate %s expired on %s: clients will refuse it until it is renewed",
             cert_file.c_str(), context->valid_until().c_str());
  }
  return context;
}

// The API token, the API's TLS and the CURVE keys (flags over the config file); exits with
// status 2 naming the problem when one is configured but unusable.
router::RouterSecurity LoadSecurity(const po::variables_map& flags, const std::string& program, MeshConfig* config) {
  router::RouterSecurity security;
  ApiToken token;
  Status status = ResolveApiToken(flags.count("token-file") ? flags["token-file"].as<std::string>() : "",
                                  config->router.token_file, &token);
  if (!status.ok()) ExitWithConfigError(program, status.message());
  if (token.configured()) LOG_INFO("config API: every request needs the token from %s", token.origin.c_str());
  security.api_token = token.token;
  CurveConfig& curve = config->curve;
  if (flags.count("curve-secret-key")) curve.server_secret_key_file = flags["curve-secret-key"].as<std::string>();
  if (flags.count("curve-allowed-keys")) curve.allowed_client_keys = flags["curve-allowed-keys"].as<std::string>();
  status = LoadCurveServerKeys(curve, &security.curve, &security.allowed_client_keys);
  if (!status.ok()) ExitWithConfigError(program, status.message());
  security.api_tls = LoadApiTls(flags, program, config->router);
  return security;
}

// Every config API connection holds a descriptor and the soft limit is
// often 1024: raises it to the hard limit, and refuses a connection cap
// that still does not fit beside the mesh's own sockets.
void ReserveApiDescriptors(const RouterConfig& router, const std::string& program) {
  constexpr uint64_t kReserved = 256;  // frontends, workers, libzmq's own descriptors, the state file
  uint64_t open_files = RaiseOpenFilesLimit();
  if (open_files == 0) return;
  uint64_t needed = static_cast<uint64_t>(router.api_max_connections) + kReserved;
  if (needed > open_files) {
    ExitWithConfigError(program, "configService.maxConnections: " + std::to_string(router.api_max_connections) +
                                     " API connections need " + std::to_string(needed) +
                                     " open files, but the limit is " + std::to_string(open_files) +
                                     ": lower the setting or raise the limit (LimitNOFILE=, ulimit -n)");
  }
}

}  // namespace

int main(int argc, char** argv) {
  ProgramInfo info{
      "upmesh-router",
      "the upmesh control plane: owns the cluster table and tells workers where the frontends are",
      "Config file keys: router.*, configService.*, cluster (docs/configuration.md). Frontends announce\n"
      "their worker endpoint in their ACKs; the router sends the live list to every worker (FRONTENDS)\n"
      "each heartbeat and on every change, and workers connect to each frontend.\n"
      "\n"
      "Cluster versions: the REST API (docs/rest-api.md) on --config-address:--config-port adds, lists and\n"
      "deletes them. Every change is written to the --state-file first (atomically) and then broadcast to\n"
      "the workers and frontends on --publish-bind; the API answers a change once every live frontend has\n"
      "acknowledged it (at most --ack-wait-ms later). At start-up an existing state file wins;\n"
      "otherwise the table is seeded with the config file's \"cluster\", whose servers --server\n"
      "replaces and whose version --cluster-version sets, and the state file is created. No cluster\n"
      "at all is allowed (workers answer 503 until one is added). A corrupt state file stops the\n"
      "router (exit 1, file untouched).\n"
      "\n"
      "Every socket binds loopback unless told otherwise: open one to other hosts on purpose\n"
      "(e.g. --worker-bind tcp://0.0.0.0:5551), together with CURVE (mesh.curve.*, --curve-secret-key,\n"
      "--curve-allowed-keys: only frontends and workers with an allowed key may join) and an API token\n"
      "(--token-file, $UPMESH_API_TOKEN or configService.tokenFile; docs/configuration.md). An API\n"
      "reached from other hosts should also speak TLS (--tls-cert, --tls-key: TLS 1.2 or newer; a bad\n"
      "certificate or key stops the router at start, exit 2).\n"
      "\n"
      "The API stays reachable under abuse: a request must arrive whole within\n"
      "configService.requestTimeoutMs (default 10 s, else 408), a keep-alive connection may idle\n"
      "configService.idleTimeoutMs (5 s), and at configService.maxConnections (1024) a new\n"
      "connection closes the one waiting longest without a complete request.\n"
      "\n"
      "No request passes through the router: frontends send them straight to workers, and traffic\n"
      "goes on with the last table while the router is down. SIGINT/SIGTERM: exit 0 at once."};
  po::options_description options("Router options");
  options.add_options()
      ("frontend-bind", po::value<std::string>()->value_name("ENDPOINT"),
       "where frontends connect (default tcp://127.0.0.1:5550)")
      ("worker-bind", po::value<std::string>()->value_name("ENDPOINT"),
       "where workers connect (default tcp://127.0.0.1:5551)")
      ("publish-bind", po::value<std::string>()->value_name("ENDPOINT"),
       "config broadcast (PUB) that workers and frontends subscribe to (default tcp://127.0.0.1:5552)")
      ("ack-wait-ms", po::value<int64_t>()->value_name("MS"),
       "longest an API change waits for every live frontend to acknowledge it; a frontend that has not "
       "by then leaves the live set until its next acknowledgement (default 1000, router.ackWaitMs)")
      ("config-address", po::value<std::string>()->value_name("ADDRESS"),
       "address of the REST config API (default 127.0.0.1)")
      ("token-file", po::value<std::string>()->value_name("FILE"),
       "the config API's bearer token, in a file only its owner may read (else $UPMESH_API_TOKEN, "
       "else configService.tokenFile)")
      ("tls-cert", po::value<std::string>()->value_name("FILE"),
       "serve the config API over TLS (https) with this PEM certificate chain, leaf first\n"
       "(configService.tls.certFile; needs --tls-key)")
      ("tls-key", po::value<std::string>()->value_name("FILE"),
       "the PEM private key of --tls-cert, unencrypted, in a file only its owner may read\n"
       "(configService.tls.keyFile)")
      ("curve-secret-key", po::value<std::string>()->value_name("FILE"),
       "CURVE: the router's secret key (mesh.curve.serverSecretKeyFile)")
      ("curve-allowed-keys", po::value<std::string>()->value_name("PATH"),
       "CURVE: directory of *.pub files or file of public keys allowed to join (mesh.curve.allowedClientKeys)")
      ("config-port", po::value<int64_t>()->value_name("PORT"), "port of the REST config API (default 9090)")
      ("state-file", po::value<std::string>()->value_name("FILE"),
       "where the cluster table persists (default: $STATE_DIRECTORY, /var/lib/upmesh as root, else\n"
       "~/.local/state/upmesh; file router-state.json)")
      ("server", po::value<std::vector<std::string>>()->value_name("HOST:PORT")->composing(),
       "a server of the initial cluster (repeatable; replaces the config file's cluster.servers)")
      ("cluster-version", po::value<std::string>()->value_name("VERSION"),
       "version of the initial cluster (digits: a number; else a string such as 1.10)");
  MeshConfig config;
  po::variables_map flags = ParseCommandLine(argc, argv, info, options, &config);
  RouterConfig& router = config.router;
  if (flags.count("frontend-bind")) router.frontend_bind = flags["frontend-bind"].as<std::string>();
  if (flags.count("worker-bind")) router.worker_bind = flags["worker-bind"].as<std::string>();
  if (flags.count("publish-bind")) router.publish_bind = flags["publish-bind"].as<std::string>();
  for (const auto& [flag, endpoint] : {std::pair{"--frontend-bind", router.frontend_bind},
                                       std::pair{"--worker-bind", router.worker_bind},
                                       std::pair{"--publish-bind", router.publish_bind}}) {
    Status valid = ValidateEndpoint(flag, endpoint);
    if (!valid.ok()) ExitWithConfigError(info.name, valid.message());
  }
  if (flags.count("ack-wait-ms")) router.ack_wait_ms = static_cast<int>(FlagInt(flags, "ack-wait-ms", 1, 60000, info.name));
  if (flags.count("config-address")) {
    router.config_address = flags["config-address"].as<std::string>();
    if (router.config_address.empty()) ExitWithConfigError(info.name, "--config-address: must not be empty");
  }
  if (flags.count("config-port")) router.config_port = static_cast<uint16_t>(FlagInt(flags, "config-port", 1, 65535, info.name));
  if (flags.count("state-file")) {
    router.state_file = flags["state-file"].as<std::string>();
    if (router.state_file.empty()) ExitWithConfigError(info.name, "--state-file: must not be empty");
  }
  if (router.state_file.empty()) {
    router.state_file = DefaultStateFile();
    if (router.state_file.empty()) {
      ExitWithConfigError(info.name, "no state file: set configService.stateFile or --state-file (HOME is not set)");
    }
    Status created = CreateParentDirectory(router.state_file);
    if (!created.ok()) ExitWithConfigError(info.name, created.message() + " (set configService.stateFile or --state-file)");
  }
  ApplyClusterFlags(flags, info.name, &config);
  if (config.has_cluster) {
    Status allowed = CheckServerNetworks(config.cluster, router.backend_networks, "cluster");
    if (!allowed.ok()) ExitWithConfigError(info.name, allowed.message() + " (the initial cluster, --server or the config file)");
  }
  router::RouterSecurity security = LoadSecurity(flags, info.name, &config);
  ReserveApiDescriptors(router, info.name);

  InstallShutdownHandlers();
  router::RouterServer server(router, config.has_cluster ? &config.cluster : nullptr, std::move(security));
  Status status = server.Start();
  if (!status.ok()) {
    LOG_ERROR("%s", status.message().c_str());
    return 1;
  }
  server.Run();
  return 0;
}
