// Fuzz target: the rows a server sends, as core/mysql_client.h reads them
// (its check of each row, then MariaDB Connector/C's decoding into our
// buffers, then ours into cells). Over a real loopback connection a
// scripted server greets, accepts the login, prepares the query, and
// answers its execution with fifteen columns of every kind and the rows of
// the input; the client reads every row, pings, and runs the query again
// from its cache (the server answers it without the columns, as MariaDB
// does for a client that keeps them). No input may crash it, leak, or
// leave a request waiting.
//
// The input is the rows' packets, each a length byte and that many bytes
// after the row's leading 0.
// Only the rows are the input: the library decodes the rest of the
// protocol trusting the server (a greeting without a version string makes
// it call strstr on NULL; a malformed prepare answer crashes its execute),
// and the server is one the studio runs (docs/reference/silly.store.mysql.md).
// Rows are where a server's answers reach our code, and there a server's
// bad lengths are caught before the library reads past them.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "silly/core/event_loop.h"
#include "silly/core/mysql_client.h"

namespace {

constexpr int64_t kRequestMs = 2000;
constexpr const char *kQuery = "SELECT ? FROM kinds";

// MariaDB 10.11's greeting (mysql_native_password, metadata caching
// offered), and the OK to the login.
constexpr unsigned char kGreeting[] = {
    0x64, 0x00, 0x00, 0x00, 0x0a, 0x35, 0x2e, 0x35, 0x2e, 0x35, 0x2d, 0x31, 0x30, 0x2e, 0x31, 0x31, 0x2e,
    0x31, 0x39, 0x2d, 0x4d, 0x61, 0x72, 0x69, 0x61, 0x44, 0x42, 0x2d, 0x30, 0x2b, 0x64, 0x65, 0x62, 0x31,
    0x32, 0x75, 0x31, 0x00, 0x44, 0x00, 0x00, 0x00, 0x42, 0x28, 0x40, 0x49, 0x30, 0x51, 0x2a, 0x78, 0x00,
    0xfe, 0xf7, 0x08, 0x02, 0x00, 0xff, 0x81, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1d, 0x00, 0x00,
    0x00, 0x44, 0x29, 0x3e, 0x3a, 0x4b, 0x4b, 0x76, 0x30, 0x2b, 0x28, 0x25, 0x7d, 0x00, 0x6d, 0x79, 0x73,
    0x71, 0x6c, 0x5f, 0x6e, 0x61, 0x74, 0x69, 0x76, 0x65, 0x5f, 0x70, 0x61, 0x73, 0x73, 0x77, 0x6f, 0x72,
    0x64, 0x00, 0x07, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};

struct Column {
  const char *name;
  uint8_t type;  // MYSQL_TYPE_*
  uint16_t flags;
};
// One of each kind the client binds differently.
constexpr Column kColumns[] = {
    {"tiny", 1, 0},  {"short", 2, 0}, {"long", 3, 0},  {"float", 4, 0},   {"double", 5, 0}, {"null", 6, 0},
    {"stamp", 7, 0}, {"big", 8, 0},   {"ubig", 8, 32}, {"int24", 9, 0},   {"date", 10, 0},  {"time", 11, 0},
    {"dt", 12, 0},   {"year", 13, 0}, {"dec", 246, 0}, {"blob", 252, 16}, {"str", 253, 0},
};
constexpr size_t kNColumns = sizeof kColumns / sizeof kColumns[0];

// A scripted server's answers, packet by packet.
class Script {
 public:
  std::string bytes;
  void packet(const std::string &payload) {
    uint32_t n = static_cast<uint32_t>(payload.size());
    bytes += static_cast<char>(n & 0xff);
    bytes += static_cast<char>((n >> 8) & 0xff);
    bytes += static_cast<char>((n >> 16) & 0xff);
    bytes += static_cast<char>(seq_++);
    bytes += payload;
  }
  void next_answer() { seq_ = 1; }
  void eof() { packet(std::string("\xfe\x00\x00\x02\x00", 5)); }
  void ok() { packet(std::string("\x00\x00\x00\x02\x00\x00\x00", 7)); }
  void column(const Column &c) {
    std::string p(
        "\x03"
        "def\x00\x00\x00",
        7);
    p += static_cast<char>(strlen(c.name));
    p += c.name;
    // org_name, MariaDB's extended type information (both empty), the fixed
    // part's length, charset binary, length 64
    p += std::string("\x00\x00\x0c\x3f\x00\x40\x00\x00\x00", 9);
    p += static_cast<char>(c.type);
    p += static_cast<char>(c.flags & 0xff);
    p += static_cast<char>(c.flags >> 8);
    p += std::string("\x00\x00\x00", 3);  // decimals, filler
    packet(p);
  }

