// Where the router keeps its state file when no path is configured
// (configService.stateFile / --state-file), by one rule an operator can
// predict (docs/configuration.md, "The state file"):
//
//   1. $STATE_DIRECTORY/router-state.json when set (systemd's StateDirectory=,
//      as in the upmesh-router.service unit);
//   2. /var/lib/upmesh/router-state.json when running as root, or when that
//      directory exists and is writable (the upmesh user of the package);
//   3. otherwise $XDG_STATE_HOME/upmesh/router-state.json, with XDG_STATE_HOME
//      defaulting to $HOME/.local/state.
//
// Never the current directory, so a router started from a source tree does
// not write into the repository.
#pragma once

#include <string>

#include "shared/status.h"

namespace upmesh {

// The default state file path by the rule above, from the process's
// environment and user id; empty when no rule applies (no HOME either).
std::string DefaultStateFile();

// Creates the directory of `file` and its missing parents (mode 0750).
Status CreateParentDirectory(const std::string& file);

}  // namespace upmesh
