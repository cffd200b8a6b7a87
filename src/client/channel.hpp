#pragma once
/// \file
/// One client connection that multiplexes many calls in flight (issue 4 "native client").
/// Lives on the client's I/O thread: every member function must be called from it.

#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "netcall/client.hpp"
#include "protocol/message.hpp"

namespace netcall::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

/// One attempt of a call, as the channel sends it.
struct attempt {
  /// The request, shared by every attempt. Its `id` must stand for `sequence` (see
  /// `sequence_of`): the sequence number (32 bits, MessagePack-RPC's msgid), or for JSON-RPC
  /// the idempotency key that ends with it.
  std::shared_ptr<const request> req;
  /// The logical call's sequence number: matches answers to calls. Attempts of one logical
  /// call share it, but are never in flight together.
  std::uint64_t sequence = 0;
  /// When the attempt fails with deadline_exceeded.
  steady::time_point deadline;
  /// Receives the attempt's outcome (transport failures as `unavailable`/`deadline_exceeded`).
  std::function<void(outcome)> done;
};

class channel : public std::enable_shared_from_this<channel> {
 public:
  channel(asio::io_context& io, tcp::endpoint endpoint, std::string host_port,
          const client_options& options);

  /// Sends an attempt (connecting first when needed).
  void submit(attempt a);
  /// Sends a notification; nothing is awaited (over HTTP the empty answer is read and dropped).
  void notify(std::shared_ptr<const request> req);
  /// Fails every call in flight with `why` and closes the connection.
  void shutdown(const error& why);

 private:
  struct pending {
    std::function<void(outcome)> done;
    steady::time_point deadline;
    steady::time_point sent;  // when it was submitted
  };
  using key = std::uint32_t;  // the sequence number as the wire carries it (32-bit msgid)
  bool http() const;
  void connect();
  void fail_all(const error& why);
  void reset_connection();
  void send_waiting();
  void encode(const request& req, std::string& out) const;
  void flush();
  void http_pump();
  void complete(key k, outcome o);
  void arm_sweeper(steady::time_point when);
  void sweep();
  asio::awaitable<void> read_stream(std::shared_ptr<tcp::socket> socket, std::uint64_t generation);
  asio::awaitable<void> read_http(std::shared_ptr<tcp::socket> socket, std::uint64_t generation);
  void on_answer(const response& r);

  asio::io_context& io_;
  tcp::endpoint endpoint_;
  std::string host_port_;
  const client_options& options_;

  enum class state { idle, connecting, connected } state_ = state::idle;
  std::shared_ptr<tcp::socket> socket_;
  std::uint64_t generation_ = 0;  // bumped per connection: stale reads and writes are ignored

  std::unordered_map<key, pending> pending_;
  /// Attempts submitted while not connected (and, over HTTP, waiting for their turn).
  std::deque<attempt> waiting_;
  std::priority_queue<std::pair<steady::time_point, key>,
                      std::vector<std::pair<steady::time_point, key>>, std::greater<>>
      deadlines_;
  asio::steady_timer sweeper_;
  steady::time_point sweeper_at_ = steady::time_point::max();

  /// When bytes last arrived on the current connection: a call that times out with nothing
  /// received since it was sent means the connection is stalled, not the call slow.
  steady::time_point last_receive_{};

  std::string out_;
  std::string writing_;
  bool write_active_ = false;

  bool http_busy_ = false;  // HTTP: one call on the wire at a time
  key http_current_ = 0;
  bool http_current_is_notification_ = false;
};

/// The sequence number a JSON-RPC answer id stands for: an int id, or the number at the end of
/// an idempotency key. False for ids this client never sends.
bool sequence_of(const value& id, std::uint32_t& out);

}  // namespace netcall::detail
