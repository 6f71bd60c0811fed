#include "shared/command_line.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "shared/log.h"
#include "shared/suggest.h"

namespace upmesh {

namespace {

// "; did you mean --port?" for a misspelt flag ("--prot", "prot"), or "".
std::string DidYouMean(const std::string& typed, const po::options_description& options) {
  size_t start = typed.find_first_not_of('-');
  std::string name = start == std::string::npos ? "" : typed.substr(start);
  std::vector<std::string> names;
  for (const auto& option : options.options()) names.push_back(option->long_name());
  std::string meant = ClosestName(name, names);
  return meant.empty() ? "" : "; did you mean --" + meant + "?";
}

// The programs take options only: a stray word ("upmesh-frontend help") must
// not start a server that silently ignores it.
void RefuseArguments(const po::parsed_options& parsed, const po::options_description& options,
                     const std::string& program) {
  for (const po::option& option : parsed.options) {
    if (option.position_key < 0) continue;
    std::string word = option.original_tokens.empty() ? "" : option.original_tokens.front();
    ExitWithConfigError(program, "unexpected argument \"" + word + "\": " + program + " takes options only" +
                                     DidYouMean(word, options) + " (see --help)");
  }
}

}  // namespace

void ExitWithConfigError(const std::string& program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), message.c_str());
  std::exit(2);
}

po::variables_map ParseCommandLine(int argc, char** argv, const ProgramInfo& info,
                                   const po::options_description& specific, MeshConfig* config) {
  po::options_description common("Common options");
  common.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("config,c", po::value<std::string>()->value_name("FILE"),
       "JSON config file for the whole mesh (see docs/configuration.md); flags override it")
      ("log-level", po::value<std::string>()->value_name("LEVEL"),
       "error, warn, info or debug (default: the file's logLevel, else info)");
  po::options_description all;
  all.add(specific).add(common);

  po::variables_map flags;
  try {
    po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).run();
    RefuseArguments(parsed, all, info.name);
    po::store(parsed, flags);
    po::notify(flags);
  } catch (const po::unknown_option& e) {
    ExitWithConfigError(info.name, std::string(e.what()) + DidYouMean(e.get_option_name(), all) + " (see --help)");
  } catch (const po::error& e) {
    ExitWithConfigError(info.name, std::string(e.what()) + " (see --help)");
  }
  if (flags.count("help")) {
    std::cout << info.name << " - " << info.summary << "\n\nUsage: " << info.name << " [options]\n\n"
              << all << "\n";
    if (!info.details.empty()) std::cout << info.details << "\n";
    std::exit(0);
  }
  if (flags.count("version")) {
    std::cout << info.name << " " << UPMESH_VERSION << "\n";
    std::exit(0);
  }
  if (flags.count("config")) {
    Status status = LoadConfigFile(flags["config"].as<std::string>(), config);
    if (!status.ok()) ExitWithConfigError(info.name, status.message());
  }
  std::string level_text = flags.count("log-level") ? flags["log-level"].as<std::string>() : config->log_level;
  LogLevel level;
  if (!ParseLogLevel(level_text, &level)) {
    ExitWithConfigError(info.name, "--log-level: must be one of error, warn, info, debug, got \"" + level_text + "\"");
  }
  SetLogLevel(level);
  SetLogProcessName(info.name);
  return flags;
}

int64_t FlagInt(const po::variables_map& flags, const std::string& name, int64_t min, int64_t max,
                const std::string& program) {
  int64_t value = flags[name].as<int64_t>();
  if (value < min || value > max) {
    ExitWithConfigError(program, "--" + name + ": must be in " + std::to_string(min) + ".." +
                                     std::to_string(max) + ", got " + std::to_string(value));
  }
  return value;
}

void AddMetricsPortFlags(po::options_description* options) {
  options->add_options()
      ("metrics-port", po::value<int64_t>()->value_name("PORT"),
       "serve this process's own GET /metrics (Prometheus text format) on PORT; off by default")
      ("metrics-address", po::value<std::string>()->value_name("ADDR"),
       "address of the metrics port (default 127.0.0.1: only this host)");
}

void ApplyMetricsPortFlags(const po::variables_map& flags, const std::string& program, MetricsPortConfig* metrics) {
  if (flags.count("metrics-port")) metrics->port = static_cast<uint16_t>(FlagInt(flags, "metrics-port", 1, 65535, program));
  if (flags.count("metrics-address")) metrics->address = flags["metrics-address"].as<std::string>();
}

}  // namespace upmesh
