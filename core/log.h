// Where the layers below Lua report what they had to drop or refuse. The
// runtime points this at its logger; by default lines go to stderr.
#pragma once

namespace silly {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
using LogSink = void (*)(LogLevel level, const char *line);

void set_log_sink(LogSink sink);
void log_line(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace silly
