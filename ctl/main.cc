// upmeshctl: the operator's client for the config API of upmesh-router.
//
//   upmeshctl [--api HOST:PORT] [--json] [--timeout S] COMMAND [ARGS]
//
// Commands: list, status [--watch], show ID, explain ID, add (--file FILE |
// flags), delete ID, rollback ID, keygen DIR NAME.
// Exit status: 0 done; 1 the API answered an error; 2 usage error;
// 3 the API could not be reached. docs/upmeshctl.md has the details.
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "ctl/cluster_input.h"
#include "ctl/cluster_view.h"
#include "ctl/config_api.h"
#include "ctl/tls_client.h"
#include "shared/api_token.h"
#include "shared/command_line.h"
#include "shared/config.h"
#include "shared/curve.h"
#include "shared/json_reader.h"  // UPMESH_RETURN_IF_ERROR
#include "shared/shutdown_signal.h"

namespace upmesh::ctl {
namespace {

namespace po = boost::program_options;
using nlohmann::json;

constexpr char kProgram[] = "upmeshctl";
constexpr int kExitApiError = 1;
constexpr int kExitUnreachable = 3;
constexpr double kDefaultTimeoutSeconds = 10;
constexpr char kCommands[] = "list, status, show, explain, add, delete, rollback or keygen";

const char kUsage[] =
    "upmeshctl - manages the cluster versions of upmesh-router through its config API\n"
    "\n"
    "Usage: upmeshctl [options] COMMAND [command options]\n"
    "\n"
    "Commands:\n"
    "  list                     the cluster versions, newest first, with their live state\n"
    "  status [--watch]         the mesh at a glance: versions with share, health, rates and latency,\n"
    "                           the GRADUAL ramp, mismatches, rollbacks, workers and frontends\n"
    "  show ID                  one cluster version in detail (state, recent CONCURRENT mismatches)\n"
    "  explain ID               a version's health and, if it was rolled back, the evidence why\n"
    "  add --file FILE          add a cluster version from a JSON file ('-' for stdin); prints its uuid\n"
    "  add --version V --server HOST:PORT [...]\n"
    "                           add a cluster version described by flags (upmeshctl add --help)\n"
    "  delete ID                delete a cluster version (its traffic moves to the next newest)\n"
    "  rollback ID              roll a cluster version back: it stays listed but gets no traffic\n"
    "  keygen DIR NAME          write a CURVE key pair for the mesh: DIR/NAME.key (secret), DIR/NAME.pub\n"
    "\n";

const char kExitStatuses[] =
    "Exit status: 0 done; 1 the API answered an error (its message goes to stderr);\n"
    "2 usage error; 3 the API could not be reached.\n"
    "The API address: --api, else $UPMESH_API, else configService.port of --config FILE, else 127.0.0.1:9090.\n"
    "The API token: --token-file, else $UPMESH_API_TOKEN, else configService.tokenFile of --config FILE,\n"
    "else none.\n"
    "https: --api https://HOST:PORT (or a --config FILE with configService.tls) checks the router's\n"
    "certificate against --tls-ca, else $UPMESH_TLS_CA, else the system trust store, and that it names HOST.\n";

// Options accepted both before and after the command.
po::options_description ConnectionOptions() {
  po::options_description options("Connection and output options");
  options.add_options()
      ("api", po::value<std::string>()->value_name("HOST:PORT"),
       "the config API, https://HOST:PORT for TLS (default $UPMESH_API, else 127.0.0.1:9090)")
      ("config,c", po::value<std::string>()->value_name("FILE"),
       "mesh config file: the API defaults to 127.0.0.1:<configService.port>")
      ("token-file", po::value<std::string>()->value_name("FILE"),
       "the API's bearer token, in a file only you can read (default $UPMESH_API_TOKEN)")
      ("tls-ca", po::value<std::string>()->value_name("FILE"),
       "https: the PEM CA certificate(s) the router's certificate must chain to (default $UPMESH_TLS_CA, "
       "else the system trust store)")
      ("json", "print the API's JSON (pretty) instead of text, for scripts")
      ("timeout", po::value<double>()->value_name("SECONDS"),
       "give up on the API after this long (default 10)");
  return options;
}

[[noreturn]] void UsageError(const std::string& message) { ExitWithConfigError(kProgram, message); }

// `command` is "" for the options before the command.
po::variables_map Parse(const std::vector<std::string>& args, const po::options_description& options,
                        const po::positional_options_description& positional, const std::string& command) {
  po::variables_map flags;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), flags);
    po::notify(flags);
  } catch (const po::error& e) {
    if (command.empty()) UsageError(std::string(e.what()) + " (see upmeshctl --help)");
    UsageError(command + ": " + e.what() + " (see upmeshctl " + command + " --help)");
  }
  return flags;
}

