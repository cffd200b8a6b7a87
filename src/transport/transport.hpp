#pragma once
/// \file
/// The network side of a server: event loops, listeners, connections and protocol sniffing.
///
/// Design for speed (issue 2 item 4): one io_context per thread ("event loop"), each connection
/// lives on exactly one loop, so a connection's state needs no locks; procedures that answer at
/// once run inline on that loop; all answers produced by one read leave in one write.

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "netcall/server.hpp"
#include "protocol/message.hpp"
#include "transport/call_handler.hpp"

namespace netcall::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// Process-wide counters served at `GET /metrics` (Prometheus text format, SPEC §2).
struct transport_metrics {
  std::atomic<std::int64_t> connections_active{0};
  std::atomic<std::int64_t> connections_total{0};
  std::atomic<std::int64_t> connections_refused{0};
  std::atomic<std::int64_t> calls_jsonrpc{0};
  std::atomic<std::int64_t> calls_xmlrpc{0};
  std::atomic<std::int64_t> calls_msgpack{0};
  std::atomic<std::int64_t> call_errors{0};
  std::atomic<std::int64_t> calls_in_flight{0};
  std::atomic<std::int64_t> protocol_errors{0};
  /// Writes started and not yet completed (shutdown waits for them as for calls in flight).
  std::atomic<std::int64_t> writes_active{0};

  /// The Prometheus exposition text of these counters.
  std::string render() const;
};

/// What every connection shares: settings, the call handler and the counters.
struct transport_shared {
  const server_options& options;
  call_handler& handler;
  transport_metrics metrics;
  decode_limits limits;
  /// Set when shutdown begins: calls that arrive from then on are refused with -32002
  /// (unavailable) without running, so their clients may retry elsewhere.
  std::atomic<bool> stopping{false};
};

/// One accepted connection. Lives on one event loop; every member is touched only from it.
class connection : public call_context, public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket socket, transport_shared& shared);
  ~connection() override;

  /// call_context: a timer on this connection's loop.
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override;
  /// call_context: runs `fn` on this connection's loop (thread-safe).
  void post(std::function<void()> fn) override;

  /// Runs `req` through the call handler; `done` receives the response on this loop.
  void call(request req, std::function<void(response)> done);
  /// The fast path (call_handler::try_handle_now) with this connection's limits and counters:
  /// true when `out` holds the answer; false when the call needs `call`.
  bool try_call_now(const request& req, response& out);

  /// Queues bytes for the socket; written at the next `flush` (or at once when not holding).
  void send(std::string_view bytes);
  /// Starts writing what is queued unless a write is already under way (one write for all).
  void flush();
  /// Bytes queued or being written.
  std::size_t unsent() const { return pending_.size() + writing_.size(); }
  /// Closes the socket once everything queued has been written.
  void close_after_flush();
  /// Closes the socket now (pending reads and writes fail).
  void close();
  bool closed() const { return closed_; }
  /// Marks the connection active now (a complete message arrived or a response left).
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }

  /// While holding, `send` only queues: the reader flushes once after processing a whole read.
  bool holding = false;
  /// Calls run and not yet answered on this connection.
  std::size_t in_flight = 0;

  tcp::socket socket;
  transport_shared& shared;

  /// Waits until unsent bytes drop below `limit` (backpressure on a client that does not read).
  asio::awaitable<void> drain_below(std::size_t limit);
  /// Closes the connection when nothing completes for `idle_timeout` and no call is in flight.
  static asio::awaitable<void> watchdog(std::weak_ptr<connection> weak);

 private:
  void on_written(const boost::system::error_code& ec);

  std::string pending_;
  std::string writing_;
  bool write_active_ = false;
  bool close_after_flush_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_activity_;
  std::shared_ptr<asio::steady_timer> drained_;   // signalled when a write completes
  std::shared_ptr<asio::steady_timer> watchdog_;  // cancelled when the connection closes
};

/// Serves one connection of a protocol; `initial` holds the bytes the sniffer already read.
using serve_fn = asio::awaitable<void> (*)(std::shared_ptr<connection> c, std::string initial);

/// The verdict of a protocol on a connection's first bytes.
enum class sniff_result { mine, not_mine, need_more };

