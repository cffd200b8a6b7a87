#pragma once
/// \file
/// One accepted connection of a server: sniffs its protocol, feeds its bytes to the protocol's
/// session, runs the calls the session dispatches (through the call handler) and writes the
/// answers. Lives on one event loop; every member runs on that loop's thread.
///
/// Lifetime: the connection holds a slot of --max-connections from accept until it closes or
/// its peer finishes sending (a peer that left must not lock others out). A peer that finished
/// sending with calls in flight still gets their answers (a half-closed client reads them): the
/// connection closes once they are written. Such finishing connections are bounded too, by
/// --max-connections again: beyond it one closes at once (its calls still run, their outcomes
/// are stored; their answers are dropped), so descriptors stay bounded.
///
/// Closing after answers is a lingering close (as Apache and nginx do): once everything queued
/// is written, the sending side ends (a FIN after the last answer); when the peer's bytes are
/// still arriving, they are read and dropped until it closes too, or for at most `linger_time`.
/// Closing a socket with unread bytes would send a reset, and a reset makes the kernels drop
/// answers still on their way: the answers of a connection that ends are delivered whole.

#include <spdlog/logger.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "protocol/protocol.hpp"
#include "transport/byte_stream.hpp"
#include "transport/call.hpp"
#include "transport/metrics.hpp"
#include "transport/tls_stream.hpp"

