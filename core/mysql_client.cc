// MysqlClient: MariaDB Connector/C's non-blocking calls on our loop (the
// requests; their result sets are read in mysql_rows.cc).
//
// Each step of a request is a pair of library calls: *_start runs it until
// it would block and returns what it waits for (MYSQL_WAIT_*), *_cont
// resumes it with what happened. The library only waits after a read or
// write returned EAGAIN, so the socket's edge-triggered registration never
// misses an event it needs.
#include "silly/core/mysql_client.h"

#include <mariadb/errmsg.h>
#include <mariadb/mysql.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace silly {

namespace {

// After our deadline the library is resumed with a timeout, which fails the
// read or write it waits in. Should it wait again, it is told again; after
// this many the socket is shut so that any wait ends.
constexpr int kTimeoutTries = 4;

}  // namespace

MysqlClient::MysqlClient(EventLoop &loop, Done done) : loop_(loop), done_(std::move(done)) {}

MysqlClient::~MysqlClient() {
  close();
}

void MysqlClient::clear_outcome() {
  errnum_ = 0;
  sqlstate_.clear();
  message_.clear();
  misuse_ = false;
  affected_rows_ = 0;
  insert_id_ = 0;
  warning_count_ = 0;
  info_.clear();
  more_results_ = false;
}

void MysqlClient::set_stmt_error(MYSQL_STMT *stmt) {
  errnum_ = mysql_stmt_errno(stmt);
  sqlstate_ = mysql_stmt_sqlstate(stmt);
  message_ = mysql_stmt_error(stmt);
  if (errnum_ >= CR_MIN_ERROR && errnum_ <= CR_MAX_ERROR) broken_ = true;
}

void MysqlClient::set_conn_error() {
  errnum_ = mysql_errno(mysql_);
  sqlstate_ = mysql_sqlstate(mysql_);
  message_ = mysql_error(mysql_);
  // "Can't connect to server on '127.0.0.1' (111)": the system's words for
  // the number, as a person reading a log wants them.
  if (errnum_ == CR_CONN_HOST_ERROR || errnum_ == CR_CONNECTION_ERROR) {
    size_t open = message_.rfind('(');
    if (open != std::string::npos && message_.back() == ')') {
      int sys = atoi(message_.c_str() + open + 1);
      if (sys > 0) message_.insert(message_.size() - 1, std::string(" \"") + strerror(sys) + "\"");
    }
  }
  if (errnum_ >= CR_MIN_ERROR && errnum_ <= CR_MAX_ERROR) broken_ = true;
}

void MysqlClient::set_own_error(const char *message, bool broken) {
  errnum_ = 0;
  sqlstate_.clear();
  message_ = message;
  if (broken) broken_ = true;
}

bool MysqlClient::refuse(const char *message, bool broken) {
  clear_outcome();
  set_own_error(message, broken);
  return true;
}

void MysqlClient::begin(Step step, int64_t timeout_ms) {
  clear_outcome();
  release_result();
  step_ = step;
  timed_out_ = false;
  timeout_tries_ = 0;
  timeout_ms_ = timeout_ms;
  if (timeout_ms > 0) {
    deadline_ = loop_.add_timer(timeout_ms, this, kDeadline);
    deadline_armed_ = true;
  }
}

