#include "shared/wire.h"

#include <random>

namespace upmesh::wire {

int ParseCapacity(std::string_view text) {
  if (text.empty() || text.size() > 7) return -1;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value >= 1 && value <= 1000000 ? value : -1;
}

std::string MakeIncarnation() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device random;
  std::string incarnation(kIncarnationSize, '0');
  for (char& digit : incarnation) digit = kHex[random() % 16];
  return incarnation;
}

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

std::string RouteStamp::Encode() const {
  std::string bytes(12, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(config_seq >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) bytes[8 + i] = static_cast<char>(gradual_share_micros >> (24 - 8 * i));
  return bytes;
}

bool RouteStamp::Decode(std::string_view bytes, RouteStamp* stamp) {
  if (bytes.size() != 12) return false;
  stamp->config_seq = 0;
  for (int i = 0; i < 8; ++i) stamp->config_seq = (stamp->config_seq << 8) | uint8_t(bytes[i]);
  stamp->gradual_share_micros = 0;
  for (int i = 0; i < 4; ++i) stamp->gradual_share_micros = (stamp->gradual_share_micros << 8) | uint8_t(bytes[8 + i]);
  return true;
}

}  // namespace upmesh::wire
