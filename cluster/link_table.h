// Every cluster link of the process, the listeners and connects that make
// them, and the session table their calls share. It owns the Link objects
// (by socket id), receives the sockets' events until a link exists, and is
// the owner of the calls' deadline timers.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "silly/cluster/link.h"
#include "silly/cluster/session.h"
#include "silly/core/event_loop.h"
#include "silly/core/socket.h"

namespace silly {
namespace cluster {

class LinkTable : public SocketOwner, private TimerOwner, private DeadlineScheduler {
 public:
  LinkTable(EventLoop &loop, SocketManager &sockets, LinkSink &sink);
  // Closes every link, listener and connect still open, telling no one.
  ~LinkTable();
  LinkTable(const LinkTable &) = delete;
  LinkTable &operator=(const LinkTable &) = delete;

  // Ids, or negative error codes. Accepted links and finished connects are
  // told to the sink.
  // The links a listener accepts, or a connect makes, get `options`; with
  // `tls`, their streams are TLS (core/tls.h).
  SocketId listen(const SockAddr &addr, int backlog, const LinkOptions &options = {}, FilterFactoryPtr tls = nullptr);
  SocketId connect(const SockAddr &addr, int timeout_ms, const LinkOptions &options = {},
                   FilterFactoryPtr tls = nullptr);
  // Closes a listener or a connect still in progress; 0 or kErrUnknownSocket.
  int close_socket(SocketId id);

  Link *find(SocketId id) const;
  SessionTable &sessions() { return sessions_; }
  SocketManager &sockets() { return sockets_; }
  EventLoop &loop() { return loop_; }
  // Where a link puts the frames of the chunk it is reading.
  std::vector<Frame> &batch_frames() { return batch_frames_; }
  LinkSink &sink() { return sink_; }
  size_t link_count() const { return links_.size(); }
  // Links keep time histograms (Link::times) from now on.
  void set_observing(bool on) { observing_ = on; }
  bool observing() const { return observing_; }

  // SocketOwner, for listeners and connects in progress.
  void on_accept(SocketId listener, SocketId conn, const std::string &peer) override;
  void on_connect(SocketId id, int status) override;
  void on_close(SocketId id, int status) override;

 private:
  friend class Link;
  Link *adopt(SocketId id, const LinkOptions &options, bool initiator, SocketId listener = 0,
              const std::string &peer = std::string());
  // Destroys the link; the caller touches it no more.
  void remove(SocketId id);
  // DeadlineScheduler, TimerOwner: each call's deadline is a loop timer.
  uint64_t schedule(int timeout_ms, uint32_t session) override;
  void cancel(uint64_t handle) override;
  void on_timer(TimerId id, uint64_t session) override;

  EventLoop &loop_;
  SocketManager &sockets_;
  LinkSink &sink_;
  SessionTable sessions_;
  std::unordered_map<SocketId, std::unique_ptr<Link>> links_;
  std::vector<Frame> batch_frames_;
  // Listeners and connects in progress, with the options of their links.
  std::unordered_map<SocketId, LinkOptions> others_;
  bool observing_ = false;
};

}  // namespace cluster
}  // namespace silly