bool MysqlClient::connect(const MysqlConnectOptions &options) {
  close();
  broken_ = false;
  connect_options_ = options;
  const MysqlConnectOptions &o = connect_options_;
  mysql_ = mysql_init(nullptr);
  if (mysql_ == nullptr) return refuse("out of memory", true);
  mysql_options(mysql_, MYSQL_OPT_NONBLOCK, nullptr);
  // TCP even for "localhost", where the library would take a Unix socket.
  unsigned int tcp = MYSQL_PROTOCOL_TCP;
  mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &tcp);
  if (!o.charset.empty()) mysql_options(mysql_, MYSQL_SET_CHARSET_NAME, o.charset.c_str());
  if (o.max_allowed_packet > 0) {
    size_t n = o.max_allowed_packet;  // the library reads a size_t
    mysql_options(mysql_, MYSQL_OPT_MAX_ALLOWED_PACKET, &n);
  }
  // LOAD DATA LOCAL would let a server read the client's files.
  unsigned int no = 0;
  mysql_options(mysql_, MYSQL_OPT_LOCAL_INFILE, &no);
  begin(Step::kConnect, o.timeout_ms);
  // CLIENT_FOUND_ROWS: an UPDATE's affected_rows counts the rows matched,
  // as the original framework's handshake asks.
  int status = mysql_real_connect_start(&connect_ret_, mysql_, o.host.c_str(), o.user.c_str(), o.password.c_str(),
                                        o.database.empty() ? nullptr : o.database.c_str(), o.port, nullptr,
                                        CLIENT_FOUND_ROWS | CLIENT_MULTI_RESULTS);
  return drive(status);
}

bool MysqlClient::query(const std::string &sql, std::vector<MysqlParam> params, int64_t timeout_ms) {
  if (!connected()) return refuse("not connected", true);
  begin(Step::kPrepare, timeout_ms);
  params_ = std::move(params);
  auto hit = cache_.find(sql);
  if (hit != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, hit->second.lru);
    stmt_ = hit->second.stmt;
    return drive(start_execute());
  }
  if (cache_.size() >= kStatementCacheSize) drop_statement(lru_.back());
  stmt_ = mysql_stmt_init(mysql_);
  if (stmt_ == nullptr) {
    set_conn_error();
    end_request();
    return true;
  }
  sql_ = sql;
  return drive(mysql_stmt_prepare_start(&int_ret_, stmt_, sql_.data(), sql_.size()));
}

bool MysqlClient::command(const std::string &sql, int64_t timeout_ms) {
  if (!connected()) return refuse("not connected", true);
  begin(Step::kCommand, timeout_ms);
  sql_ = sql;
  return drive(mysql_real_query_start(&int_ret_, mysql_, sql_.data(), sql_.size()));
}

bool MysqlClient::ping(int64_t timeout_ms) {
  if (!connected()) return refuse("not connected", true);
  begin(Step::kPing, timeout_ms);
  return drive(mysql_ping_start(&int_ret_, mysql_));
}

bool MysqlClient::next_result(int64_t timeout_ms) {
  if (!connected() || stmt_ == nullptr || !more_results_) return refuse("no more results", false);
  begin(Step::kNextResult, timeout_ms);
  return drive(mysql_stmt_next_result_start(&int_ret_, stmt_));
}

int MysqlClient::resume(int ready) {
  switch (step_) {
    case Step::kConnect: return mysql_real_connect_cont(&connect_ret_, mysql_, ready);
    case Step::kPrepare: return mysql_stmt_prepare_cont(&int_ret_, stmt_, ready);
    case Step::kExecute: return mysql_stmt_execute_cont(&int_ret_, stmt_, ready);
    case Step::kStore: return mysql_stmt_store_result_cont(&int_ret_, stmt_, ready);
    case Step::kNextResult: return mysql_stmt_next_result_cont(&int_ret_, stmt_, ready);
    case Step::kCommand: return mysql_real_query_cont(&int_ret_, mysql_, ready);
    case Step::kPing: return mysql_ping_cont(&int_ret_, mysql_, ready);
    case Step::kIdle: break;
  }
  return 0;
}