// The index in argv of the command: the first argument that is neither an
// option nor the value of a global option that takes one.
int FindCommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--api" || arg == "--timeout" || arg == "--config" || arg == "-c" || arg == "--token-file" ||
        arg == "--tls-ca") {
      ++i;
    } else if (arg.empty() || arg[0] != '-') {
      return i;
    }
  }
  return argc;
}

// The parsed command line: global flags and the command's flags, where a
// connection option after the command wins over the same one before it.
struct CommandLine {
  std::string command;
  po::variables_map global;
  po::variables_map local;

  const po::variable_value* Find(const std::string& name) const {
    if (local.count(name)) return &local[name];
    if (global.count(name)) return &global[name];
    return nullptr;
  }
};

// --api, else $UPMESH_API, else the config file's configService, else the default.
ApiAddress ResolveApiAddress(const CommandLine& line) {
  ApiAddress address;
  auto parse = [&address](const std::string& text, const std::string& origin) {
    Status parsed = ParseApiAddress(text, &address);
    if (!parsed.ok()) UsageError(origin + ": " + parsed.message());
  };
  const char* env = std::getenv("UPMESH_API");
  if (const po::variable_value* api = line.Find("api")) {
    parse(api->as<std::string>(), "--api");
  } else if (env && *env) {
    parse(env, "UPMESH_API");
  } else if (const po::variable_value* config_file = line.Find("config")) {
    MeshConfig config;
    Status loaded = LoadConfigFile(config_file->as<std::string>(), &config);
    if (!loaded.ok()) UsageError("--config: " + loaded.message());
    // A wildcard bind address is reached on loopback.
    const std::string& bound = config.router.config_address;
    if (bound != "0.0.0.0" && bound != "::" && !bound.empty()) address.host = bound;
    address.port = config.router.config_port;
    address.https = !config.router.tls_cert_file.empty();
  }
  return address;
}

// --token-file, else $UPMESH_API_TOKEN, else the config file's configService.tokenFile, else none.
ApiToken ResolveToken(const CommandLine& line) {
  std::string flag_file;
  if (const po::variable_value* file = line.Find("token-file")) flag_file = file->as<std::string>();
  std::string config_file;
  if (const po::variable_value* path = line.Find("config")) {
    MeshConfig config;
    Status loaded = LoadConfigFile(path->as<std::string>(), &config);
    if (!loaded.ok()) UsageError("--config: " + loaded.message());
    config_file = config.router.token_file;
  }
  ApiToken token;
  Status status = ResolveApiToken(flag_file, config_file, &token);
  if (!status.ok()) UsageError(status.message());
  return token;
}

int TimeoutMs(const CommandLine& line) {
  const po::variable_value* timeout = line.Find("timeout");
  double seconds = timeout ? timeout->as<double>() : kDefaultTimeoutSeconds;
  if (!(seconds > 0) || seconds > 3600) {
    std::ostringstream text;
    text << seconds;
    UsageError("--timeout: must be a number of seconds in (0, 3600], got " + text.str());
  }
  return std::max(1, static_cast<int>(seconds * 1000 + 0.5));
}

// For an https address: --tls-ca, else $UPMESH_TLS_CA, else the system trust
// store; null for plain HTTP (where --tls-ca is a mistake worth saying).
std::shared_ptr<const TlsClientContext> ResolveTls(const CommandLine& line, const ApiAddress& address) {
  std::string origin;
  std::string ca_file;
  const char* env = std::getenv(kTlsCaEnv);
  if (const po::variable_value* flag = line.Find("tls-ca")) {
    origin = "--tls-ca";
    ca_file = flag->as<std::string>();
    if (ca_file.empty()) UsageError("--tls-ca: must not be empty");
  } else if (env && *env) {
    origin = kTlsCaEnv;
    ca_file = env;
  }
  if (!address.https) {
    if (origin == "--tls-ca") {
      UsageError("--tls-ca: the API address " + address.ToString() + " is plain HTTP (give --api https://HOST:PORT)");
    }
    return nullptr;
  }
  std::unique_ptr<TlsClientContext> context;
  Status created = TlsClientContext::Create(origin, ca_file, &context);
  if (!created.ok()) UsageError(created.message());
  return context;
}

