#pragma once
/// \file
/// Who may call a server (SPEC §6, docs/security.md), as every connection of it sees it: the
/// tokens it accepts (rotated on SIGHUP), the web origins and Host names a browser-borne request
/// may carry, and the failed authentications of each peer (repeated failures are slowed down).
///
/// Owned by the server; the transport's connections and the protocols' sessions read it (the
/// HTTP unit checks Origin, Host and the token of `GET /metrics`), the server's auth interceptor
/// checks every call's token. Thread-safe: read from every event loop at once.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/token_set.hpp"

namespace netcall::detail {

class access_policy {
 public:
  // ---- tokens (SPEC §6 "Tokens") ----

  /// Sets the tokens every call must carry; null or empty: none is required. The first set
  /// (before the server starts) decides whether tokens are required at all; later ones (a
  /// reload) replace the set for the calls that follow (an empty one is ignored then).
  void set_tokens(std::shared_ptr<const token_set> tokens);
  /// True when calls must carry a token.
  bool tokens_required() const { return required_.load(std::memory_order_relaxed); }
  /// True when `token` is accepted (constant-time comparison; false for an empty one). True for
  /// any token when none is required.
  bool token_valid(std::string_view token) const;

  // ---- browsers (SPEC §6 "Browser-borne calls") ----

  /// Origins (`scheme://host[:port]`, as browsers send them, compared case-insensitively) whose
  /// requests are answered, with CORS headers (`--allow-origin`); "*" allows every origin.
  std::vector<std::string> allowed_origins;
  /// Host names a request's `Host` header may name besides the server's own addresses and
  /// `localhost` (`--allow-host`); "*" allows every name. Set before the server starts.
  std::vector<std::string> allowed_hosts;
  /// The server's listen addresses ("HOST:PORT"): their hosts may be named in `Host`; a
  /// wildcard (0.0.0.0, ::) lets any IP address be named. Set before the server starts.
  void set_listen_addresses(const std::vector<std::string>& addresses);

  /// True when a request carrying `Origin: origin` may be answered.
  bool origin_allowed(std::string_view origin) const;
  /// True when a request whose Host header is `host` ("NAME[:PORT]", "[V6][:PORT]"; empty when
  /// absent, as HTTP/1.0 clients may send) may be answered: an IP address the server listens
  /// on, `localhost` (or a name under `.localhost`, which resolves to loopback only), or an
  /// allowed name. A DNS name an attacker controls, rebound to this server, is not.
  bool host_allowed(std::string_view host) const;

  // ---- failed authentications ----

  /// Wrong tokens a peer (by IP address) may send within `failure_window` before it is
  /// blocked.
  static constexpr int free_failures = 3;
  /// A peer's failures are forgotten after this long without one.
  static constexpr std::chrono::seconds failure_window{60};
  /// The longest a peer is blocked after one failure.
  static constexpr std::chrono::milliseconds max_penalty{4'000};

  /// Counts a wrong token from the peer at `peer_address` ("HOST:PORT") and returns how long
  /// the peer is blocked from now on: 0 for its first `free_failures`, then 250 ms doubling up
  /// to `max_penalty`. While blocked, a peer's tokens are refused without being checked, so a
  /// client guesses at most once per penalty however many connections or pipelined calls it
  /// uses. At most 10000 peers are remembered (the oldest are forgotten first).
  std::chrono::milliseconds record_failure(std::string_view peer_address);
  /// How much longer the peer at `peer_address` is blocked (0: not blocked).
  std::chrono::milliseconds blocked_for(std::string_view peer_address);

 private:
  std::atomic<bool> required_{false};
  // The set in use, read without a lock on every HTTP request. A reload publishes a new set and
  // keeps the old ones (a few bytes a token, until the policy goes): a reader may still hold
  // one. (Not std::atomic<std::shared_ptr>: libstdc++ 12 releases that one's internal lock with
  // relaxed order after a load, which ThreadSanitizer reports as a race with a reload.)
  std::atomic<const token_set*> tokens_{nullptr};
  std::mutex tokens_mutex_;
  std::vector<std::shared_ptr<const token_set>> all_tokens_;  // every set published
  std::vector<std::string> listen_hosts_;  // normalised IP addresses (as Host names them)
  bool any_address_ = false;               // a wildcard listener

  struct failures {
    int count = 0;
    std::chrono::steady_clock::time_point last;
    std::chrono::steady_clock::time_point blocked_until;
  };
  std::atomic<bool> any_failure_{false};  // lets blocked_for skip the lock until one
  std::mutex failures_mutex_;
  std::unordered_map<std::string, failures> failures_;
};

/// The host of "HOST:PORT" or "[V6]:PORT" (brackets removed), or of a bare host.
std::string_view host_of(std::string_view host_port);

}  // namespace netcall::detail
