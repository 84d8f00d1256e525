// MysqlClient's result sets: a stored result's columns bound to buffers of
// ours, each row checked against its columns before the library decodes
// it, and the values read out as cells (mysql_client.cc runs the requests).
#include <mariadb/errmsg.h>
#include <mariadb/mysql.h>

#include <cstdio>
#include <cstring>

#include "silly/core/mysql_client.h"

namespace silly {

namespace {

// Bytes set aside a text or blob column in the row buffer.
constexpr size_t kValueBuffer = 256;

bool is_integer(int type) {
  switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR: return true;
    default: return false;
  }
}

bool is_time(int type) {
  switch (type) {
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIME: return true;
    default: return false;
  }
}

// The original framework's text for a date or time: "YYYY-MM-DD",
// "YYYY-MM-DD hh:mm:ss[.uuuuuu]", "[-]h:mm:ss[.uuuuuu]".
std::string time_text(int type, const MYSQL_TIME &t) {
  char buf[160];  // room for every field at its widest, whatever a server sent
  int n;
  if (type == MYSQL_TYPE_DATE || type == MYSQL_TYPE_NEWDATE) {
    n = snprintf(buf, sizeof buf, "%04u-%02u-%02u", t.year, t.month, t.day);
  } else if (type == MYSQL_TYPE_TIME) {
    // The original's text for a zero time (sent as no bytes) is padded.
    if (!t.neg && t.hour == 0 && t.minute == 0 && t.second == 0 && t.second_part == 0) return "00:00:00";
    n = snprintf(buf, sizeof buf, "%s%u:%02u:%02u", t.neg ? "-" : "", t.hour, t.minute, t.second);
    if (t.second_part != 0) n += snprintf(buf + n, sizeof buf - n, ".%06lu", t.second_part);
  } else {
    n = snprintf(buf, sizeof buf, "%04u-%02u-%02u %02u:%02u:%02u", t.year, t.month, t.day, t.hour, t.minute, t.second);
    if (t.second_part != 0) n += snprintf(buf + n, sizeof buf - n, ".%06lu", t.second_part);
  }
  return std::string(buf, static_cast<size_t>(n));
}

// Bytes a value of `type` takes in a binary row, or -1 when a length
// prefix says (strings, decimals, blobs, dates and times).
int fixed_size(int type) {
  switch (type) {
    case MYSQL_TYPE_NULL: return 0;
    case MYSQL_TYPE_TINY: return 1;
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR: return 2;
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_FLOAT: return 4;
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_DOUBLE: return 8;
    default: return -1;
  }
}

}  // namespace

bool MysqlClient::bind_result() {
  result_ = mysql_stmt_result_metadata(stmt_);
  if (result_ == nullptr) return false;
  unsigned n = mysql_num_fields(result_);
  MYSQL_FIELD *fields = mysql_fetch_fields(result_);
  columns_.resize(n);
  size_t total = 0;
  for (unsigned i = 0; i < n; i++) {
    Column &c = columns_[i];
    c.name.assign(fields[i].name, fields[i].name_length);
    c.type = fields[i].type;
    c.is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
    c.offset = total;
    if (is_integer(c.type) || c.type == MYSQL_TYPE_FLOAT || c.type == MYSQL_TYPE_DOUBLE) {
      c.capacity = 8;
    } else if (is_time(c.type)) {
      c.capacity = sizeof(MYSQL_TIME);
    } else {
      // Most values fit; a longer one is read whole on its own (next_row).
      c.capacity = fields[i].length > 0 && fields[i].length < kValueBuffer ? fields[i].length : kValueBuffer;
    }
    total += (c.capacity + 7) & ~static_cast<size_t>(7);
  }
  row_buffer_.resize(total);
  result_binds_.assign(n, MYSQL_BIND{});
  lengths_.assign(n, 0);
  nulls_.assign(n, 0);
  texts_.resize(n);
  for (unsigned i = 0; i < n; i++) {
    Column &c = columns_[i];
    MYSQL_BIND &b = result_binds_[i];
    b.buffer = row_buffer_.data() + c.offset;
    b.buffer_length = c.capacity;
    b.length = &lengths_[i];
    b.is_null = reinterpret_cast<my_bool *>(&nulls_[i]);
    if (is_integer(c.type)) {
      b.buffer_type = MYSQL_TYPE_LONGLONG;
      b.is_unsigned = c.is_unsigned;
    } else if (c.type == MYSQL_TYPE_FLOAT || c.type == MYSQL_TYPE_DOUBLE) {
      b.buffer_type = MYSQL_TYPE_DOUBLE;
    } else if (is_time(c.type)) {
      b.buffer_type = c.type == MYSQL_TYPE_TIME ? MYSQL_TYPE_TIME : MYSQL_TYPE_DATETIME;
    } else {
      b.buffer_type = MYSQL_TYPE_BLOB;  // the bytes as they come
    }
  }
  if (mysql_stmt_bind_result(stmt_, result_binds_.data()) != 0) {
    release_result();
    return false;
  }
  return true;
}

