// TLS for upmeshctl's connection to the config API (https://), OpenSSL 3.
//
// TlsClientContext: how the router's certificate is verified: against the
// CA certificates of one PEM file (--tls-ca, $UPMESH_TLS_CA), or else the
// system's default trust store. Create() refuses a CA file that cannot be
// read or holds no certificate, and a default trust store that is empty, so
// an https:// address never ends up trusting nothing (or everything).
//
// TlsStream: one client session on a connected non-blocking socket. It
// checks the certificate chain and that the certificate names the host
// (a DNS name, or an IP address for an IP literal; SNI for names), TLS 1.2
// or newer. Every call does what it can without blocking and says what to
// wait for when it could not finish; the caller polls and calls again.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "shared/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace upmesh::ctl {

constexpr char kTlsCaEnv[] = "UPMESH_TLS_CA";

class TlsClientContext {
 public:
  // `ca_origin` names the setting in errors ("--tls-ca"); `ca_file` empty: the system trust store.
  static Status Create(const std::string& ca_origin, const std::string& ca_file,
                       std::unique_ptr<TlsClientContext>* out);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  // What the certificate is checked against, for messages: "the CA of --tls-ca /x".
  const std::string& trust() const { return trust_; }

 private:
  TlsClientContext(SSL_CTX* ctx, std::string trust) : ctx_(ctx), trust_(std::move(trust)) {}
  SSL_CTX* ctx_;
  std::string trust_;
};

class TlsStream {
 public:
  enum class Step { kDone, kWantRead, kWantWrite, kFailed };

  // `host`: the name or address the certificate must be for.
  TlsStream(const TlsClientContext& context, int fd, const std::string& host);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // The handshake and the certificate check.
  Step Handshake();
  // kDone with *moved > 0 bytes sent or received; Read: kDone with 0 is the
  // server's close_notify.
  Step Write(const char* data, size_t size, size_t* moved);
  Step Read(char* buffer, size_t size, size_t* moved);
  // Why the last call failed, for a message.
  const std::string& error() const { return error_; }

 private:
  Step Fail(int result, const char* during);

  const TlsClientContext& context_;
  SSL* ssl_;
  std::string error_;
};

}  // namespace upmesh::ctl