ConfigApiClient MakeClient(const CommandLine& line) {
  ApiAddress address = ResolveApiAddress(line);
  std::shared_ptr<const TlsClientContext> tls = ResolveTls(line, address);
  return ConfigApiClient(address, TimeoutMs(line), ResolveToken(line), std::move(tls));
}

// Prints the error and returns the exit status for it.
int Report(const Status& status) {
  if (status.ok()) return 0;
  std::cerr << kProgram << ": " << status.message() << "\n";
  return status.code() == Status::Code::kUnavailable ? kExitUnreachable : kExitApiError;
}

std::string ReadInput(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    if (std::cin.bad()) UsageError("add: --file -: cannot read stdin");
    return text.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) UsageError("add: --file " + path + ": cannot open: " + std::strerror(errno));
  text << file.rdbuf();
  if (file.bad()) UsageError("add: --file " + path + ": cannot read: " + std::strerror(errno));
  return text.str();
}

void PrintCommandHelp(const std::string& usage, const po::options_description& options, const char* details) {
  std::cout << "Usage: upmeshctl " << usage << "\n\n" << options << "\n" << details << kExitStatuses;
  std::exit(0);
}

int RunList(const std::vector<std::string>& args, CommandLine* line) {
  po::options_description options("list options");
  options.add_options()("help,h", "print this help and exit");
  options.add(ConnectionOptions());
  line->local = Parse(args, options, po::positional_options_description(), "list");
  if (line->local.count("help")) {
    PrintCommandHelp("list [options]", options,
                     "Columns: UUID, VERSION, MODE, SERVERS, SERVED (requests served), HEALTH (the monitor's\n"
                     "verdict: watching, healthy, inconclusive, unhealthy, rolledBack), STATE (the newest\n"
                     "version, its GRADUAL share, its CONCURRENT mismatches).\n");
  }
  ConfigApiClient api = MakeClient(*line);
  json clusters;
  Status status = api.List(&clusters);
  if (!status.ok()) return Report(status);
  std::cout << (line->Find("json") ? clusters.dump(2) + "\n" : FormatClusterList(clusters));
  return 0;
}

// One sample of the mesh: GET /status and GET /configuration/cluster.
Status FetchMeshStatus(const ConfigApiClient& api, json* status, json* clusters) {
  UPMESH_RETURN_IF_ERROR(api.MeshStatus(status));
  return api.List(clusters);
}

int RunStatus(const std::vector<std::string>& args, CommandLine* line) {
  po::options_description options("status options");
  options.add_options()
      ("help,h", "print this help and exit")
      ("watch,w", "redraw every --interval until Ctrl-C")
      ("interval", po::value<double>()->value_name("SECONDS")->default_value(1), "--watch: time between redraws")
      ("count", po::value<int>()->value_name("N"), "--watch: stop after N redraws");
  options.add(ConnectionOptions());
  line->local = Parse(args, options, po::positional_options_description(), "status");
  if (line->local.count("help")) {
    PrintCommandHelp("status [--watch] [options]", options,
                     "Versions: SET and ACTUAL share of the requests (as the table routes them, as they went\n"
                     "over the monitor's window), HEALTH, and over the window REQ/S, ERRORS (error rate), P50,\n"
                     "P99 and BODY (median 2xx body size). Then the GRADUAL ramp, CONCURRENT mismatches and\n"
                     "rollbacks (upmeshctl explain ID has a rollback's evidence), the live workers (requests\n"
                     "served, and per second while watching) and frontends.\n"
                     "--json prints {\"status\": GET /status, \"clusters\": GET /configuration/cluster}.\n");
  }
  bool watch = line->local.count("watch") > 0;
  double interval = line->local["interval"].as<double>();
  if (!(interval >= 0.1 && interval <= 3600)) UsageError("status: --interval must be 0.1..3600 seconds");
  int count = line->local.count("count") ? line->local["count"].as<int>() : -1;
  if (line->local.count("count") && (!watch || count < 1)) UsageError("status: --count N (N >= 1) goes with --watch");
  ConfigApiClient api = MakeClient(*line);
  bool as_json = line->Find("json") != nullptr;
  if (!watch) {
    json status, clusters;
    Status fetched = FetchMeshStatus(api, &status, &clusters);
    if (!fetched.ok()) return Report(fetched);
    std::cout << (as_json ? json{{"status", status}, {"clusters", clusters}}.dump(2) + "\n"
                          : FormatMeshStatus(status, clusters, nullptr));
    return 0;
  }
  // Ctrl-C ends the loop between two redraws (at most 50 ms late), exit status 0.
  InstallShutdownHandlers();
  json previous;
  for (int drawn = 0; ShutdownRequests() == 0 && (count < 0 || drawn < count); ++drawn) {
    json status, clusters;
    Status fetched = FetchMeshStatus(api, &status, &clusters);
    std::string screen = !fetched.ok() ? std::string(kProgram) + ": " + fetched.message() + " (retrying)\n"
                         : as_json     ? json{{"status", status}, {"clusters", clusters}}.dump() + "\n"
                                       : FormatMeshStatus(status, clusters, previous);
    // Home and clear, then the page: a terminal redraws in place; --json streams one object a line.
    std::cout << (as_json ? "" : "\x1b[H\x1b[2J") << screen << std::flush;
    if (fetched.ok()) previous = std::move(status);
    if (count >= 0 && drawn + 1 >= count) break;
    for (int waited = 0; waited < interval * 1000 && ShutdownRequests() == 0; waited += 50) {
      struct timespec pause = {0, 50 * 1000 * 1000};
      nanosleep(&pause, nullptr);
    }
  }
  return 0;
}