 private:
  uint8_t seq_ = 1;
};

// The server's whole side for the rows given: prepare, execute, ping,
// execute again with the columns cached, ping.
std::string session(const std::vector<std::string> &rows) {
  Script s;
  s.next_answer();  // COM_STMT_PREPARE: statement 1, the columns, one parameter
  std::string prepared("\x00\x01\x00\x00\x00", 5);
  prepared += static_cast<char>(kNColumns);
  prepared += std::string("\x00\x01\x00\x00\x00\x00", 6);
  s.packet(prepared);
  s.column({"?", 8, 0});
  s.eof();
  for (const Column &c : kColumns) s.column(c);
  s.eof();
  for (int round = 0; round < 2; round++) {
    s.next_answer();  // COM_STMT_EXECUTE: the column count and whether the columns follow
    std::string count(1, static_cast<char>(kNColumns));
    count += round == 0 ? '\x01' : '\x00';
    s.packet(count);
    if (round == 0) {
      for (const Column &c : kColumns) s.column(c);
    }
    s.eof();
    for (const std::string &row : rows) s.packet(row);
    s.eof();
    s.next_answer();  // COM_PING
    s.ok();
  }
  return s.bytes;
}

void send_all(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, p + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

// One listener for the whole run; the client connects to it each input.
int listener(uint16_t *port) {
  static int fd = -1;
  static uint16_t bound = 0;
  if (fd < 0) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a), len) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
      abort();
    }
    bound = ntohs(a.sin_port);
  }
  *port = bound;
  return fd;
}

// Runs the loop until the request ends; a request that never ends is a bug.
void finish(silly::EventLoop &loop, bool finished, const bool &done) {
  if (finished) return;
  for (int i = 0; i < 1000 && !done; i++) loop.run_once(10);
  if (!done) abort();
}

// MYSQL_FUZZ_PRINT=1 prints what was read, to check a seed by eye.
void read_rows(silly::MysqlClient &client) {
  static const bool print = getenv("MYSQL_FUZZ_PRINT") != nullptr;
  size_t n = 0;
  while (client.has_rows() && client.next_row()) {
    for (size_t i = 0; i < client.columns(); i++) {
      silly::MysqlCell v = client.cell(i);
      if (v.kind == silly::MysqlCell::kBytes && v.len > 0) n += static_cast<unsigned char>(v.data[v.len - 1]);
      if (!print) continue;
      const char *name = client.column_name(i).c_str();
      switch (v.kind) {
        case silly::MysqlCell::kNull: printf("%s=NULL ", name); break;
        case silly::MysqlCell::kInt: printf("%s=%lld ", name, static_cast<long long>(v.i)); break;
        case silly::MysqlCell::kUint: printf("%s=%llu ", name, static_cast<unsigned long long>(v.u)); break;
        case silly::MysqlCell::kDouble: printf("%s=%.17g ", name, v.d); break;
        case silly::MysqlCell::kBytes:
          printf("%s=[%zu]%.*s ", name, v.len, static_cast<int>(v.len < 24 ? v.len : 24), v.data);
          break;
      }
    }
    if (print) printf("\n");
  }
  if (print && client.failed()) printf("error %u: %s\n", client.errnum(), client.message().c_str());
  (void)n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint16_t port;
  int lfd = listener(&port);
  silly::EventLoop loop;
  bool done = false;
  silly::MysqlClient client(loop, [&done] { done = true; });
  silly::MysqlConnectOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.user = "root";
  o.password = "fuzz";
  o.timeout_ms = kRequestMs;
  bool finished = client.connect(o);
  // Loopback connects complete in the kernel: the connection waits in the
  // listener's queue already.
  int server = accept(lfd, nullptr, nullptr);
  if (server < 0) abort();
  std::vector<std::string> rows;
  for (size_t at = 0; at < size && rows.size() < 16;) {
    size_t n = data[at++];
    n = n < size - at ? n : size - at;
    // A row's first byte is 0; other ones make it an end or an error
    // packet, the protocol's structure rather than a row.
    rows.emplace_back(1, '\0');
    rows.back().append(reinterpret_cast<const char *>(data + at), n);
    at += n;
  }
  std::string answers = session(rows);
  send_all(server, kGreeting, sizeof kGreeting);
  send_all(server, answers.data(), answers.size());
  shutdown(server, SHUT_WR);  // then end of stream: every read ends
  finish(loop, finished, done);
  for (int round = 0; round < 2 && client.connected() && !client.broken(); round++) {
    std::vector<silly::MysqlParam> params(1);
    params[0].kind = silly::MysqlParam::kInt;
    params[0].i = 42;
    done = false;
    finish(loop, client.query(kQuery, std::move(params), kRequestMs), done);
    read_rows(client);
    for (int sets = 0; sets < 8 && client.more_results() && !client.broken(); sets++) {
      done = false;
      finish(loop, client.next_result(kRequestMs), done);
      read_rows(client);
    }
    if (client.broken()) break;
    done = false;
    finish(loop, client.ping(kRequestMs), done);
  }
  client.close();
  close(server);
  return 0;
}
