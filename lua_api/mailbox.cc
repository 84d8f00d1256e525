#include "silly/lua_api/mailbox.h"

#include <chrono>
#include <cstdint>
#include <iterator>

namespace silly {

Mailbox::Mailbox(EventLoop &loop, std::function<void(std::vector<Message> &)> deliver)
    : deliver_(std::move(deliver)), wakeup_(loop, [this] { on_wake(); }) {}

Mailbox::~Mailbox() = default;

bool Mailbox::claim_wakeup() {
  bool first = !woken_;
  woken_ = true;
  return first;
}

uint64_t Mailbox::post(std::string text) {
  uint64_t id;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    inbox_.push_back({id, std::move(text)});
    wake = claim_wakeup();
  }
  if (wake) wakeup_.wake();
  return id;
}

void Mailbox::redeliver(std::vector<Message> messages) {
  if (messages.empty()) return;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    messages.insert(messages.end(), std::make_move_iterator(inbox_.begin()), std::make_move_iterator(inbox_.end()));
    inbox_.swap(messages);
    wake = claim_wakeup();
  }
  if (wake) wakeup_.wake();
}

void Mailbox::on_wake() {
  taking_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    taking_.swap(inbox_);
    woken_ = false;  // a post from now on writes again
  }
  if (!taking_.empty()) deliver_(taking_);
}

void Mailbox::reply(uint64_t id, std::string text) {
  {
    std::lock_guard<std::mutex> lock(reply_mu_);
    replies_.push_back({id, std::move(text)});
  }
  reply_cv_.notify_one();
}

bool Mailbox::take_reply(Message *out, int wait_ms) {
  std::unique_lock<std::mutex> lock(reply_mu_);
  auto ready = [this] { return !replies_.empty(); };
  if (wait_ms < 0) {
    reply_cv_.wait(lock, ready);
  } else if (wait_ms > 0) {
    reply_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), ready);
  }
  if (replies_.empty()) return false;
  *out = std::move(replies_.front());
  replies_.pop_front();
  return true;
}

}  // namespace silly
