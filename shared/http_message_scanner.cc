#include "shared/http_message_scanner.h"

#include <algorithm>
#include <string_view>

#include "shared/http_fields.h"

namespace upmesh::http {
namespace {

// A chunk line is a size and extensions nobody uses: a few dozen bytes.
constexpr size_t kMaxChunkLineBytes = 4096;

bool IsTchar(char c) { return IsToken(std::string_view(&c, 1)); }
bool IsBws(char c) { return c == ' ' || c == '\t'; }
// RFC 5234 CTL, except HTAB, which field values may contain.
bool IsForbiddenControl(char c) {
  auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7f;
}
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "HTTP/" DIGIT "." DIGIT
bool IsHttpVersion(std::string_view text) {
  return text.size() == 8 && text.substr(0, 5) == "HTTP/" && IsDigit(text[5]) && text[6] == '.' && IsDigit(text[7]);
}

// RFC 9112 3: method SP request-target SP HTTP-version, single spaces.
bool IsRequestLine(std::string_view line) {
  if (line.find('\t') != std::string_view::npos) return false;
  size_t first = line.find(' ');
  if (first == std::string_view::npos) return false;
  size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos) return false;
  std::string_view target = line.substr(first + 1, second - first - 1);
  return IsToken(line.substr(0, first)) && !target.empty() && IsHttpVersion(line.substr(second + 1));
}

// RFC 9112 4: HTTP-version SP 3DIGIT SP [ reason-phrase ]; the SP before an
// empty reason is often left out by servers, and accepted.
bool IsStatusLine(std::string_view line) {
  if (line.size() < 12 || !IsHttpVersion(line.substr(0, 8)) || line[8] != ' ') return false;
  if (!IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11])) return false;
  return line.size() == 12 || line[12] == ' ';
}

}  // namespace

MessageScanner::MessageScanner(Kind kind, size_t max_head_bytes, size_t max_target_bytes)
    : kind_(kind), max_head_bytes_(max_head_bytes), max_target_bytes_(max_target_bytes) {}

void MessageScanner::Reset() {
  state_ = State::kIdle;
  in_trailers_ = false;
  head_complete_ = false;
  head_bytes_ = 0;
  section_bytes_ = 0;
  start_line_.clear();
  start_line_spaces_ = 0;
  target_bytes_ = 0;
  remaining_ = 0;
  chunk_size_seen_ = false;
}

bool MessageScanner::Refuse(const char* what, int status) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_ = what;
  }
  return false;
}

void MessageScanner::SetBody(Body body, uint64_t length) {
  switch (body) {
    case Body::kNone:
      state_ = State::kDone;
      break;
    case Body::kLength:
      remaining_ = length;
      state_ = length == 0 ? State::kDone : State::kLengthBody;
      break;
    case Body::kChunked:
      remaining_ = 0;
      chunk_size_seen_ = false;
      section_bytes_ = 0;
      state_ = State::kChunkSize;
      break;
    case Body::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

size_t MessageScanner::Scan(const char* data, size_t len) {
  size_t passed = 0;
  while (passed < len && !failed()) {
    if (state_ == State::kAwaitingBody || state_ == State::kDone) break;
    if (state_ == State::kUntilClose) return len;
    if (state_ == State::kLengthBody || state_ == State::kChunkData) {
      // Body bytes are the parser's business; only their count matters here.
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, len - passed));
      passed += take;
      remaining_ -= take;
      if (remaining_ == 0) state_ = state_ == State::kLengthBody ? State::kDone : State::kChunkDataCr;
      continue;
    }
    if (!Step(data[passed])) break;
    ++passed;
  }
  return passed;
}

bool MessageScanner::Step(char c) {
  switch (state_) {
    case State::kIdle:
    case State::kIdleLf:
    case State::kStartLine:
    case State::kStartLineLf:
      return StepStartLine(c);
    case State::kLineStart:
    case State::kFieldLine:
    case State::kFieldLineLf:
    case State::kSectionEndLf:
      return StepFieldLine(c);
    case State::kChunkDataCr:
      if (c != '\r') return Refuse("chunk data not followed by CRLF");
      state_ = State::kChunkDataLf;
      return true;
    case State::kChunkDataLf:
      if (c != '\n') return Refuse("chunk data not followed by CRLF");
      state_ = State::kChunkSize;
      section_bytes_ = 0;
      chunk_size_seen_ = false;
      return true;
    default:
      return StepChunkLine(c);
  }
}

bool MessageScanner::StepStartLine(char c) {
  switch (state_) {
    case State::kIdle:
      // RFC 9112 2.2: empty lines before a start line are ignored.
      if (c == '\r') {
        state_ = State::kIdleLf;
        return true;
      }
      if (c == '\n') return Refuse("bare LF before the start line");
      state_ = State::kStartLine;
      return StepStartLine(c);
    case State::kIdleLf:
      if (c != '\n') return Refuse("bare CR before the start line");
      state_ = State::kIdle;
      return true;
    case State::kStartLine:
      if (!CountSectionByte()) return false;
      if (c == '\r') {
        state_ = State::kStartLineLf;
        return true;
      }
      if (c == '\n') return Refuse("bare LF in the start line");
      if (IsForbiddenControl(c)) return Refuse("control character in the start line");
      if (c == ' ') {
        ++start_line_spaces_;
      } else if (kind_ == Kind::kRequest && start_line_spaces_ == 1 && ++target_bytes_ > max_target_bytes_) {
        return Refuse("request target too long", 414);
      }
      start_line_.push_back(c);
      return true;
    case State::kStartLineLf:
      if (!CountSectionByte()) return false;
      if (c != '\n') return Refuse("bare CR in the start line");
      return EndStartLine();
    default:
      return false;
  }
}