int MysqlClient::start_execute() {
  unsigned long count = mysql_stmt_param_count(stmt_);
  if (count != params_.size()) {
    char text[128];
    snprintf(text, sizeof text, "the statement has %lu placeholders but %zu values were given", count, params_.size());
    set_own_error(text, false);
    misuse_ = true;
    step_ = Step::kIdle;
    return 0;
  }
  param_binds_.assign(params_.size(), MYSQL_BIND{});
  for (size_t i = 0; i < params_.size(); i++) {
    MysqlParam &p = params_[i];
    MYSQL_BIND &b = param_binds_[i];
    switch (p.kind) {
      case MysqlParam::kNull: b.buffer_type = MYSQL_TYPE_NULL; break;
      case MysqlParam::kInt:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &p.i;
        break;
      case MysqlParam::kDouble:
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &p.d;
        break;
      case MysqlParam::kBool:
        b.buffer_type = MYSQL_TYPE_LONGLONG;  // TRUE and FALSE are 1 and 0 in SQL
        b.buffer = &p.i;
        break;
      case MysqlParam::kString:
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = p.s.data();
        b.buffer_length = p.s.size();
        b.length_value = p.s.size();
        b.length = &b.length_value;
        break;
    }
  }
  if (!param_binds_.empty() && mysql_stmt_bind_param(stmt_, param_binds_.data()) != 0) {
    set_stmt_error(stmt_);
    step_ = Step::kIdle;
    return 0;
  }
  step_ = Step::kExecute;
  return mysql_stmt_execute_start(&int_ret_, stmt_);
}

// The stored result set (or the statement's OK) is the outcome.
int MysqlClient::after_store() {
  more_results_ = mysql_stmt_more_results(stmt_);
  if (mysql_stmt_field_count(stmt_) > 0) {
    if (!bind_result()) set_stmt_error(stmt_);
  } else {
    affected_rows_ = mysql_stmt_affected_rows(stmt_);
    insert_id_ = mysql_stmt_insert_id(stmt_);
    const char *info = mysql_info(mysql_);
    if (info != nullptr) info_ = info;
  }
  server_status_ = mysql_->server_status;
  warning_count_ = mysql_warning_count(mysql_);
  step_ = Step::kIdle;
  return 0;
}

int MysqlClient::finish_step() {
  switch (step_) {
    case Step::kConnect:
      if (connect_ret_ == nullptr) {
        set_conn_error();
        broken_ = true;
      } else {
        connected_ = true;
        server_status_ = mysql_->server_status;
      }
      break;
    case Step::kPrepare:
      if (int_ret_ != 0) {
        set_stmt_error(stmt_);
        mysql_stmt_close(stmt_);  // never prepared: nothing to tell the server
        stmt_ = nullptr;
        break;
      }
      lru_.push_front(sql_);
      cache_[sql_] = Statement{stmt_, lru_.begin()};
      return start_execute();
    case Step::kExecute:
      if (int_ret_ != 0) {
        set_stmt_error(stmt_);
        break;
      }
      if (mysql_stmt_field_count(stmt_) == 0) return after_store();
      step_ = Step::kStore;
      return mysql_stmt_store_result_start(&int_ret_, stmt_);
    case Step::kNextResult:
      if (int_ret_ > 0) {
        set_stmt_error(stmt_);
        break;
      }
      if (int_ret_ < 0 || mysql_stmt_field_count(stmt_) == 0) return after_store();
      step_ = Step::kStore;
      return mysql_stmt_store_result_start(&int_ret_, stmt_);
    case Step::kStore:
      if (int_ret_ != 0) {
        set_stmt_error(stmt_);
        break;
      }
      return after_store();
    case Step::kCommand:
      if (int_ret_ != 0) {
        set_conn_error();
        break;
      }
      affected_rows_ = mysql_affected_rows(mysql_);
      insert_id_ = mysql_insert_id(mysql_);
      server_status_ = mysql_->server_status;
      warning_count_ = mysql_warning_count(mysql_);
      if (mysql_field_count(mysql_) != 0) set_own_error("a command returned rows; use query", true);
      break;
    case Step::kPing:
      if (int_ret_ != 0) set_conn_error();
      server_status_ = mysql_->server_status;
      break;
    case Step::kIdle: break;
  }
  step_ = Step::kIdle;
  return 0;
}

bool MysqlClient::drive(int status) {
  for (;;) {
    if (status != 0) {
      wait_for(status);
      return false;
    }
    if (step_ == Step::kIdle) break;
    status = finish_step();
    if (step_ == Step::kIdle && status == 0) break;
  }
  end_request();
  return true;
}

