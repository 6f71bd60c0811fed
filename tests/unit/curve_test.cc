#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "shared/zap_authenticator.h"
#include "shared/clock.h"
#include "shared/curve.h"

namespace {

using upmesh::CurveClientKeys;
using upmesh::CurveConfig;
using upmesh::CurveServerKeys;

// A fresh temporary directory, removed (with its files) at the end.
class TempDir {
 public:
  TempDir() {
    char dir[] = "/tmp/upmesh-curve-test-XXXXXX";
    path_ = mkdtemp(dir);
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  stat(path.c_str(), &info);
  return info.st_mode & 0777;
}

std::string Generate(const std::string& dir, const std::string& name) {
  std::string public_key;
  upmesh::Status status = upmesh::WriteCurveKeyPair(dir, name, &public_key);
  REQUIRE(status.ok());
  return public_key;
}

std::string Generate(const TempDir& dir, const std::string& name) { return Generate(dir.path(), name); }

}  // namespace

TEST_CASE("keygen writes a secret key only its owner can read, and never overwrites", "[curve]") {
  TempDir dir;
  std::string public_key = Generate(dir, "worker-1");
  CHECK(public_key.size() == 40);
  CHECK(ModeOf(dir / "worker-1.key") == 0600);
  CHECK(ModeOf(dir / "worker-1.pub") == 0644);
  std::string again;
  upmesh::Status status = upmesh::WriteCurveKeyPair(dir.path(), "worker-1", &again);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("exists already") != std::string::npos);
  CHECK_FALSE(upmesh::WriteCurveKeyPair(dir.path(), "../escape", &again).ok());
}

TEST_CASE("client keys: the public key is derived from the secret one", "[curve]") {
  TempDir dir;
  std::string worker_public = Generate(dir, "worker");
  std::string router_public = Generate(dir, "router");
  CurveConfig config;
  config.client_secret_key_file = dir / "worker.key";
  config.server_public_key_file = dir / "router.pub";
  CurveClientKeys keys;
  REQUIRE(upmesh::LoadCurveClientKeys(config, &keys).ok());
  CHECK(keys.enabled());
  CHECK(keys.public_key == worker_public);
  CHECK(keys.server_key == router_public);

  config.server_public_key_file.clear();
  upmesh::Status status = upmesh::LoadCurveClientKeys(config, &keys);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("serverPublicKeyFile is not") != std::string::npos);

  REQUIRE(upmesh::LoadCurveClientKeys(CurveConfig(), &keys).ok());
  CHECK_FALSE(keys.enabled());
}

TEST_CASE("server keys: a readable secret, a mismatched public key, no allowed keys are errors", "[curve]") {
  TempDir dir;
  Generate(dir, "router");
  Generate(dir, "other");
  mkdir((dir / "allowed").c_str(), 0700);
  CurveConfig config;
  config.server_secret_key_file = dir / "router.key";
  config.server_public_key_file = dir / "router.pub";
  config.allowed_client_keys = dir / "allowed";
  CurveServerKeys keys;
  std::set<std::string> allowed;
  upmesh::Status status = upmesh::LoadCurveServerKeys(config, &keys, &allowed);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("no public key in it") != std::string::npos);

  std::string worker_public = Generate(dir / "allowed", "worker");
  REQUIRE(upmesh::LoadCurveServerKeys(config, &keys, &allowed).ok());
  CHECK(allowed == std::set<std::string>{worker_public});

  config.server_public_key_file = dir / "other.pub";
  status = upmesh::LoadCurveServerKeys(config, &keys, &allowed);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("is not the public key of") != std::string::npos);

  config.server_public_key_file.clear();
  chmod((dir / "router.key").c_str(), 0644);
  status = upmesh::LoadCurveServerKeys(config, &keys, &allowed);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("chmod 600") != std::string::npos);
}

TEST_CASE("allowed keys from a file: one a line, comments and blank lines skipped", "[curve]") {
  TempDir dir;
  std::string a = Generate(dir, "a");
  std::string b = Generate(dir, "b");
  std::ofstream(dir / "allowed.txt") << "# frontends and workers\n" << a << "\n\n  " << b << "  \n";
  std::set<std::string> keys;
  REQUIRE(upmesh::LoadAllowedClientKeys(dir / "allowed.txt", &keys).ok());
  CHECK(keys == std::set<std::string>{a, b});
  std::ofstream(dir / "bad.txt") << a << "\nnot-a-key\n";
  upmesh::Status status = upmesh::LoadAllowedClientKeys(dir / "bad.txt", &keys);
  REQUIRE_FALSE(status.ok());
  CHECK(status.message().find("bad.txt:2:") != std::string::npos);
}

// Real sockets: a CURVE server with the ZAP handler, one client with an
// allowed key, one with another key, one without CURVE.
TEST_CASE("ZAP lets in the allowed key only", "[curve][zap]") {
  TempDir dir;
  Generate(dir, "router");
  std::string allowed_public = Generate(dir, "allowed");
  Generate(dir, "intruder");
  CurveConfig server_config;
  server_config.server_secret_key_file = dir / "router.key";
  server_config.allowed_client_keys = dir / "allowed.pub";
  CurveServerKeys server_keys;
  std::set<std::string> allowed;
  REQUIRE(upmesh::LoadCurveServerKeys(server_config, &server_keys, &allowed).ok());

  zmq::context_t context(1);
  upmesh::ZapAuthenticator zap(context, allowed);
  REQUIRE(zap.Bind().ok());
  zmq::socket_t server(context, zmq::socket_type::router);
  upmesh::ApplyCurveServer(server, server_keys);
  server.bind("tcp://127.0.0.1:*");
  std::string endpoint = server.get(zmq::sockopt::last_endpoint);

  auto client = [&](const std::string& name, bool curve) {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::routing_id, name);
    socket.set(zmq::sockopt::linger, 0);
    if (curve) {
      CurveConfig config;
      config.client_secret_key_file = dir / (name + ".key");
      config.server_public_key_file = dir / "router.pub";
      CurveClientKeys keys;
      REQUIRE(upmesh::LoadCurveClientKeys(config, &keys).ok());
      upmesh::ApplyCurveClient(socket, keys);
    }
    socket.connect(endpoint);
    return socket;
  };
  zmq::socket_t good = client("allowed", true);
  zmq::socket_t bad = client("intruder", true);
  zmq::socket_t plain = client("plain", false);
  // Queued before the handshake; delivered only over a connection that is let in.
  for (zmq::socket_t* socket : {&good, &bad, &plain}) {
    (void)socket->send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
  }

  std::set<std::string> heard_from;
  int64_t deadline = upmesh::NowMs() + 1500;
  while (upmesh::NowMs() < deadline) {
    zmq::pollitem_t items[] = {{zap.handle(), 0, ZMQ_POLLIN, 0}, {server.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(50));
    if (items[0].revents & ZMQ_POLLIN) zap.OnReadable(upmesh::NowMs());
    zmq::message_t id, data;
    while (server.recv(id, zmq::recv_flags::dontwait)) {
      (void)server.recv(data);
      heard_from.insert(id.to_string());
    }
  }
  CHECK(heard_from == std::set<std::string>{"allowed"});
  CHECK(zap.refused() >= 1);  // the intruder's key; the plain client fails before ZAP
}