/// One wire protocol as the listener sees it (the seam where MessagePack-RPC plugs in: add an
/// entry to `stream_protocols()` and nothing else changes).
struct stream_protocol {
  std::string_view name;
  sniff_result (*sniff)(std::string_view first_bytes);
  serve_fn serve;
};

/// The protocols tried, in order, on a new connection's first bytes.
const std::vector<stream_protocol>& stream_protocols();

/// JSON-RPC 2.0 over raw TCP (jsonrpc_stream.cpp).
sniff_result sniff_jsonrpc_stream(std::string_view first_bytes);
asio::awaitable<void> serve_jsonrpc_stream(std::shared_ptr<connection> c, std::string initial);
/// MessagePack-RPC over raw TCP (msgpack_stream.cpp).
sniff_result sniff_msgpack_stream(std::string_view first_bytes);
asio::awaitable<void> serve_msgpack_stream(std::shared_ptr<connection> c, std::string initial);
/// HTTP/1.1 carrying XML-RPC and JSON-RPC (http.cpp).
sniff_result sniff_http(std::string_view first_bytes);
asio::awaitable<void> serve_http(std::shared_ptr<connection> c, std::string initial);

/// Event loops and listeners of one server.
class transport {
 public:
  transport(const server_options& options, call_handler& handler);
  ~transport();

  /// Binds every address (throws netcall::error(unavailable) or std::invalid_argument), starts
  /// the loops, and returns the bound "HOST:PORT" strings.
  std::vector<std::string> start(const std::vector<std::string>& addresses);
  /// Stops accepting; waits up to `grace` for calls in flight; stops the loops and joins them.
  void shutdown(std::chrono::milliseconds grace);
  /// Calls `on_signal(signo)` on the first event loop (so never inside a procedure) when the
  /// process gets SIGINT or SIGTERM. Call after construction, before `shutdown`; the watch ends
  /// at `shutdown`, before the loops are destroyed.
  void watch_signals(std::function<void(int)> on_signal);

 private:
  asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor);

  transport_shared shared_;
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;
  std::unique_ptr<asio::signal_set> signals_;  // on loops_.front(); destroyed before it
  std::atomic<std::size_t> next_loop_{0};
  bool stopped_ = false;
};

/// Reads what is available on `c`'s socket into the event loop's shared read buffer, waiting
/// until the socket is readable first, so an idle connection holds no read buffer of its own.
/// Returns the bytes read (valid until the next co_await of any coroutine on this loop) or an
/// empty view with `ec` set when the connection ended.
asio::awaitable<std::string_view> read_some_shared(connection& c, boost::system::error_code& ec);

/// Stop reading from a client that does not read its answers once this much is unsent (bytes).
inline constexpr std::size_t max_unsent_bytes = 4u << 20;

/// The step between two reads of a protocol's serve loop, after the answers of the last read
/// were flushed: frees the sniffed `initial` bytes, waits while `max_unsent_bytes` or more are
/// unsent (backpressure on a client that does not read), then reads what is available
/// (read_some_shared) into `input`. False when the connection is over: closed, or the peer
/// finished sending, in which case it closes once the answers due are written (at once when no
/// call is in flight; else the last completion's write ends it).
asio::awaitable<bool> read_more(connection& c, std::string& initial, std::string_view& input);

/// Keeps what a serve loop has not parsed yet, `data` from offset `consumed` on, in `pending`:
/// `data` is either `pending` itself (its parsed start is dropped) or bytes of the last read
/// (copied: they may live in the loop's shared read buffer, valid only until the next await).
void keep_unparsed(std::string& pending, std::string_view data, std::size_t consumed);

/// Serves one accepted socket: sniffs the protocol and runs it.
asio::awaitable<void> serve_connection(std::shared_ptr<connection> c);

/// Parses "HOST:PORT" / "[V6]:PORT" into an endpoint (host names resolved); throws
/// std::invalid_argument with a one-line reason.
tcp::endpoint parse_endpoint(std::string_view host_port);
/// "HOST:PORT" for an endpoint ("[::1]:80" for IPv6).
std::string to_string(const tcp::endpoint& ep);

}  // namespace netcall::detail