// The help text of a command that takes an ID, after its options.
const char* IdCommandDetails(const std::string& command) {
  if (command == "show") return "ID: the cluster's uuid, as `upmeshctl list` shows it.\n";
  if (command == "explain") {
    return "ID: the cluster's uuid. Prints its health (the monitor's verdict and why), the figures of\n"
           "its current window and, if it was rolled back, the evidence: when, the rule that fired and\n"
           "its thresholds, its figures beside the old version's, failure samples, and the timeline\n"
           "from the first failure to the last worker applying the rollback (+N ms).\n"
           "--json prints the API's \"state\" object of the version.\n"
           "Example (shortened; docs/upmeshctl.md has all of it):\n"
           "  $ upmeshctl explain 24c60804-d166-4816-8035-795315b55505\n"
           "  health:             rolledBack (rolled back: gets no traffic)\n"
           "  rolled back:        2024-06-01 12:00:03.100 CEST (atMs 1717236003100)\n"
           "  reason:             consecutiveFailures: 10 failures in a row (threshold 10)\n"
           "  timeline (from the first failure):\n"
           "    +0 ms    first failure (12:00:02.396)\n"
           "    +704 ms  decision\n"
           "    +708 ms  all workers applied it\n";
  }
  if (command == "rollback") {
    return "ID: the cluster's uuid. From then on it gets no traffic (its clients go to the other\n"
           "versions); it stays listed (HEALTH rolledBack) with the record `upmeshctl explain ID` shows.\n"
           "The API refuses (exit 1, 409) a version already rolled back or the last one that can serve.\n"
           "Example:\n"
           "  $ upmeshctl rollback 24c60804-d166-4816-8035-795315b55505\n"
           "  rolled back 24c60804-d166-4816-8035-795315b55505\n"
           "(with --json it prints nothing; the exit status tells)\n";
  }
  return "ID: the cluster's uuid. Requests move to the newest remaining version;\n"
         "clients whose session named this version move too.\n";
}

// show, explain, delete and rollback: one cluster by its ID.
int RunWithId(const std::vector<std::string>& args, CommandLine* line) {
  const std::string& command = line->command;
  po::options_description options(command + " options");
  options.add_options()("help,h", "print this help and exit");
  options.add(ConnectionOptions());
  po::options_description hidden;
  hidden.add_options()("id", po::value<std::string>());
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("id", 1);
  line->local = Parse(args, all, positional, command);
  if (line->local.count("help")) PrintCommandHelp(command + " [options] ID", options, IdCommandDetails(command));
  if (!line->local.count("id")) {
    UsageError(command + ": the cluster ID is missing (see upmeshctl " + command + " --help)");
  }
  std::string id = line->local["id"].as<std::string>();
  ConfigApiClient api = MakeClient(*line);
  bool json_output = line->Find("json") != nullptr;
  if (command == "show" || command == "explain") {
    json entry;
    Status status = api.Show(id, &entry);
    if (!status.ok()) return Report(status);
    if (command == "show") {
      std::cout << (json_output ? entry.dump(2) + "\n" : FormatClusterDetails(entry));
    } else {
      std::cout << (json_output ? entry.value("state", json()).dump(2) + "\n" : FormatClusterExplanation(entry));
    }
    return 0;
  }
  Status status = command == "delete" ? api.Delete(id) : api.RollBack(id);
  if (!status.ok()) return Report(status);
  if (!json_output) std::cout << (command == "delete" ? "deleted " : "rolled back ") << id << "\n";
  return 0;
}

