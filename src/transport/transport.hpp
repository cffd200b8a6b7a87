#pragma once
/// \file
/// The network side of a server: event loops, listeners and their connections.
///
/// Design for speed: one io_context per thread ("event loop"); each connection lives on exactly
/// one loop, so its state needs no locks; calls that answer at once run inline on that loop;
/// all answers produced by one read leave in one write. The transport never knows a procedure:
/// calls go to the call_handler (transport/call.hpp).

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "transport/connection.hpp"
#include "transport/event_loop.hpp"

namespace netcall::detail {

class transport {
 public:
  /// `access` (tokens, origins, hosts: SPEC §6) and `tls` (null: no TLS) must outlive the
  /// transport.
  transport(transport_options options, call_handler& handler, access_policy& access,
            tls_settings* tls = nullptr);
  /// Stops (without grace) and destroys the loops, with the calls still running on them.
  ~transport();
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  /// Binds every address (throws netcall::error(unavailable) when one cannot be bound, or
  /// std::invalid_argument for a malformed one), starts the loops, and returns the bound
  /// "HOST:PORT" strings in order.
  std::vector<std::string> start(const std::vector<std::string>& addresses);

  /// The graceful drain (SPEC §2): stops accepting, then each loop closes its connections once
  /// none of its calls runs and none of its writes is under way, for up to `grace`; then stops
  /// the loops and joins their threads. Calls still running stay with the loops until the
  /// transport is destroyed.
  void stop(std::chrono::milliseconds grace);

  /// Calls `on_signal(signo)` on the first event loop (so never inside a procedure) when the
  /// process gets SIGINT or SIGTERM, and `on_reload()` there on each SIGHUP. Call before
  /// `start`; the watch ends at `stop`.
  void watch_signals(std::function<void(int)> on_signal, std::function<void()> on_reload = {});

  /// The transport's counters.
  transport_metrics& metrics() { return shared_.metrics; }
  /// Answers waiting to be written on every connection (bytes).
  std::size_t unsent_bytes() const { return shared_.unsent_bytes.load(std::memory_order_relaxed); }

 private:
  void wait_for_reload(std::shared_ptr<std::function<void()>> on_reload);
  boost::asio::awaitable<void> accept_loop(std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor);
  /// The loop the next connection goes to (round robin).
  event_loop& next_loop();
  /// Serves an accepted socket on `loop`, or closes it when --max-connections are open.
  void admit(event_loop& loop, boost::asio::ip::tcp::socket socket);
  /// At stop, before the listener closes: accepts the connections waiting in its backlog (at
  /// most max_backlog_taken, without waiting), so that a close does not reset them and the
  /// requests their clients sent are answered (-32002) by a last read.
  void take_backlog(boost::asio::ip::tcp::acceptor& acceptor);
  /// Most connections take_backlog accepts from one listener.
  static constexpr std::size_t max_backlog_taken = 4096;

  transport_shared shared_;
  std::vector<std::unique_ptr<event_loop>> loops_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::unique_ptr<boost::asio::signal_set> signals_;  // on the first loop; destroyed before it
  std::unique_ptr<boost::asio::signal_set> reload_signal_;  // SIGHUP, likewise
  std::atomic<std::size_t> next_loop_{0};
  std::atomic<bool> accepting_{true};
  bool stopped_ = false;
};

}  // namespace netcall::detail
