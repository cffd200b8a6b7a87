#pragma once
/// \file
/// One client connection to one server address: connects on demand, sends attempts encoded by
/// the client's protocol (protocol/protocol.hpp), matches answers to them, fails them on
/// timeout or a lost connection. Multiplexing protocols (JSON-RPC, MessagePack-RPC) carry any
/// number of calls in flight, matched by id; HTTP carries one at a time, the rest queue.
///
/// Lives on the client's I/O thread: every member function must be called from it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "netcall/client.hpp"
#include "protocol/protocol.hpp"
#include "transport/byte_stream.hpp"
#include "transport/tls_stream.hpp"

namespace netcall::detail {

using steady = std::chrono::steady_clock;

/// How an attempt ended, for failover (SPEC §5): whether the call may have run.
enum class attempt_end {
  answered,  ///< the server answered (the outcome is its answer, an error included)
  not_sent,  ///< failed before the request was handed to the connection: it certainly did not
             ///< run (could not connect; the connection closed or the attempt timed out first)
  lost,      ///< sent but no answer (timed out, connection lost): it may or may not have run
};

/// Receives an attempt's outcome and how it ended.
using attempt_done = std::function<void(outcome, attempt_end)>;

/// One attempt of a call, as the connection sends it.
struct attempt {
  /// The request, shared by every attempt, prepared by the protocol for `sequence`
  /// (client_protocol::prepare).
  std::shared_ptr<const request> req;
  /// The logical call's sequence number: matches answers to calls. Attempts of one logical
  /// call share it, but are never in flight together.
  std::uint64_t sequence = 0;
  /// When the attempt fails with deadline_exceeded.
  steady::time_point deadline;
  /// Receives the attempt's outcome (transport failures as `unavailable`/`deadline_exceeded`).
  /// Empty for a notification.
  attempt_done done;
};

/// The TLS context of client connections with `options` (null without TLS), made once per
/// distinct CA, certificate and key in the process and shared. Throws std::invalid_argument
/// when a file cannot be read.
tls_context client_tls_context(const client_options& options);

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint endpoint,
             std::string host_port, const client_options& options,
             const client_protocol& protocol);

  /// Sends an attempt (connecting first when needed).
  void submit(attempt a);
  /// Sends a notification; nothing is awaited (over HTTP the empty answer is read and dropped).
  void notify(std::shared_ptr<const request> req);
  /// Fails every call in flight with `why` and closes the connection.
  void shutdown(const error& why);
  /// Calls submitted and not yet answered (in flight or waiting to be sent).
  std::size_t outstanding() const { return pending_.size(); }

 private:
  struct pending {
    attempt_done done;
    steady::time_point deadline;
    steady::time_point sent;  // when it was submitted
    bool written = false;     // handed to the connection's output: it may have run
  };
  using key = std::uint32_t;  // the sequence number as the wire carries it (32-bit msgid)
  /// The key of a connection's `system.authenticate` (logical calls count from 1).
  static constexpr key authenticate_key = 0;

  void connect();
  /// The connection is open: authenticate (raw protocols with a token), then send what waits.
  void connected(std::unique_ptr<byte_stream> s, std::uint64_t generation);
  /// Sends `system.authenticate(token)` ahead of everything else (SPEC §6); its refusal fails
  /// every call of the connection as answered (`unauthenticated`: no call ran).
  void authenticate();
  void fail_all(const error& why);
  void fail_all(const error& why, attempt_end how);
  void reset_connection();
  void send_waiting();
  void flush();
  static void on_written(void* self, const boost::system::error_code& ec);
  void pump();
  void complete(key k, outcome o, attempt_end how);
  void mark_written(key k);
  void arm_sweeper(steady::time_point when);
  void sweep();
  boost::asio::awaitable<void> read_loop(std::shared_ptr<byte_stream> stream,
                                         std::uint64_t generation);
  void on_answer(response& r);
  /// The key of the one call whose request is on the wire (written, not answered), if exactly
  /// one is: the call an answer with id null can only be for.
  std::optional<key> sole_call_on_the_wire() const;

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::string host_port_;
  const client_options& options_;
  const client_protocol& protocol_;
  tls_context tls_;  // null: plain TCP
  decode_limits limits_;

  enum class state { idle, connecting, connected } state_ = state::idle;
  std::shared_ptr<byte_stream> stream_;
  /// The stream of a connection given up while a write on it was under way: kept until the
  /// write completes (a stream must outlive its operations).
  std::shared_ptr<byte_stream> retired_stream_;
  std::unique_ptr<response_reader> reader_;
  std::uint64_t generation_ = 0;  // bumped per connection: stale reads and writes are ignored

  std::unordered_map<key, pending> pending_;
  /// Nodes of answered calls, reused by the next ones (at most max_spare_nodes).
  static constexpr std::size_t max_spare_nodes = 1024;
  std::vector<std::unordered_map<key, pending>::node_type> spare_;
  /// Attempts submitted while not connected (and, one at a time protocols, waiting their turn).
  std::deque<attempt> waiting_;
  std::priority_queue<std::pair<steady::time_point, key>,
                      std::vector<std::pair<steady::time_point, key>>, std::greater<>>
      deadlines_;
  boost::asio::steady_timer sweeper_;
  steady::time_point sweeper_at_ = steady::time_point::max();

  /// When bytes last arrived on the current connection: a call that times out with nothing
  /// received since it was sent means the connection is stalled, not the call slow.
  steady::time_point last_receive_{};

  std::string out_;
  std::string writing_;
  bool write_active_ = false;
  std::uint64_t writing_generation_ = 0;

  // One call at a time protocols (HTTP): the call on the wire.
  bool busy_ = false;
  key current_ = 0;
  bool current_is_notification_ = false;
  /// Keys of notifications that take a turn (HTTP), from 2^31 on: no client-wide counter.
  std::uint64_t next_notification_ = 1u << 31;
};

}  // namespace netcall::detail
