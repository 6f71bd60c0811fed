#include "ctl/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "shared/http_fields.h"
#include "shared/json_reader.h"

namespace upmesh::ctl {
namespace {

// Owns a socket descriptor.
class Socket {
 public:
  Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { Reset(-1); }
  int fd() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

using Clock = std::chrono::steady_clock;

int MillisecondsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd entry{fd, events, 0};
    int ready = ::poll(&entry, 1, MillisecondsLeft(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

// Connects a non-blocking socket to one of host's addresses.
Status Connect(const std::string& where, const std::string& host, uint16_t port, Clock::time_point deadline,
               Socket* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  int resolved = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses);
  if (resolved != 0) return Status::Unavailable(where + ": cannot resolve \"" + host + "\": " + gai_strerror(resolved));
  std::string last_error = "no address";
  for (addrinfo* address = addresses; address; address = address->ai_next) {
    Socket socket;
    socket.Reset(::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          address->ai_protocol));
    if (socket.fd() < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(socket.fd(), address->ai_addr, address->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    if (!WaitFor(socket.fd(), POLLOUT, deadline)) {
      ::freeaddrinfo(addresses);
      return Status::Unavailable(where + ": connection timed out");
    }
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      last_error = std::strerror(error);
      continue;
    }
    ::freeaddrinfo(addresses);
    out->Reset(socket.Release());
    return Status::Ok();
  }
  ::freeaddrinfo(addresses);
  return Status::Unavailable(where + ": " + last_error);
}

// One step of I/O, plain or TLS: `moved` bytes went through, or the call
// must wait for `wait` (POLLIN/POLLOUT) and try again, or `error` says why
// it failed. Nothing moved, no wait and no error: the server closed.
struct IoStep {
  size_t moved = 0;
  short wait = 0;
  std::string error;
};

IoStep FromTls(TlsStream::Step step, size_t moved, const TlsStream& tls) {
  switch (step) {
    case TlsStream::Step::kDone: return {moved, 0, ""};
    case TlsStream::Step::kWantRead: return {0, POLLIN, ""};
    case TlsStream::Step::kWantWrite: return {0, POLLOUT, ""};
    case TlsStream::Step::kFailed: break;
  }
  return {0, 0, tls.error()};
}

IoStep SendSome(int fd, TlsStream* tls, const char* data, size_t size) {
  if (tls) {
    size_t moved = 0;
    TlsStream::Step step = tls->Write(data, size, &moved);
    return FromTls(step, moved, *tls);
  }
  ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
  if (n > 0) return {static_cast<size_t>(n), 0, ""};
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return {0, POLLOUT, ""};
  return {0, 0, std::string("sending the request failed: ") + std::strerror(errno)};
}

IoStep ReceiveSome(int fd, TlsStream* tls, char* buffer, size_t size) {
  if (tls) {
    size_t moved = 0;
    TlsStream::Step step = tls->Read(buffer, size, &moved);
    return FromTls(step, moved, *tls);
  }
  ssize_t n = ::recv(fd, buffer, size, 0);
  if (n >= 0) return {static_cast<size_t>(n), 0, ""};
  if (errno == EAGAIN || errno == EINTR) return {0, POLLIN, ""};
  return {0, 0, std::string("reading the answer failed: ") + std::strerror(errno)};
}

}  // namespace

Status HttpExchange(const std::string& host, uint16_t port, const HttpRequest& request, int timeout_ms,
                    const TlsClientContext* tls, HttpResponse* response) {
  const std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                            std::to_string(port);
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string timed_out = where + ": no complete answer within " + std::to_string(timeout_ms) + " ms";

  Socket socket;
  UPMESH_RETURN_IF_ERROR(Connect(where, host, port, deadline, &socket));
  std::unique_ptr<TlsStream> stream;
  if (tls) {
    stream = std::make_unique<TlsStream>(*tls, socket.fd(), host);
    for (;;) {
      IoStep step = FromTls(stream->Handshake(), 0, *stream);
      if (!step.error.empty()) return Status::Unavailable(where + ": " + step.error);
      if (!step.wait) break;
      if (!WaitFor(socket.fd(), step.wait, deadline)) return Status::Unavailable(timed_out);
    }
  }

  std::string bytes = request.method + " " + request.target + " HTTP/1.1\r\nHost: " + where +
                      "\r\nUser-Agent: upmeshctl/" UPMESH_VERSION "\r\nAccept: */*\r\nConnection: close\r\n";
  if (!request.bearer_token.empty()) bytes += "Authorization: Bearer " + request.bearer_token + "\r\n";
  if (!request.body.empty() || request.method == "PUT" || request.method == "POST") {
    if (!request.content_type.empty()) bytes += "Content-Type: " + request.content_type + "\r\n";
    bytes += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  bytes += "\r\n" + request.body;
  for (size_t sent = 0; sent < bytes.size();) {
    IoStep step = SendSome(socket.fd(), stream.get(), bytes.data() + sent, bytes.size() - sent);
    if (!step.error.empty()) return Status::Unavailable(where + ": " + step.error);
    sent += step.moved;
    if (step.wait && !WaitFor(socket.fd(), step.wait, deadline)) return Status::Unavailable(timed_out);
  }

  HttpResponseParser parser;
  char buffer[64 * 1024];
  bool answered = false;  // any byte came back
  while (!parser.complete()) {
    IoStep step = ReceiveSome(socket.fd(), stream.get(), buffer, sizeof buffer);
    if (!step.error.empty()) return Status::Unavailable(where + ": " + step.error);
    if (step.wait) {
      if (!WaitFor(socket.fd(), step.wait, deadline) || MillisecondsLeft(deadline) == 0) {
        return Status::Unavailable(timed_out);
      }
      continue;
    }
    answered = answered || step.moved > 0;
    Status parsed = step.moved > 0 ? parser.Feed(buffer, step.moved) : parser.FeedEof();
    if (!parsed.ok()) {
      // What a TLS port does with plain HTTP: hangs up without a word.
      const char* hint = !tls && !answered ? " (if the API speaks TLS: --api https://HOST:PORT)" : "";
      return Status::Unavailable(where + ": " + parsed.message() + hint);
    }
  }
  *response = std::move(parser.response());
  return Status::Ok();
}

HttpResponseParser::HttpResponseParser() { reader_.Start(/*head_request=*/false, kMaxResponseBytes); }

Status HttpResponseParser::Feed(const char* data, size_t size) {
  if (complete_) return Status::Ok();
  size_t consumed = 0;
  return Finish(reader_.Feed(data, size, &consumed));
}

Status HttpResponseParser::FeedEof() {
  if (complete_) return Status::Ok();
  return Finish(reader_.FeedEof());
}

Status HttpResponseParser::Finish(http::ResponseReader::Result result) {
  using Fault = http::ResponseReader::Fault;
  if (result == http::ResponseReader::Result::kComplete) {
    complete_ = true;
    response_.status = reader_.status();
    response_.reason = reader_.reason();
    const std::string* content_type = http::FindField(reader_.fields(), "content-type");
    response_.content_type = content_type ? *content_type : "";
    response_.body = std::move(reader_.body());
    return Status::Ok();
  }
  if (result == http::ResponseReader::Result::kIncomplete) return Status::Ok();
  switch (reader_.fault()) {
    case Fault::kTooLarge:
      return Status::Unavailable("the answer is larger than 64 MiB");
    case Fault::kClosedBeforeResponse:
    case Fault::kClosedEarly:
      return Status::Unavailable(reader_.status() == 0 ? "connection closed without an answer"
                                                       : "connection closed before the answer was complete");
    default:
      return Status::Unavailable("not an HTTP response: " + reader_.error());
  }
}

}  // namespace upmesh::ctl
