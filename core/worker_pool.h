// Threads for blocking work beside the loop: a job's work runs on a pool
// thread, then its completion runs on the loop thread. Threads start on
// demand (when a job would otherwise wait and fewer than `max` run) and
// prune() stops the ones idle for a while, down to `min`. Jobs wait in one
// bounded queue, first come first served. Knows nothing of Lua.
//
// Results: 0 or a negative errno, as everywhere in core/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "silly/core/event_loop.h"

namespace silly {

class WorkerPool {
 public:
  using Work = std::function<void()>;  // on a pool thread
  using Done = std::function<void()>;  // on the loop thread, after Work

  static constexpr int kDefaultMax = 16;
  static constexpr size_t kDefaultQueueLimit = 65536;

  // Starts with no thread; limits min 0..max, max kDefaultMax.
  WorkerPool(EventLoop &loop, size_t queue_limit = kDefaultQueueLimit);
  // Stops the threads: each finishes the job it runs (jobs still queued
  // are dropped with their Done). A job that does not finish within
  // `kStopWaitMs` is left to end with the process, logged.
  ~WorkerPool();
  WorkerPool(const WorkerPool &) = delete;
  WorkerPool &operator=(const WorkerPool &) = delete;

  // Loop thread. -EAGAIN when queue_limit jobs already wait; -errno when
  // no thread runs and none could be started.
  int submit(Work work, Done done);
  // Loop thread. -EINVAL unless 0 <= min <= max and max > 0. Running
  // threads above a lower max stop as they go idle (at the next prune).
  int set_limits(int min, int max);
  // Loop thread: at most `limit` (> 0) jobs wait; those already waiting
  // stay. -EINVAL for 0.
  int set_queue_limit(size_t limit);
  // Loop thread: stops threads idle for at least idle_ms beyond `min`;
  // returns how many it stopped.
  int prune(int64_t idle_ms);

  int threads() const;    // running now
  int busy() const;       // running a job now
  size_t queued() const;  // waiting for a thread
  size_t queue_limit() const;
  int min() const;
  int max() const;

  static constexpr int64_t kStopWaitMs = 3000;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;  // threads hold it too (see ~WorkerPool)
};

}  // namespace silly
