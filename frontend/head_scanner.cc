#include "frontend/head_scanner.h"

namespace upmesh::frontend {

void HeadScanner::Reset() {
  state_ = State::kBeforeRequestLine;
  head_bytes_ = 0;
}

int HeadScanner::Scan(const char* data, size_t len) {
  for (size_t i = 0; i < len && state_ != State::kDone; ++i) {
    char c = data[i];
    if (state_ == State::kBeforeRequestLine) {
      // RFC 9112 2.2: empty lines before a request line are ignored.
      if (c == '\r' || c == '\n') continue;
      state_ = State::kRequestLine;
    }
    if (++head_bytes_ > max_head_bytes_) return 431;
    switch (state_) {
      case State::kRequestLine:
      case State::kInLine:
        if (c == '\n') state_ = State::kLineStart;
        break;
      case State::kLineStart:
        if (c == ' ' || c == '\t') return 400;  // obs-fold, RFC 9112 5.2
        if (c == '\r') state_ = State::kBlankLineCr;
        else if (c == '\n') state_ = State::kDone;
        else state_ = State::kInLine;
        break;
      case State::kBlankLineCr:
        state_ = State::kDone;  // the parser rejects anything but LF here
        break;
      case State::kBeforeRequestLine:
      case State::kDone:
        break;
    }
  }
  return 0;
}

}  // namespace upmesh::frontend
