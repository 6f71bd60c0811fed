#include "ctl/tls_client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "shared/tls_error.h"

namespace upmesh::ctl {
namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char address[16];
  return inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
}

std::string DefaultLocation(const char* env_name, const char* built_in) {
  const char* env = std::getenv(env_name);
  return env && *env ? env : built_in;
}

bool DirectoryHasEntries(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return false;
  bool found = false;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') {
      found = true;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

// The default store holds something: certificates loaded from its file, or a
// certificate directory with entries (those are looked up when needed).
bool DefaultTrustStoreUsable(SSL_CTX* ctx, std::string* where) {
  std::string file = DefaultLocation(X509_get_default_cert_file_env(), X509_get_default_cert_file());
  std::string dir = DefaultLocation(X509_get_default_cert_dir_env(), X509_get_default_cert_dir());
  *where = file + ", " + dir;
  if (sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))) > 0) return true;
  return DirectoryHasEntries(dir.substr(0, dir.find(':')));
}

}  // namespace

Status TlsClientContext::Create(const std::string& ca_origin, const std::string& ca_file,
                                std::unique_ptr<TlsClientContext>* out) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return Status::IoError("TLS: cannot make a context: " + TakeTlsError());
  std::string trust = ca_file.empty() ? "the system trust store" : "the CA of " + ca_origin + " " + ca_file;
  std::unique_ptr<TlsClientContext> context(new TlsClientContext(ctx, trust));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!ca_file.empty()) {
    struct stat info {};
    if (::stat(ca_file.c_str(), &info) != 0 || ::access(ca_file.c_str(), R_OK) != 0) {
      return Status::InvalidArgument(ca_origin + " " + ca_file + ": cannot open: " + std::strerror(errno));
    }
    if (!S_ISREG(info.st_mode)) return Status::InvalidArgument(ca_origin + " " + ca_file + ": not a regular file");
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument(ca_origin + " " + ca_file + ": no PEM CA certificate in it (" + TakeTlsError() +
                                     ")");
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
    TakeTlsError();  // a missing default file is judged below
    std::string where;
    if (!DefaultTrustStoreUsable(ctx, &where)) {
      return Status::InvalidArgument(
          "an https:// API needs a CA to check the router's certificate against: --tls-ca FILE or $" +
          std::string(kTlsCaEnv) + " (the system trust store, " + where + ", has none)");
    }
  }
  *out = std::move(context);
  return Status::Ok();
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

TlsStream::TlsStream(const TlsClientContext& context, int fd, const std::string& host)
    : context_(context), ssl_(SSL_new(context.get())) {
  SSL_set_fd(ssl_, fd);
  if (IsIpLiteral(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
  }
  SSL_set_connect_state(ssl_);
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

TlsStream::Step TlsStream::Handshake() {
  ERR_clear_error();
  int result = SSL_do_handshake(ssl_);
  return result == 1 ? Step::kDone : Fail(result, "handshake");
}

TlsStream::Step TlsStream::Write(const char* data, size_t size, size_t* moved) {
  ERR_clear_error();
  *moved = 0;
  int result = SSL_write_ex(ssl_, data, size, moved);
  return result == 1 ? Step::kDone : Fail(result, "sending");
}

TlsStream::Step TlsStream::Read(char* buffer, size_t size, size_t* moved) {
  ERR_clear_error();
  *moved = 0;
  int result = SSL_read_ex(ssl_, buffer, size, moved);
  if (result == 1) return Step::kDone;
  if (SSL_get_error(ssl_, result) == SSL_ERROR_ZERO_RETURN) return Step::kDone;
  return Fail(result, "reading");
}

TlsStream::Step TlsStream::Fail(int result, const char* during) {
  int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) return Step::kWantRead;
  if (error == SSL_ERROR_WANT_WRITE) return Step::kWantWrite;
  long verified = SSL_get_verify_result(ssl_);
  if (verified != X509_V_OK) {
    error_ = std::string("the router's certificate did not verify against ") + context_.trust() + ": " +
             X509_verify_cert_error_string(verified);
  } else if (error == SSL_ERROR_SYSCALL && errno != 0) {
    error_ = std::string("TLS ") + during + ": " + std::strerror(errno);
  } else {
    error_ = std::string("TLS ") + during + " failed: " +
             TakeTlsError(error == SSL_ERROR_SYSCALL ? "the connection was closed" : "unknown TLS error");
    if (!SSL_is_init_finished(ssl_)) error_ += " (does the API at this address speak https?)";
  }
  TakeTlsError();
  return Step::kFailed;
}

}  // namespace upmesh::ctl
