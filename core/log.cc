#include "silly/core/log.h"

#include <cstdarg>
#include <cstdio>

#include "silly/core/clock.h"

namespace silly {

static void stderr_sink(LogLevel, const char *line) {
  std::fprintf(stderr, "%s\n", line);
}

static LogSink current_sink = stderr_sink;

void set_log_sink(LogSink sink) {
  current_sink = sink != nullptr ? sink : stderr_sink;
}

void log_line(LogLevel level, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  current_sink(level, line);
}

void LogRateLimit::log(LogLevel level, const char *fmt, ...) {
  int64_t now = monotonic_us();
  if (now < next_us_) {
    held_++;
    return;
  }
  next_us_ = now + kIntervalUs;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (held_ > 0 && n >= 0 && static_cast<size_t>(n) < sizeof(line)) {
    std::snprintf(line + n, sizeof(line) - static_cast<size_t>(n), " (and %llu more like it since the last such line)",
                  static_cast<unsigned long long>(held_));
  }
  held_ = 0;
  current_sink(level, line);
}

}  // namespace silly
