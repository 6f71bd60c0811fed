// The config API's bearer token: where the router and upmeshctl find it, and
// how the router checks a request's Authorization field against it.
//
// Both read it the same way, first found wins:
//   1. a --token-file FILE flag,
//   2. the environment variable UPMESH_API_TOKEN (the token itself),
//   3. configService.tokenFile of the config file.
// None of them: no token (the router's API is open to whoever reaches it,
// which by default is loopback only). A token file must be readable by its
// owner only (shared/secret_file.h). A token is 16..4096 visible ASCII
// characters (no spaces: it travels as "Authorization: Bearer TOKEN").
#pragma once

#include <string>
#include <string_view>

#include "shared/status.h"

namespace upmesh {

constexpr char kApiTokenEnv[] = "UPMESH_API_TOKEN";

// The token and where it came from ("--token-file /x", "UPMESH_API_TOKEN",
// "configService.tokenFile /x"); origin is empty when no token is configured.
struct ApiToken {
  std::string token;
  std::string origin;
  bool configured() const { return !origin.empty(); }
};

// Applies the precedence above; `flag_file` and `config_file` may be empty.
// A token that is configured but unusable (missing file, bad mode, empty,
// too short, a space or control character) is an error naming its origin.
Status ResolveApiToken(const std::string& flag_file, const std::string& config_file, ApiToken* token);

// Reads the token of an "Authorization" field value: the scheme "Bearer" in
// any case, one or more spaces, the token, optional trailing whitespace.
// False for any other scheme or shape.
bool ParseBearerCredentials(std::string_view value, std::string* token);

// Compares two tokens in time that depends on neither their contents nor
// where they differ: both are hashed (SHA-256) and the digests compared
// without an early exit, so only the time to hash the presented token's
// length can be observed.
bool TokensMatch(std::string_view presented, std::string_view expected);

}  // namespace upmesh
