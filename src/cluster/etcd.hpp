#pragma once
/// \file
/// netcall's etcd v3 client (SPEC §5 "Clusters": node registration, discovery, placement).
///
/// It speaks to etcd's gRPC-JSON gateway (etcd 3.4: `POST /v3/...` over HTTP/1.1, bodies are
/// the JSON form of `api/etcdserverpb/rpc.proto`): keys and values travel base64-encoded, int64
/// fields as JSON strings. Each unary request opens a TCP connection of its own (one request,
/// `Connection: close`); a watch holds one connection for its stream.
///
/// Only what netcall needs: leases (grant, keepalive, revoke), put, delete, a prefix range, a
/// single get and a prefix watch. No TLS, no authentication, one endpoint.
///
/// Kept free of netcall's other layers so that tests can include it by path; it includes only
/// Boost and the standard library.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netcall::detail::etcd {

/// The per-request timeout a client uses unless told otherwise: connect, send and answer of one
/// unary request (or the start of a watch) must fit in it.
inline constexpr std::chrono::milliseconds default_request_timeout{2000};

/// Parses an etcd URL of SPEC §5, "etcd://HOST:PORT" (HOST a name, an IPv4 address or "[V6]"),
/// and returns "HOST:PORT" as written. Throws std::invalid_argument with a one-line reason when
/// the scheme is missing or not `etcd`, the host is empty, the port is missing or not 1-65535,
/// or anything (a path, a query, user info) follows the port.
std::string parse_url(std::string_view url);

/// The end of the range that holds every key starting with `prefix` (etcd's "prefix + 1": the
/// last byte below 0xff incremented, the bytes after it dropped; "\0", every key, when the
/// prefix is empty or all 0xff). etcd API: RangeRequest.range_end.
std::string prefix_range_end(std::string_view prefix);

/// One key and its value (etcd API: mvccpb.KeyValue, decoded from base64).
struct kv {
  std::string key;
  std::string value;
};

/// What `client::range_prefix` finds: the keys in key order and the store's revision the range
/// was read at (ResponseHeader.revision), from which a watch continues with `revision + 1`.
struct range_result {
  std::vector<kv> kvs;
  std::int64_t revision = 0;
};

/// One change a watch reports (etcd API: mvccpb.Event). `removed` for a DELETE (explicit or a
/// lease that ended), then `value` is empty; else a PUT and `value` is the new value.
struct event {
  bool removed = false;
  std::string key;
  std::string value;
};

/// A client of one etcd endpoint. Every member runs on the executor it was made with and must be
/// called from it (a strand or a single-threaded io_context); the client must outlive the
/// coroutines it started.
///
/// Errors: when etcd cannot be reached, does not answer within the request timeout, answers
/// something that is not the gateway's JSON, or refuses a request, the coroutines throw
/// `netcall::error(status_code::unavailable, "etcd HOST:PORT: <reason>")` (netcall/status.hpp).
/// Cancelled operations (`cancel()`, or the awaiting coroutine's cancellation slot) throw
/// `boost::system::system_error(boost::asio::error::operation_aborted)`, except `watch_prefix`,
/// which returns.
class client {
 public:
  /// A client of `host_port` ("HOST:PORT", as `parse_url` returns it; not contacted yet) whose
  /// unary requests each fail after `request_timeout` (ms; also bounds a watch's start).
  client(boost::asio::any_io_executor executor, std::string host_port,
         std::chrono::milliseconds request_timeout = default_request_timeout);
  /// Coroutines of the client must have ended (they use it); `cancel()` first to end them.
  ~client();
  /// Not copyable: it tracks its operations in flight.
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// "HOST:PORT" of the endpoint.
  const std::string& host_port() const noexcept { return host_port_; }

  /// Grants a lease of `ttl` (s, >= 1; etcd may raise it to its minimum, 2 s with default
  /// election timeouts) and returns its ID. etcd API: `POST /v3/lease/grant` {TTL} -> {ID, TTL}.
  boost::asio::awaitable<std::int64_t> lease_grant(std::chrono::seconds ttl);

