// Clocks the loop and the timers read.
#pragma once

#include <cstdint>

namespace silly {

// Microseconds from an arbitrary fixed point; never goes back.
int64_t monotonic_us();
// monotonic_us() as of the kernel's last tick update: never ahead of it,
// usually a tick or so behind (more when ticks are late), and several
// times cheaper to read (no cycle counter). For stamps that count seconds,
// never for deadlines. Where the system has no such clock, monotonic_us().
int64_t monotonic_coarse_us();
// Microseconds since the Unix epoch, as the system clock says now.
int64_t wall_us();

}  // namespace silly
