#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "router/tls_session.h"

namespace upmesh::router {
namespace {

// A self-signed certificate for localhost / 127.0.0.1 and its key, as PEM.
struct Identity {
  std::string cert_pem;
  std::string key_pem;
};

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<size_t>(size));
  BIO_free(bio);
  return text;
}

// Valid from two hours ago until `valid_s` seconds from now (negative: expired already).
Identity MakeIdentity(const char* common_name, long valid_s = 3600) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -7200);
  X509_gmtime_adj(X509_getm_notAfter(cert), valid_s);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_EXTENSION* ca = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(cert, ca, -1);
  X509_EXTENSION_free(ca);
  REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  Identity identity;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  identity.cert_pem = BioText(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  identity.key_pem = BioText(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return identity;
}

const Identity& ServerIdentity() {
  static const Identity identity = MakeIdentity("localhost");
  return identity;
}

// Files in a fresh temporary directory.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/upmesh-tls-test-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Write(const std::string& name, const std::string& contents, mode_t mode = 0600) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << contents;
    chmod(path.c_str(), mode);
    return path;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

std::unique_ptr<TlsServerContext> LoadServerContext(TempDir& dir) {
  std::unique_ptr<TlsServerContext> context;
  Status loaded = TlsServerContext::Load("--tls-cert", dir.Write("cert.pem", ServerIdentity().cert_pem, 0644),
                                         "--tls-key", dir.Write("key.pem", ServerIdentity().key_pem), &context);
  INFO(loaded.message());
  REQUIRE(loaded.ok());
  return context;
}

// A client SSL over memory BIOs, trusting the server's self-signed certificate.
class Client {
 public:
  explicit Client(const std::string& ca_pem, const char* host = "localhost") {
    ctx_ = SSL_CTX_new(TLS_client_method());
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set1_host(ssl_, host);
    SSL_set_connect_state(ssl_);
  }
  ~Client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  SSL* ssl() { return ssl_; }
  // Ciphertext the client has for the server.
  std::string TakeOutput() {
    std::string bytes(static_cast<size_t>(BIO_pending(out_)), '\0');
    if (!bytes.empty()) BIO_read(out_, bytes.data(), static_cast<int>(bytes.size()));
    return bytes;
  }
  void Give(const std::string& ciphertext) { BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size())); }
  bool HandshakeStep() { return SSL_do_handshake(ssl_) == 1; }
  std::string ReadAll() {
    std::string text;
    char buffer[4096];
    int n;
    while ((n = SSL_read(ssl_, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
    return text;
  }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

// Runs the handshake between the two, feeding the server `chunk` bytes at a time.
void Handshake(Client& client, TlsSession& session, size_t chunk = 1 << 20) {
  for (int round = 0; round < 20 && !(client.HandshakeStep() && session.handshake_done()); ++round) {
    std::string to_server = client.TakeOutput();
    std::string plaintext;
    for (size_t i = 0; i < to_server.size(); i += chunk) {
      REQUIRE(session.Feed(to_server.data() + i, std::min(chunk, to_server.size() - i), &plaintext));
    }
    CHECK(plaintext.empty());
    client.Give(session.TakeOutput());
  }
  REQUIRE(session.handshake_done());
  REQUIRE(SSL_is_init_finished(client.ssl()));
}

// A server session and a client that have finished their handshake.
struct Connected {
  explicit Connected(size_t chunk = 1 << 20) { Handshake(client, session, chunk); }
  TempDir dir;
  std::unique_ptr<TlsServerContext> context = LoadServerContext(dir);
  TlsSession session{*context};
  Client client{ServerIdentity().cert_pem};
};

TEST_CASE("TLS session: handshake, request and response entirely in memory", "[tls]") {
  Connected connected;
  TlsSession& session = connected.session;
  Client& client = connected.client;
  CHECK(SSL_version(client.ssl()) >= TLS1_2_VERSION);
  CHECK(SSL_CTX_get_min_proto_version(connected.context->get()) == TLS1_2_VERSION);
  CHECK(SSL_get_verify_result(client.ssl()) == X509_V_OK);

  const std::string request = "GET /configuration/cluster HTTP/1.1\r\nHost: localhost\r\n\r\n";
  REQUIRE(SSL_write(client.ssl(), request.data(), static_cast<int>(request.size())) > 0);
  std::string ciphertext = client.TakeOutput();
  CHECK(ciphertext.find("configuration") == std::string::npos);  // encrypted on the wire
  std::string plaintext;
  REQUIRE(session.Feed(ciphertext.data(), ciphertext.size(), &plaintext));
  CHECK(plaintext == request);

  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]";
  REQUIRE(session.Write(response));
  client.Give(session.TakeOutput());
  CHECK(client.ReadAll() == response);
  CHECK(session.TakeOutput().empty());

  session.Shutdown();
  client.Give(session.TakeOutput());
  char byte;
  CHECK(SSL_read(client.ssl(), &byte, 1) == 0);
  CHECK(SSL_get_error(client.ssl(), 0) == SSL_ERROR_ZERO_RETURN);
}

TEST_CASE("TLS session: records split into single bytes are reassembled", "[tls]") {
  Connected connected(/*chunk=*/1);
  TlsSession& session = connected.session;
  Client& client = connected.client;
  std::string request = "PUT /configuration/cluster HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
  std::string ciphertext;
  // One TLS record per byte of plaintext, each fed to the session a byte at a time.
  for (char c : request + "hello") {
    REQUIRE(SSL_write(client.ssl(), &c, 1) == 1);
    ciphertext += client.TakeOutput();
  }
  std::string plaintext;
  for (char c : ciphertext) REQUIRE(session.Feed(&c, 1, &plaintext));
  CHECK(plaintext == request + "hello");
}

TEST_CASE("TLS session: the client sees close_notify, the session sees the client's", "[tls]") {
  Connected connected;
  SSL_shutdown(connected.client.ssl());
  std::string ciphertext = connected.client.TakeOutput();
  std::string plaintext;
  REQUIRE(connected.session.Feed(ciphertext.data(), ciphertext.size(), &plaintext));
  CHECK(connected.session.peer_closed());
  CHECK_FALSE(connected.session.failed());
}

TEST_CASE("TLS session: plain HTTP and garbage fail the session cleanly", "[tls]") {
  TempDir dir;
  std::unique_ptr<TlsServerContext> context = LoadServerContext(dir);
  SECTION("plain HTTP") {
    TlsSession session(*context);
    std::string plaintext;
    std::string request = "GET /configuration/cluster HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_FALSE(session.Feed(request.data(), request.size(), &plaintext));
    CHECK(session.failed());
    CHECK(session.error().find("http request") != std::string::npos);
    CHECK(plaintext.empty());
    CHECK_FALSE(session.Feed(request.data(), request.size(), &plaintext));  // dead, but no crash
    CHECK_FALSE(session.Write("HTTP/1.1 200 OK\r\n\r\n"));
  }
  SECTION("random bytes") {
    TlsSession session(*context);
    std::string plaintext;
    std::string garbage;
    for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) & 0xff));
    garbage[0] = 0x16;  // a handshake record type, so the garbage gets past the first byte
    CHECK_FALSE(session.Feed(garbage.data(), garbage.size(), &plaintext));
    CHECK(session.failed());
    CHECK_FALSE(session.error().empty());
    CHECK(plaintext.empty());
  }
  SECTION("a client that does not trust the certificate") {
    TlsSession session(*context);
    Client client(MakeIdentity("someone else").cert_pem);
    for (int round = 0; round < 10 && !session.failed(); ++round) {
      client.HandshakeStep();
      std::string to_server = client.TakeOutput();
      if (to_server.empty()) break;
      std::string plaintext;
      session.Feed(to_server.data(), to_server.size(), &plaintext);
      client.Give(session.TakeOutput());
    }
    CHECK_FALSE(SSL_is_init_finished(client.ssl()));
    CHECK(session.failed());  // the client's alert
    CHECK(session.error().find("unknown ca") != std::string::npos);
  }
  SECTION("a truncated handshake waits for more, it does not fail") {
    TlsSession session(*context);
    Client client(ServerIdentity().cert_pem);
    client.HandshakeStep();
    std::string hello = client.TakeOutput();
    std::string plaintext;
    CHECK(session.Feed(hello.data(), hello.size() / 2, &plaintext));
    CHECK_FALSE(session.failed());
    CHECK(session.TakeOutput().empty());
  }
}

