#pragma once
/// \file
/// Calling an RPC server: the native client (SPEC §3 protocols, §4 retries).
///
/// ```cpp
/// netcall::client c("127.0.0.1:8000");                  // MessagePack-RPC by default
/// std::int64_t sum = c.call<std::int64_t>("add", 2, 3);  // blocking, from any thread
/// c.async_call_params("add", netcall::array{2, 3}, [](netcall::outcome o) { ... });
/// std::int64_t s = co_await c.async_call<std::int64_t>("add", 2, 3);  // in a netcall::task
/// ```
/// One client owns one I/O thread and `connections` connections to one server; each connection
/// multiplexes many calls in flight (matched by request id), so one client may be shared by
/// many threads.

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "netcall/binding.hpp"
#include "netcall/outcome.hpp"
#include "netcall/protocol.hpp"
#include "netcall/status.hpp"
#include "netcall/task.hpp"
#include "netcall/value.hpp"

namespace netcall {

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
  /// The protocol spoken. MessagePack-RPC is the fastest; the CLI defaults to jsonrpc (SPEC §3).
  netcall::protocol protocol = netcall::protocol::msgpack;
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
  /// Connections to the server; calls are spread over them round robin. JSON-RPC and
  /// MessagePack-RPC multiplex any number of calls on each; HTTP carries one call at a time
  /// per connection (the others queue).
  unsigned connections = 1;
  /// Largest answer accepted (bytes).
  std::size_t max_message_bytes = 16u << 20;
  /// The token the server requires (SPEC §6, `netcall --token`): the HTTP protocols send it in
  /// every request (`Authorization: Bearer TOKEN`); JSON-RPC and MessagePack-RPC over TCP call
  /// `system.authenticate(token)` first on each connection, and a refusal fails every call of
  /// that connection with `unauthenticated` (-32003), not retried. Empty: none is sent.
  std::string token;
  /// Connect with TLS (SPEC §6 `--tls`) on every protocol, verifying the server's certificate
  /// against `tls_ca_file`, or the system's CAs when that is empty, and its name against the
  /// target's host (an IP address or a DNS name). A failed verification is `unavailable`
  /// naming OpenSSL's reason.
  bool tls = false;
  /// PEM file of the CAs that sign the server's certificate (`netcall --ca`); implies `tls`.
  std::string tls_ca_file;
  /// The client's own certificate chain and key, PEM, for servers that require one
  /// (`netcalld --tls-client-ca`); implies `tls`.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// Called on the client's I/O thread before each retry, with the failure of the attempt
  /// that is retried, its number (1 for the first) and the wait before the next one: to log
  /// retries (`netcall call --verbose`). Must not block.
  std::function<void(const error& why, int attempt, std::chrono::milliseconds backoff)> on_retry;
};

/// Per-call settings.
struct call_options {
  /// The procedure is safe to run twice (e.g. a read): retry even without an idempotency key.
  bool idempotent = false;
};

template <class R>
class call_awaitable;

/// A client of one server address. Thread-safe.
///
/// Errors (netcall::error, thrown by the blocking calls, delivered in `outcome::failure` by the
/// asynchronous ones, always those of the last attempt): `unavailable` when the server cannot
/// be reached or the connection drops (calls in flight on a dead connection fail at once),
/// `deadline_exceeded` after the timeout, `protocol_error` for an answer that cannot be read
/// or a result of the wrong type, and the server's own code (e.g. `method_not_found`,
/// `application_error`, with `error::wire_code` the number it sent) for an error answer.
/// Over XML-RPC, which has positional params only, a call with named params (a struct) fails
/// at once with `invalid_params` "XML-RPC has no named params: pass them positionally":
/// nothing is sent, nothing is retried (docs/protocols.md "Type mapping").
class client {
 public:
  /// `host_port` is "HOST:PORT" (or "[V6]:PORT"); throws std::invalid_argument when malformed,
  /// or when a TLS file of `options` cannot be read.
  /// Starts the client's I/O thread; connects on the first call.
  explicit client(std::string host_port, client_options options = {});
  /// Fails the calls still in flight with `unavailable` and joins the I/O thread.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Calls `method` with `params` (an array for positional params, a struct for named ones),
  /// retrying per `client_options::retry`; blocks until the outcome. Must not be called from
  /// a completion callback (it runs on the client's own I/O thread): throws std::logic_error.
  value call_params(std::string_view method, value params, call_options options = {});

  /// Calls `method` with positional `args` and converts the result to `R` (binding.hpp types).
  template <class R = value, class... A>
  R call(std::string_view method, A&&... args) {
    return convert<R>(method, call_params(method, pack(std::forward<A>(args)...)));
  }

  /// Starts a call; `done` runs once with its outcome, on the client's I/O thread (it must not
  /// block; hand long work to another thread).
  void async_call_params(std::string_view method, value params, std::function<void(outcome)> done,
                         call_options options = {});

  /// A C++20 awaitable of the converted result: `co_await c.async_call<R>("add", 1, 2)` in a
  /// `netcall::task` (netcall/task.hpp) or any coroutine type that accepts foreign awaitables.
  /// The coroutine resumes on the client's I/O thread. Errors are thrown at the co_await.
  template <class R = value, class... A>
  call_awaitable<R> async_call(std::string_view method, A&&... args) {
    return call_awaitable<R>(*this, std::string(method), pack(std::forward<A>(args)...));
  }

  /// Sends a notification: no answer is awaited and none is sent back (JSON-RPC, MessagePack-
  /// RPC); over HTTP the empty answer is read; over XML-RPC, which has no notifications, this
  /// makes a call and discards the answer. Does not block; failures are not reported, but
  /// named params (a struct) over XML-RPC are refused at once: throws
  /// netcall::error(invalid_params), nothing is sent.
  void notify(std::string_view method, value params);

  /// Converts a call's result to `R`, or throws protocol_error naming `method`.
  template <class R>
  static R convert(std::string_view method, value result) {
    static_assert(!detail::views_value<R>::value,
                  "a call's result is gone when call() returns, and a std::string_view or "
                  "pointer anywhere in R would point into it: read text as std::string");
    if constexpr (std::is_same_v<R, value>) {
      return result;
    } else {
      try {
        return from_value<R>(result);
      } catch (const error& e) {
        throw error(status_code::protocol_error,
                    "result of " + std::string(method) + ": " + e.message());
      }
    }
  }

 private:
  template <class... A>
  static value pack(A&&... args) {
    return detail::pack_params(std::forward<A>(args)...);
  }

  struct impl;
  std::shared_ptr<impl> impl_;
};

/// The awaitable returned by `client::async_call`.
template <class R>
class call_awaitable {
 public:
  call_awaitable(client& c, std::string method, value params)
      : client_(c), method_(std::move(method)), params_(std::move(params)) {}

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    client_.async_call_params(method_, std::move(params_), [this, h](outcome o) {
      outcome_ = std::move(o);
      h.resume();
    });
  }
  R await_resume() {
    if (outcome_.failure) throw *outcome_.failure;
    return client::convert<R>(method_, std::move(outcome_.result));
  }

 private:
  client& client_;
  std::string method_;
  value params_;
  outcome outcome_;
};

}  // namespace netcall
