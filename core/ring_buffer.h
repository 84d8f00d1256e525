// A growable byte ring: the receive and send queues of every socket, and the
// reassembly buffer of the cluster framing.
//
// Capacity is a power of two so that positions wrap with a mask. Readers and
// writers see at most two contiguous spans, which map straight onto readv and
// writev, so bytes go between the kernel and the ring without extra copies.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace silly {

class RingBuffer {
 public:
  explicit RingBuffer(size_t initial_capacity = 0);
  // Moving takes the storage; the source is left empty with none.
  RingBuffer(RingBuffer &&other) noexcept { *this = std::move(other); }
  RingBuffer &operator=(RingBuffer &&other) noexcept;
  RingBuffer(const RingBuffer &) = delete;
  RingBuffer &operator=(const RingBuffer &) = delete;

  size_t size() const { return static_cast<size_t>(tail_ - head_); }
  bool empty() const { return tail_ == head_; }
  size_t capacity() const { return capacity_; }

  // Copies n bytes in, growing as needed.
  void append(const void *data, size_t n);
  // Copies up to n bytes from the front to dst without consuming them.
  size_t peek(void *dst, size_t n, size_t offset = 0) const;
  uint8_t at(size_t offset) const { return buf_[(head_ + offset) & (capacity_ - 1)]; }
  void consume(size_t n);
  void clear() { head_ = tail_ = 0; }

  // Up to two spans holding the readable bytes, front first; returns count.
  int readable_spans(struct iovec out[2]) const;
  // Makes room for at least n more bytes and returns up to two spans of free
  // space; commit() then publishes what was written into them.
  int writable_spans(size_t n, struct iovec out[2]);
  void commit(size_t n) { tail_ += n; }

  // Offset of the first occurrence of delim at or after `from`, or -1.
  long find(const char *delim, size_t len, size_t from = 0) const;
  // Makes the first n readable bytes contiguous and returns them.
  const uint8_t *linearize(size_t n);
  // Gives memory back when a burst has passed and the ring is empty.
  void shrink_if_idle(size_t keep);

 private:
  void grow(size_t need);

  std::unique_ptr<uint8_t[]> buf_;
  size_t capacity_ = 0;
  uint64_t head_ = 0;  // free-running positions; masked on access
  uint64_t tail_ = 0;
};

}  // namespace silly
