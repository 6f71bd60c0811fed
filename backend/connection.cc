#include "backend/connection.h"

#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <http_parser.h>  // HTTP_MAX_HEADER_SIZE

#include "shared/log.h"

namespace upmesh::backend {
namespace {

constexpr size_t kReadSize = 128 * 1024;
// How many bytes to stage before a send(): enough to fill a loopback socket
// buffer in few calls, little enough to keep memory per connection small.
constexpr size_t kWriteBudget = 256 * 1024;

// What a test or the mesh may send: heads up to http-parser's own bound (the
// frontend's largest maxHeaderBytes), bodies of any size (they are not kept).
http::RequestLimits Limits() {
  http::RequestLimits limits;
  limits.max_header_bytes = HTTP_MAX_HEADER_SIZE;
  limits.max_target_bytes = SIZE_MAX;  // bounded by the header section
  limits.max_body_bytes = SIZE_MAX;
  return limits;
}

// An Upgrade the request asks for (http-parser's notion): the peer's next
// bytes may not be HTTP.
bool AsksForUpgrade(const http::FieldList& fields) {
  return http::FindField(fields, "upgrade") && http::HopByHop(fields).ConnectionHas("upgrade");
}

}  // namespace

Connection::Connection(int fd, int epoll_fd, uint64_t id, RequestHandler* handler, int64_t now_ms)
    : fd_(fd), epoll_fd_(epoll_fd), id_(id), handler_(handler), now_ms_(now_ms), reader_(Limits()) {
  reader_.StreamBodiesTo(this);
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
  size_t used = 0;
  while (used < size && !paused_) {
    used += reader_.Feed(data + used, size - used);
    if (reader_.failed()) {
      LOG_DEBUG("refused a request: %d %s", reader_.error_status(), reader_.error_detail().c_str());
      queue_.push_back({now_ms_, handler_->MalformedRequest(reader_.error_status(), reader_.error_detail())});
      accepting_ = false;
      return size;
    }
    if (reader_.request_ready()) Answer(reader_.TakeRequest());
  }
  return used;
}

void Connection::OnRequestHead(const http::Request& head) {
  body_length_ = 0;
  hash_body_ = handler_->WantsBodyDigest(head.target);
  if (hash_body_) body_hash_ = Sha256();
  // A client that waits for "100 Continue" before sending the body gets it
  // in its place in the response order.
  if (reader_.TakeContinueRequest()) {
    queue_.push_back({now_ms_, ResponseStream::Text("HTTP/1.1 100 Continue\r\n\r\n", "", false,
                                                     ResponseStream::BodyPart::kNone,
                                                     ResponseStream::Ending::kKeepAlive)});
  }
}

void Connection::OnRequestBody(const char* data, size_t len) {
  body_length_ += len;
  if (hash_body_) body_hash_.Update(std::string_view(data, len));
}

void Connection::Answer(http::Request request) {
  ParsedRequest parsed;
  parsed.method = std::move(request.method);
  parsed.target = std::move(request.target);
  parsed.http_minor = request.version_minor;
  // We never switch protocols; after an Upgrade request the peer's next
  // bytes may not be HTTP, so that request is the last one.
  parsed.keep_alive = request.keep_alive && !AsksForUpgrade(request.fields);
  parsed.fields = std::move(request.fields);
  parsed.body_length = body_length_;
  if (hash_body_) parsed.body_sha256 = body_hash_.HexDigest();
  LOG_DEBUG("%s %s", parsed.method.c_str(), parsed.target.c_str());

  Reply reply = handler_->Handle(parsed);
  bool last = reply.stream.ending() != ResponseStream::Ending::kKeepAlive;
  queue_.push_back({now_ms_ + reply.delay_ms, std::move(reply.stream)});
  if (last) {
    accepting_ = false;
    paused_ = true;
  } else if (queue_.size() >= kMaxQueued) {
    paused_ = true;
  }
}

// ---- output -----------------------------------------------------------------

void Connection::Progress(int64_t now_ms) {
  while (state_ == State::kOpen) {
    if (paused_ && accepting_ && queue_.size() < kMaxQueued / 2) {
      paused_ = false;
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
