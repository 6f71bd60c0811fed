#include "shared/wire.h"

namespace upmesh::wire {

std::string RequestMeta::Encode() const {
  return std::string{char(1), char(flags), char(0), char(0)};
}

bool RequestMeta::Decode(std::string_view bytes, RequestMeta* meta) {
  if (bytes.size() != 4 || bytes[0] != 1) return false;
  meta->flags = static_cast<uint8_t>(bytes[1]);
  return true;
}

std::string ReplyMeta::Encode() const {
  return std::string{char(status >> 8), char(status & 0xff), char(flags), char(0)};
}

bool ReplyMeta::Decode(std::string_view bytes, ReplyMeta* meta) {
  if (bytes.size() != 4) return false;
  meta->status = static_cast<uint16_t>((uint8_t(bytes[0]) << 8) | uint8_t(bytes[1]));
  meta->flags = static_cast<uint8_t>(bytes[2]);
  return true;
}

}  // namespace upmesh::wire
