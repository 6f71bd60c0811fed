// NetworkPolicy: which backend addresses the proxy may connect to.
//
// Whoever can PUT a cluster chooses where the mesh sends traffic. Without a
// policy a caller could point it at the cloud metadata service
// (169.254.169.254) or any other host the proxy can reach and read the
// answers: the proxy would be a pivot. The policy is a list of allowed and
// a list of denied networks (CIDRs, IPv4 and IPv6): an address may be used
// when it is in an allowed network (or the allow list is empty) and in no
// denied one. By default link-local networks are denied and everything else
// is allowed. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the
// IPv4 address they carry; NAT64 (64:ff9b::a.b.c.d) and IPv4-compatible
// (::a.b.c.d) addresses as both themselves and that IPv4 address.
//
// The router checks IP literals at PUT time; the worker checks every
// address a hostname resolves to before it connects.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "shared/status.h"

namespace upmesh {

// One network, e.g. 10.0.0.0/8 or fe80::/10. IPv4 networks are kept as
// IPv4-mapped IPv6 (::ffff:10.0.0.0/104), so one comparison covers both.
struct Cidr {
  std::array<uint8_t, 16> address{};
  int prefix_length = 0;  // in bits of the 128-bit form
  std::string text;       // as given, for messages

  bool Contains(const std::array<uint8_t, 16>& candidate) const;
};

// Parses "a.b.c.d/n" (n 0..32) or "x::y/n" (n 0..128); a bare address is a
// single host (/32 or /128). Host bits must be zero ("10.0.0.1/8" is
// refused: it is most likely a typo).
Status ParseCidr(const std::string& text, Cidr* out);

// An IP literal (IPv4 or IPv6, no brackets) in the 128-bit form; false if
// `text` is not one.
bool ParseIpAddress(const std::string& text, std::array<uint8_t, 16>* out);
// A socket address (AF_INET or AF_INET6) in the 128-bit form; false otherwise.
bool SockaddrToIp(const sockaddr* address, std::array<uint8_t, 16>* out);

class NetworkPolicy {
 public:
  // Link-local denied (169.254.0.0/16, fe80::/10), everything else allowed.
  static NetworkPolicy Default();

  NetworkPolicy() = default;
  NetworkPolicy(std::vector<Cidr> allow, std::vector<Cidr> deny) : allow_(std::move(allow)), deny_(std::move(deny)) {}

  // Ok, or InvalidArgument saying which rule refuses `address` ("169.254.169.254
  // is in denied network 169.254.0.0/16 (backendNetworks.deny)").
  Status Check(const std::array<uint8_t, 16>& address, const std::string& shown) const;

  const std::vector<Cidr>& allow() const { return allow_; }
  const std::vector<Cidr>& deny() const { return deny_; }

 private:
  std::vector<Cidr> allow_;  // empty: every address not denied
  std::vector<Cidr> deny_;
};

}  // namespace upmesh
