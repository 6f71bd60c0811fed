#include "shared/network_policy.h"

#include <arpa/inet.h>

#include <cstring>

namespace upmesh {
namespace {

// ::ffff:0:0/96, the prefix of IPv4-mapped IPv6 addresses.
constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::array<uint8_t, 16> MapIpv4(const in_addr& ipv4) {
  std::array<uint8_t, 16> out{};
  std::memcpy(out.data(), kMappedPrefix, sizeof kMappedPrefix);
  std::memcpy(out.data() + 12, &ipv4, 4);
  return out;
}

// 64:ff9b::/96, the well-known NAT64 prefix (RFC 6052): a NAT64 gateway
// forwards such an address to the IPv4 address in its last 32 bits.
constexpr uint8_t kNat64Prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

// The IPv4 address (in mapped form) that `address` also reaches: a NAT64
// address or a deprecated IPv4-compatible one (::a.b.c.d, but not :: or ::1).
// False when it embeds none.
bool EmbeddedIpv4(const std::array<uint8_t, 16>& address, std::array<uint8_t, 16>* ipv4) {
  static constexpr uint8_t kZeros[12] = {};
  bool nat64 = std::memcmp(address.data(), kNat64Prefix, 12) == 0;
  bool compatible = std::memcmp(address.data(), kZeros, 12) == 0 &&
                    (address[12] | address[13] | address[14] | (address[15] & 0xfe)) != 0;
  if (!nat64 && !compatible) return false;
  std::memcpy(ipv4->data(), kMappedPrefix, sizeof kMappedPrefix);
  std::memcpy(ipv4->data() + 12, address.data() + 12, 4);
  return true;
}

}  // namespace

bool Cidr::Contains(const std::array<uint8_t, 16>& candidate) const {
  int full_bytes = prefix_length / 8;
  if (std::memcmp(candidate.data(), address.data(), full_bytes) != 0) return false;
  int rest = prefix_length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (candidate[full_bytes] & mask) == (address[full_bytes] & mask);
}

bool ParseIpAddress(const std::string& text, std::array<uint8_t, 16>* out) {
  in_addr ipv4;
  if (inet_pton(AF_INET, text.c_str(), &ipv4) == 1) {
    *out = MapIpv4(ipv4);
    return true;
  }
  in6_addr ipv6;
  if (inet_pton(AF_INET6, text.c_str(), &ipv6) == 1) {
    std::memcpy(out->data(), &ipv6, 16);
    return true;
  }
  return false;
}

bool SockaddrToIp(const sockaddr* address, std::array<uint8_t, 16>* out) {
  if (address->sa_family == AF_INET) {
    *out = MapIpv4(reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
    return true;
  }
  if (address->sa_family == AF_INET6) {
    std::memcpy(out->data(), &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, 16);
    return true;
  }
  return false;
}

Status ParseCidr(const std::string& text, Cidr* out) {
  size_t slash = text.find('/');
  std::string host = text.substr(0, slash);
  Cidr cidr;
  cidr.text = text;
  if (!ParseIpAddress(host, &cidr.address)) {
    return Status::InvalidArgument("\"" + text + "\" is not a network such as 10.0.0.0/8 or fd00::/8");
  }
  bool ipv4 = host.find(':') == std::string::npos;
  int max_length = ipv4 ? 32 : 128;
  int length = max_length;
  if (slash != std::string::npos) {
    std::string digits = text.substr(slash + 1);
    bool numeric = !digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string::npos;
    length = numeric ? std::stoi(digits) : -1;
    if (length < 0 || length > max_length) {
      return Status::InvalidArgument("\"" + text + "\": the prefix length must be 0.." + std::to_string(max_length));
    }
  }
  cidr.prefix_length = ipv4 ? 96 + length : length;
  Cidr network = cidr;
  for (int bit = cidr.prefix_length; bit < 128; ++bit) network.address[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  if (network.address != cidr.address) {
    return Status::InvalidArgument("\"" + text + "\": bits set after the prefix (did you mean the network address?)");
  }
  *out = std::move(cidr);
  return Status::Ok();
}

NetworkPolicy NetworkPolicy::Default() {
  std::vector<Cidr> deny;
  for (const char* text : {"169.254.0.0/16", "fe80::/10"}) {
    Cidr cidr;
    (void)ParseCidr(text, &cidr);  // constants, valid
    deny.push_back(cidr);
  }
  return NetworkPolicy({}, std::move(deny));
}

Status NetworkPolicy::Check(const std::array<uint8_t, 16>& address, const std::string& shown) const {
  // An address that embeds an IPv4 address is judged as both: either form
  // in a denied network refuses it, either form in an allowed one admits it.
  std::vector<std::array<uint8_t, 16>> forms = {address};
  std::array<uint8_t, 16> ipv4;
  if (EmbeddedIpv4(address, &ipv4)) forms.push_back(ipv4);
  for (const Cidr& cidr : deny_) {
    for (const auto& form : forms) {
      if (cidr.Contains(form)) {
        return Status::InvalidArgument(shown + " is in denied network " + cidr.text + " (backendNetworks.deny)");
      }
    }
  }
  if (allow_.empty()) return Status::Ok();
  for (const Cidr& cidr : allow_) {
    for (const auto& form : forms) {
      if (cidr.Contains(form)) return Status::Ok();
    }
  }
  return Status::InvalidArgument(shown + " is in none of the allowed networks (backendNetworks.allow)");
}

}  // namespace upmesh
