// silly.http.c: an incremental HTTP/1.x message parser for silly.net.http,
// on Boost.Beast's basic_parser (RFC 9112: request and status lines,
// fields, Content-Length and chunked framing, limits). The Lua side does
// the I/O; this turns bytes into a message.
//
// parser(kind, header_limit, body_limit) -> p, kind "request" or "response".
// p:feed(s) -> true, or nil and the reason: appends s to what is held and
//   parses as far as it goes.
// p:head() -> nil until the header is complete; then, for a request,
//   method, target, version (10, 11), fields; for a response, status,
//   reason, version, fields. Field names are lower-cased; a repeated
//   field's values come as a list in order.
// p:body() -> body bytes parsed since the last call ("" if none).
// p:done() -> true once the message is complete.
// p:eof() -> true, or nil and the reason: the peer closed; completes a
//   response whose body ends with the connection.
// p:leftover() -> bytes fed past the end of the message (pipelining).
// p:skipbody() (a response to HEAD), p:keepalive(), p:needeof(),
// p:contentlength() (or nil), p:chunked().
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cctype>
#include <cstring>
#include <lua.hpp>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "silly/lua_api/batteries.h"

namespace silly {

namespace {

namespace http = boost::beast::http;
using boost::beast::string_view;
using error_code = boost::beast::error_code;

constexpr const char *kParserMeta = "silly.http.parser";

struct Head {
  int status = 0;  // a response's
  std::string method, target, reason;
  int version = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  bool complete = false;
};

template <bool isRequest>
class Parser final : public http::basic_parser<isRequest> {
 public:
  Head head;
  std::string body;  // parsed, not yet taken

 private:
  void on_request_impl(http::verb, string_view method, string_view target, int version, error_code &) override {
    head.method.assign(method.data(), method.size());
    head.target.assign(target.data(), target.size());
    head.version = version;
  }
  void on_response_impl(int code, string_view reason, int version, error_code &) override {
    head.status = code;
    head.reason.assign(reason.data(), reason.size());
    head.version = version;
  }
  void on_field_impl(http::field, string_view name, string_view value, error_code &) override {
    std::string lower(name.data(), name.size());
    for (char &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    head.fields.emplace_back(std::move(lower), std::string(value.data(), value.size()));
  }
  void on_header_impl(error_code &) override { head.complete = true; }
  void on_body_init_impl(boost::optional<std::uint64_t> const &, error_code &) override {}
  std::size_t on_body_impl(string_view s, error_code &) override {
    body.append(s.data(), s.size());
    return s.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code &) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view s, error_code &) override {
    body.append(s.data(), s.size());
    return s.size();
  }
  void on_finish_impl(error_code &) override {}
};

// One userdata holds either kind; `pending` is what was fed and not yet
// consumed (Beast wants a complete header in one buffer).
struct HttpParser {
  bool is_request;
  std::unique_ptr<Parser<true>> request;
  std::unique_ptr<Parser<false>> response;
  std::string pending;

