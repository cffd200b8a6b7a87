#pragma once
/// \file
/// The transport's process-wide counters, served at `GET /metrics` (Prometheus text format
/// 0.0.4, SPEC §2). Updated from every event loop: relaxed atomics.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace netcall::detail {

struct transport_metrics {
  /// Connections holding a slot of --max-connections.
  std::atomic<std::int64_t> connections_active{0};
  std::atomic<std::int64_t> connections_total{0};
  std::atomic<std::int64_t> connections_refused{0};
  /// Calls received, by protocol: JSON-RPC (TCP and HTTP), XML-RPC, MessagePack-RPC, JSON array.
  std::atomic<std::int64_t> calls_jsonrpc{0};
  std::atomic<std::int64_t> calls_xmlrpc{0};
  std::atomic<std::int64_t> calls_msgpack{0};
  std::atomic<std::int64_t> calls_json_array{0};
  std::atomic<std::int64_t> call_errors{0};
  std::atomic<std::int64_t> calls_in_flight{0};
  std::atomic<std::int64_t> protocol_errors{0};

  /// Counts a call received over `protocol` (a protocol_names value).
  void count_call(std::string_view protocol);

  /// The Prometheus exposition text of these counters.
  std::string render() const;
};

}  // namespace netcall::detail
