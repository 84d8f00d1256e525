// Clocks the loop and the timers read.
#pragma once

#include <cstdint>

namespace silly {

// Microseconds from an arbitrary fixed point; never goes back.
int64_t monotonic_us();
// Microseconds since the Unix epoch, as the system clock says now.
int64_t wall_us();

}  // namespace silly