  Head &head() { return is_request ? request->head : response->head; }
  std::string &body() { return is_request ? request->body : response->body; }
  template <typename F>
  auto with(F f) {
    return is_request ? f(*request) : f(*response);
  }
};

HttpParser *check_parser(lua_State *L) {
  return static_cast<HttpParser *>(luaL_checkudata(L, 1, kParserMeta));
}

int l_gc(lua_State *L) {
  static_cast<HttpParser *>(lua_touserdata(L, 1))->~HttpParser();
  return 0;
}

int l_parser(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  lua_Integer header_limit = luaL_checkinteger(L, 2);
  lua_Integer body_limit = luaL_checkinteger(L, 3);
  bool is_request = std::strcmp(kind, "request") == 0;
  luaL_argcheck(L, is_request || std::strcmp(kind, "response") == 0, 1, "\"request\" or \"response\" expected");
  luaL_argcheck(L, header_limit > 0 && header_limit <= (1 << 24), 2, "header limit must be 1..16 MiB");
  luaL_argcheck(L, body_limit >= 0, 3, "body limit must not be negative");
  auto *p = static_cast<HttpParser *>(lua_newuserdatauv(L, sizeof(HttpParser), 0));
  new (p) HttpParser{is_request, nullptr, nullptr, {}};
  luaL_setmetatable(L, kParserMeta);
  if (is_request) {
    p->request = std::make_unique<Parser<true>>();
  } else {
    p->response = std::make_unique<Parser<false>>();
  }
  p->with([&](auto &parser) {
    parser.header_limit(static_cast<std::uint32_t>(header_limit));
    parser.body_limit(static_cast<std::uint64_t>(body_limit));
    parser.eager(true);
  });
  return 1;
}

int push_error(lua_State *L, const error_code &ec) {
  lua_pushnil(L);
  lua_pushstring(L, ec.message().c_str());
  return 2;
}

int l_feed(lua_State *L) {
  HttpParser *p = check_parser(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  p->pending.append(s, len);
  error_code ec;
  size_t used = 0;
  p->with([&](auto &parser) {
    while (used < p->pending.size() && !parser.is_done()) {
      size_t n = parser.put(boost::asio::const_buffer(p->pending.data() + used, p->pending.size() - used), ec);
      used += n;
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || n == 0) break;
    }
  });
  p->pending.erase(0, used);
  if (ec) return push_error(L, ec);
  lua_pushboolean(L, 1);
  return 1;
}

void push_fields(lua_State *L, const Head &h) {
  lua_createtable(L, 0, static_cast<int>(h.fields.size()));
  for (const auto &f : h.fields) {
    int t = lua_getfield(L, -1, f.first.c_str());
    if (t == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushlstring(L, f.second.data(), f.second.size());
      lua_setfield(L, -2, f.first.c_str());
    } else if (t == LUA_TSTRING) {
      lua_createtable(L, 2, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
      lua_pushlstring(L, f.second.data(), f.second.size());
      lua_rawseti(L, -2, 2);
      lua_setfield(L, -2, f.first.c_str());
    } else {
      lua_pushlstring(L, f.second.data(), f.second.size());
      lua_rawseti(L, -2, static_cast<lua_Integer>(luaL_len(L, -2)) + 1);
      lua_pop(L, 1);
    }
  }
}

int l_head(lua_State *L) {
  HttpParser *p = check_parser(L);
  const Head &h = p->head();
  if (!h.complete) return 0;
  if (p->is_request) {
    lua_pushlstring(L, h.method.data(), h.method.size());
    lua_pushlstring(L, h.target.data(), h.target.size());
  } else {
    lua_pushinteger(L, h.status);
    lua_pushlstring(L, h.reason.data(), h.reason.size());
  }
  lua_pushinteger(L, h.version);
  push_fields(L, h);
  return 4;
}

int l_body(lua_State *L) {
  HttpParser *p = check_parser(L);
  std::string &b = p->body();
  lua_pushlstring(L, b.data(), b.size());
  b.clear();
  return 1;
}

int l_done(lua_State *L) {
  HttpParser *p = check_parser(L);
  lua_pushboolean(L, p->with([](auto &parser) { return parser.is_done(); }));
  return 1;
}

int l_eof(lua_State *L) {
  HttpParser *p = check_parser(L);
  error_code ec;
  p->with([&](auto &parser) { parser.put_eof(ec); });
  if (ec) return push_error(L, ec);
  lua_pushboolean(L, 1);
  return 1;
}

// leftover() -> the bytes fed after the end of this message (the next
// pipelined one), taken out of the parser.
int l_leftover(lua_State *L) {
  HttpParser *p = check_parser(L);
  lua_pushlstring(L, p->pending.data(), p->pending.size());
  p->pending.clear();
  return 1;
}

int l_skipbody(lua_State *L) {
  HttpParser *p = check_parser(L);
  p->with([](auto &parser) { parser.skip(true); });
  return 0;
}

int l_keepalive(lua_State *L) {
  HttpParser *p = check_parser(L);
  lua_pushboolean(L, p->with([](auto &parser) { return parser.keep_alive(); }));
  return 1;
}

int l_needeof(lua_State *L) {
  HttpParser *p = check_parser(L);
  lua_pushboolean(L, p->with([](auto &parser) { return parser.need_eof(); }));
  return 1;
}

int l_chunked(lua_State *L) {
  HttpParser *p = check_parser(L);
  lua_pushboolean(L, p->with([](auto &parser) { return parser.chunked(); }));
  return 1;
}

int l_contentlength(lua_State *L) {
  HttpParser *p = check_parser(L);
  auto n = p->with([](auto &parser) { return parser.content_length(); });
  if (!n) return 0;
  lua_pushinteger(L, static_cast<lua_Integer>(*n));
  return 1;
}

}  // namespace

int open_silly_http(lua_State *L) {
  const luaL_Reg methods[] = {
      {"feed", l_feed},
      {"head", l_head},
      {"body", l_body},
      {"done", l_done},
      {"eof", l_eof},
      {"skipbody", l_skipbody},
      {"leftover", l_leftover},
      {"keepalive", l_keepalive},
      {"needeof", l_needeof},
      {"chunked", l_chunked},
      {"contentlength", l_contentlength},
      {nullptr, nullptr},
  };
  if (luaL_newmetatable(L, kParserMeta)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg fns[] = {{"parser", l_parser}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
