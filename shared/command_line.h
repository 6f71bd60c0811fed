// Command-line handling shared by every upmesh executable.
//
// Every program takes --help, --version, --config FILE and --log-level LEVEL,
// plus its own options. Precedence: built-in defaults < config file < flags.
// A bad flag or config file prints one line naming the problem and exits with
// status 2 before anything is started.
#pragma once

#include <string>

#include <boost/program_options.hpp>

#include "shared/config.h"

namespace upmesh {

namespace po = boost::program_options;

struct ProgramInfo {
  std::string name;     // "upmesh-frontend"
  std::string summary;  // one line for --help
  std::string details;  // printed after the options in --help (may be empty)
};

// Parses argv against the common options plus `specific`. Handles --help and
// --version (print, exit 0) and errors (print, exit 2). Loads --config into
// *config if given, applies the log level (flag over file), and returns the
// parsed flags so the caller can apply its own overrides.
po::variables_map ParseCommandLine(int argc, char** argv, const ProgramInfo& info,
                                   const po::options_description& specific, MeshConfig* config);

// Prints "NAME: MESSAGE" to stderr and exits with status 2.
[[noreturn]] void ExitWithConfigError(const std::string& program, const std::string& message);

// --metrics-port and --metrics-address (a process's own GET /metrics port),
// added to `options`, and applied over what the config file said.
void AddMetricsPortFlags(po::options_description* options);
void ApplyMetricsPortFlags(const po::variables_map& flags, const std::string& program, MetricsPortConfig* metrics);

// Range-checked integer flag value; exits with status 2 naming the flag.
int64_t FlagInt(const po::variables_map& flags, const std::string& name, int64_t min, int64_t max,
                const std::string& program);

}  // namespace upmesh
