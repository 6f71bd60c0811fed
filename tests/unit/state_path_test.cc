// The router's default state file: $STATE_DIRECTORY, /var/lib/upmesh (root
// or writable), else the XDG state home; and creating its directory.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "shared/state_path.h"

using upmesh::CreateParentDirectory;
using upmesh::DefaultStateFile;

namespace {

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1); else unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

bool SystemDirectoryApplies() {
  return geteuid() == 0 || access("/var/lib/upmesh", W_OK) == 0;
}

std::string TempDir() {
  char pattern[] = "/tmp/upmesh-state-path-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  return pattern;
}

}  // namespace

TEST_CASE("systemd's STATE_DIRECTORY wins (its first entry)", "[state-path]") {
  ScopedEnv state("STATE_DIRECTORY", "/var/lib/upmesh-a:/var/lib/other");
  CHECK(DefaultStateFile() == "/var/lib/upmesh-a/router-state.json");
}

TEST_CASE("root (or a writable /var/lib/upmesh) gets /var/lib/upmesh, others the XDG state home", "[state-path]") {
  ScopedEnv state("STATE_DIRECTORY", nullptr);
  ScopedEnv xdg("XDG_STATE_HOME", "/srv/state");
  ScopedEnv home("HOME", "/home/ops");
  if (SystemDirectoryApplies()) {
    CHECK(DefaultStateFile() == "/var/lib/upmesh/router-state.json");
  } else {
    CHECK(DefaultStateFile() == "/srv/state/upmesh/router-state.json");
    ScopedEnv no_xdg("XDG_STATE_HOME", nullptr);
    CHECK(DefaultStateFile() == "/home/ops/.local/state/upmesh/router-state.json");
    ScopedEnv relative_xdg("XDG_STATE_HOME", "relative/dir");  // invalid by the XDG spec: ignored
    CHECK(DefaultStateFile() == "/home/ops/.local/state/upmesh/router-state.json");
  }
}

TEST_CASE("the state file's directory is created with its parents", "[state-path]") {
  std::string root = TempDir();
  std::string file = root + "/a/b/router-state.json";
  REQUIRE(CreateParentDirectory(file).ok());
  struct stat info;
  REQUIRE(stat((root + "/a/b").c_str(), &info) == 0);
  CHECK(S_ISDIR(info.st_mode));
  CHECK(CreateParentDirectory(file).ok());  // already there
  CHECK(CreateParentDirectory("relative-file.json").ok());  // the current directory: nothing to create

  // A plain file in the way is an error naming it.
  std::string blocked = root + "/plain";
  FILE* f = fopen(blocked.c_str(), "w");
  REQUIRE(f != nullptr);
  fclose(f);
  upmesh::Status status = CreateParentDirectory(blocked + "/x/router-state.json");
  CHECK_FALSE(status.ok());
  CHECK(status.message().find(blocked) != std::string::npos);

  rmdir((root + "/a/b").c_str());
  rmdir((root + "/a").c_str());
  unlink(blocked.c_str());
  rmdir(root.c_str());
}