int RunAdd(const std::vector<std::string>& args, CommandLine* line) {
  po::options_description help("add options");
  help.add_options()("help,h", "print this help and exit");
  po::options_description input("The cluster from a file");
  input.add_options()
      ("file,f", po::value<std::string>()->value_name("FILE"),
       "JSON file, {\"cluster\": {...}} or the cluster object itself; '-' reads stdin");
  po::options_description cluster("The cluster from flags");
  cluster.add_options()
      ("version", po::value<std::string>()->value_name("V"), "the version: a number or a string such as 1.10")
      ("server", po::value<std::vector<std::string>>()->value_name("HOST:PORT")->composing(),
       "a server of this version (repeat for several)")
      ("uuid", po::value<std::string>()->value_name("ID"), "the cluster's id (default: the API makes a UUID)")
      ("mode", po::value<std::string>()->value_name("MODE"),
       "upgrade transition: INSTANT (default), SESSION, GRADUAL or CONCURRENT")
      ("session-timeout", po::value<int64_t>()->value_name("S"),
       "SESSION (required), GRADUAL: seconds of silence ending a session")
      ("percentage", po::value<double>()->value_name("P"),
       "GRADUAL by requests: share (in %) added per request, (0, 100]")
      ("duration-seconds", po::value<int64_t>()->value_name("S"),
       "GRADUAL by time: 0 to 100 % over this many seconds")
      ("delay-tolerance-ms", po::value<int64_t>()->value_name("MS"),
       "CONCURRENT: largest accepted delay difference (default 1000)")
      ("unsafe-methods", po::value<std::string>()->value_name("WHO"),
       "CONCURRENT: where POST, PUT, DELETE... go: old (default), new or both");
  po::options_description options;
  options.add(help).add(input).add(cluster).add(ConnectionOptions());
  line->local = Parse(args, options, po::positional_options_description(), "add");
  const po::variables_map& flags = line->local;
  if (flags.count("help")) {
    PrintCommandHelp("add --file FILE | --version V --server HOST:PORT [--server ...] [--mode MODE ...]", options,
                     "Prints the new cluster's uuid alone on stdout. The API validates the cluster; its\n"
                     "message names the offending field.\n"
                     "Examples:\n"
                     "  upmeshctl add --file v2.json\n"
                     "  upmeshctl add --version 2 --server 127.0.0.1:8002 --mode SESSION --session-timeout 600\n"
                     "  upmeshctl add --version 2 --server 127.0.0.1:8002 --mode GRADUAL --percentage 0.5\n"
                     "  upmeshctl add --version 2 --server 127.0.0.1:8002 --mode GRADUAL --duration-seconds 86400\n"
                     "  upmeshctl add --version 2 --server 127.0.0.1:8002 --mode CONCURRENT --delay-tolerance-ms 500"
                     "\n");
  }

  json request;
  Status built;
  if (flags.count("file")) {
    for (const auto& option : cluster.options()) {
      const std::string& name = option->long_name();
      if (flags.count(name)) {
        UsageError("add: --file and --" + name + " exclude each other (the file describes the whole cluster)");
      }
    }
    std::string path = flags["file"].as<std::string>();
    built = ClusterRequestFromText(ReadInput(path), path == "-" ? "--file - (stdin)" : "--file " + path, &request);
    if (!built.ok()) UsageError("add: " + built.message());
  } else {
    ClusterFlags cluster_flags;
    if (flags.count("version")) cluster_flags.version = flags["version"].as<std::string>();
    if (flags.count("server")) cluster_flags.servers = flags["server"].as<std::vector<std::string>>();
    if (flags.count("uuid")) cluster_flags.uuid = flags["uuid"].as<std::string>();
    if (flags.count("mode")) cluster_flags.mode = flags["mode"].as<std::string>();
    if (flags.count("session-timeout")) cluster_flags.session_timeout_s = flags["session-timeout"].as<int64_t>();
    if (flags.count("percentage")) cluster_flags.percentage = flags["percentage"].as<double>();
    if (flags.count("duration-seconds")) cluster_flags.duration_s = flags["duration-seconds"].as<int64_t>();
    if (flags.count("delay-tolerance-ms")) {
      cluster_flags.delay_tolerance_ms = flags["delay-tolerance-ms"].as<int64_t>();
    }
    if (flags.count("unsafe-methods")) cluster_flags.unsafe_methods = flags["unsafe-methods"].as<std::string>();
    built = ClusterRequestFromFlags(cluster_flags, &request);
    if (!built.ok()) UsageError("add: " + built.message());
  }
  ConfigApiClient api = MakeClient(*line);
  std::string uuid;
  Status status = api.Add(request, &uuid);
  if (!status.ok()) return Report(status);
  std::cout << uuid << "\n";
  return 0;
}