Status Load(const std::string& cert, const std::string& key) {
  std::unique_ptr<TlsServerContext> context;
  Status status =
      TlsServerContext::Load("configService.tls.certFile", cert, "configService.tls.keyFile", key, &context);
  CHECK(status.ok() == (context != nullptr));
  return status;
}

TEST_CASE("TLS context: unusable certificate and key files are errors naming them", "[tls]") {
  TempDir dir;
  std::string cert = dir.Write("cert.pem", ServerIdentity().cert_pem, 0644);
  std::string key = dir.Write("key.pem", ServerIdentity().key_pem);
  CHECK(Load(cert, key).ok());

  Status status = Load(dir.path("missing.pem"), key);
  CHECK(status.message() == "configService.tls.certFile " + dir.path("missing.pem") +
                                ": cannot open: No such file or directory");
  status = Load(cert, dir.path("missing.key"));
  CHECK(status.message().find("configService.tls.keyFile " + dir.path("missing.key") + ": cannot open") == 0);

  status = Load(dir.Write("junk.pem", "not a certificate\n", 0644), key);
  CHECK(status.message().find("junk.pem: no PEM certificate in it") != std::string::npos);
  status = Load(cert, dir.Write("junk.key", "not a key\n"));
  CHECK(status.message().find("junk.key: no unencrypted PEM private key in it") != std::string::npos);
  // A certificate where the key should be.
  status = Load(cert, dir.Write("cert-as.key", ServerIdentity().cert_pem));
  CHECK(status.message().find("no unencrypted PEM private key") != std::string::npos);

  status = Load(cert, dir.Write("open.key", ServerIdentity().key_pem, 0640));
  CHECK(status.message().find("configService.tls.keyFile " + dir.path("open.key") +
                              ": readable or writable by group or others (mode 0640)") == 0);
  CHECK(status.message().find("chmod 600") != std::string::npos);

  status = Load(cert, dir.Write("other.key", MakeIdentity("other").key_pem));
  CHECK(status.message() == "configService.tls.keyFile " + dir.path("other.key") +
                                ": this key does not belong to the certificate in " + cert);

  std::unique_ptr<TlsServerContext> context;
  REQUIRE(TlsServerContext::Load("c", cert, "k", key, &context).ok());
  CHECK_FALSE(context->expired());
  CHECK(context->valid_until().size() == std::string("2027-01-31 12:00:00 UTC").size());
  Identity old = MakeIdentity("expired", -60);
  REQUIRE(TlsServerContext::Load("c", dir.Write("old.pem", old.cert_pem), "k", dir.Write("old.key", old.key_pem),
                                 &context).ok());
  CHECK(context->expired());

  // A chain: the leaf, then another certificate.
  std::string chain = dir.Write("chain.pem", ServerIdentity().cert_pem + MakeIdentity("intermediate").cert_pem, 0644);
  CHECK(Load(chain, key).ok());
}

}  // namespace
}  // namespace upmesh::router
