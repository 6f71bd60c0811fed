// Backend network policy: CIDR parsing and matching for IPv4, IPv6 and
// IPv4-mapped IPv6, and the default that denies link-local networks.
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "shared/network_policy.h"

using upmesh::Cidr;
using upmesh::NetworkPolicy;
using upmesh::ParseCidr;
using upmesh::ParseIpAddress;

namespace {

std::array<uint8_t, 16> Ip(const std::string& text) {
  std::array<uint8_t, 16> address{};
  REQUIRE(ParseIpAddress(text, &address));
  return address;
}

Cidr Net(const std::string& text) {
  Cidr cidr;
  upmesh::Status status = ParseCidr(text, &cidr);
  INFO(status.message());
  REQUIRE(status.ok());
  return cidr;
}

bool Allowed(const NetworkPolicy& policy, const std::string& ip) { return policy.Check(Ip(ip), ip).ok(); }

}  // namespace

TEST_CASE("Cidr matches IPv4 prefixes, including lengths that are not whole bytes") {
  CHECK(Net("10.0.0.0/8").Contains(Ip("10.255.1.2")));
  CHECK_FALSE(Net("10.0.0.0/8").Contains(Ip("11.0.0.1")));
  CHECK(Net("172.16.0.0/12").Contains(Ip("172.31.255.255")));
  CHECK_FALSE(Net("172.16.0.0/12").Contains(Ip("172.32.0.0")));
  CHECK(Net("192.0.2.7").Contains(Ip("192.0.2.7")));
  CHECK_FALSE(Net("192.0.2.7").Contains(Ip("192.0.2.8")));
  CHECK(Net("0.0.0.0/0").Contains(Ip("203.0.113.9")));
  CHECK_FALSE(Net("0.0.0.0/0").Contains(Ip("2001:db8::1")));  // IPv4 networks hold IPv4 only
}

TEST_CASE("Cidr matches IPv6 prefixes") {
  CHECK(Net("fe80::/10").Contains(Ip("febf::1")));
  CHECK_FALSE(Net("fe80::/10").Contains(Ip("fec0::1")));
  CHECK(Net("::1/128").Contains(Ip("::1")));
  CHECK(Net("::/0").Contains(Ip("2001:db8::1")));
}

TEST_CASE("IPv4-mapped IPv6 addresses are judged as their IPv4 address") {
  CHECK(Net("169.254.0.0/16").Contains(Ip("::ffff:169.254.169.254")));
  CHECK(Net("169.254.0.0/16").Contains(Ip("::ffff:a9fe:a9fe")));
  CHECK(Net("::ffff:169.254.0.0/112").Contains(Ip("169.254.1.1")));
}

TEST_CASE("NAT64 and IPv4-compatible addresses are judged as their IPv4 address too") {
  NetworkPolicy policy = NetworkPolicy::Default();
  CHECK_FALSE(Allowed(policy, "64:ff9b::169.254.169.254"));
  CHECK_FALSE(Allowed(policy, "64:ff9b::a9fe:a9fe"));
  CHECK_FALSE(Allowed(policy, "::169.254.169.254"));
  CHECK(policy.Check(Ip("64:ff9b::169.254.169.254"), "x").message() ==
        "x is in denied network 169.254.0.0/16 (backendNetworks.deny)");
  CHECK(Allowed(policy, "64:ff9b::10.0.0.1"));
  CHECK(Allowed(policy, "::1"));  // loopback, not an IPv4-compatible address
  NetworkPolicy only_ten({Net("10.0.0.0/8")}, {});
  CHECK(Allowed(only_ten, "64:ff9b::10.1.2.3"));
  CHECK_FALSE(Allowed(only_ten, "64:ff9b::11.1.2.3"));
  CHECK_FALSE(Allowed(only_ten, "::1"));
}

TEST_CASE("ParseCidr refuses what is not a network") {
  Cidr cidr;
  CHECK_FALSE(ParseCidr("10.0.0.1/8", &cidr).ok());  // host bits set
  CHECK_FALSE(ParseCidr("10.0.0.0/33", &cidr).ok());
  CHECK_FALSE(ParseCidr("fe80::/129", &cidr).ok());
  CHECK_FALSE(ParseCidr("10.0.0.0/", &cidr).ok());
  CHECK_FALSE(ParseCidr("10.0.0.0/-1", &cidr).ok());
  CHECK_FALSE(ParseCidr("example.com/8", &cidr).ok());
  CHECK_FALSE(ParseCidr("010.0.0.0/8", &cidr).ok());  // no octal forms
  CHECK(ParseCidr("10.0.0.0/8", &cidr).message().empty());
}

TEST_CASE("The default policy denies link-local networks and allows the rest") {
  NetworkPolicy policy = NetworkPolicy::Default();
  CHECK_FALSE(Allowed(policy, "169.254.169.254"));
  CHECK_FALSE(Allowed(policy, "::ffff:169.254.169.254"));
  CHECK_FALSE(Allowed(policy, "fe80::1"));
  CHECK(Allowed(policy, "127.0.0.1"));
  CHECK(Allowed(policy, "10.1.2.3"));
  CHECK(Allowed(policy, "::1"));
  CHECK(policy.Check(Ip("169.254.169.254"), "169.254.169.254").message() ==
        "169.254.169.254 is in denied network 169.254.0.0/16 (backendNetworks.deny)");
}

TEST_CASE("An allow list admits only its networks, and deny wins over allow") {
  NetworkPolicy policy({Net("10.0.0.0/8")}, {Net("10.9.0.0/16")});
  CHECK(Allowed(policy, "10.1.1.1"));
  CHECK_FALSE(Allowed(policy, "10.9.1.1"));
  CHECK_FALSE(Allowed(policy, "192.168.1.1"));
  CHECK(policy.Check(Ip("192.168.1.1"), "192.168.1.1").message() ==
        "192.168.1.1 is in none of the allowed networks (backendNetworks.allow)");
}
