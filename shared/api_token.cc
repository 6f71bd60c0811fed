#include "shared/api_token.h"

#include <cstdlib>

#include "shared/json_reader.h"  // UPMESH_RETURN_IF_ERROR
#include "shared/secret_file.h"
#include "shared/sha256.h"

namespace upmesh {
namespace {

constexpr size_t kMinTokenBytes = 16;
constexpr size_t kMaxTokenBytes = 4096;

Status ValidateToken(const std::string& token, const std::string& origin) {
  if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes) {
    return Status::InvalidArgument(origin + ": the API token must be " + std::to_string(kMinTokenBytes) + ".." +
                                   std::to_string(kMaxTokenBytes) + " characters, got " +
                                   std::to_string(token.size()) +
                                   " (make one with: head -c 32 /dev/urandom | base64)");
  }
  for (unsigned char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return Status::InvalidArgument(origin + ": the API token may hold only visible ASCII characters "
                                     "(no spaces, no line breaks inside)");
    }
  }
  return Status::Ok();
}

Status FromFile(const std::string& origin, const std::string& path, ApiToken* token) {
  std::string text;
  UPMESH_RETURN_IF_ERROR(ReadSecretFile(origin + ": the API token file", path, &text));
  UPMESH_RETURN_IF_ERROR(ValidateToken(text, origin + " " + path));
  token->token = std::move(text);
  token->origin = origin + " " + path;
  return Status::Ok();
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

}  // namespace

Status ResolveApiToken(const std::string& flag_file, const std::string& config_file, ApiToken* token) {
  *token = ApiToken();
  if (!flag_file.empty()) return FromFile("--token-file", flag_file, token);
  const char* env = std::getenv(kApiTokenEnv);
  if (env && *env) {
    std::string text = env;
    TrimTrailingWhitespace(&text);
    UPMESH_RETURN_IF_ERROR(ValidateToken(text, kApiTokenEnv));
    token->token = std::move(text);
    token->origin = kApiTokenEnv;
    return Status::Ok();
  }
  if (!config_file.empty()) return FromFile("configService.tokenFile", config_file, token);
  return Status::Ok();
}

bool ParseBearerCredentials(std::string_view value, std::string* token) {
  constexpr std::string_view kScheme = "bearer";
  size_t i = 0;
  while (i < value.size() && IsSpace(value[i])) ++i;
  if (value.size() - i < kScheme.size()) return false;
  for (size_t k = 0; k < kScheme.size(); ++k) {
    char c = value[i + k];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[k]) return false;
  }
  i += kScheme.size();
  size_t spaces_start = i;
  while (i < value.size() && value[i] == ' ') ++i;
  if (i == spaces_start) return false;  // "Bearerx" is another scheme
  size_t end = value.size();
  while (end > i && IsSpace(value[end - 1])) --end;
  if (end == i) return false;
  std::string_view credentials = value.substr(i, end - i);
  for (char c : credentials) {
    if (IsSpace(c)) return false;  // "Bearer a b" is not one token
  }
  token->assign(credentials);
  return true;
}

bool TokensMatch(std::string_view presented, std::string_view expected) {
  // Equal-length digests make the comparison's length independent of the
  // tokens; the loop runs to the end whatever it finds.
  std::string a = Sha256Hex(presented);
  std::string b = Sha256Hex(expected);
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0 && a.size() == b.size();
}

}  // namespace upmesh
