#include "silly/core/log.h"

#include <cstdarg>
#include <cstdio>

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

}  // namespace silly
