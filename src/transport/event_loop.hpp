#pragma once
/// \file
/// One event loop of a server: a thread with its io_context, the connections that live on it,
/// the calls they run, and what a graceful shutdown waits for (SPEC §2). Design for speed:
/// a connection stays on one loop, so its state needs no locks; the loop's read buffer and pool
/// of calls are shared by its connections, so an idle connection holds neither.
///
/// Every member runs on the loop's thread, except `anchor()` and the io_context's own
/// thread-safe `post`.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/limits.hpp"
#include "protocol/message.hpp"
#include "transport/metrics.hpp"

namespace netcall::detail {

class call;
class server_connection;

/// The shared state of a graceful shutdown (SPEC §2), owned by the transport. Each loop says
/// when it becomes busy or empty; the server is drained when no loop is busy.
struct drain_state {
  std::mutex mutex;
  std::condition_variable changed;
  /// Loops with a call running or a write under way.
  std::size_t busy = 0;
  /// Loops still writing the last answers of the connections they are closing.
  std::size_t closing = 0;
};

/// Posts to a loop from any thread for as long as the loop exists: a completion that arrives
/// from another thread after the server stopped is dropped instead of touching a freed loop.
class loop_anchor {
 public:
  explicit loop_anchor(boost::asio::io_context& io) : io_(&io) {}
  /// Runs `fn` on the loop; returns false (and drops `fn`) once the loop is gone.
  bool post(std::function<void()> fn);
  /// True on the loop's own thread while the loop exists.
  bool in_loop_thread();
  /// The loop is going away: later posts are dropped.
  void detach();

 private:
  std::mutex mutex_;
  boost::asio::io_context* io_;
};

class event_loop {
 public:
  event_loop();
  /// Destroys the calls still running (their answers are lost: the server stopped before they
  /// finished) and the connections that held them, then the io_context. The loop's thread must
  /// have stopped.
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  boost::asio::io_context& io() { return io_; }
  const std::shared_ptr<loop_anchor>& anchor() const { return anchor_; }

  /// A call from the loop's pool: no allocation once the pool is warm. It stays live until
  /// `release`.
  call& acquire();
  /// Returns a finished call to the pool, dropping what it refers to.
  void release(call& c);
  /// A call of no connection (in-process calls, tests): counted on this loop, and its answer
  /// goes to `done` at `finish`. Fill its request, then give it to a call handler.
  call& acquire_detached(std::function<void(response&)> done);

  /// The request of the call the next dispatch takes (a session decodes into it; it keeps the
  /// storage of an earlier call). One per loop: a session fills and dispatches it within one
  /// event, so connections never share it at once.
  request& staged_request();
  /// The staged call (a fresh one when none was staged), now live; the next staged_request()
  /// stages another.
  call& take_staged();

  /// What this loop counts of its calls (written only from its thread).
  loop_metrics metrics;

  /// The buffer every connection of the loop reads into: its bytes are valid until the reader
  /// awaits again.
  std::string& read_buffer();

  /// Calls running on this loop (dispatched, not finished).
  std::size_t calls() const { return calls_; }
  void call_started();
  void call_finished();
  /// Writes under way on this loop.
  void write_started();
  void write_finished();

  /// The connections of this loop (for the idle sweep and the drain).
  void add(server_connection& c);
  void remove(server_connection& c);
  /// A connection of this loop closed (the end of a drain waits for all of them).
  void connection_closed() {
    if (closing_) schedule_check();
  }

  /// Starts the graceful drain (SPEC §2): from now on the loop counts itself in `s.busy`
  /// whenever a call runs or a write is under way on it, and out of it when neither does.
  /// Checked after each event, never in the middle of one, so answers queued by the current
  /// handler are seen as writes. Connections stay open: a retry may still arrive on them.
  void drain(drain_state& s);
  /// Ends the drain: stops reading every connection and closes each once its answers are
  /// written; counts itself out of `s.closing` when no write is left.
  void close_all(drain_state& s);
  /// True once the drain began: new connections are closed at once.
  bool draining() const { return drain_ != nullptr; }

  /// Closes connections idle for `idle_timeout` (checked by one timer per loop, every tenth of
  /// the timeout, at most every second).
  void start_idle_sweep(std::chrono::milliseconds idle_timeout);

 private:
  void check_drained();
  void schedule_check();
  void sweep();
  void became_busy();

  call* free_calls_ = nullptr;  // intrusive list of pooled calls (linked by call::next_)
  std::size_t free_count_ = 0;
  call* live_calls_ = nullptr;  // intrusive list of calls handed out
  call* staged_ = nullptr;      // live, not dispatched yet
  std::vector<server_connection*> connections_;  // each knows its index here
  std::string read_buffer_;
  std::size_t calls_ = 0;
  std::size_t writes_ = 0;
  drain_state* drain_ = nullptr;
  bool counted_busy_ = false;  // counted in drain_->busy
  bool closing_ = false;       // close_all began
  bool counted_closing_ = false;  // counted in drain_->closing
  bool check_scheduled_ = false;
  std::chrono::milliseconds idle_timeout_{0};
  std::unique_ptr<boost::asio::steady_timer> sweeper_;
  // Destroyed before the members above (only the anchor, which refers to it and is detached
  // first, comes after): destroying its pending handlers may end connections, which unregister
  // from the list above.
  boost::asio::io_context io_{1};
  std::shared_ptr<loop_anchor> anchor_;
};

}  // namespace netcall::detail
