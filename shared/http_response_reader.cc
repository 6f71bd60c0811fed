#include "shared/http_response_reader.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

namespace upmesh::http {
namespace {

bool HasNoBody(int status) { return status / 100 == 1 || status == 204 || status == 304; }

// The most body memory taken before the bytes arrive: Content-Length is only
// the server's claim, and a claim must not allocate (or, past max_size(),
// throw) what was never sent.
constexpr size_t kMaxBodyReserve = 1 << 20;

constexpr char kTooLargeText[] = "larger than the response size limit";

}  // namespace

ResponseReader::ResponseReader() : parser_(MessageParser::Kind::kResponse, this, &reason_, &fields_, SIZE_MAX) {
  Start(false, SIZE_MAX);
}

void ResponseReader::Start(bool head_request, size_t max_response_bytes) {
  head_request_ = head_request;
  max_response_bytes_ = max_response_bytes;
  bytes_received_ = 0;
  interim_head_bytes_ = 0;
  keep_alive_ = false;
  chunked_ = false;
  fault_ = Fault::kNone;
  error_.clear();
  ResetMessage();
}

void ResponseReader::ResetMessage() {
  parser_.Reset();
  interim_ = false;
  status_ = 0;
  version_minor_ = 1;
  body_.clear();
}

bool ResponseReader::Refuse(Fault fault, std::string what) {
  fault_ = fault;
  parser_.Refuse(502, what);
  error_ = std::move(what);
  return false;
}

ResponseReader::Result ResponseReader::Fail(Fault fault, std::string what) {
  fault_ = fault;
  error_ = std::move(what);
  return Result::kError;
}

bool ResponseReader::OverLimit(size_t extra) const {
  size_t used = interim_head_bytes_ + parser_.head_bytes() + body_.size();
  return used > max_response_bytes_ || extra > max_response_bytes_ - used;
}

ResponseReader::Result ResponseReader::Feed(const char* data, size_t size, size_t* consumed) {
  *consumed = 0;
  if (size == 0) return Result::kIncomplete;
  bytes_received_ += size;
  size_t offset = 0;
  while (offset < size) {
    offset += parser_.Feed(data + offset, size - offset);
    *consumed = offset;
    if (parser_.failed()) {
      if (fault_ != Fault::kNone) return Result::kError;  // refused by OnHead or OnBody
      bool disagree = parser_.error() == kScannerParserDisagree;
      return Fail(disagree ? Fault::kDisagree : Fault::kMalformed, parser_.error());
    }
    if (!parser_.message_complete()) continue;
    if (!interim_) {
      keep_alive_ = parser_.keep_alive();
      return Result::kComplete;
    }
    interim_head_bytes_ += parser_.head_bytes();
    ResetMessage();
  }
  return Result::kIncomplete;
}

ResponseReader::Result ResponseReader::FeedEof() {
  if (bytes_received_ == 0) return Fail(Fault::kClosedBeforeResponse, "closed before responding");
  parser_.FeedEof();
  if (parser_.message_complete() && !interim_) {
    keep_alive_ = false;  // the body ended with the connection
    return Result::kComplete;
  }
  return Fail(Fault::kClosedEarly, "closed before the response was complete");
}

bool ResponseReader::OnHead(MessageParser::Body* body) {
  const http_parser& state = parser_.state();
  status_ = state.status_code;
  version_minor_ = state.http_minor;
  if (status_ < 100 || status_ > 599) {
    return Refuse(Fault::kStatusOutOfRange, "status " + std::to_string(status_) + " is outside 100..599");
  }
  if (OverLimit(0)) return Refuse(Fault::kTooLarge, kTooLargeText);
  if (status_ == 101) {
    return Refuse(Fault::kSwitchingProtocols, "switched protocols (101) although no upgrade was asked for");
  }
  for (const Field& field : fields_) {
    // "Transfer-Encoding : chunked" is framing to http-parser but not to a
    // hop-by-hop filter: refuse such a response rather than mis-frame it.
    if (!IsToken(field.name)) return Refuse(Fault::kInvalidFieldName, "invalid header field name");
  }
  if (status_ / 100 == 1) {
    interim_ = true;
    *body = MessageParser::Body::kNone;
    return true;
  }
  chunked_ = (state.flags & F_CHUNKED) != 0;
  if (state.uses_transfer_encoding && !chunked_) {
    // A coding other than chunked as the last one: the body would be
    // delimited by close and still encoded; refuse rather than mislabel it.
    return Refuse(Fault::kTransferCoding, "a transfer-coding other than chunked");
  }
  if (head_request_ || HasNoBody(status_)) {
    *body = MessageParser::Body::kNone;
  } else if (chunked_) {
    *body = MessageParser::Body::kChunked;
  } else if (state.content_length != ULLONG_MAX) {
    if (state.content_length > SIZE_MAX || OverLimit(static_cast<size_t>(state.content_length))) {
      return Refuse(Fault::kTooLarge, kTooLargeText);
    }
    body_.reserve(std::min<size_t>(state.content_length, kMaxBodyReserve));
    *body = MessageParser::Body::kLength;
  } else {
    *body = MessageParser::Body::kUntilClose;
  }
  return true;
}

bool ResponseReader::OnBody(const char* data, size_t len) {
  if (OverLimit(len)) return Refuse(Fault::kTooLarge, kTooLargeText);
  body_.append(data, len);
  return true;
}

}  // namespace upmesh::http
