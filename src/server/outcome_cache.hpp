#pragma once
/// \file
/// The server's memory of recent call outcomes, keyed by idempotency key: what makes a retried
/// call execute at most once (SPEC §4). Shared by every event loop; thread-safe.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/message.hpp"

namespace netcall::detail {

class outcome_cache {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  /// Receives the outcome (result or error; the id is not kept) of a call that was still
  /// running when its retry arrived. Called on the thread that finished the call: post to the
  /// retry's own loop before touching it.
  using waiter = std::function<void(const response&)>;

  /// Outcomes are kept `ttl` after they were stored (saturating: any ttl is safe), and the
  /// oldest are dropped first while their total approximate size exceeds `max_bytes`.
  outcome_cache(std::chrono::milliseconds ttl, std::size_t max_bytes);

  enum class verdict {
    run,       ///< first time this key is seen: run the call, then `finish(key, outcome)`
    stored,    ///< the call finished before: `stored` holds its outcome
    wait,      ///< the call is running: `w` will receive its outcome
    conflict,  ///< the key belongs to a call of another method: refuse (nothing registered)
    absent,    ///< (lookup only) the key is unknown
  };

  /// Looks `key` up for a call of `method` that arrived at `arrival`, and registers what the
  /// caller must do. For `stored` and `wait`, `first_arrival` is when the key's first attempt
  /// arrived (what `--delay` counts from, SPEC §2).
  verdict begin(const std::string& key, const std::string& method, time_point arrival, waiter w,
                response& stored, time_point& first_arrival);
  /// Like begin, but never registers a new call: `absent` when the key is unknown.
  verdict lookup(const std::string& key, const std::string& method, waiter w, response& stored,
                 time_point& first_arrival);
  /// Stores the outcome of a call begun with verdict::run and hands it to every waiter.
  void finish(const std::string& key, const response& outcome);

  /// Outcomes stored now, and their approximate size (bytes): for tests and metrics.
  std::size_t size() const;
  std::size_t bytes() const;

 private:
  struct entry {
    std::string method;
    time_point first_arrival;
    bool finished = false;
    response outcome;
    std::vector<waiter> waiters;
    std::size_t bytes = 0;
  };
  void evict(time_point now);
  verdict find_locked(const std::string& key, const std::string& method, time_point arrival,
                      waiter& w, response& stored, time_point& first_arrival, bool insert);

  const std::chrono::milliseconds ttl_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  /// Finished keys in the order they finished (oldest first), for expiry and the size bound.
  std::deque<std::pair<time_point, std::string>> finished_;
  std::size_t bytes_ = 0;
};

/// The approximate memory a value occupies (bytes), for the cache's size bound.
std::size_t approximate_bytes(const value& v);

}  // namespace netcall::detail