bool MessageScanner::EndStartLine() {
  if (kind_ == Kind::kRequest && !IsRequestLine(start_line_)) {
    return Refuse("request line is not \"METHOD SP target SP HTTP/x.y\" with single spaces");
  }
  if (kind_ == Kind::kResponse && !IsStatusLine(start_line_)) {
    return Refuse("status line is not \"HTTP/x.y SP 3DIGIT SP reason\"");
  }
  start_line_.clear();
  start_line_spaces_ = 0;
  target_bytes_ = 0;
  state_ = State::kLineStart;
  return true;
}

// Field lines of the header section, or of the trailer section.
bool MessageScanner::StepFieldLine(char c) {
  if (!CountSectionByte()) return false;
  switch (state_) {
    case State::kLineStart:
      if (c == '\r') {
        state_ = State::kSectionEndLf;
        return true;
      }
      if (c == ' ' || c == '\t') return Refuse("obsolete line folding in a field");
      state_ = State::kFieldLine;
      [[fallthrough]];
    case State::kFieldLine:
      if (c == '\r') {
        state_ = State::kFieldLineLf;
        return true;
      }
      if (c == '\n') return Refuse("bare LF in a field line");
      if (IsForbiddenControl(c)) return Refuse("control character in a field line");
      return true;
    case State::kFieldLineLf:
      if (c != '\n') return Refuse("bare CR in a field line");
      state_ = State::kLineStart;
      return true;
    case State::kSectionEndLf:
      if (c != '\n') return Refuse("bare CR in the blank line");
      if (in_trailers_) {
        state_ = State::kDone;
      } else {
        head_complete_ = true;
        state_ = State::kAwaitingBody;
      }
      return true;
    default:
      return false;
  }
}

bool MessageScanner::CountSectionByte() {
  ++section_bytes_;
  if (!in_trailers_) head_bytes_ = section_bytes_;
  if (section_bytes_ <= max_head_bytes_) return true;
  return Refuse(in_trailers_ ? "trailer section too large" : "header section too large", 431);
}

// chunk = chunk-size [ chunk-ext ] CRLF, RFC 9112 7.1 and 7.1.1.
bool MessageScanner::StepChunkLine(char c) {
  if (++section_bytes_ > kMaxChunkLineBytes) return Refuse("chunk line too long");
  if (c == '\r' && state_ != State::kChunkLineLf) {
    // The line may end after the size, an extension name or a value; not in
    // BWS, which the grammar allows only before ";" and "=".
    bool may_end = (state_ == State::kChunkSize && chunk_size_seen_) || state_ == State::kExtName ||
                   state_ == State::kExtToken || state_ == State::kExtAfterValue;
    if (!may_end) return Refuse("invalid chunk line");
    state_ = State::kChunkLineLf;
    return true;
  }
  switch (state_) {
    case State::kChunkSize: {
      int digit = HexValue(c);
      if (digit >= 0) {
        if (remaining_ > (UINT64_MAX >> 4)) return Refuse("chunk size too large");
        remaining_ = remaining_ * 16 + static_cast<uint64_t>(digit);
        chunk_size_seen_ = true;
        return true;
      }
      if (!chunk_size_seen_) return Refuse("invalid chunk size");
      if (IsBws(c)) state_ = State::kChunkSizeBws;
      else if (c == ';') state_ = State::kExtBeforeName;
      else return Refuse("invalid chunk size");
      return true;
    }
    case State::kChunkSizeBws:
      if (c == ';') state_ = State::kExtBeforeName;
      else if (!IsBws(c)) return Refuse("invalid chunk line");
      return true;
    case State::kExtBeforeName:
      if (IsTchar(c)) state_ = State::kExtName;
      else if (!IsBws(c)) return Refuse("invalid chunk extension");
      return true;
    case State::kExtName:
    case State::kExtAfterName:
      if (c == '=') state_ = State::kExtBeforeValue;
      else if (c == ';') state_ = State::kExtBeforeName;
      else if (IsBws(c)) state_ = State::kExtAfterName;
      else if (!(state_ == State::kExtName && IsTchar(c))) return Refuse("invalid chunk extension");
      return true;
    case State::kExtBeforeValue:
      if (c == '"') state_ = State::kExtQuoted;
      else if (IsTchar(c)) state_ = State::kExtToken;
      else if (!IsBws(c)) return Refuse("invalid chunk extension");
      return true;
    case State::kExtToken:
    case State::kExtAfterValue:
      if (c == ';') state_ = State::kExtBeforeName;
      else if (IsBws(c)) state_ = State::kExtAfterValue;
      else if (!(state_ == State::kExtToken && IsTchar(c))) return Refuse("invalid chunk extension");
      return true;
    case State::kExtQuoted:
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (c == '"') state_ = State::kExtAfterValue;
      else if (c == '\\') state_ = State::kExtQuotedPair;
      else if (IsForbiddenControl(c)) return Refuse("invalid chunk extension");  // CR and LF included
      return true;
    case State::kExtQuotedPair:
      if (IsForbiddenControl(c)) return Refuse("invalid chunk extension");
      state_ = State::kExtQuoted;
      return true;
    case State::kChunkLineLf:
      if (c != '\n') return Refuse("bare CR in a chunk line");
      return EndChunkLine();
    default:
      return false;
  }
}

bool MessageScanner::EndChunkLine() {
  section_bytes_ = 0;
  if (remaining_ == 0) {
    // The last chunk: the trailer section follows, field lines up to a blank line.
    in_trailers_ = true;
    state_ = State::kLineStart;
  } else {
    state_ = State::kChunkData;
  }
  return true;
}

}  // namespace upmesh::http
