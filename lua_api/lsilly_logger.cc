// silly.logger.c: formats and writes log lines for silly.logger and for the
// layers below Lua.
//
// Line: "YYYY-MM-DD HH:MM:SS <trace id, 16 hex> <D|I|W|E> file:line args\n".
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <string>

#include "silly/core/clock.h"
#include "silly/core/log.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"

namespace silly {

namespace {

const char kLevelChar[] = {'D', 'I', 'W', 'E'};

void append_header(std::string *out, int level, uint64_t trace) {
  char head[80];
  time_t secs = static_cast<time_t>(wall_us() / 1000000);
  struct tm tm;
  localtime_r(&secs, &tm);
  size_t n = strftime(head, sizeof(head), "%Y-%m-%d %H:%M:%S ", &tm);
  n += static_cast<size_t>(snprintf(head + n, sizeof(head) - n, "%016" PRIx64 " %c ", trace, kLevelChar[level & 3]));
  out->append(head, n);
}

void write_line(const std::string &line) {
  fwrite(line.data(), 1, line.size(), stdout);
  fflush(stdout);
}

// Lines from C++ layers: no source position, no trailing space.
void core_sink(LogLevel level, const char *text) {
  std::string line;
  append_header(&line, static_cast<int>(level), 0);
  line += text;
  line += '\n';
  write_line(line);
}

void append_value(lua_State *L, std::string *out, int idx, int depth);

void append_table(lua_State *L, std::string *out, int idx, int depth) {
  if (depth >= 5) return;
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 4, "logger: table too deep");
  out->push_back('{');
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      append_value(L, out, -2, depth + 1);
    } else {
      out->push_back('[');
      append_value(L, out, -2, depth + 1);
      out->push_back(']');
    }
    out->push_back('=');
    if (lua_type(L, -1) == LUA_TSTRING) {
      out->push_back('"');
      append_value(L, out, -1, depth + 1);
      out->push_back('"');
    } else {
      append_value(L, out, -1, depth + 1);
    }
    out->push_back(',');
    lua_pop(L, 1);
  }
  out->push_back('}');
}

void append_value(lua_State *L, std::string *out, int idx, int depth) {
  char num[64];
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n;
      // lua_tolstring on a string key does not convert it, so next() is safe.
      const char *s = lua_tolstring(L, idx, &n);
      out->append(s, n);
      break;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        snprintf(num, sizeof(num), "%lld", static_cast<long long>(lua_tointeger(L, idx)));
      } else {
        snprintf(num, sizeof(num), "%.14g", lua_tonumber(L, idx));
      }
      *out += num;
      break;
    case LUA_TBOOLEAN: *out += lua_toboolean(L, idx) ? "true" : "false"; break;
    case LUA_TNIL: *out += "nil"; break;
    case LUA_TTABLE: append_table(L, out, idx, depth); break;
    default: break;  // functions, userdata and threads print as nothing
  }
}

// The script's line that called logger.x sits `level` frames up.
void append_source(lua_State *L, std::string *out, int level) {
  lua_Debug ar;
  if (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
    char where[LUA_IDSIZE + 32];
    snprintf(where, sizeof(where), "%s:%d ", ar.short_src, ar.currentline);
    *out += where;
  }
}

// The values from `first` on, after the header and `where` (a source
// position, or empty to take the caller's).
int write_values(lua_State *L, int first, const char *where) {
  int level = static_cast<int>(luaL_checkinteger(L, 1));
  auto trace = static_cast<uint64_t>(luaL_optinteger(L, 2, 0));
  std::string line;
  append_header(&line, level, trace);
  if (where != nullptr) {
    line += where;
    line.push_back(' ');
  } else {
    append_source(L, &line, 2);
  }
  int top = lua_gettop(L);
  for (int i = first; i <= top; i++) {
    append_value(L, &line, i, 0);
    line.push_back(' ');
  }
  line.push_back('\n');
  write_line(line);
  return 0;
}

// write(level, traceid, ...): the caller's file and line first.
int l_write(lua_State *L) {
  return write_values(L, 3, nullptr);
}

// writeat(level, traceid, where, ...): `where` first, for errors whose
// place is not the caller's (a task's error names the script's line).
int l_writeat(lua_State *L) {
  const char *where = luaL_checkstring(L, 3);
  return write_values(L, 4, where);
}

// Renders fmt with the values from `arg` on into *body; returns the
// format error, if any, for the caller to raise once its strings are gone.
const char *format_body(lua_State *L, const char *fmt, size_t flen, int arg, std::string *body, char *bad) {
  int top = lua_gettop(L);
  for (size_t i = 0; i < flen; i++) {
    if (fmt[i] != '%') {
      body->push_back(fmt[i]);
      continue;
    }
    char spec = i + 1 < flen ? fmt[++i] : '\0';
    if (spec == '%') {
      body->push_back('%');
    } else if (spec == 's') {
      if (arg > top) return "no value";
      append_value(L, body, arg++, 0);
      body->push_back(' ');
    } else {
      *bad = spec;
      return "invalid option";
    }
  }
  return nullptr;
}

// writef(level, traceid, fmt, ...): only %s and %% are allowed; each %s
// becomes the value followed by a space.
int l_writef(lua_State *L) {
  int level = static_cast<int>(luaL_checkinteger(L, 1));
  auto trace = static_cast<uint64_t>(luaL_optinteger(L, 2, 0));
  size_t flen;
  const char *fmt = luaL_checklstring(L, 3, &flen);
  const char *error;
  char bad = 0;
  {
    // Strings live in this scope only: a Lua error must not skip their
    // destructors.
    std::string body;
    error = format_body(L, fmt, flen, 4, &body, &bad);
    if (error == nullptr) {
      std::string line;
      append_header(&line, level, trace);
      append_source(L, &line, 2);
      line += body;
      line.push_back('\n');
      write_line(line);
    }
  }
  if (error == nullptr) return 0;
  if (bad != 0) return luaL_error(L, "invalid option '%%%c' to 'format', only support '%%s'", bad);
  return luaL_error(L, "%s", error);
}

}  // namespace

int open_silly_logger(lua_State *L) {
  set_log_sink(core_sink);
  const luaL_Reg fns[] = {
      {"write", l_write},
      {"writeat", l_writeat},
      {"writef", l_writef},
      {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