void MysqlClient::end_request() {
  cancel_timers();
  wait_status_ = 0;
  step_ = Step::kIdle;
  if (timed_out_) {
    char text[96];
    snprintf(text, sizeof text, "timeout: no answer within %lld ms", static_cast<long long>(timeout_ms_));
    unsigned errnum = errnum_;
    std::string sqlstate = sqlstate_;
    set_own_error(text, true);
    errnum_ = errnum != 0 ? errnum : CR_SERVER_LOST;
    sqlstate_ = sqlstate.empty() ? "HY000" : sqlstate;
    release_result();
  }
}

void MysqlClient::wait_for(int status) {
  wait_status_ = status;
  if (fd_ < 0 && (status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT)) != 0) {
    int fd = static_cast<int>(mysql_get_socket(mysql_));
    if (fd >= 0 && loop_.add_fd(fd, this, nullptr) == 0) fd_ = fd;
  }
  if (library_timer_armed_) {
    loop_.cancel_timer(library_timer_);
    library_timer_armed_ = false;
  }
  // One library timer at a time: a second one would be left armed and
  // could fail a later request.
  if (timed_out_) {
    // Past our deadline the library is told so at every wait.
    if (++timeout_tries_ > kTimeoutTries && fd_ >= 0) shutdown(fd_, SHUT_RDWR);
    library_timer_ = loop_.add_timer(0, this, kLibraryTimeout);
    library_timer_armed_ = true;
  } else if ((status & MYSQL_WAIT_TIMEOUT) != 0) {
    library_timer_ = loop_.add_timer(mysql_get_timeout_value_ms(mysql_), this, kLibraryTimeout);
    library_timer_armed_ = true;
  }
}

void MysqlClient::on_ready(int, void *, const PollEvent &ev) {
  if (step_ == Step::kIdle || wait_status_ == 0) return;
  int ready = 0;
  if (ev.readable) ready |= MYSQL_WAIT_READ;
  if (ev.writable) ready |= MYSQL_WAIT_WRITE;
  if (ev.hangup) ready |= MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT;
  ready &= wait_status_;
  if (ready == 0) return;
  if (drive(resume(ready))) done_();  // done_ may start the next request: nothing after it
}

void MysqlClient::on_timer(TimerId, uint64_t kind) {
  if (kind == kDeadline) {
    deadline_armed_ = false;
    timed_out_ = true;
  } else {
    library_timer_armed_ = false;
  }
  if (step_ == Step::kIdle || wait_status_ == 0) return;
  if (drive(resume(MYSQL_WAIT_TIMEOUT))) done_();
}

void MysqlClient::cancel_timers() {
  if (deadline_armed_) loop_.cancel_timer(deadline_);
  if (library_timer_armed_) loop_.cancel_timer(library_timer_);
  deadline_armed_ = library_timer_armed_ = false;
}

void MysqlClient::drop_statement(const std::string &sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) return;
  MYSQL_STMT *stmt = it->second.stmt;
  lru_.erase(it->second.lru);
  cache_.erase(it);
  if (stmt == stmt_) stmt_ = nullptr;
  // COM_STMT_CLOSE has no answer: a few bytes on an idle link.
  mysql_stmt_close(stmt);
}

bool MysqlClient::alive() const {
  if (!connected() || broken_ || busy()) return false;
  char byte;
  ssize_t n = recv(static_cast<int>(mysql_get_socket(mysql_)), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;  // closed, or bytes out of turn
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

void MysqlClient::close() {
  release_result();
  cancel_timers();
  if (mysql_ == nullptr) return;
  if (fd_ >= 0) {
    loop_.remove_fd(fd_);
    // A link in any doubt gets no goodbye: mysql_close would write one and
    // could wait for a server that does not read.
    if (broken_ || step_ != Step::kIdle || !connected_) shutdown(fd_, SHUT_RDWR);
    fd_ = -1;
  }
  mysql_close(mysql_);  // detaches the statements; closing them then does no I/O
  mysql_ = nullptr;
  for (auto &entry : cache_) mysql_stmt_close(entry.second.stmt);
  cache_.clear();
  lru_.clear();
  stmt_ = nullptr;
  connected_ = false;
  step_ = Step::kIdle;
  wait_status_ = 0;
}

}  // namespace silly
