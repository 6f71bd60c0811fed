// MessageScanner: the HTTP/1.1 message syntax (RFC 9112) that http-parser 2.9
// does not check, checked on the raw bytes of one message before the parser
// sees them. It is the one place where upmesh reads HTTP/1 grammar byte by
// byte; both directions use it (requests in the frontend, responses in the
// worker), each with its own start line.
//
// What it refuses (error_status() 400, or 431 for a size):
//   - a CR not followed by LF, or an LF not preceded by CR, anywhere in a
//     header section, chunk line or trailer section: every line ends in CRLF
//     (a single LF is not taken as a line end, RFC 9112 2.2 allows either);
//   - control characters (other than HTAB) in the start line or a field line,
//     NUL included (RFC 9110 5.5);
//   - a field line that starts with SP or HTAB (obs-fold, RFC 9112 5.2);
//   - a request line that is not `method SP target SP HTTP/d.d` with single
//     spaces and no HTAB; a status line that is not `HTTP/d.d SP 3DIGIT`
//     followed by SP and a reason or by the line end;
//   - a chunk line that is not `1*HEXDIG *( BWS ";" BWS name [ BWS "=" BWS
//     ( token / quoted-string ) ] ) CRLF` (RFC 9112 7.1.1: so `3 \r\n` is
//     refused), chunk data not followed by CRLF;
//   - a header section (start line through the blank line) or a trailer
//     section of more than max_head_bytes -> 431;
//   - a request target of more than max_target_bytes -> 414.
// The sizes are checked here, byte by byte, rather than in the parser's
// callbacks: http-parser calls those when a piece of input ends, so a limit
// checked there trips at a point that depends on the split.
//
// The caller feeds bytes through Scan() and gives the parser exactly the
// bytes Scan() passed, so the parser never sees a byte after the first one
// that breaks the grammar and the verdict is the same however the bytes were
// split. Scan() stops at the end of the header section until SetBody() says
// how the body is framed (the parser knows once it has seen the head), and at
// the end of the message until Reset().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace upmesh::http {

// The error a parser built on the scanner gives when the scanner and
// http-parser disagree on where a message ends: a defect in one of them,
// never the peer's fault; refused rather than guessed at.
inline constexpr char kScannerParserDisagree[] = "framing checks disagree (internal error)";

class MessageScanner {
 public:
  enum class Kind { kRequest, kResponse };
  enum class Body { kNone, kLength, kChunked, kUntilClose };

  MessageScanner(Kind kind, size_t max_head_bytes, size_t max_target_bytes = SIZE_MAX);

  // Returns how many of the `len` bytes may go to the parser now: all of
  // them, or fewer when the scan stops at the end of the header section, at
  // the end of the message, or before the first byte that breaks the grammar
  // (then failed()).
  size_t Scan(const char* data, size_t len);

  // How the body of the message whose head just ended is framed; `length`
  // for kLength. Precondition: head_complete() and SetBody not called yet.
  void SetBody(Body body, uint64_t length = 0);

  // Ready for the next message on the connection.
  void Reset();

  bool failed() const { return error_status_ != 0; }
  int error_status() const { return error_status_; }  // 400, 414 or 431
  const std::string& error() const { return error_; }

  // A byte of the start line arrived (empty lines before it do not count).
  bool started() const { return state_ != State::kIdle && state_ != State::kIdleLf; }
  bool head_complete() const { return head_complete_; }
  bool message_complete() const { return state_ == State::kDone; }
  // Bytes of the header section so far: start line through the blank line.
  size_t head_bytes() const { return head_bytes_; }

 private:
  enum class State {
    kIdle, kIdleLf,                              // empty lines before the start line
    kStartLine, kStartLineLf,                    // start line, CR seen
    kLineStart, kFieldLine, kFieldLineLf,        // field lines (head or trailers)
    kSectionEndLf,                               // CR of the blank line seen
    kAwaitingBody,                               // head done, SetBody() not yet
    kLengthBody, kUntilClose,
    kChunkSize, kChunkSizeBws,                   // 1*HEXDIG, then BWS before ";"
    kExtBeforeName, kExtName, kExtAfterName,     // chunk-ext = *( BWS ";" BWS name
    kExtBeforeValue, kExtToken, kExtQuoted,      //   [ BWS "=" BWS value ] )
    kExtQuotedPair, kExtAfterValue,
    kChunkLineLf,                                // CR of the chunk line seen
    kChunkData, kChunkDataCr, kChunkDataLf,
    kDone,
  };

  // Consumes one byte of a line-structured part; false when it breaks the grammar.
  bool Step(char c);
  bool StepStartLine(char c);
  bool StepFieldLine(char c);
  bool StepChunkLine(char c);
  bool EndStartLine();
  bool EndChunkLine();
  bool CountSectionByte();
  bool Refuse(const char* what, int status = 400);

  const Kind kind_;
  const size_t max_head_bytes_;
  const size_t max_target_bytes_;
  State state_ = State::kIdle;
  bool in_trailers_ = false;
  bool head_complete_ = false;
  size_t head_bytes_ = 0;
  size_t section_bytes_ = 0;  // of the header or trailer section being read
  std::string start_line_;
  int start_line_spaces_ = 0;
  size_t target_bytes_ = 0;
  uint64_t remaining_ = 0;  // body or chunk data bytes still to pass
  bool chunk_size_seen_ = false;
  int error_status_ = 0;
  std::string error_;
};

}  // namespace upmesh::http
