#include "silly/core/address.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

namespace silly {
namespace {

TEST(Address, ParsesIpv4) {
  SockAddr a;
  ASSERT_TRUE(parse_address("127.0.0.1:8080", false, &a));
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(format_address(a.get()), "127.0.0.1:8080");
}

TEST(Address, ParsesBracketedIpv6) {
  SockAddr a;
  ASSERT_TRUE(parse_address("[::1]:8000", false, &a));
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(format_address(a.get()), "[::1]:8000");
}

TEST(Address, EmptyHostIsWildcardOnlyWhenAllowed) {
  SockAddr a;
  EXPECT_TRUE(parse_address(":9000", true, &a));
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_FALSE(parse_address(":9000", false, &a));
}

TEST(Address, RejectsNamesAndMalformedText) {
  SockAddr a;
  EXPECT_FALSE(parse_address("localhost:80", false, &a));
  EXPECT_FALSE(parse_address("127.0.0.1", false, &a));
  EXPECT_FALSE(parse_address("127.0.0.1:", false, &a));
  EXPECT_FALSE(parse_address("127.0.0.1:70000", false, &a));
  EXPECT_FALSE(parse_address("::1:80", false, &a));  // unbracketed v6
  EXPECT_FALSE(parse_address("[::1:80", false, &a));
  EXPECT_FALSE(parse_address("300.1.1.1:80", false, &a));
}

TEST(Address, MappedIpv4PrintsAsIpv4) {
  SockAddr a;
  ASSERT_TRUE(parse_address("[::ffff:10.1.2.3]:7", false, &a));
  EXPECT_EQ(format_address(a.get()), "10.1.2.3:7");
}

TEST(Address, SplitKeepsHostText) {
  std::string host, port;
  ASSERT_TRUE(split_host_port("example.com:443", &host, &port));
  EXPECT_EQ(host, "example.com");
  EXPECT_EQ(port, "443");
  ASSERT_TRUE(split_host_port("[fe80::1]:53", &host, &port));
  EXPECT_EQ(host, "fe80::1");
}

}  // namespace
}  // namespace silly
