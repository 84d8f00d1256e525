#include "silly/core/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>

namespace silly {

bool split_host_port(std::string_view text, std::string *host, std::string *port) {
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    *host = std::string(text.substr(1, close - 1));
    *port = std::string(text.substr(close + 2));
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    std::string_view h = text.substr(0, colon);
    // A bare IPv6 address without brackets is ambiguous about its port.
    if (h.find(':') != std::string_view::npos) return false;
    *host = std::string(h);
    *port = std::string(text.substr(colon + 1));
  }
  return !port->empty();
}

static bool parse_port(const std::string &text, uint16_t *port) {
  char *end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end != nullptr && *end == '\0' && v >= 0 && v <= 65535) {
    *port = static_cast<uint16_t>(v);
    return true;
  }
  struct servent *se = getservbyname(text.c_str(), "tcp");
  if (se == nullptr) return false;
  *port = ntohs(static_cast<uint16_t>(se->s_port));
  return true;
}

bool parse_address(std::string_view text, bool empty_host_is_any, SockAddr *out) {
  std::string host, port_text;
  if (!split_host_port(text, &host, &port_text)) return false;
  uint16_t port;
  if (!parse_port(port_text, &port)) return false;
  *out = SockAddr{};
  if (host.empty()) {
    if (!empty_host_is_any) return false;
    host = "::";
  }
  auto *v4 = reinterpret_cast<struct sockaddr_in *>(&out->storage);
  auto *v6 = reinterpret_cast<struct sockaddr_in6 *>(&out->storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out->len = sizeof(*v4);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out->len = sizeof(*v6);
    return true;
  }
  return false;
}

std::string format_address(const struct sockaddr *sa) {
  char ip[INET6_ADDRSTRLEN] = {0};
  unsigned port = 0;
  if (sa->sa_family == AF_INET) {
    auto *v4 = reinterpret_cast<const struct sockaddr_in *>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
    port = ntohs(v4->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    auto *v6 = reinterpret_cast<const struct sockaddr_in6 *>(sa);
    port = ntohs(v6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], ip, sizeof(ip));
      return std::string(ip) + ":" + std::to_string(port);
    }
    inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
    return "[" + std::string(ip) + "]:" + std::to_string(port);
  }
  return "";
}

}  // namespace silly
