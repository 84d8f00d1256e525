#include "silly/core/ring_buffer.h"

#include <cassert>
#include <cstring>
#include <utility>

namespace silly {

static size_t round_up_pow2(size_t n) {
  size_t c = 64;
  while (c < n) c <<= 1;
  return c;
}

RingBuffer::RingBuffer(size_t initial_capacity) {
  if (initial_capacity > 0) {
    capacity_ = round_up_pow2(initial_capacity);
    buf_ = std::make_unique<uint8_t[]>(capacity_);
  }
}

RingBuffer &RingBuffer::operator=(RingBuffer &&other) noexcept {
  if (this != &other) {
    buf_ = std::move(other.buf_);
    capacity_ = std::exchange(other.capacity_, 0);
    head_ = std::exchange(other.head_, 0);
    tail_ = std::exchange(other.tail_, 0);
  }
  return *this;
}

void RingBuffer::grow(size_t need) {
  size_t used = size();
  if (used + need <= capacity_) return;
  size_t cap = round_up_pow2(used + need);
  if (cap < capacity_ * 2) cap = capacity_ * 2;
  auto fresh = std::make_unique<uint8_t[]>(cap);
  peek(fresh.get(), used);
  buf_ = std::move(fresh);
  capacity_ = cap;
  head_ = 0;
  tail_ = used;
}

void RingBuffer::append(const void *data, size_t n) {
  if (n == 0) return;
  grow(n);
  size_t pos = tail_ & (capacity_ - 1);
  size_t first = capacity_ - pos < n ? capacity_ - pos : n;
  std::memcpy(buf_.get() + pos, data, first);
  std::memcpy(buf_.get(), static_cast<const uint8_t *>(data) + first, n - first);
  tail_ += n;
  assert(tail_ - head_ <= capacity_);  // grow() made the room
}

size_t RingBuffer::peek(void *dst, size_t n, size_t offset) const {
  size_t avail = size();
  if (offset >= avail) return 0;
  if (n > avail - offset) n = avail - offset;
  if (n == 0) return 0;
  size_t pos = (head_ + offset) & (capacity_ - 1);
  size_t first = capacity_ - pos < n ? capacity_ - pos : n;
  std::memcpy(dst, buf_.get() + pos, first);
  std::memcpy(static_cast<uint8_t *>(dst) + first, buf_.get(), n - first);
  return n;
}

void RingBuffer::consume(size_t n) {
  size_t avail = size();
  assert(n <= avail);  // callers consume what they read, never more
  head_ += n < avail ? n : avail;
  if (head_ == tail_) head_ = tail_ = 0;  // keeps later writes contiguous
}

int RingBuffer::readable_spans(struct iovec out[2]) const {
  size_t n = size();
  if (n == 0) return 0;
  size_t pos = head_ & (capacity_ - 1);
  size_t first = capacity_ - pos < n ? capacity_ - pos : n;
  out[0].iov_base = buf_.get() + pos;
  out[0].iov_len = first;
  if (first == n) return 1;
  out[1].iov_base = buf_.get();
  out[1].iov_len = n - first;
  return 2;
}

int RingBuffer::writable_spans(size_t n, struct iovec out[2]) {
  grow(n);
  size_t free_bytes = capacity_ - size();
  size_t pos = tail_ & (capacity_ - 1);
  size_t first = capacity_ - pos < free_bytes ? capacity_ - pos : free_bytes;
  out[0].iov_base = buf_.get() + pos;
  out[0].iov_len = first;
  if (first == free_bytes) return 1;
  out[1].iov_base = buf_.get();
  out[1].iov_len = free_bytes - first;
  return 2;
}

long RingBuffer::find(const char *delim, size_t len, size_t from) const {
  size_t n = size();
  if (len == 0 || n < len) return -1;
  for (size_t i = from; i + len <= n; i++) {
    if (at(i) != static_cast<uint8_t>(delim[0])) continue;
    size_t k = 1;
    while (k < len && at(i + k) == static_cast<uint8_t>(delim[k])) k++;
    if (k == len) return static_cast<long>(i);
  }
  return -1;
}

const uint8_t *RingBuffer::linearize(size_t n) {
  assert(n <= size());
  size_t pos = head_ & (capacity_ - 1);
  if (pos + n <= capacity_) return buf_.get() + pos;
  size_t used = size();
  auto fresh = std::make_unique<uint8_t[]>(capacity_);
  peek(fresh.get(), used);
  buf_ = std::move(fresh);
  head_ = 0;
  tail_ = used;
  return buf_.get();
}

void RingBuffer::shrink_if_idle(size_t keep) {
  if (empty() && capacity_ > keep) {
    buf_.reset();
    capacity_ = 0;
    head_ = tail_ = 0;
  }
}

}  // namespace silly
