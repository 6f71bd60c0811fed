// One HTTP response on its way out, produced lazily so a multi-gigabyte
// body costs no memory: the connection asks for the next few hundred KB of
// wire bytes whenever its socket can take them.
//
// A stream is a complete head (ending in the blank line) plus a body that is
// either literal text or the generated pattern (byte i = 'a' + i % 26),
// framed with Content-Length (the head says so) or chunked. How much of the
// body goes out is chosen at construction:
//   kAll   the whole body (and the chunked terminator);
//   kNone  nothing (HEAD, 204, 304, 1xx) — the head alone;
//   kHalf  the first half of the body, then stop: the drop=1 behaviour, the
//          connection resets afterwards.
// After the stream, the connection stays open, closes, or resets (Ending).
#pragma once

#include <cstdint>
#include <string>

namespace upmesh::backend {

class ResponseStream {
 public:
  enum class BodyPart { kAll, kNone, kHalf };
  enum class Ending { kKeepAlive, kClose, kReset };

  // Body is `text`.
  static ResponseStream Text(std::string head, std::string text, bool chunked, BodyPart part,
                             Ending ending);
  // Body is `length` bytes of the pattern.
  static ResponseStream Pattern(std::string head, uint64_t length, bool chunked, BodyPart part,
                                Ending ending);

  // Appends wire bytes to *out until out->size() reaches `budget` or the
  // stream is finished. Returns true once everything has been produced.
  bool Produce(std::string* out, size_t budget);

  Ending ending() const { return ending_; }

  // The chunk size used for a chunked body of `length` bytes: about four
  // chunks for small bodies ("several"), at most 64 KiB each for big ones.
  static uint64_t ChunkSizeFor(uint64_t length);

 private:
  ResponseStream() = default;
  void AppendBody(std::string* out, uint64_t offset, size_t count) const;

  std::string head_;
  std::string text_;           // the body when !is_pattern_
  bool is_pattern_ = false;
  uint64_t body_length_ = 0;   // the whole body, as announced
  uint64_t send_limit_ = 0;    // how much of it actually goes out
  bool chunked_ = false;
  bool send_terminator_ = false;  // "0\r\n\r\n" after the last chunk
  Ending ending_ = Ending::kKeepAlive;

  bool head_sent_ = false;
  uint64_t body_sent_ = 0;
  uint64_t chunk_left_ = 0;   // bytes still owed to the current chunk
  bool finished_ = false;
};

}  // namespace upmesh::backend
