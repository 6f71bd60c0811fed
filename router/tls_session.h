// TLS for the config API (OpenSSL 3), without sockets.
//
// TlsServerContext: the SSL_CTX made once at start: TLS 1.2 or newer, no
// renegotiation, the certificate chain and its private key. Load() reads
// both files itself (the key through ReadSecretFile, so a key file that its
// group or others may read is refused like the API token file) and parses
// the bytes it read; every error names the setting and the file: missing,
// unreadable, not PEM, or a key that does not belong to the certificate.
//
// TlsSession: one server-side TLS session per STREAM connection, over two
// memory BIOs (SSL_set_bio): the ciphertext a STREAM frame carried goes in
// with Feed(), which returns the plaintext it decrypted (none while the
// handshake runs, and a frame may end mid-record: the rest comes with the
// next); Write() encrypts a response. What either produced for the peer
// (handshake records, alerts, application data) waits in TakeOutput() until
// the listener sends it as a STREAM frame. After a failure (a failed
// handshake, bytes that are not TLS, a broken record) the session is dead:
// failed() is true, error() says why, and the connection must be closed
// (TakeOutput() may still hold the alert telling the peer why).
#pragma once

#include <memory>
#include <string>

#include "shared/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace upmesh::router {

class TlsServerContext {
 public:
  // `cert_origin` / `key_origin` name the setting in errors ("--tls-cert", "configService.tls.keyFile").
  static Status Load(const std::string& cert_origin, const std::string& cert_file, const std::string& key_origin,
                     const std::string& key_file, std::unique_ptr<TlsServerContext>* out);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  // The certificate's end of validity ("2027-01-31 12:00:00 UTC") and whether
  // it has passed: an expired certificate still loads (the router must start),
  // but clients will refuse it, so the router says so.
  const std::string& valid_until() const { return valid_until_; }
  bool expired() const { return expired_; }

 private:
  explicit TlsServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  std::string valid_until_;
  bool expired_ = false;
};

class TlsSession {
 public:
  explicit TlsSession(const TlsServerContext& context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Takes ciphertext from the peer; appends what it decrypts to `plaintext`.
  // False once the session has failed.
  bool Feed(const char* data, size_t len, std::string* plaintext);
  // Encrypts `plaintext` for the peer (the handshake must be done). False on failure.
  bool Write(const std::string& plaintext);
  // Queues a close_notify alert: the end of this connection's data.
  void Shutdown();
  // Bytes for the peer, made since the last call.
  std::string TakeOutput();

  bool handshake_done() const;
  bool peer_closed() const { return peer_closed_; }  // the peer sent close_notify
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  void Fail(const char* during, int ssl_error);

  SSL* ssl_;
  BIO* in_;   // ciphertext from the peer (owned by ssl_)
  BIO* out_;  // ciphertext for the peer (owned by ssl_)
  bool peer_closed_ = false;
  std::string error_;
};

}  // namespace upmesh::router
