// Messages from other threads into the loop, and replies back: what a game
// thread uses to talk to silly running on its own thread. post() and the
// reply readers are safe from any thread; everything else runs on the
// loop thread. Wake-ups merge, as uv_async_send's do: one eventfd write
// however many posts come before the loop reads them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "silly/core/event_loop.h"
#include "silly/core/loop_wakeup.h"

namespace silly {

class Mailbox {
 public:
  struct Message {
    uint64_t id;
    std::string text;
  };

  // `deliver` runs on the loop thread with what was posted since it last
  // ran, in order.
  Mailbox(EventLoop &loop, std::function<void(std::vector<Message> &)> deliver);
  ~Mailbox();
  Mailbox(const Mailbox &) = delete;
  Mailbox &operator=(const Mailbox &) = delete;
  bool ok() const { return wakeup_.ok(); }

  // Any thread: queues the message and wakes the loop; returns its id.
  uint64_t post(std::string text);
  // Loop thread: puts messages back at the front of the queue and wakes
  // the loop (what arrived before anyone could take it).
  void redeliver(std::vector<Message> messages);
  // Loop thread: an answer to message `id`, for the posting side.
  void reply(uint64_t id, std::string text);
  // Any thread: the oldest reply, if there is one (wait_ms 0), or the first
  // to come within wait_ms (-1: no limit).
  bool take_reply(Message *out, int wait_ms = 0);

 private:
  void on_wake();
  // Under mu_: true for the one caller that must write the wake-up (later
  // posts ride on it until the loop has read the inbox).
  bool claim_wakeup();

  std::function<void(std::vector<Message> &)> deliver_;
  LoopWakeup wakeup_;
  std::mutex mu_;
  std::vector<Message> inbox_;  // under mu_
  bool woken_ = false;          // under mu_: a wake-up is on its way
  uint64_t next_id_ = 1;        // under mu_
  std::mutex reply_mu_;
  std::condition_variable reply_cv_;
  std::deque<Message> replies_;  // under reply_mu_
  std::vector<Message> taking_;  // loop thread: the batch being delivered
};

}  // namespace silly