namespace netcall::detail {

class event_loop;

/// Settings of a server's transport (server_options maps onto these).
struct transport_options {
  /// Event loops (threads); 0 means one per core.
  unsigned threads = 0;
  /// Most connections holding a slot; new ones beyond it are closed at once.
  std::size_t max_connections = 10000;
  /// A connection that completed no message and wrote nothing for this long, with no call in
  /// flight, is closed.
  std::chrono::milliseconds idle_timeout{60'000};
  /// Message limits.
  decode_limits limits;
  /// Answers waiting to be written, all connections together (bytes; docs/failures.md "Memory
  /// model"): past it, a connection with answers of its own still unsent is not read (its
  /// client is over its share) until the total falls below it again; one whose answers are
  /// all out keeps being read. Each connection also stops at max_unsent_bytes of its own.
  std::size_t max_unsent_total_bytes = 64u << 20;
  /// The metrics registry the transport adds its families to (shared with the server).
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  /// Where the transport logs (a connection's lines name its peer).
  std::shared_ptr<spdlog::logger> log = null_logger();
  /// Called once the answer of each call a connection dispatched went to its session (the
  /// access log, SPEC §7): the call, its request id, and the bytes the answer added to the
  /// connection's output. Empty (the default): nothing is done.
  std::function<void(const call& c, const value& id, std::size_t bytes_out)> on_answered;
};

/// What every connection of a transport shares.
struct transport_shared {
  transport_options options;
  call_handler& handler;
  /// Who may call (SPEC §6): owned by the server.
  access_policy& access;
  /// TLS (SPEC §6), owned by the server; null when the server has no certificate.
  tls_settings* tls = nullptr;
  transport_metrics metrics;
  /// Every loop's counters, for a scrape.
  std::vector<const loop_metrics*> loop_counters;
  /// Answers waiting to be written on every connection (bytes): see max_unsent_total_bytes.
  std::atomic<std::size_t> unsent_bytes{0};
};

class server_connection final : public session_host,
                                public std::enable_shared_from_this<server_connection> {
 public:
  /// Takes a slot of --max-connections already counted by the acceptor. Construct on `loop`'s
  /// thread.
  server_connection(event_loop& loop, std::unique_ptr<byte_stream> stream,
                    transport_shared& shared);
  ~server_connection() override;
  server_connection(const server_connection&) = delete;
  server_connection& operator=(const server_connection&) = delete;

  /// Serves the connection until it closes or its peer finishes sending, then lingers when
  /// closing (see above).
  static boost::asio::awaitable<void> serve(std::shared_ptr<server_connection> self);

  // session_host
  request& next_request() override;
  void dispatch(reply_tag tag) override;
  std::string& output() override { return pending_; }
  void resume() override;
  const decode_limits& limits() const override { return shared_.options.limits; }
  const peer_info& peer() const override { return peer_; }
  access_policy& access() override { return shared_.access; }
  std::string metrics_text() override;
  void protocol_error() override;

  /// Closes now: the slot is freed, pending reads and writes end, unsent answers are dropped.
  void close();
  /// Takes no more calls and closes once the answers queued are written (the end of a
  /// shutdown), with a lingering close. What the peer already sent is read first, without
  /// waiting for more (a last read, below), so that its requests are answered (-32002 from the
  /// shutdown gate, not run) rather than met by the close.
  void close_when_written();
  /// Runs no more calls: reads stop, and what the session dispatches of the bytes it already
  /// has is refused with -32003 (not run). See call::close_connection_after_answer.
  void stop_taking_calls();
  /// True once closed.
  bool closed() const { return closed_; }

  /// How long a lingering close waits for the peer to close after the last answer.
  static constexpr std::chrono::milliseconds linger_time{2'000};
  /// The most a last read (shutdown) takes of what the peer already sent.
  static constexpr std::size_t last_read_bytes = 256 * 1024;
  /// True when the idle sweep should close it at `now`.
  bool idle(std::chrono::steady_clock::time_point now) const;

  /// Its place in its loop's list of connections.
  std::size_t loop_index = 0;

  /// The loop is going away with this connection's calls unfinished: stop keeping itself alive
  /// for them (may destroy the connection).
  void abandon_calls();

 private:
  friend class call;

  /// Counts a call that starts on this connection (a dispatched one or a child).
  void start_call(call& c);
  /// Hands a finished call's answer to the session (or drops it when closed) and sends it.
  void deliver(call& c);
  /// Counts a finished call; a connection whose peer left closes after its last call.
  void call_finished();

  /// Starts writing what is queued unless a write is under way (one write for all).
  void flush();
  static void on_written(void* self, const boost::system::error_code& ec);
  /// Closes once everything queued is written (a lingering close).
  void close_after_flush();
  /// Sniffs the protocol, then feeds the session read after read.
  boost::asio::awaitable<void> serve_bytes();
  /// The first bytes began a TLS handshake: wraps the stream in TLS and runs the handshake
  /// (the bytes in `carry` are its start); false when the connection is over.
  boost::asio::awaitable<bool> start_tls(std::string& carry);
  /// After the session said `wait`: waits until it resumes, reading meanwhile (the bytes are
  /// added to `carry`, up to a bound) so that a peer that leaves is seen.
  boost::asio::awaitable<void> wait_for_answer(std::string& carry);
  /// Everything queued is written: end the sending side, or close when the peer left.
  void finish_close();
  /// Shutdown (SPEC §2): from now on the connection reads only bytes that already arrived, at
  /// most last_read_bytes of them, feeds them to its session (whose calls the shutdown gate
  /// refuses), then closes after its answers. A close would otherwise meet requests already
  /// sent with a reset, or a FIN and no answer.
  void begin_last_read();
  /// In a last read: true while arrived bytes may still be read.
  bool last_read_more() const;
  /// After a close began: reads and drops the peer's bytes until the connection closes.
  boost::asio::awaitable<void> linger();
  /// The peer finished sending (or the read failed).
  void peer_ended();
  void release_slot();
  /// No longer counted among the finishing connections (closed, or its last call finished).
  void stop_finishing();
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }
  std::size_t unsent() const { return pending_.size() + writing_.size(); }
  /// Brings transport_shared::unsent_bytes up to date with this connection's unsent bytes.
  void count_unsent();
  /// Whether the connection may be read: its own answers under max_unsent_bytes, and either
  /// all of them out or the server-wide total under max_unsent_total_bytes.
  bool may_read() const;
  /// Waits until may_read(), the connection closed, or its reading stopped.
  boost::asio::awaitable<void> wait_for_room();

  /// Wakes `wait_until`.
  void notify();
  /// Waits until `ready()` holds or the connection closed.
  template <class Ready>
  boost::asio::awaitable<void> wait_until(Ready ready);
  /// Reads what is available into `fresh` (the loop's shared buffer), after waiting while
  /// max_unsent_bytes are unsent; false when the connection is over.
  boost::asio::awaitable<bool> read_more(std::string_view& fresh);

  event_loop& loop_;
  std::unique_ptr<byte_stream> stream_;
  transport_shared& shared_;
  peer_info peer_;
  std::unique_ptr<server_session> session_;

  std::string pending_;  // answers queued (the session's output)
  std::string writing_;  // answers being written
  std::size_t counted_unsent_ = 0;  // this connection's share of shared_.unsent_bytes
  bool write_active_ = false;
  bool feeding_ = false;  // inside session_->feed: answers leave when it returns
  bool close_after_flush_ = false;
  bool closed_ = false;
  int protocol_index_ = -1;  // in server_protocols(), once sniffed (netcall_connections_open)
  bool peer_ended_ = false;
  bool reading_stopped_ = false;  // the session takes no more bytes
  bool refusing_calls_ = false;   // dispatched calls are refused, not run (a wrong token)
  bool close_after_answers_ = false;  // close once the answers given so far are written
  bool lingering_ = false;        // the sending side ended; waiting for the peer to close
  bool last_read_ = false;        // shutdown: reads only what already arrived (begin_last_read)
  std::size_t last_read_left_ = 0;  // bytes a last read may still take
  std::chrono::steady_clock::time_point linger_until_;
  bool slot_held_ = true;
  bool finishing_ = false;  // counted in connections_finishing
  bool resumed_ = false;
  std::size_t calls_ = 0;  // calls of this connection not finished
  std::chrono::steady_clock::time_point last_activity_;
  std::unique_ptr<boost::asio::steady_timer> signal_;  // cancelled by notify()
  std::unique_ptr<boost::asio::steady_timer> linger_timer_;  // linger()'s deadline
  /// Set when serving ended with calls still running: they keep the connection alive (they
  /// refer to it by plain pointer), until the last finishes.
  std::shared_ptr<server_connection> self_;
};

}  // namespace netcall::detail
