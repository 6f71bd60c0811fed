// One accepted client connection of the demo backend.
//
// Requests are parsed incrementally with http-parser, however TCP splits
// them. Every parsed request gets its response queued right away, with the
// time it may be sent (delay=MS); responses leave strictly in request order,
// so a slow response holds back the pipelined ones behind it. Bodies are
// produced lazily (ResponseStream), so a response of any size costs at most
// one write budget of memory, and writes never block: what the socket does
// not take waits for EPOLLOUT.
//
// Back-pressure: with kMaxQueued responses waiting, parsing pauses and the
// connection stops reading until the queue drains.
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

#include <http_parser.h>

#include <cstdint>
#include <deque>
#include <string>

#include "backend/request_handler.h"
#include "backend/response_stream.h"
#include "shared/sha256.h"

namespace upmesh::backend {

class Connection {
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
  // Feeds bytes to the parser; returns how many it consumed (fewer than
  // `size` only when it paused).
  size_t Parse(const char* data, size_t size);
  // Resumes parsing buffered input, writes what is ready, moves to the next
  // state when a final response is out.
  void Progress(int64_t now_ms);
  void Write(int64_t now_ms);
  void StartDraining(int64_t now_ms);
  void TryReset(int64_t now_ms);
  void Close();
  void UpdateInterest();
  bool OutputPending() const { return out_sent_ < out_.size(); }

  // http-parser callbacks.
  static int OnMessageBegin(http_parser* parser);
  static int OnUrl(http_parser* parser, const char* at, size_t length);
  static int OnHeaderField(http_parser* parser, const char* at, size_t length);
  static int OnHeaderValue(http_parser* parser, const char* at, size_t length);
  static int OnHeadersComplete(http_parser* parser);
  static int OnBody(http_parser* parser, const char* at, size_t length);
  static int OnMessageComplete(http_parser* parser);
  static const http_parser_settings kParserSettings;

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
  http_parser parser_;
  std::string unparsed_;      // input received while the parser was paused
  bool paused_ = false;       // queue full: not parsing, not reading
  bool accepting_ = true;     // false after a final (closing) request
  bool peer_closed_ = false;  // the peer sent FIN
  ParsedRequest request_;     // the request being parsed
  bool last_callback_was_field_ = false;
  bool hash_body_ = false;
  Sha256 body_hash_;

  // Output side.
  std::deque<Pending> queue_;
  std::string out_;
  size_t out_sent_ = 0;
  ResponseStream::Ending final_ending_ = ResponseStream::Ending::kKeepAlive;
};

}  // namespace upmesh::backend
