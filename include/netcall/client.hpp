#pragma once
/// \file
/// Calling an RPC server: a synchronous client over one connection (SPEC §3 protocols).
///
/// ```cpp
/// netcall::client c("127.0.0.1:8000");
/// std::int64_t sum = c.call<std::int64_t>("add", 2, 3);
/// ```

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "netcall/binding.hpp"
#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall {

/// The wire protocols a client can speak (SPEC §3 `--protocol`).
enum class protocol {
  jsonrpc,       ///< JSON-RPC 2.0 over raw TCP, one JSON text per line
  jsonrpc_http,  ///< JSON-RPC 2.0 over HTTP/1.1 POST / (application/json)
  xmlrpc,        ///< XML-RPC over HTTP/1.1 POST /RPC2 (text/xml)
  msgpack,       ///< MessagePack-RPC over raw TCP
};

/// Parses "jsonrpc", "jsonrpc-http", "xmlrpc" or "msgpack"; false for anything else.
bool parse_protocol(std::string_view text, protocol& out);

/// When and how often a failed attempt is tried again (SPEC §4, docs/failures.md).
///
/// Only failures that leave the outcome unknown or prove the call did not run are retried: no
/// connection, a dropped connection, an attempt timeout, or the server's -32002 ("shutting
/// down, not run"). An answer, even an error, is final. The wait before attempt n+1 is drawn
/// uniformly from [0, min(max_backoff, initial_backoff * multiplier^(n-1))] ("full jitter").
struct retry_policy {
  /// Attempts in all, the first included: 1 means no retry (SPEC §3 `--retries N` is N + 1).
  int max_attempts = 1;
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2'000};
  double multiplier = 2.0;
};

/// Client settings.
struct client_options {
  /// The protocol spoken on the connection.
  netcall::protocol protocol = netcall::protocol::jsonrpc;
  /// Per-attempt timeout covering connect, send and the answer (ms). SPEC §3 default 5s.
  std::chrono::milliseconds timeout{5'000};
  /// Overall deadline of one logical call, all attempts and waits included (ms); 0 = none.
  /// An attempt never outlives it.
  std::chrono::milliseconds deadline{0};
  /// Retries of failed attempts.
  retry_policy retry;
  /// Tag every logical call with an idempotency key shared by all its attempts, so a server
  /// that remembers outcomes (every netcall server) runs it at most once (SPEC §4). With keys
  /// off, only calls marked idempotent are retried.
  bool idempotency_keys = true;
  /// Largest answer accepted (bytes).
  std::size_t max_message_bytes = 16u << 20;
};

/// Per-call settings.
struct call_options {
  /// The procedure is safe to run twice (e.g. a read): retry even without an idempotency key.
  bool idempotent = false;
};

/// A client of one server address. Connects lazily on the first call, reconnects after a
/// failure (a call on a dead connection fails at once and, when retries allow, goes again on
/// a new one). Not thread-safe: use one client per thread.
class client {
 public:
  /// `host_port` is "HOST:PORT" (or "[V6]:PORT"); throws std::invalid_argument when malformed.
  explicit client(std::string host_port, client_options options = {});
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;

  /// Calls `method` with `params` (an array for positional params, a struct for named ones)
  /// and returns the result, retrying per `client_options::retry`. Throws netcall::error (of
  /// the last attempt): `unavailable` when the server cannot be reached or the connection
  /// drops, `deadline_exceeded` after the timeout, `protocol_error`
  /// for an answer that cannot be read, and the server's own code (e.g. `method_not_found`,
  /// `application_error`, with `error::wire_code` the number it sent) for an error answer.
  value call_params(std::string_view method, value params, call_options options = {});

  /// Calls `method` with positional `args` and converts the result to `R` (binding.hpp types);
  /// a result of another type throws netcall::error(protocol_error). Errors as `call_params`.
  template <class R = value, class... A>
  R call(std::string_view method, A&&... args) {
    array params;
    params.reserve(sizeof...(A));
    (params.push_back(detail::codec_traits<std::remove_cvref_t<A>>::to(std::forward<A>(args))),
     ...);
    value result = call_params(method, value(std::move(params)));
    if constexpr (std::is_same_v<R, value>) {
      return result;
    } else {
      try {
        return R(detail::codec_traits<R>::from(result));
      } catch (const error& e) {
        throw error(status_code::protocol_error,
                    "result of " + std::string(method) + ": " + e.what());
      }
    }
  }

  /// Sends a notification (no answer is awaited, none is sent back): JSON-RPC and
  /// MessagePack-RPC; over XML-RPC, which has no notifications, this makes a call and discards
  /// the answer.
  void notify(std::string_view method, value params);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace netcall
