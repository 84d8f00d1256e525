// One connection to a MySQL or MariaDB server, driven by our loop. MariaDB
// Connector/C runs the protocol through its non-blocking API (the *_start
// and *_cont calls); its socket is registered with the EventLoop, and each
// wait the library asks for (readable, writable, a timeout) is answered from
// there. One request at a time. Knows nothing of Lua.
//
// A request (connect, query, command, ping, next_result) returns true when
// it finished at once and false when it waits: `done` is then called once
// it finishes, from the loop. Either way its outcome is read from here
// until the next request. `done` may start the next request or close().
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "silly/core/event_loop.h"

struct st_mysql;
struct st_mysql_stmt;
struct st_mysql_res;
struct st_mysql_bind;

namespace silly {

struct MysqlConnectOptions {
  std::string host;
  unsigned port = 3306;
  std::string user;
  std::string password;
  std::string database;
  std::string charset;                   // empty: the library's default
  int64_t timeout_ms = 0;                // the whole handshake; 0: none
  unsigned long max_allowed_packet = 0;  // 0: the library's default
};

// A value bound to a placeholder.
struct MysqlParam {
  enum Kind { kNull, kInt, kDouble, kBool, kString } kind = kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

// A column's value in the current row. Text (kBytes) points into the
// client's buffers, valid until the next row; dates and times come as the
// text the original framework gives ("2022-01-01 10:00:00").
struct MysqlCell {
  enum Kind { kNull, kInt, kUint, kDouble, kBytes } kind = kNull;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  const char *data = nullptr;
  size_t len = 0;
};

class MysqlClient final : private FdHandler, private TimerOwner {
 public:
  using Done = std::function<void()>;

  // Prepared statements kept per connection, least recently used dropped
  // first (each holds server memory, bounded by max_prepared_stmt_count).
  static constexpr size_t kStatementCacheSize = 256;

  MysqlClient(EventLoop &loop, Done done);
  // Closes the connection; a request still running is abandoned.
  ~MysqlClient();
  MysqlClient(const MysqlClient &) = delete;
  MysqlClient &operator=(const MysqlClient &) = delete;

  bool connect(const MysqlConnectOptions &options);
  // A prepared statement (kept in the cache) executed with `params`. With
  // a result set, its rows are stored here: columns()/next_row()/cell().
  // timeout_ms bounds the whole request (0: none); past it the connection
  // is broken.
  bool query(const std::string &sql, std::vector<MysqlParam> params, int64_t timeout_ms);
  // A statement in the text protocol, for ones without results (BEGIN).
  bool command(const std::string &sql, int64_t timeout_ms);
  bool ping(int64_t timeout_ms);
  // After a query whose more_results() is true: the next result set.
  bool next_result(int64_t timeout_ms);
  // Sends the server a goodbye when the link is sound, then frees it all.
  void close();

  bool connected() const { return mysql_ != nullptr && connected_; }
  // Between requests: false when the server closed the link or sent what
  // nobody asked for (an idle link is checked before it is used again).
  bool alive() const;
  bool busy() const { return step_ != Step::kIdle; }

  // The last request's outcome.
  bool failed() const { return errnum_ != 0 || !message_.empty(); }
  unsigned errnum() const { return errnum_; }
  const std::string &sqlstate() const { return sqlstate_; }
  const std::string &message() const { return message_; }
  // The placeholders and the values given disagree (a caller's mistake).
  bool misuse() const { return misuse_; }
  // The connection can not be used again (lost, timed out, out of sync).
  bool broken() const { return broken_; }
  uint64_t affected_rows() const { return affected_rows_; }
  uint64_t insert_id() const { return insert_id_; }
  unsigned server_status() const { return server_status_; }
  unsigned warning_count() const { return warning_count_; }
  const std::string &info() const { return info_; }

  // The current result set: its columns, then each row in turn.
  bool has_rows() const { return result_ != nullptr; }
  size_t columns() const { return columns_.size(); }
  const std::string &column_name(size_t i) const { return columns_[i].name; }
  bool next_row();  // false after the last (the result set is released)
  MysqlCell cell(size_t i) const;
  bool more_results() const { return more_results_; }
  size_t cached_statements() const { return cache_.size(); }

 private:
  enum class Step { kIdle, kConnect, kPrepare, kExecute, kStore, kNextResult, kCommand, kPing };
  enum TimerKind : uint64_t { kDeadline = 1, kLibraryTimeout = 2 };
  struct Statement {
    st_mysql_stmt *stmt = nullptr;
    std::list<std::string>::iterator lru;
  };
  struct Column {
    std::string name;
    int type = 0;
    bool is_unsigned = false;
    size_t offset = 0;  // into row_buffer_
    size_t capacity = 0;
  };

  void on_ready(int fd, void *data, const PollEvent &ev) override;
  void on_timer(TimerId id, uint64_t kind) override;

  void begin(Step step, int64_t timeout_ms);
  // Ends a request before it starts, with `message`: true (finished).
  bool refuse(const char *message, bool broken);
  // Drives the request from a _start or _cont status: waits, or finishes
  // steps until the request is done (true).
  bool drive(int status);
  int resume(int ready);  // the _cont call of the current step
  int finish_step();      // next step's status, or 0 with step_ kIdle
  int start_execute();
  int after_store();
  void wait_for(int status);
  void end_request();
  void set_stmt_error(st_mysql_stmt *stmt);
  void set_conn_error();
  void set_own_error(const char *message, bool broken);
  void clear_outcome();
  bool bind_result();
  // Whether a stored row holds what the columns say, within its length.
  bool row_is_sound(const unsigned char *p, unsigned long len) const;
  void release_result();
  void drop_statement(const std::string &sql);
  void cancel_timers();

  EventLoop &loop_;
  Done done_;
  st_mysql *mysql_ = nullptr;
  bool connected_ = false;
  int fd_ = -1;  // registered with loop_ once the library has a socket
  Step step_ = Step::kIdle;
  int wait_status_ = 0;  // what the library waits for
  TimerId deadline_{};
  TimerId library_timer_{};
  bool deadline_armed_ = false;
  bool library_timer_armed_ = false;
  bool timed_out_ = false;
  int timeout_tries_ = 0;
  int64_t timeout_ms_ = 0;

  // The request in flight (the library reads these as it goes).
  MysqlConnectOptions connect_options_;
  int int_ret_ = 0;
  st_mysql *connect_ret_ = nullptr;
  std::string sql_;
  std::vector<MysqlParam> params_;
  std::vector<st_mysql_bind> param_binds_;
  st_mysql_stmt *stmt_ = nullptr;  // the statement the query runs

  std::unordered_map<std::string, Statement> cache_;
  std::list<std::string> lru_;  // most recent first

  // Outcome.
  unsigned errnum_ = 0;
  std::string sqlstate_;
  std::string message_;
  bool misuse_ = false;
  bool broken_ = false;
  uint64_t affected_rows_ = 0;
  uint64_t insert_id_ = 0;
  unsigned server_status_ = 0;
  unsigned warning_count_ = 0;
  std::string info_;
  bool more_results_ = false;

  // The stored result set and the buffers its rows are fetched into.
  st_mysql_res *result_ = nullptr;
  std::vector<Column> columns_;
  std::vector<st_mysql_bind> result_binds_;
  std::vector<char> row_buffer_;
  std::vector<unsigned long> lengths_;
  std::vector<char> nulls_;
  std::vector<std::string> texts_;  // per column: a time's text, or a value longer than its buffer
};

}  // namespace silly
