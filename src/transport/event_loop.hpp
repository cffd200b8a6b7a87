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
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/limits.hpp"

namespace netcall::detail {

class call;
class server_connection;

/// Posts to a loop from any thread for as long as the loop exists: a completion that arrives
/// from another thread after the server stopped is dropped instead of touching a freed loop.
class loop_anchor {
 public:
  explicit loop_anchor(boost::asio::io_context& io) : io_(&io) {}
  /// Runs `fn` on the loop; returns false (and drops `fn`) once the loop is gone.
  bool post(std::function<void()> fn);
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

  /// The buffer every connection of the loop reads into: its bytes are valid until the reader
  /// awaits again.
  std::string& read_buffer();

  /// Calls running on this loop (dispatched, not finished).
  std::size_t calls() const { return calls_; }
  void call_started() { ++calls_; }
  void call_finished();
  /// Writes under way on this loop.
  void write_started() { ++writes_; }
  void write_finished();

  /// The connections of this loop (for the idle sweep and the drain).
  void add(server_connection& c);
  void remove(server_connection& c);

  /// Starts the graceful drain (SPEC §2): once no call runs and no write is under way on this
  /// loop, closes its connections and calls `drained` (once). Checked after each event, never
  /// in the middle of one, so answers queued by the current handler are seen as writes.
  void drain(std::function<void()> drained);
  /// True from `drain` on: new connections are closed at once.
  bool draining() const { return static_cast<bool>(on_drained_) || drained_; }

  /// Closes connections idle for `idle_timeout` (checked by one timer per loop, every tenth of
  /// the timeout, at most every second).
  void start_idle_sweep(std::chrono::milliseconds idle_timeout);

 private:
  void check_drained();
  void schedule_check();
  void sweep();

  std::vector<call*> free_calls_;
  call* live_calls_ = nullptr;  // intrusive list of calls handed out
  std::vector<server_connection*> connections_;  // each knows its index here
  std::string read_buffer_;
  std::size_t calls_ = 0;
  std::size_t writes_ = 0;
  std::function<void()> on_drained_;
  bool drained_ = false;
  bool check_scheduled_ = false;
  std::chrono::milliseconds idle_timeout_{0};
  std::unique_ptr<boost::asio::steady_timer> sweeper_;
  // Last, so it is destroyed first: destroying its pending handlers may end connections, which
  // unregister from the members above.
  boost::asio::io_context io_{1};
  std::shared_ptr<loop_anchor> anchor_;
};

}  // namespace netcall::detail