// Whether a binary row holds what its columns say, within its length. The
// library decodes rows trusting the server's lengths: a broken or hostile
// server could make it read past the packet (found by mysql_reply_fuzzer).
bool MysqlClient::row_is_sound(const unsigned char *p, unsigned long len) const {
  size_t ncols = columns_.size();
  size_t bitmap = (ncols + 9) / 8;
  if (len < 1 + bitmap) return false;
  const unsigned char *nulls = p + 1;
  size_t at = 1 + bitmap;
  for (size_t i = 0; i < ncols; i++) {
    size_t bit = i + 2;
    if (nulls[bit / 8] & (1u << (bit % 8))) continue;
    int fixed = fixed_size(columns_[i].type);
    if (fixed >= 0) {
      at += static_cast<size_t>(fixed);
      if (at > len) return false;
      continue;
    }
    if (at >= len) return false;
    uint64_t n = p[at++];
    size_t extra = n < 251 ? 0 : n == 252 ? 2 : n == 253 ? 3 : n == 254 ? 8 : SIZE_MAX;
    if (extra == SIZE_MAX || len - at < extra) return false;
    if (extra > 0) {
      n = 0;
      for (size_t b = 0; b < extra; b++) n |= static_cast<uint64_t>(p[at + b]) << (8 * b);
      at += extra;
    }
    if (n > len - at) return false;
    if (is_time(columns_[i].type)) {
      // The only lengths the library's decoder reads within.
      bool time_ok =
          columns_[i].type == MYSQL_TYPE_TIME ? (n == 0 || n == 8 || n == 12) : (n == 0 || n == 4 || n == 7 || n == 11);
      if (!time_ok) return false;
    }
    at += static_cast<size_t>(n);
  }
  return true;
}

bool MysqlClient::next_row() {
  if (result_ == nullptr) return false;
  const MYSQL_ROWS *raw = stmt_->result_cursor;  // the stored row fetch decodes next
  if (raw != nullptr && !row_is_sound(reinterpret_cast<const unsigned char *>(raw->data), raw->length)) {
    set_own_error("malformed row from the server", true);
    errnum_ = CR_MALFORMED_PACKET;
    sqlstate_ = "HY000";
    release_result();
    return false;
  }
  int r = mysql_stmt_fetch(stmt_);
  if (r == 1 || r == MYSQL_NO_DATA) {
    if (r == 1) set_stmt_error(stmt_);
    release_result();
    return false;
  }
  for (size_t i = 0; i < columns_.size(); i++) {
    const Column &c = columns_[i];
    if (nulls_[i]) continue;
    if (is_time(c.type)) {
      texts_[i] = time_text(c.type, *reinterpret_cast<const MYSQL_TIME *>(row_buffer_.data() + c.offset));
    } else if (lengths_[i] > c.capacity) {
      // Longer than its buffer: read it whole into a buffer of its own.
      texts_[i].resize(lengths_[i]);
      MYSQL_BIND b{};
      b.buffer_type = MYSQL_TYPE_BLOB;
      b.buffer = texts_[i].data();
      b.buffer_length = lengths_[i];
      unsigned long len = 0;
      b.length = &len;
      mysql_stmt_fetch_column(stmt_, &b, static_cast<unsigned>(i), 0);
    } else {
      texts_[i].clear();
    }
  }
  return true;
}

MysqlCell MysqlClient::cell(size_t i) const {
  MysqlCell cell;
  if (nulls_[i]) return cell;
  const Column &c = columns_[i];
  const char *at = row_buffer_.data() + c.offset;
  if (is_integer(c.type)) {
    if (c.is_unsigned) {
      cell.kind = MysqlCell::kUint;
      memcpy(&cell.u, at, 8);
    } else {
      cell.kind = MysqlCell::kInt;
      memcpy(&cell.i, at, 8);
    }
  } else if (c.type == MYSQL_TYPE_FLOAT || c.type == MYSQL_TYPE_DOUBLE) {
    cell.kind = MysqlCell::kDouble;
    memcpy(&cell.d, at, 8);
  } else if (is_time(c.type) || lengths_[i] > c.capacity) {
    cell.kind = MysqlCell::kBytes;
    cell.data = texts_[i].data();
    cell.len = texts_[i].size();
  } else {
    cell.kind = MysqlCell::kBytes;
    cell.data = at;
    cell.len = lengths_[i];
  }
  return cell;
}

void MysqlClient::release_result() {
  if (result_ != nullptr) {
    mysql_free_result(result_);
    result_ = nullptr;
    // The rows are stored on our side: freeing them does no I/O.
    if (stmt_ != nullptr) mysql_stmt_free_result(stmt_);
  }
  columns_.clear();
}

}  // namespace silly
