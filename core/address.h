// Numeric socket addresses: "ip:port", "[v6]:port" and ":port".
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace silly {

struct SockAddr {
  struct sockaddr_storage storage {};
  socklen_t len = 0;

  const struct sockaddr *get() const { return reinterpret_cast<const struct sockaddr *>(&storage); }
  int family() const { return storage.ss_family; }
};

// Parses a numeric address. An empty host ("":port or ":port") is taken as
// the wildcard "::" when `empty_host_is_any`, and is an error otherwise.
// Host names are not resolved here: that is the DNS module's job.
bool parse_address(std::string_view text, bool empty_host_is_any, SockAddr *out);

// Splits "host:port" / "[v6]:port" without interpreting the host.
bool split_host_port(std::string_view text, std::string *host, std::string *port);

// "ip:port" for IPv4, "[ip]:port" for IPv6 (IPv4-mapped ones shown as IPv4).
std::string format_address(const struct sockaddr *sa);

}  // namespace silly
