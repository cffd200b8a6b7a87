#pragma once
/// \file
/// One call on its way through a server: the request with its metadata, its answer, and where
/// the answer goes. The transport makes one per call a session dispatches (from its loop's pool,
/// so a call answered at once allocates nothing), hands it to the call handler (the server's
/// pipeline), and takes it back at `finish`.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "protocol/message.hpp"
#include "protocol/protocol.hpp"

namespace netcall::detail {

class event_loop;
class loop_anchor;
class server_connection;

class call {
 public:
  /// The request; the handler may read and move from it.
  request req;
  /// The answer: the handler sets `result` or `error` before `finish` (the id is the request's).
  response answer;
  /// Free for the handler: which handler holds the call, where in its chain the call is, and
  /// marks it keeps per call. Null and zero when the call is handed over.
  void* handler = nullptr;
  std::uint32_t stage = 0;
  std::uint32_t marks = 0;
  /// The metrics interceptor's series of this call (server/interceptors/metrics.hpp).
  void* series = nullptr;
  /// When the call arrived (the transport sets it; unlike `req.meta.arrival`, which a retry
  /// moves back to its first attempt's, it stays this attempt's: what durations count from).
  std::chrono::steady_clock::time_point received;

  /// The handler is done with the call: `answer` goes to the session that dispatched it (or to
  /// the parent, for a child), and the call goes back to its loop's pool. On the loop's thread.
  void finish();

  /// Sets `answer` to `f` (no result).
  void fail(fault f) {
    answer.result = value();
    answer.error = std::move(f);
  }

  /// The executor of the call's loop (for timers).
  boost::asio::any_io_executor executor() const;
  /// Posts to the call's loop from any thread while the loop exists.
  const std::shared_ptr<loop_anchor>& anchor() const;
  /// True on the thread of the call's loop.
  bool on_loop_thread() const;

  /// Calls running on the call's connection, this one and its children included (1 for a call
  /// of no connection).
  std::size_t calls_on_connection() const;
  /// The call's connection presented a valid token (SPEC §6): later calls on it are
  /// authenticated (`peer_info::authenticated`). No effect for a call of no connection.
  void authenticate_connection();
  /// From now on the call's connection runs nothing more (calls it dispatches are refused with
  /// -32003, not run) and reads nothing more; it closes once the answers it was given, this
  /// call's included, are written (a wrong token on a raw TCP protocol, SPEC §6).
  void close_connection_after_answer();

  /// True for a child call (see make_child).
  bool is_child() const { return child_; }
  /// A new call on the same connection whose answer goes to `done` instead of a session (the
  /// entries of system.multicall): counted like a call of a batch, in flight on the connection
  /// and the loop. Its request starts with this call's metadata, minus the idempotency key.
  call& make_child(std::function<void(response&)> done);

 private:
  friend class event_loop;
  friend class server_connection;

  event_loop* loop_ = nullptr;
  // The connection lives at least as long as its calls (server_connection keeps itself alive
  // while it has calls and nobody else holds it).
  server_connection* connection_ = nullptr;
  reply_tag tag_;
  std::function<void(response&)> done_;  // where the answer goes when not to a session
  bool child_ = false;
  bool close_connection_ = false;
  call* prev_ = nullptr;  // the loop's list of live calls
  call* next_ = nullptr;
};

/// Handles calls: the seam between the transport (which reads requests and writes answers) and
/// the server (which knows what a request does). Implemented by the server's call pipeline.
class call_handler {
 public:
  virtual ~call_handler() = default;
  /// Handles `c` and calls `c.finish()` exactly once, on `c`'s loop: before returning when it
  /// can answer at once, else later.
  virtual void handle(call& c) = 0;
};

}  // namespace netcall::detail
