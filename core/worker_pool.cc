#include "silly/core/worker_pool.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "silly/core/clock.h"
#include "silly/core/log.h"
#include "silly/core/loop_wakeup.h"

namespace silly {

namespace {

struct Job {
  WorkerPool::Work work;
  WorkerPool::Done done;
};

}  // namespace

// What the pool threads and the loop share. Everything but `wakeup` and
// `finished_batch` is under `mu`.
struct WorkerPool::Shared {
  struct Thread {
    std::thread handle;
    bool busy = false;
    bool stop = false;  // asked to exit: takes no more jobs
    bool exited = false;
    int64_t idle_since_ms = 0;
  };

  std::mutex mu;
  std::condition_variable job_ready;
  std::condition_variable thread_exited;
  std::deque<Job> queue;
  std::list<Thread> threads;  // stable addresses: each thread holds its own
  std::vector<Job> finished;  // work done, Done not yet run
  bool wake_pending = false;
  bool shutting_down = false;
  int min = 0;
  int max = kDefaultMax;
  int busy = 0;
  size_t queue_limit;
  std::unique_ptr<LoopWakeup> wakeup;  // loop thread only
  std::vector<Job> finished_batch;     // loop thread only

  explicit Shared(size_t limit) : queue_limit(limit) {}

  // A pool thread's life: take a job, run it, hand it back to the loop.
  static void run(std::shared_ptr<Shared> self, Thread *me) {
    std::unique_lock<std::mutex> lock(self->mu);
    for (;;) {
      self->job_ready.wait(lock, [&] { return me->stop || self->shutting_down || !self->queue.empty(); });
      if (me->stop || self->shutting_down) break;
      Job job = std::move(self->queue.front());
      self->queue.pop_front();
      me->busy = true;
      self->busy++;
      lock.unlock();
      job.work();
      job.work = nullptr;  // what the work captured is released off the loop
      lock.lock();
      me->busy = false;
      self->busy--;
      me->idle_since_ms = monotonic_us() / 1000;
      self->finished.push_back(std::move(job));
      bool wake = !self->wake_pending;
      self->wake_pending = true;
      if (wake && self->wakeup) self->wakeup->wake();
    }
    me->exited = true;
    self->thread_exited.notify_all();
  }

  // Under mu. -errno from std::thread.
  int start_thread(const std::shared_ptr<Shared> &self) {
    threads.emplace_back();
    Thread *t = &threads.back();
    t->idle_since_ms = monotonic_us() / 1000;
    try {
      t->handle = std::thread(run, self, t);
    } catch (const std::system_error &e) {
      threads.pop_back();
      return -(e.code().value() != 0 ? e.code().value() : EAGAIN);
    }
    return 0;
  }

  int idle_threads() const { return static_cast<int>(threads.size()) - busy; }

  // Loop thread: joins the threads that exited (they are past their last
  // use of `mu`'s state, so the join is short).
  void reap_exited(std::unique_lock<std::mutex> &lock) {
    std::vector<std::thread> done;
    for (auto it = threads.begin(); it != threads.end();) {
      if (it->exited) {
        done.push_back(std::move(it->handle));
        it = threads.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    for (auto &t : done) t.join();
    lock.lock();
  }

  void deliver() {
    {
      std::lock_guard<std::mutex> lock(mu);
      finished_batch.swap(finished);
      wake_pending = false;
    }
    for (auto &job : finished_batch) {
      if (job.done) job.done();
    }
    finished_batch.clear();
  }
};

WorkerPool::WorkerPool(EventLoop &loop, size_t queue_limit) : shared_(std::make_shared<Shared>(queue_limit)) {
  Shared *s = shared_.get();
  shared_->wakeup = std::make_unique<LoopWakeup>(loop, [s] { s->deliver(); });
}

WorkerPool::~WorkerPool() {
  std::unique_lock<std::mutex> lock(shared_->mu);
  shared_->shutting_down = true;
  shared_->queue.clear();
  shared_->job_ready.notify_all();
  auto all_exited = [this] {
    return std::all_of(shared_->threads.begin(), shared_->threads.end(),
                       [](const Shared::Thread &t) { return t.exited; });
  };
  bool ended = shared_->thread_exited.wait_for(lock, std::chrono::milliseconds(kStopWaitMs), all_exited);
  // From here no pool thread touches the loop: a thread still running
  // finds `wakeup` gone when its job ends.
  shared_->wakeup.reset();
  shared_->finished.clear();
  int stuck = 0;
  for (auto &t : shared_->threads) {
    if (t.exited) {
      lock.unlock();
      t.handle.join();
      lock.lock();
    } else {
      t.handle.detach();  // it keeps `shared_` alive until its job ends
      stuck++;
    }
  }
  if (!ended) {
    log_line(LogLevel::kWarn,
             "[silly] worker pool: %d job(s) still running after %lld ms at shutdown; left to end with "
             "the process",
             stuck, static_cast<long long>(kStopWaitMs));
  }
}

int WorkerPool::submit(Work work, Done done) {
  Shared &s = *shared_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.queue.size() >= s.queue_limit) return -EAGAIN;
  // A new thread when this job would wait for one and the maximum allows.
  int running = static_cast<int>(s.threads.size());
  if (s.idle_threads() <= static_cast<int>(s.queue.size()) && running < s.max) {
    int r = s.start_thread(shared_);
    if (r < 0 && running == 0) return r;
  }
  s.queue.push_back(Job{std::move(work), std::move(done)});
  s.job_ready.notify_one();
  return 0;
}

int WorkerPool::set_limits(int min, int max) {
  if (min < 0 || max <= 0 || min > max) return -EINVAL;
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->min = min;
  shared_->max = max;
  return 0;
}

int WorkerPool::set_queue_limit(size_t limit) {
  if (limit == 0) return -EINVAL;
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->queue_limit = limit;
  return 0;
}

int WorkerPool::prune(int64_t idle_ms) {
  Shared &s = *shared_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.reap_exited(lock);
  // While jobs wait, no thread is idle: the free ones are about to take them.
  if (!s.queue.empty()) return 0;
  int live = 0;
  for (auto &t : s.threads) live += t.stop ? 0 : 1;
  int64_t now = monotonic_us() / 1000;
  int stopped = 0;
  for (auto &t : s.threads) {
    if (live <= s.min) break;
    bool over_max = live > s.max;
    if (t.stop || t.busy || (!over_max && now - t.idle_since_ms < idle_ms)) continue;
    t.stop = true;
    live--;
    stopped++;
  }
  if (stopped > 0) {
    s.job_ready.notify_all();
    s.thread_exited.wait(lock, [&] {
      return std::all_of(s.threads.begin(), s.threads.end(),
                         [](const Shared::Thread &t) { return !t.stop || t.exited; });
    });
    s.reap_exited(lock);
  }
  return stopped;
}

int WorkerPool::threads() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  int n = 0;
  for (auto &t : shared_->threads) n += t.stop ? 0 : 1;
  return n;
}

int WorkerPool::busy() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->busy;
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->queue.size();
}

size_t WorkerPool::queue_limit() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->queue_limit;
}

int WorkerPool::min() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->min;
}

int WorkerPool::max() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->max;
}

}  // namespace silly
