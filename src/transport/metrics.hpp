#pragma once
/// \file
/// The transport's counters, served at `GET /metrics` (Prometheus text format 0.0.4, SPEC §2).
///
/// Per call, nothing is shared between threads: each event loop counts its calls in counters
/// only its own thread writes (a plain load and store, no locked instruction), and a scrape sums
/// them over the loops. Connection events, rarer, go to process-wide atomics.

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/protocols.hpp"

namespace netcall::detail {

/// A counter written by one thread and read by any.
class loop_counter {
 public:
  void add(std::int64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::int64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

/// What one event loop counts of its calls.
struct loop_metrics {
  /// Calls received, by protocol family (protocol/protocols.hpp call_families()).
  std::array<loop_counter, max_call_families> calls_by_family;
  /// Calls running and not yet answered (each call of a batch or a multicall counts).
  loop_counter calls_in_flight;
  loop_counter call_errors;
  loop_counter protocol_errors;

  /// Counts a call received over `protocol` (a protocol_names value).
  void count_call(std::string_view protocol);
};

/// The process-wide counters of connections.
struct transport_metrics {
  /// Connections holding a slot of --max-connections.
  std::atomic<std::int64_t> connections_active{0};
  std::atomic<std::int64_t> connections_total{0};
  std::atomic<std::int64_t> connections_refused{0};
  /// Connections whose peer finished sending while their calls still run (no slot held; at
  /// most --max-connections of them).
  std::atomic<std::int64_t> connections_finishing{0};

  /// The Prometheus exposition text of these counters and the loops' (summed).
  std::string render(std::span<const loop_metrics* const> loops) const;
};

}  // namespace netcall::detail
