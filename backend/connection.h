// One accepted client connection of the demo backend.
//
// Requests are read by the shared http::RequestReader
// (shared/http_request_reader.h), however TCP splits them, with its checks
// and refusals; bodies are not kept, only counted (and hashed for echo=1) as
// they arrive. Every parsed request gets its response queued right away, with the
// time it may be sent (delay=MS); responses leave strictly in request order,
// so a slow response holds back the pipelined ones behind it. Bodies are
// produced lazily (ResponseStream), so a response of any size costs at most
// one write budget of memory, and writes never block: what the socket does
// not take waits for EPOLLOUT.
//
// Back-pressure: with kMaxQueued responses waiting, parsing pauses and the
// connection stops reading until the queue drains. A refused request gets
// the reader's status, then the connection closes.
//
// Endings: after a Connection: close response the connection half-closes
// (FIN) and reads until the peer closes or kDrainMs passes, so the peer does
// not see a reset that could eat the response. After a drop=1 response it
// waits (at most kResetWaitMs) for the peer to acknowledge the partial body,
// then resets (SO_LINGER 0).
//
// The server owns connections and drives them from epoll and its timers;
// a connection (de)registers its own epoll interest under its id.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "backend/request_handler.h"
#include "backend/response_stream.h"
#include "shared/http_request_reader.h"
#include "shared/sha256.h"

namespace upmesh::backend {

class Connection : private http::BodySink {
 public:
  // Takes ownership of the non-blocking socket `fd` and registers it with
  // `epoll_fd` (event data = id). `handler` must outlive the connection.
  Connection(int fd, int epoll_fd, uint64_t id, RequestHandler* handler, int64_t now_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void OnEvents(uint32_t epoll_events, int64_t now_ms);
  void OnTimer(int64_t now_ms);

  bool closed() const { return state_ == State::kClosed; }
  // When OnTimer next has work to do, or -1 for never.
  int64_t NextDeadline() const;

  static constexpr size_t kMaxQueued = 64;
  static constexpr int64_t kDrainMs = 1000;
  static constexpr int64_t kResetWaitMs = 2000;

 private:
  enum class State { kOpen, kDraining, kResetting, kClosed };

  struct Pending {
    int64_t ready_at_ms;
    ResponseStream stream;
  };

  void ReadSocket();
  // Feeds bytes to the reader; returns how many it consumed (fewer than
  // `size` only when it paused).
  size_t Parse(const char* data, size_t size);
  // Queues the response to a complete request.
  void Answer(http::Request request);
  // Resumes parsing buffered input, writes what is ready, moves to the next
  // state when a final response is out.
  void Progress(int64_t now_ms);
  void Write(int64_t now_ms);
  void StartDraining(int64_t now_ms);
  void TryReset(int64_t now_ms);
  void Close();
  void UpdateInterest();
  bool OutputPending() const { return out_sent_ < out_.size(); }

  void OnRequestHead(const http::Request& head) override;
  void OnRequestBody(const char* data, size_t len) override;

  int fd_;
  const int epoll_fd_;
  const uint64_t id_;
  RequestHandler* const handler_;
  State state_ = State::kOpen;
  uint32_t interest_ = 0;
  int64_t now_ms_;            // the time of the event being handled
  int64_t state_deadline_ = -1;  // kDraining: when to give up; kResetting: next check
  int64_t reset_give_up_at_ms_ = -1;

  // Input side.
  http::RequestReader reader_;
  std::string unparsed_;      // input received while the parser was paused
  bool paused_ = false;       // queue full: not parsing, not reading
  bool accepting_ = true;     // false after a final (closing) request
  bool peer_closed_ = false;  // the peer sent FIN
  uint64_t body_length_ = 0;  // of the request being read
  bool hash_body_ = false;
  Sha256 body_hash_;

  // Output side.
  std::deque<Pending> queue_;
  std::string out_;
  size_t out_sent_ = 0;
  ResponseStream::Ending final_ending_ = ResponseStream::Ending::kKeepAlive;
};

}  // namespace upmesh::backend
