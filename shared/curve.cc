#include "shared/curve.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include "shared/json_reader.h"  // UPMESH_RETURN_IF_ERROR
#include "shared/secret_file.h"

namespace upmesh {
namespace {

constexpr size_t kZ85KeyLength = 40;  // 32 bytes

bool IsZ85Key(const std::string& text) {
  if (text.size() != kZ85KeyLength) return false;
  uint8_t binary[32];
  return zmq_z85_decode(binary, text.c_str()) != nullptr;
}

Status CheckKey(const std::string& what, const std::string& path, const std::string& key) {
  if (IsZ85Key(key)) return Status::Ok();
  return Status::InvalidArgument(what + " " + path + ": not a CURVE key (40 characters of Z85 text, as " +
                                 "`upmeshctl keygen` writes them)");
}

Status ReadSecretKey(const std::string& what, const std::string& path, std::string* secret, std::string* public_key) {
  UPMESH_RETURN_IF_ERROR(ReadSecretFile(what, path, secret));
  UPMESH_RETURN_IF_ERROR(CheckKey(what, path, *secret));
  char derived[kZ85KeyLength + 1];
  if (zmq_curve_public(derived, secret->c_str()) != 0) {
    return Status::InvalidArgument(what + " " + path + ": cannot derive its public key: " + zmq_strerror(zmq_errno()));
  }
  *public_key = derived;
  return Status::Ok();
}

Status ReadPublicKey(const std::string& what, const std::string& path, std::string* key) {
  UPMESH_RETURN_IF_ERROR(ReadTextFile(what, path, key));
  return CheckKey(what, path, *key);
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Status KeysFromDirectory(const std::string& path, std::set<std::string>* keys) {
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return Status::InvalidArgument("mesh.curve.allowedClientKeys " + path + ": " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name[0] != '.' && EndsWith(name, ".pub")) names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string key;
    UPMESH_RETURN_IF_ERROR(ReadPublicKey("mesh.curve.allowedClientKeys: public key", path + "/" + name, &key));
    keys->insert(key);
  }
  return Status::Ok();
}

Status KeysFromFile(const std::string& path, std::set<std::string>* keys) {
  std::string text;
  UPMESH_RETURN_IF_ERROR(ReadTextFile("mesh.curve.allowedClientKeys", path, &text));
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    TrimTrailingWhitespace(&line);
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (!IsZ85Key(line)) {
      return Status::InvalidArgument("mesh.curve.allowedClientKeys " + path + ":" + std::to_string(number) +
                                     ": not a CURVE public key (40 characters of Z85 text)");
    }
    keys->insert(line);
  }
  return Status::Ok();
}

// Creates `path` (it must not exist) with `mode` and writes `text` to it.
Status WriteNewFile(const std::string& path, mode_t mode, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError(path + ": cannot create: " + std::strerror(errno));
  // The umask may have taken bits away; the mode asked for is the mode meant.
  bool ok = ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int error = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return Status::IoError(path + ": cannot write: " + std::strerror(error));
  }
  return Status::Ok();
}

}  // namespace

Status CheckCurveSupport() {
  if (zmq_has("curve")) return Status::Ok();
  return Status::InvalidArgument("mesh.curve: this libzmq was built without CURVE support (zmq_has(\"curve\") is "
                                 "false); install a libzmq built with libsodium (Debian's libzmq5 is)");
}

Status LoadCurveServerKeys(const CurveConfig& config, CurveServerKeys* keys, std::set<std::string>* allowed) {
  *keys = CurveServerKeys();
  allowed->clear();
  bool has_secret = !config.server_secret_key_file.empty();
  bool has_allowed = !config.allowed_client_keys.empty();
  if (!has_secret && !has_allowed && !config.server_public_key_file.empty()) {
    // The mesh's file names the router's public key: the mesh is meant to use CURVE.
    return Status::InvalidArgument("mesh.curve.serverPublicKeyFile is set but mesh.curve.serverSecretKeyFile is not: "
                                   "the router needs its secret key for CURVE");
  }
  if (!has_secret && !has_allowed) return Status::Ok();
  if (!has_secret) {
    return Status::InvalidArgument("mesh.curve.allowedClientKeys is set but mesh.curve.serverSecretKeyFile is not: "
                                   "the router needs its own secret key for CURVE");
  }
  if (!has_allowed) {
    return Status::InvalidArgument("mesh.curve.serverSecretKeyFile is set but mesh.curve.allowedClientKeys is not: "
                                   "name the public keys of the frontends and workers allowed in");
  }
  UPMESH_RETURN_IF_ERROR(CheckCurveSupport());
  CurveServerKeys loaded;
  UPMESH_RETURN_IF_ERROR(ReadSecretKey("mesh.curve.serverSecretKeyFile", config.server_secret_key_file,
                                       &loaded.secret_key, &loaded.public_key));
  if (!config.server_public_key_file.empty()) {
    std::string stated;
    UPMESH_RETURN_IF_ERROR(ReadPublicKey("mesh.curve.serverPublicKeyFile", config.server_public_key_file, &stated));
    if (stated != loaded.public_key) {
      return Status::InvalidArgument("mesh.curve.serverPublicKeyFile " + config.server_public_key_file +
                                     " is not the public key of mesh.curve.serverSecretKeyFile " +
                                     config.server_secret_key_file + " (a key pair from two runs of keygen?)");
    }
  }
  UPMESH_RETURN_IF_ERROR(LoadAllowedClientKeys(config.allowed_client_keys, allowed));
  *keys = loaded;
  return Status::Ok();
}

