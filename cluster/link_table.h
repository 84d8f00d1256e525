// Every cluster link of the process, the listeners and connects that make
// them, the session table their calls share and the timers of both
// (cluster/deadlines.h). It owns the Link objects by socket id, is the
// owner of all their sockets, routes each socket's and clock's event to
// its link, destroys a link once it is closed, and is the only caller of
// the LinkSink.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "silly/cluster/deadlines.h"
#include "silly/cluster/link.h"
#include "silly/cluster/session.h"
#include "silly/core/event_loop.h"
#include "silly/core/socket.h"

namespace silly {
namespace cluster {

class LinkTable final : public SocketOwner, private LinkEvents, private DeadlineListener {
 public:
  LinkTable(EventLoop &loop, SocketManager &sockets, LinkSink &sink);
  // Closes every link, listener and connect still open, telling no one.
  ~LinkTable();
  LinkTable(const LinkTable &) = delete;
  LinkTable &operator=(const LinkTable &) = delete;

  // Ids, or negative error codes. Accepted links and finished connects are
  // told to the sink once they are up.
  // The links a listener accepts, or a connect makes, get `options`; with
  // `tls`, their streams are TLS (core/tls.h).
  SocketId listen(const SockAddr &addr, int backlog, const LinkOptions &options = {}, FilterFactoryPtr tls = nullptr);
  SocketId connect(const SockAddr &addr, int timeout_ms, const LinkOptions &options = {},
                   FilterFactoryPtr tls = nullptr);
  // Closes a listener or a connect still in progress; 0 or kErrUnknownSocket.
  int close_socket(SocketId id);
  // Closes a link from this side: the sessions that were pending on it
  // (failed, not told to the sink). Safe inside LinkSink::on_frames, also
  // for the link being read: it goes once its batch ends.
  std::vector<uint32_t> close(SocketId id);

  Link *find(SocketId id) const;
  SessionTable &sessions() { return sessions_; }
  size_t link_count() const { return links_.size(); }
  // Requests the links did not start because their callers had given up.
  uint64_t expired() const { return context_.expired; }
  // Links keep time histograms (Link::times) from now on.
  void set_observing(bool on) { context_.observing = on; }

  // SocketOwner: listeners, connects in progress, and every link.
  void on_accept(SocketId listener, SocketId conn, const std::string &peer) override;
  void on_connect(SocketId id, int status) override;
  void on_data(SocketId id, RingBuffer &in) override;
  void on_close(SocketId id, int status) override;
  void on_writable(SocketId id) override;

 private:
  Link *adopt(SocketId id, const LinkOptions &options, bool initiator);
  // Calls fn(link) for the link of `id`, if any, then destroys the link if
  // that ended it.
  template <typename Fn>
  void drive(SocketId id, Fn &&fn);
  // Destroys the link if it is finished (closed, no batch reading it).
  void reap(SocketId id);
  // LinkEvents
  void link_up(Link &link) override;
  void link_frames(Link &link, const Frame *frames, size_t n) override;
  void link_refused(Link &link, const std::string &why, int status) override;
  void link_ended(Link &link, const LinkEnd &end) override;
  // DeadlineListener
  void on_call_deadline(uint32_t session) override;
  void on_link_deadline(SocketId link, LinkClock clock) override;

  SocketManager &sockets_;
  LinkSink &sink_;
  Deadlines deadlines_;
  SessionTable sessions_;
  std::vector<Frame> batch_;
  LinkContext context_;
  std::unordered_map<SocketId, std::unique_ptr<Link>> links_;
  // Listeners and connects in progress, with the options of their links.
  std::unordered_map<SocketId, LinkOptions> others_;
  // Accepted links not yet up (with a secret): their listener and peer,
  // told to the sink when they are.
  struct Arrival {
    SocketId listener;
    std::string peer;
  };
  std::unordered_map<SocketId, Arrival> arrivals_;
};

}  // namespace cluster
}  // namespace silly
