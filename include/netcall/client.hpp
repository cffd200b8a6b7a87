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
};

/// Parses "jsonrpc", "jsonrpc-http" or "xmlrpc"; returns false for anything else.
bool parse_protocol(std::string_view text, protocol& out);

/// Client settings.
struct client_options {
  /// The protocol spoken on the connection.
  netcall::protocol protocol = netcall::protocol::jsonrpc;
  /// Per-call timeout covering connect, send and the answer (ms). SPEC §3 default 5s.
  std::chrono::milliseconds timeout{5'000};
  /// Largest answer accepted (bytes).
  std::size_t max_message_bytes = 16u << 20;
};

/// A client of one server address. Connects lazily on the first call, reconnects after a
/// failure. Not thread-safe: use one client per thread.
class client {
 public:
  /// `host_port` is "HOST:PORT" (or "[V6]:PORT"); throws std::invalid_argument when malformed.
  explicit client(std::string host_port, client_options options = {});
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;

  /// Calls `method` with `params` (an array for positional params, a struct for named ones)
  /// and returns the result. Throws netcall::error: `unavailable` when the server cannot be
  /// reached or the connection drops, `deadline_exceeded` after the timeout, `protocol_error`
  /// for an answer that cannot be read, and the server's own code (e.g. `method_not_found`,
  /// `application_error`, with `error::wire_code` the number it sent) for an error answer.
  value call_params(std::string_view method, value params);

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

  /// Sends a notification (no answer is awaited, none is sent back). JSON-RPC only; over
  /// XML-RPC, which has no notifications, this makes a call and discards the answer.
  void notify(std::string_view method, value params);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace netcall
