#include "silly/lua_api/mailbox.h"

#include <fcntl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include <chrono>
#include <cstdint>
#include <iterator>

namespace silly {

Mailbox::Mailbox(EventLoop &loop, std::function<void(std::vector<Message> &)> deliver)
    : loop_(loop), deliver_(std::move(deliver)) {
#ifdef __linux__
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  wake_[0] = wake_[1] = fd;
#else
  if (pipe(wake_) == 0) {
    for (int fd : wake_) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  } else {
    wake_[0] = wake_[1] = -1;
  }
#endif
  if (wake_[0] >= 0) loop_.add_fd(wake_[0], this, nullptr);
}

Mailbox::~Mailbox() {
  if (wake_[0] < 0) return;
  loop_.remove_fd(wake_[0]);
  ::close(wake_[0]);
  if (wake_[1] != wake_[0]) ::close(wake_[1]);
}

bool Mailbox::claim_wakeup() {
  bool first = !woken_;
  woken_ = true;
  return first;
}

void Mailbox::wake_loop() {
  uint64_t one = 1;  // an eventfd takes 8 bytes; a pipe, any
  ssize_t r = ::write(wake_[1], &one, sizeof(one));
  (void)r;  // full (a pipe): a wake-up is pending anyway
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
  if (wake) wake_loop();
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
  if (wake) wake_loop();
}

void Mailbox::on_ready(int, void *, const PollEvent &) {
  uint64_t drained[16];
  while (::read(wake_[0], drained, sizeof(drained)) > 0) {
  }
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
