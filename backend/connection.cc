#include "backend/connection.h"

#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "shared/log.h"

namespace upmesh::backend {
namespace {

constexpr size_t kReadSize = 128 * 1024;
// How many bytes to stage before a send(): enough to fill a loopback socket
// buffer in few calls, little enough to keep memory per connection small.
constexpr size_t kWriteBudget = 256 * 1024;

Connection* Self(http_parser* parser) { return static_cast<Connection*>(parser->data); }

bool IsHttp11OrLater(const ParsedRequest& request) {
  return request.http_major > 1 || (request.http_major == 1 && request.http_minor >= 1);
}

}  // namespace

const http_parser_settings Connection::kParserSettings = [] {
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_message_begin = &Connection::OnMessageBegin;
  settings.on_url = &Connection::OnUrl;
  settings.on_header_field = &Connection::OnHeaderField;
  settings.on_header_value = &Connection::OnHeaderValue;
  settings.on_headers_complete = &Connection::OnHeadersComplete;
  settings.on_body = &Connection::OnBody;
  settings.on_message_complete = &Connection::OnMessageComplete;
  return settings;
}();

Connection::Connection(int fd, int epoll_fd, uint64_t id, RequestHandler* handler, int64_t now_ms)
    : fd_(fd), epoll_fd_(epoll_fd), id_(id), handler_(handler), now_ms_(now_ms) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = id_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &event) == 0) {
    interest_ = EPOLLIN;
  } else {
    LOG_WARN("epoll_ctl(ADD): %s", strerror(errno));
    Close();
  }
}

Connection::~Connection() { Close(); }

void Connection::Close() {
  if (fd_ >= 0) close(fd_);  // also removes it from the epoll set
  fd_ = -1;
  state_ = State::kClosed;
}

// ---- events -----------------------------------------------------------------

void Connection::OnEvents(uint32_t epoll_events, int64_t now_ms) {
  now_ms_ = now_ms;
  if (epoll_events & (EPOLLERR | EPOLLHUP)) {
    // Reset by the peer, or both directions shut: nothing can be delivered.
    Close();
    return;
  }
  if (epoll_events & EPOLLIN) ReadSocket();
  if (state_ == State::kOpen) Progress(now_ms);
  UpdateInterest();
}

void Connection::OnTimer(int64_t now_ms) {
  now_ms_ = now_ms;
  switch (state_) {
    case State::kOpen:
      Progress(now_ms);
      break;
    case State::kDraining:
      if (now_ms >= state_deadline_) Close();
      break;
    case State::kResetting:
      TryReset(now_ms);
      break;
    case State::kClosed:
      break;
  }
  UpdateInterest();
}

int64_t Connection::NextDeadline() const {
  switch (state_) {
    case State::kOpen:
      // With output pending EPOLLOUT wakes us; otherwise the queue's head is
      // waiting for its delay to pass.
      if (!OutputPending() && !queue_.empty()) return queue_.front().ready_at_ms;
      return -1;
    case State::kDraining:
    case State::kResetting:
      return state_deadline_;
    case State::kClosed:
      return -1;
  }
  return -1;
}

void Connection::UpdateInterest() {
  if (state_ == State::kClosed) return;
  uint32_t wanted = 0;
  if (state_ == State::kOpen) {
    if (accepting_ && !paused_ && !peer_closed_) wanted |= EPOLLIN;
    if (OutputPending()) wanted |= EPOLLOUT;
  } else if (state_ == State::kDraining) {
    wanted = EPOLLIN;
  }
  if (wanted == interest_) return;
  epoll_event event = {};
  event.events = wanted;
  event.data.u64 = id_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event) != 0) {
    LOG_WARN("epoll_ctl(MOD): %s", strerror(errno));
    Close();
    return;
  }
  interest_ = wanted;
}

// ---- input ------------------------------------------------------------------

void Connection::ReadSocket() {
  char buffer[kReadSize];
  ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    Close();
    return;
  }
  if (n == 0) {
    if (state_ == State::kDraining) {
      Close();
    } else {
      peer_closed_ = true;  // answer what already arrived, then close
    }
    return;
  }
  if (state_ != State::kOpen || !accepting_) return;  // draining / after the last request: discard
  size_t size = static_cast<size_t>(n);
  if (unparsed_.empty()) {
    size_t used = Parse(buffer, size);
    if (used < size) unparsed_.assign(buffer + used, size - used);
  } else {
    unparsed_.append(buffer, size);
  }
}

size_t Connection::Parse(const char* data, size_t size) {
  size_t used = http_parser_execute(&parser_, &kParserSettings, data, size);
  http_errno error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_PAUSED) {
    paused_ = true;
    return used;
  }
  if (error != HPE_OK) {
    if (accepting_) {
      LOG_DEBUG("malformed request: %s", http_errno_description(error));
      queue_.push_back({now_ms_, handler_->MalformedRequest(http_errno_description(error))});
      accepting_ = false;
    }
    return size;
  }
  return used;
}

int Connection::OnMessageBegin(http_parser* parser) {
  Connection* self = Self(parser);
  self->request_ = ParsedRequest();
  self->last_callback_was_field_ = false;
  self->hash_body_ = false;
  return 0;
}

int Connection::OnUrl(http_parser* parser, const char* at, size_t length) {
  Self(parser)->request_.target.append(at, length);
  return 0;
}

