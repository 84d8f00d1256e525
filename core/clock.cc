#include "silly/core/clock.h"

#include <ctime>

namespace silly {

static int64_t read_clock(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

int64_t monotonic_us() {
  return read_clock(CLOCK_MONOTONIC);
}

#ifdef CLOCK_MONOTONIC_COARSE
int64_t monotonic_coarse_us() {
  return read_clock(CLOCK_MONOTONIC_COARSE);
}

#else
int64_t monotonic_coarse_us() {
  return monotonic_us();
}
#endif

int64_t wall_us() {
  return read_clock(CLOCK_REALTIME);
}

}  // namespace silly
