// Where the layers below Lua report what they had to drop or refuse. The
// runtime points this at its logger; by default lines go to stderr.
#pragma once

#include <cstdint>

namespace silly {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
using LogSink = void (*)(LogLevel level, const char *line);

void set_log_sink(LogSink sink);
void log_line(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// One kind of line that a flood can repeat (a refused connection, a failed
// handshake), written at most once a second; the line written after some
// were held back says how many. Every repeatable line of core/ goes
// through one of these, so that an attack or a descriptor shortage cannot
// fill the disk or spend the loop on logging.
class LogRateLimit {
 public:
  static constexpr int64_t kIntervalUs = 1000000;
  void log(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
  uint64_t held() const { return held_; }  // since the last line written

 private:
  int64_t next_us_ = 0;
  uint64_t held_ = 0;
};

}  // namespace silly
