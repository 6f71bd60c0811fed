#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "shared/api_token.h"
#include "shared/secret_file.h"

namespace {

using upmesh::ApiToken;
using upmesh::ParseBearerCredentials;
using upmesh::ResolveApiToken;
using upmesh::TokensMatch;

constexpr char kToken[] = "s3cret-token-0123456789";

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  TempFile(const std::string& contents, mode_t mode) {
    char dir[] = "/tmp/upmesh-token-test-XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/token";
    std::ofstream(path_) << contents;
    chmod(path_.c_str(), mode);
  }
  ~TempFile() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

// Sets UPMESH_API_TOKEN for one scope.
class ScopedEnv {
 public:
  explicit ScopedEnv(const char* value) {
    if (value) setenv(upmesh::kApiTokenEnv, value, 1);
  }
  ~ScopedEnv() { unsetenv(upmesh::kApiTokenEnv); }
};

}  // namespace

TEST_CASE("bearer credentials: the scheme in any case, spaces around", "[api_token]") {
  std::string token;
  REQUIRE(ParseBearerCredentials("Bearer abc", &token));
  CHECK(token == "abc");
  REQUIRE(ParseBearerCredentials("bearer abc", &token));
  CHECK(token == "abc");
  REQUIRE(ParseBearerCredentials("BEARER    abc  \t", &token));
  CHECK(token == "abc");
  REQUIRE(ParseBearerCredentials("  BeArEr abc/+=", &token));
  CHECK(token == "abc/+=");
}

TEST_CASE("bearer credentials: other schemes and shapes are refused", "[api_token]") {
  std::string token;
  CHECK_FALSE(ParseBearerCredentials("", &token));
  CHECK_FALSE(ParseBearerCredentials("Bearer", &token));
  CHECK_FALSE(ParseBearerCredentials("Bearer   ", &token));
  CHECK_FALSE(ParseBearerCredentials("Bearerabc", &token));
  CHECK_FALSE(ParseBearerCredentials("Basic YWxhZGRpbjpvcGVuc2VzYW1l", &token));
  CHECK_FALSE(ParseBearerCredentials("Bearer a b", &token));
  CHECK_FALSE(ParseBearerCredentials("Bear abc", &token));
  CHECK_FALSE(ParseBearerCredentials("abc", &token));
}

TEST_CASE("tokens match only when equal, whatever their lengths", "[api_token]") {
  CHECK(TokensMatch(kToken, kToken));
  std::string other = kToken;
  other[0] ^= 1;
  CHECK_FALSE(TokensMatch(other, kToken));
  other = kToken;
  other.back() ^= 1;
  CHECK_FALSE(TokensMatch(other, kToken));
  CHECK_FALSE(TokensMatch(std::string(kToken) + "x", kToken));
  CHECK_FALSE(TokensMatch(std::string(kToken).substr(1), kToken));
  CHECK_FALSE(TokensMatch("", kToken));
  // A presented token whose digest prefix equals the expected one's cannot
  // be built, but a shared text prefix must not help either.
  CHECK_FALSE(TokensMatch(std::string(kToken).substr(0, 10), kToken));
}

TEST_CASE("api token: the flag's file, then the environment, then the config file", "[api_token]") {
  TempFile flag_file(std::string("flag-token-0123456789\n"), 0600);
  TempFile config_file(std::string("config-token-0123456789"), 0400);
  ApiToken token;
  {
    ScopedEnv env("env-token-0123456789");
    REQUIRE(ResolveApiToken(flag_file.path(), config_file.path(), &token).ok());
    CHECK(token.token == "flag-token-0123456789");  // the trailing newline is not part of it
    CHECK(token.origin == "--token-file " + flag_file.path());
    REQUIRE(ResolveApiToken("", config_file.path(), &token).ok());
    CHECK(token.token == "env-token-0123456789");
    CHECK(token.origin == "UPMESH_API_TOKEN");
  }
  REQUIRE(ResolveApiToken("", config_file.path(), &token).ok());
  CHECK(token.token == "config-token-0123456789");
  CHECK(token.origin == "configService.tokenFile " + config_file.path());
  REQUIRE(ResolveApiToken("", "", &token).ok());
  CHECK_FALSE(token.configured());
}

TEST_CASE("api token: unusable files and values are errors that say why", "[api_token]") {
  ApiToken token;
  TempFile readable(kToken, 0640);
  upmesh::Status status = ResolveApiToken(readable.path(), "", &token);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("group or others (mode 0640)") != std::string::npos);
  CHECK(status.message().find("chmod 600 " + readable.path()) != std::string::npos);

  TempFile empty("\n", 0600);
  status = ResolveApiToken(empty.path(), "", &token);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("empty") != std::string::npos);

  status = ResolveApiToken("/nonexistent/upmesh-token", "", &token);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("cannot open: No such file or directory") != std::string::npos);

  TempFile short_token("short", 0600);
  status = ResolveApiToken(short_token.path(), "", &token);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("16..4096 characters, got 5") != std::string::npos);

  TempFile spaced("two words in a token here", 0600);
  status = ResolveApiToken(spaced.path(), "", &token);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("visible ASCII") != std::string::npos);

  ScopedEnv env("short");
  status = ResolveApiToken("", "", &token);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("UPMESH_API_TOKEN") == 0);
}
