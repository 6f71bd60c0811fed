#include "shared/state_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace upmesh {
namespace {

constexpr const char* kFileName = "router-state.json";
constexpr const char* kSystemDirectory = "/var/lib/upmesh";

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool IsWritableDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode) && access(path.c_str(), W_OK) == 0;
}

}  // namespace

std::string DefaultStateFile() {
  std::string systemd = Environment("STATE_DIRECTORY");
  // StateDirectory=a b gives "/var/lib/a:/var/lib/b"; the first is ours.
  if (!systemd.empty()) return systemd.substr(0, systemd.find(':')) + "/" + kFileName;
  if (geteuid() == 0 || IsWritableDirectory(kSystemDirectory)) return std::string(kSystemDirectory) + "/" + kFileName;
  std::string state_home = Environment("XDG_STATE_HOME");
  // The XDG spec: a relative XDG_STATE_HOME is invalid and ignored.
  if (state_home.empty() || state_home[0] != '/') {
    std::string home = Environment("HOME");
    if (home.empty()) return "";
    state_home = home + "/.local/state";
  }
  return state_home + "/upmesh/" + kFileName;
}

Status CreateParentDirectory(const std::string& file) {
  size_t slash = file.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  std::string directory = file.substr(0, slash);
  for (size_t end = directory.find('/', 1);; end = directory.find('/', end + 1)) {
    std::string prefix = directory.substr(0, end);
    if (mkdir(prefix.c_str(), 0750) != 0 && errno != EEXIST) {
      return Status::IoError("cannot create the state directory " + prefix + ": " + std::strerror(errno));
    }
    if (end == std::string::npos) break;
  }
  if (!IsWritableDirectory(directory)) {
    return Status::IoError("the state directory " + directory + " is not a writable directory");
  }
  return Status::Ok();
}

}  // namespace upmesh
