#pragma once
/// \file
/// The transport's metrics, served at `GET /metrics` (Prometheus text format 0.0.4, SPEC §7)
/// through prometheus-cpp's core library: one `prometheus::Registry` per server that every
/// layer adds its families to (the server's call metrics: server/interceptors/metrics.hpp),
/// rendered by its text serializer.
///
/// Two kinds of counting. Rare events (a connection accepted, refused, opened) use
/// prometheus-cpp's handles, looked up once. What happens on every read, write and call is
/// counted per event loop in counters only that loop's thread writes (a plain load and store,
/// no locked instruction), summed over the loops at scrape time (`loop_sums`).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

/// What one event loop counts.
struct loop_metrics {
  /// Calls received, by protocol family (protocol/protocols.hpp call_families()).
  std::array<loop_counter, max_call_families> calls_by_family;
  /// Calls running and not yet answered (each call of a batch or a multicall counts).
  loop_counter calls_in_flight;
  loop_counter call_errors;
  loop_counter protocol_errors;
  /// Bytes read from and written to connections (after TLS: message bytes).
  loop_counter received_bytes;
  loop_counter sent_bytes;

  /// Counts a call received over `protocol` (a protocol_names value).
  void count_call(std::string_view protocol);
};

/// Why a connection was closed before it was served (`netcall_connections_refused_total`'s
/// `reason` label).
enum class refusal {
  max_connections,     ///< --max-connections reached: closed at accept
  not_tls,             ///< --tls-only and the client did not start TLS
  tls_handshake,       ///< the TLS handshake failed
  unknown_protocol,    ///< the first bytes are no protocol netcall speaks
};
inline constexpr std::size_t refusal_count = 4;

/// The process-wide metrics of a server's transport.
class transport_metrics {
 public:
  /// Registers the transport's families in `registry` (shared with the server's layers).
  explicit transport_metrics(std::shared_ptr<prometheus::Registry> registry);

  /// Connections holding a slot of --max-connections (what the limit compares).
  std::atomic<std::int64_t> connections_active{0};
  /// Connections whose peer finished sending while their calls still run (no slot held; at
  /// most --max-connections of them).
  std::atomic<std::int64_t> connections_finishing{0};

  /// A connection was accepted (`netcall_connections_accepted_total`).
  void accepted() { accepted_.Increment(); }
  /// A connection was closed unserved, for `why`.
  void refused(refusal why) { refused_[static_cast<std::size_t>(why)]->Increment(); }
  /// Open connections speaking the protocol `protocol_index` (an index into
  /// server_protocols()): +1 when sniffed, -1 when closed.
  prometheus::Gauge& open(std::size_t protocol_index) { return *open_[protocol_index]; }

  /// Adds a gauge read at scrape time by `read` (e.g. the bytes of the stored outcomes). Before
  /// the transport starts.
  void add_gauge(std::string name, std::string help, std::function<double()> read) {
    gauges_.push_back({std::move(name), std::move(help), std::move(read)});
  }

  /// The registry every layer adds its families to.
  prometheus::Registry& registry() { return *registry_; }

  /// The Prometheus text exposition (format 0.0.4) of the registry, of the loops' counters
  /// (summed), of these connection gauges and of the process (`process_*`, read from /proc at
  /// scrape time), and `netcall_build_info`.
  std::string render(std::span<const loop_metrics* const> loops) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& accepted_;
  std::array<prometheus::Counter*, refusal_count> refused_{};
  std::vector<prometheus::Gauge*> open_;
  struct scrape_gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  std::vector<scrape_gauge> gauges_;
};

}  // namespace netcall::detail
