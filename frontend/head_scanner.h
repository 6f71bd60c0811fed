// HeadScanner: a second look at the raw bytes of a request's header section,
// for what http-parser 2.9 lets through or cannot be told:
//   - obs-fold (a field line that starts with space or tab)  -> 400
//   - the header section growing past the configured limit   -> 431
// It sees the same bytes as the parser, in the same pieces, and stops looking
// at the blank line that ends the header section until Reset() (called when
// the request is complete), so a pipelined request's body is never scanned.
#pragma once

#include <cstddef>

namespace upmesh::frontend {

class HeadScanner {
 public:
  explicit HeadScanner(size_t max_head_bytes) : max_head_bytes_(max_head_bytes) {}

  // Scans `len` bytes. Returns 0 if all is well so far, else the HTTP status
  // to refuse the request with (400 or 431).
  int Scan(const char* data, size_t len);
  void Reset();
  bool head_complete() const { return state_ == State::kDone; }
  bool started() const { return state_ != State::kBeforeRequestLine; }

 private:
  enum class State { kBeforeRequestLine, kRequestLine, kLineStart, kInLine, kBlankLineCr, kDone };
  size_t max_head_bytes_;
  size_t head_bytes_ = 0;
  State state_ = State::kBeforeRequestLine;
};

}  // namespace upmesh::frontend
