#include "backend/response_stream.h"

#include <algorithm>
#include <cstdio>

namespace upmesh::backend {
namespace {

constexpr uint64_t kMaxChunk = 64 * 1024;

// The body pattern, long enough that any run of kMaxChunk bytes starting at
// any phase (offset % 26) is one contiguous slice of it.
const std::string& PatternBlock() {
  static const std::string block = [] {
    std::string bytes(kMaxChunk + 26, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + i % 26);
    return bytes;
  }();
  return block;
}

}  // namespace

ResponseStream ResponseStream::Text(std::string head, std::string text, bool chunked,
                                    BodyPart part, Ending ending) {
  ResponseStream stream = Pattern(std::move(head), text.size(), chunked, part, ending);
  stream.is_pattern_ = false;
  stream.text_ = std::move(text);
  return stream;
}

ResponseStream ResponseStream::Pattern(std::string head, uint64_t length, bool chunked,
                                       BodyPart part, Ending ending) {
  ResponseStream stream;
  stream.head_ = std::move(head);
  stream.is_pattern_ = true;
  stream.body_length_ = length;
  stream.chunked_ = chunked;
  stream.ending_ = ending;
  switch (part) {
    case BodyPart::kAll:
      stream.send_limit_ = length;
      stream.send_terminator_ = chunked;
      break;
    case BodyPart::kNone:
      stream.send_limit_ = 0;
      break;
    case BodyPart::kHalf:
      stream.send_limit_ = length / 2;
      break;
  }
  return stream;
}

uint64_t ResponseStream::ChunkSizeFor(uint64_t length) {
  return std::clamp<uint64_t>((length + 3) / 4, 1, kMaxChunk);
}

void ResponseStream::AppendBody(std::string* out, uint64_t offset, size_t count) const {
  if (is_pattern_) {
    // Callers never ask for more than kMaxChunk at once (see Produce).
    out->append(PatternBlock(), offset % 26, count);
  } else {
    out->append(text_, offset, count);
  }
}

bool ResponseStream::Produce(std::string* out, size_t budget) {
  if (finished_) return true;
  if (!head_sent_) {
    out->append(head_);
    head_sent_ = true;
  }
  while (body_sent_ < send_limit_ && out->size() < budget) {
    uint64_t count = std::min<uint64_t>({budget - out->size(), send_limit_ - body_sent_, kMaxChunk});
    if (chunked_) {
      if (chunk_left_ == 0) {
        chunk_left_ = std::min(ChunkSizeFor(body_length_), body_length_ - body_sent_);
        char size_line[24];
        int n = std::snprintf(size_line, sizeof size_line, "%llx\r\n",
                              static_cast<unsigned long long>(chunk_left_));
        out->append(size_line, static_cast<size_t>(n));
      }
      count = std::min(count, chunk_left_);
      chunk_left_ -= count;
    }
    AppendBody(out, body_sent_, static_cast<size_t>(count));
    body_sent_ += count;
    if (chunked_ && chunk_left_ == 0) out->append("\r\n");
  }
  if (body_sent_ < send_limit_) return false;
  if (send_terminator_) out->append("0\r\n\r\n");
  finished_ = true;
  return true;
}

}  // namespace upmesh::backend
