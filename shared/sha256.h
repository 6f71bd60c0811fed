// SHA-256 (FIPS 180-4), incremental. The demo backend and the tests use it to
// prove a body crossed the mesh byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace upmesh {

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  // Lower-case hex digest. Call once; the object is spent afterwards.
  std::string HexDigest();

 private:
  void Compress(const uint8_t block[64]);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string Sha256Hex(std::string_view data);

}  // namespace upmesh