int Connection::OnHeaderField(http_parser* parser, const char* at, size_t length) {
  Connection* self = Self(parser);
  if (!self->last_callback_was_field_) self->request_.fields.emplace_back();
  self->request_.fields.back().name.append(at, length);
  self->last_callback_was_field_ = true;
  return 0;
}

int Connection::OnHeaderValue(http_parser* parser, const char* at, size_t length) {
  Connection* self = Self(parser);
  self->request_.fields.back().value.append(at, length);
  self->last_callback_was_field_ = false;
  return 0;
}

int Connection::OnHeadersComplete(http_parser* parser) {
  Connection* self = Self(parser);
  ParsedRequest& request = self->request_;
  request.method = http_method_str(static_cast<http_method>(parser->method));
  request.http_major = parser->http_major;
  request.http_minor = parser->http_minor;
  self->hash_body_ = self->handler_->WantsBodyDigest(request.target);
  if (self->hash_body_) self->body_hash_ = Sha256();
  // A client that waits for "100 Continue" before sending the body gets it
  // in its place in the response order.
  const std::string* expect = http::FindField(request.fields, "expect");
  if (expect && IsHttp11OrLater(request) && http::EqualsIgnoreCase(*expect, "100-continue")) {
    self->queue_.push_back({self->now_ms_,
                            ResponseStream::Text("HTTP/1.1 100 Continue\r\n\r\n", "", false,
                                                 ResponseStream::BodyPart::kNone,
                                                 ResponseStream::Ending::kKeepAlive)});
  }
  return 0;
}

int Connection::OnBody(http_parser* parser, const char* at, size_t length) {
  Connection* self = Self(parser);
  self->request_.body_length += length;
  if (self->hash_body_) self->body_hash_.Update(std::string_view(at, length));
  return 0;
}

int Connection::OnMessageComplete(http_parser* parser) {
  Connection* self = Self(parser);
  ParsedRequest& request = self->request_;
  // We never switch protocols; after an Upgrade request the peer's next
  // bytes may not be HTTP, so that request is the last one.
  request.keep_alive = http_should_keep_alive(parser) && !parser->upgrade;
  if (self->hash_body_) request.body_sha256 = self->body_hash_.HexDigest();
  LOG_DEBUG("%s %s", request.method.c_str(), request.target.c_str());

  Reply reply = self->handler_->Handle(request);
  bool last = reply.stream.ending() != ResponseStream::Ending::kKeepAlive;
  self->queue_.push_back({self->now_ms_ + reply.delay_ms, std::move(reply.stream)});
  if (last) {
    self->accepting_ = false;
    http_parser_pause(parser, 1);
  } else if (self->queue_.size() >= kMaxQueued) {
    http_parser_pause(parser, 1);
  }
  return 0;
}

// ---- output -----------------------------------------------------------------

void Connection::Progress(int64_t now_ms) {
  while (state_ == State::kOpen) {
    if (paused_ && accepting_ && queue_.size() < kMaxQueued / 2) {
      paused_ = false;
      http_parser_pause(&parser_, 0);
      size_t used = Parse(unparsed_.data(), unparsed_.size());
      unparsed_.erase(0, used);
    }
    Write(now_ms);
    if (state_ != State::kOpen) return;
    // Writing may have drained the queue enough to parse more input.
    bool can_resume = paused_ && accepting_ && queue_.size() < kMaxQueued / 2;
    if (!can_resume) break;
  }
  if (!accepting_) unparsed_.clear();
  if (state_ != State::kOpen || OutputPending()) return;
  if (final_ending_ == ResponseStream::Ending::kClose) {
    StartDraining(now_ms);
  } else if (final_ending_ == ResponseStream::Ending::kReset) {
    TryReset(now_ms);
  } else if (queue_.empty() && peer_closed_ && !paused_) {
    Close();  // the peer is gone and everything it asked for is answered
  }
}

void Connection::Write(int64_t now_ms) {
  for (;;) {
    out_.erase(0, out_sent_);
    out_sent_ = 0;
    while (out_.size() < kWriteBudget && !queue_.empty() && queue_.front().ready_at_ms <= now_ms) {
      Pending& front = queue_.front();
      if (!front.stream.Produce(&out_, kWriteBudget)) break;
      ResponseStream::Ending ending = front.stream.ending();
      queue_.pop_front();
      if (ending != ResponseStream::Ending::kKeepAlive) {
        final_ending_ = ending;
        queue_.clear();
        break;
      }
    }
    if (out_.empty()) return;
    ssize_t n = send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) Close();
      return;
    }
    out_sent_ = static_cast<size_t>(n);
    if (OutputPending()) return;  // the socket is full: EPOLLOUT resumes us
  }
}

void Connection::StartDraining(int64_t now_ms) {
  shutdown(fd_, SHUT_WR);
  state_ = State::kDraining;
  state_deadline_ = now_ms + kDrainMs;
}

void Connection::TryReset(int64_t now_ms) {
  if (state_ != State::kResetting) {
    state_ = State::kResetting;
    reset_give_up_at_ms_ = now_ms + kResetWaitMs;
  }
  // SIOCOUTQ: bytes sent but not yet acknowledged. Resetting earlier would
  // discard the partial body before the peer ever saw it.
  int unacknowledged = 0;
  bool acknowledged = ioctl(fd_, SIOCOUTQ, &unacknowledged) != 0 || unacknowledged == 0;
  if (acknowledged || now_ms >= reset_give_up_at_ms_) {
    linger abort = {1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    Close();
    return;
  }
  state_deadline_ = now_ms + 1;  // poll again shortly
}

}  // namespace upmesh::backend
