// Time histograms of one link, for metrics: its calls' latency as the
// caller sees it, and the time its requests took on this node. Fixed
// bucket bounds (one definition, exported to Lua with the counts), so an
// observation is a few comparisons and an increment, with no Lua on the
// path of a call.
#pragma once

#include <cstddef>
#include <cstdint>

namespace silly {
namespace cluster {

// Upper bounds in µs, from 100 µs to 10 s; a last bucket takes the rest.
constexpr int64_t kLatencyBoundsUs[] = {100,   250,    500,    1000,   2500,    5000,    10000,   25000,
                                        50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
constexpr size_t kLatencyBounds = sizeof(kLatencyBoundsUs) / sizeof(kLatencyBoundsUs[0]);

struct LatencyHistogram {
  uint64_t counts[kLatencyBounds + 1] = {};  // not cumulative
  uint64_t count = 0;
  int64_t sum_us = 0;

  void add(int64_t us) {
    size_t lo = 0, hi = kLatencyBounds;  // the first bound >= us, or the last slot
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (us > kLatencyBoundsUs[mid]) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    counts[lo]++;
    count++;
    sum_us += us;
  }
};

// What a link keeps once metrics are on (nothing before: most nodes never
// turn them on, and an idle link should stay small).
struct LinkTimes {
  LatencyHistogram calls;    // sent here, answered
  LatencyHistogram handled;  // received here, handled
};

}  // namespace cluster
}  // namespace silly
