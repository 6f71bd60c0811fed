#include "router/tls_session.h"

#include <algorithm>
#include <ctime>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "shared/secret_file.h"
#include "shared/tls_error.h"

namespace upmesh::router {
namespace {

// An encrypted key would make OpenSSL prompt on the terminal: refuse instead.
int NoPassphrase(char*, int, int, void*) { return 0; }

std::string TimeText(const ASN1_TIME* time) {
  std::tm parts{};
  char text[32] = "an unreadable date";
  if (ASN1_TIME_to_tm(time, &parts) == 1) std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text;
}

// Reads the leaf certificate and the intermediates after it from PEM bytes.
Status UseCertificateChain(SSL_CTX* ctx, const std::string& pem, const std::string& where) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* leaf = PEM_read_bio_X509_AUX(bio, nullptr, NoPassphrase, nullptr);
  if (!leaf) {
    BIO_free(bio);
    return Status::InvalidArgument(where + ": no PEM certificate in it (" + TakeTlsError() +
                                   "); expected \"-----BEGIN CERTIFICATE-----\"");
  }
  bool used = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  if (!used) {
    BIO_free(bio);
    return Status::InvalidArgument(where + ": the certificate is unusable: " + TakeTlsError());
  }
  while (X509* intermediate = PEM_read_bio_X509(bio, nullptr, NoPassphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, intermediate) != 1) {
      X509_free(intermediate);
      BIO_free(bio);
      return Status::InvalidArgument(where + ": a chain certificate is unusable: " + TakeTlsError());
    }
  }
  TakeTlsError();  // the end of the PEM data, not an error
  BIO_free(bio);
  return Status::Ok();
}

// After UseCertificateChain: the key must be the certificate's.
Status UsePrivateKey(SSL_CTX* ctx, const std::string& pem, const std::string& where, const std::string& cert_file) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, NoPassphrase, nullptr);
  BIO_free(bio);
  if (!key) {
    return Status::InvalidArgument(where + ": no unencrypted PEM private key in it (" + TakeTlsError() + ")");
  }
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
    EVP_PKEY_free(key);
    TakeTlsError();
    return Status::InvalidArgument(where + ": this key does not belong to the certificate in " + cert_file);
  }
  bool used = SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!used) return Status::InvalidArgument(where + ": the key is unusable: " + TakeTlsError());
  return Status::Ok();
}

}  // namespace

Status TlsServerContext::Load(const std::string& cert_origin, const std::string& cert_file,
                              const std::string& key_origin, const std::string& key_file,
                              std::unique_ptr<TlsServerContext>* out) {
  std::string cert_pem;
  std::string key_pem;
  if (Status read = ReadTextFile(cert_origin, cert_file, &cert_pem); !read.ok()) return read;
  if (Status read = ReadSecretFile(key_origin, key_file, &key_pem); !read.ok()) return read;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Status::IoError("TLS: cannot make a context: " + TakeTlsError());
  std::unique_ptr<TlsServerContext> context(new TlsServerContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation only costs the server; no API client needs it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (Status used = UseCertificateChain(ctx, cert_pem, cert_origin + " " + cert_file); !used.ok()) return used;
  if (Status used = UsePrivateKey(ctx, key_pem, key_origin + " " + key_file, cert_file); !used.ok()) return used;
  const ASN1_TIME* not_after = X509_get0_notAfter(SSL_CTX_get0_certificate(ctx));
  context->valid_until_ = TimeText(not_after);
  context->expired_ = X509_cmp_current_time(not_after) < 0;
  *out = std::move(context);
  return Status::Ok();
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

TlsSession::TlsSession(const TlsServerContext& context)
    : ssl_(SSL_new(context.get())), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  // An empty input BIO means "wait for more", not end of file.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

bool TlsSession::Feed(const char* data, size_t len, std::string* plaintext) {
  if (failed()) return false;
  if (peer_closed_) return true;  // nothing may follow close_notify
  ERR_clear_error();
  if (BIO_write(in_, data, static_cast<int>(len)) != static_cast<int>(len)) {
    Fail("buffering input", SSL_ERROR_SSL);
    return false;
  }
  char buffer[16 * 1024];
  for (;;) {
    int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n > 0) {
      plaintext->append(buffer, static_cast<size_t>(n));
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ) return true;
    if (error == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return true;
    }
    Fail(handshake_done() ? "reading" : "handshake", error);
    return false;
  }
}

bool TlsSession::Write(const std::string& plaintext) {
  if (failed()) return false;
  if (plaintext.empty()) return true;
  ERR_clear_error();
  int n = SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
  if (n == static_cast<int>(plaintext.size())) return true;
  Fail("writing", SSL_get_error(ssl_, n));
  return false;
}

void TlsSession::Shutdown() {
  if (failed() || !handshake_done()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsSession::TakeOutput() {
  std::string bytes(static_cast<size_t>(BIO_pending(out_)), '\0');
  if (bytes.empty()) return bytes;
  int n = BIO_read(out_, bytes.data(), static_cast<int>(bytes.size()));
  bytes.resize(static_cast<size_t>(std::max(0, n)));
  return bytes;
}

bool TlsSession::handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }

void TlsSession::Fail(const char* during, int ssl_error) {
  std::string fallback =
      ssl_error == SSL_ERROR_SYSCALL ? "the connection broke" : "TLS error " + std::to_string(ssl_error);
  error_ = std::string(during) + ": " + TakeTlsError(fallback);
}

}  // namespace upmesh::router