Status LoadCurveClientKeys(const CurveConfig& config, CurveClientKeys* keys) {
  *keys = CurveClientKeys();
  bool has_secret = !config.client_secret_key_file.empty();
  bool has_server = !config.server_public_key_file.empty();
  if (!has_secret && !has_server) return Status::Ok();
  if (!has_secret) {
    return Status::InvalidArgument("mesh.curve.serverPublicKeyFile is set but mesh.curve.clientSecretKeyFile is "
                                   "not: a CURVE client needs its own secret key (upmeshctl keygen DIR NAME)");
  }
  if (!has_server) {
    return Status::InvalidArgument("mesh.curve.clientSecretKeyFile is set but mesh.curve.serverPublicKeyFile is "
                                   "not: a CURVE client needs the router's public key");
  }
  UPMESH_RETURN_IF_ERROR(CheckCurveSupport());
  CurveClientKeys loaded;
  UPMESH_RETURN_IF_ERROR(ReadSecretKey("mesh.curve.clientSecretKeyFile", config.client_secret_key_file,
                                       &loaded.secret_key, &loaded.public_key));
  UPMESH_RETURN_IF_ERROR(
      ReadPublicKey("mesh.curve.serverPublicKeyFile", config.server_public_key_file, &loaded.server_key));
  *keys = loaded;
  return Status::Ok();
}

Status LoadAllowedClientKeys(const std::string& path, std::set<std::string>* keys) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Status::InvalidArgument("mesh.curve.allowedClientKeys " + path + ": " + std::strerror(errno));
  }
  UPMESH_RETURN_IF_ERROR(S_ISDIR(info.st_mode) ? KeysFromDirectory(path, keys) : KeysFromFile(path, keys));
  if (keys->empty()) {
    return Status::InvalidArgument("mesh.curve.allowedClientKeys " + path +
                                   ": no public key in it (a directory needs *.pub files), so nothing could join");
  }
  return Status::Ok();
}

void ApplyCurveServer(zmq::socket_t& socket, const CurveServerKeys& keys) {
  if (!keys.enabled()) return;
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  // With a ZAP domain libzmq asks the ZAP handler about every client.
  socket.set(zmq::sockopt::zap_domain, kCurveZapDomain);
}

void ApplyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys) {
  if (!keys.enabled()) return;
  socket.set(zmq::sockopt::curve_serverkey, keys.server_key);
  socket.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

Status WriteCurveKeyPair(const std::string& dir, const std::string& name, std::string* public_key) {
  if (name.empty() || name[0] == '.' ||
      name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
          std::string::npos) {
    return Status::InvalidArgument("the key name must be letters, digits, '.', '_' or '-' (not starting with '.'), "
                                   "got \"" + name + "\"");
  }
  UPMESH_RETURN_IF_ERROR(CheckCurveSupport());
  std::string secret_path = dir + "/" + name + ".key";
  std::string public_path = dir + "/" + name + ".pub";
  for (const std::string& path : {secret_path, public_path}) {
    if (::access(path.c_str(), F_OK) == 0) {
      return Status::InvalidArgument(path + ": exists already; keygen never overwrites a key");
    }
  }
  char public_z85[kZ85KeyLength + 1];
  char secret_z85[kZ85KeyLength + 1];
  if (zmq_curve_keypair(public_z85, secret_z85) != 0) {
    return Status::IoError(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
  }
  UPMESH_RETURN_IF_ERROR(WriteNewFile(secret_path, 0600, std::string(secret_z85) + "\n"));
  Status written = WriteNewFile(public_path, 0644, std::string(public_z85) + "\n");
  if (!written.ok()) {
    ::unlink(secret_path.c_str());
    return written;
  }
  *public_key = public_z85;
  return Status::Ok();
}

}  // namespace upmesh