  /// Renews lease `id` to its full TTL and returns the TTL it now has left (s); 0 when the lease
  /// is gone (expired or revoked): keys bound to it are already deleted. etcd API:
  /// `POST /v3/lease/keepalive` {ID} -> a stream of one `{"result":{ID, TTL}}`, TTL absent when
  /// the lease is unknown.
  boost::asio::awaitable<std::int64_t> lease_keepalive(std::int64_t id);

  /// Revokes lease `id`, deleting every key bound to it at once. A lease that is already gone
  /// is not an error. etcd API: `POST /v3/lease/revoke` {ID} (3.4 also serves the older
  /// `/v3/kv/lease/revoke`).
  boost::asio::awaitable<void> lease_revoke(std::int64_t id);

  /// Sets `key` to `value`, bound to lease `lease` when it is not 0 (the key is deleted when
  /// the lease ends; a lease that is gone is an `unavailable` error: "requested lease not
  /// found"). etcd API: `POST /v3/kv/put` {key, value, lease}.
  boost::asio::awaitable<void> put(std::string key, std::string value, std::int64_t lease = 0);

  /// Deletes `key` (nothing happens when it does not exist). etcd API:
  /// `POST /v3/kv/deleterange` {key}.
  boost::asio::awaitable<void> remove(std::string key);

  /// Every key starting with `prefix` and its value, in key order, with the revision they were
  /// read at. etcd API: `POST /v3/kv/range` {key, range_end = prefix_range_end(prefix)}.
  boost::asio::awaitable<range_result> range_prefix(std::string prefix);

  /// The value of `key`, or nullopt when it does not exist. etcd API: `POST /v3/kv/range` {key}.
  boost::asio::awaitable<std::optional<std::string>> get(std::string key);

  /// Watches every key starting with `prefix` from `start_revision` (inclusive; 0: from now)
  /// and calls `on_events(events, revision)` for each batch of changes, in order, with the
  /// batch's header revision (the store's revision when etcd sent it). Runs until:
  ///  - the stream ends, fails, or etcd cancels the watch (e.g. `start_revision` was compacted):
  ///    throws `unavailable` (a caller resynchronises with `range_prefix` and watches again);
  ///  - it is cancelled (`cancel()` or the coroutine's cancellation slot): returns.
  /// Exceptions thrown by `on_events` propagate. etcd API: `POST /v3/watch`
  /// {"create_request": {key, range_end, start_revision}} -> a chunked stream of
  /// `{"result": WatchResponse}` objects, one a line; a PUT event has no "type" (the enum's
  /// default), a DELETE has "type": "DELETE".
  boost::asio::awaitable<void> watch_prefix(
      std::string prefix, std::int64_t start_revision,
      std::function<void(const std::vector<event>&, std::int64_t revision)> on_events);

  /// Cancels every request and watch of this client in flight now (see the class comment for
  /// how each ends). Requests started later run normally.
  void cancel();

 private:
  /// One request or watch in flight: its connection, and whether `cancel()` reached it.
  struct operation;
  /// A gateway answer: HTTP status and JSON object.
  struct answer;

  /// A new operation, listed for `cancel()` (expired ones are dropped from the list).
  std::shared_ptr<operation> begin_operation();
  /// Resolves the endpoint (unless numeric) and connects `op`'s stream before `deadline`.
  boost::asio::awaitable<void> connect(operation& op,
                                       std::chrono::steady_clock::time_point deadline);
  /// One POST of `body` (JSON text) to `path` on a connection of its own, within the request
  /// timeout. Throws `unavailable` when there is no answer or it is not a JSON object.
  boost::asio::awaitable<answer> request(std::string_view path, std::string body);
  /// "etcd HOST:PORT: " + what: the message of every error this client throws.
  std::string failure(std::string_view what) const;

  boost::asio::any_io_executor executor_;
  std::string host_port_;
  std::chrono::milliseconds request_timeout_;
  std::vector<std::weak_ptr<operation>> operations_;
};

}  // namespace netcall::detail::etcd
