#include "backend/server.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/clock.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"

namespace upmesh::backend {
namespace {

constexpr uint64_t kListenerId = 0;  // connection ids start at 1
constexpr int kMaxEvents = 256;

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() {
  connections_.clear();  // closes every connection
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (spare_fd_ >= 0) close(spare_fd_);
}

Status Server::Listen() {
  const std::string where = options_.address + " port " + std::to_string(options_.port);
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(options_.address.c_str(), std::to_string(options_.port).c_str(), &hints, &found);
  if (rc != 0) return Status::InvalidArgument("cannot use address " + where + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> holder(found, &freeaddrinfo);

  listen_fd_ = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::IoError("socket: " + ErrnoText());
  int on = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(listen_fd_, found->ai_addr, found->ai_addrlen) != 0) {
    return Status::IoError("cannot bind " + where + " (--address / --port): " + ErrnoText());
  }
  if (listen(listen_fd_, SOMAXCONN) != 0) return Status::IoError("listen on " + where + ": " + ErrnoText());

  sockaddr_storage bound = {};
  socklen_t bound_size = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::IoError("epoll_create1: " + ErrnoText());
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = kListenerId;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event) != 0) {
    return Status::IoError("epoll_ctl: " + ErrnoText());
  }
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  handler_ = std::make_unique<RequestHandler>(options_.name, port_, options_.defaults, &stats_);
  return Status::Ok();
}

Status Server::Run() {
  // Signals are blocked except inside epoll_pwait, so one that lands between
  // the shutdown check and the wait still interrupts the wait.
  sigset_t blocked, original;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigprocmask(SIG_BLOCK, &blocked, &original);
  sigset_t during_wait = original;
  sigdelset(&during_wait, SIGINT);
  sigdelset(&during_wait, SIGTERM);

  epoll_event events[kMaxEvents];
  Status result;
  while (ShutdownRequests() == 0) {
    int ready = epoll_pwait(epoll_fd_, events, kMaxEvents, WaitTimeoutMs(NowMs()), &during_wait);
    if (ready < 0) {
      if (errno == EINTR) continue;
      result = Status::IoError("epoll_pwait: " + ErrnoText());
      break;
    }
    int64_t now = NowMs();
    for (int i = 0; i < ready; ++i) {
      uint64_t id = events[i].data.u64;
      if (id == kListenerId) {
        AcceptAll(now);
        continue;
      }
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      it->second.connection->OnEvents(events[i].events, now);
      AfterActivity(id);
    }
    RunDueTimers(NowMs());
  }
  sigprocmask(SIG_SETMASK, &original, nullptr);
  LOG_INFO("stopping: served %llu requests on %llu connections",
           static_cast<unsigned long long>(stats_.requests),
           static_cast<unsigned long long>(stats_.connections));
  return result;
}

void Server::AcceptAll(int64_t now_ms) {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: accept with the spare one and close at once,
        // so the client gets an answer (a close) instead of hanging in the
        // backlog, and the level-triggered listener does not spin.
        LOG_WARN("out of file descriptors: refusing a connection");
        close(spare_fd_);
        int refused = accept(listen_fd_, nullptr, nullptr);
        if (refused >= 0) close(refused);
        spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) LOG_WARN("accept: %s", ErrnoText().c_str());
      return;
    }
    int on = 1;
    // Responses are written whole; do not let Nagle hold back their tails.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    ++stats_.connections;
    uint64_t id = next_id_++;
    connections_[id].connection = std::make_unique<Connection>(fd, epoll_fd_, id, handler_.get(), now_ms);
    AfterActivity(id);
  }
}

void Server::AfterActivity(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Slot& slot = it->second;
  if (slot.connection->closed()) {
    connections_.erase(it);
    return;
  }
  int64_t deadline = slot.connection->NextDeadline();
  if (deadline >= 0 && (slot.armed_deadline < 0 || deadline < slot.armed_deadline)) {
    slot.armed_deadline = deadline;
    timers_.push({deadline, id});
  }
}

void Server::RunDueTimers(int64_t now_ms) {
  while (!timers_.empty() && timers_.top().first <= now_ms) {
    auto [deadline, id] = timers_.top();
    timers_.pop();
    auto it = connections_.find(id);
    // Entries superseded by an earlier deadline (or for gone connections) are stale.
    if (it == connections_.end() || it->second.armed_deadline != deadline) continue;
    it->second.armed_deadline = -1;
    it->second.connection->OnTimer(now_ms);
    AfterActivity(id);
  }
}

int Server::WaitTimeoutMs(int64_t now_ms) const {
  if (timers_.empty()) return -1;
  int64_t wait = timers_.top().first - now_ms;
  return wait <= 0 ? 0 : static_cast<int>(std::min<int64_t>(wait, 60000));
}

}  // namespace upmesh::backend