int RunKeygen(const std::vector<std::string>& args, CommandLine* line) {
  po::options_description options("keygen options");
  options.add_options()("help,h", "print this help and exit");
  po::options_description hidden;
  hidden.add_options()("dir", po::value<std::string>())("name", po::value<std::string>());
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("dir", 1).add("name", 1);
  line->local = Parse(args, all, positional, "keygen");
  if (line->local.count("help")) {
    std::cout << "Usage: upmeshctl keygen DIR NAME\n\n" << options << "\n"
              << "Writes a CURVE key pair (ZeroMQ's zmq_curve_keypair) for one process of the mesh:\n"
                 "DIR/NAME.key, its secret key (mode 0600: give it to that process only), and\n"
                 "DIR/NAME.pub, its public key (mode 0644). Never overwrites a file. Prints the public key.\n"
                 "The router's pair: mesh.curve.serverSecretKeyFile (router) and serverPublicKeyFile (everyone\n"
                 "else). A frontend's or worker's pair: its mesh.curve.clientSecretKeyFile, with NAME.pub\n"
                 "copied into the router's mesh.curve.allowedClientKeys directory. docs/configuration.md.\n"
                 "Example:\n"
                 "  upmeshctl keygen /etc/upmesh/keys router\n"
                 "  upmeshctl keygen /etc/upmesh/keys worker-1\n"
                 "Exit status: 0 written; 2 usage error or a file could not be written.\n";
    std::exit(0);
  }
  if (!line->local.count("dir") || !line->local.count("name")) {
    UsageError("keygen: DIR and NAME are required (see upmeshctl keygen --help)");
  }
  std::string dir = line->local["dir"].as<std::string>();
  std::string name = line->local["name"].as<std::string>();
  std::string public_key;
  Status status = WriteCurveKeyPair(dir, name, &public_key);
  if (!status.ok()) UsageError("keygen: " + status.message());
  std::cout << public_key << "\n";
  std::cerr << "wrote " << dir << "/" << name << ".key (secret, mode 0600) and " << dir << "/" << name
            << ".pub (public)\n";
  return 0;
}

int Run(int argc, char** argv) {
  int command_index = FindCommand(argc, argv);
  po::options_description global("Options");
  global.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit");
  global.add(ConnectionOptions());
  CommandLine line;
  line.global = Parse(std::vector<std::string>(argv + 1, argv + command_index), global,
                      po::positional_options_description(), "");
  if (line.global.count("help")) {
    std::cout << kUsage << global << "\n" << kExitStatuses << "See also: upmeshctl COMMAND --help, docs/upmeshctl.md\n";
    return 0;
  }
  if (line.global.count("version")) {
    std::cout << kProgram << " " << UPMESH_VERSION << "\n";
    return 0;
  }
  if (command_index == argc) UsageError("no command given: " + std::string(kCommands) + " (see --help)");
  line.command = argv[command_index];
  std::vector<std::string> args(argv + command_index + 1, argv + argc);
  if (line.command == "list") return RunList(args, &line);
  if (line.command == "status") return RunStatus(args, &line);
  for (const char* with_id : {"show", "explain", "delete", "rollback"}) {
    if (line.command == with_id) return RunWithId(args, &line);
  }
  if (line.command == "add") return RunAdd(args, &line);
  if (line.command == "keygen") return RunKeygen(args, &line);
  UsageError("unknown command \"" + line.command + "\": " + kCommands + " (see --help)");
}

}  // namespace
}  // namespace upmesh::ctl

int main(int argc, char** argv) { return upmesh::ctl::Run(argc, argv); }
