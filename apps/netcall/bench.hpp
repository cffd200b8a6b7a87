#pragma once
/// \file
/// `netcall bench` (SPEC §3): a closed-loop load generator on the native client.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "netcall/channel.hpp"
#include "netcall/client.hpp"
#include "netcall/value.hpp"

namespace netcall_cli {

struct bench_options {
  std::string target;
  std::string method;
  netcall::value params;
  netcall::client_options client;
  /// Measured run time; ignored when `calls` is set.
  std::chrono::milliseconds duration{10'000};
  /// Calls to measure (0: run for `duration`).
  std::uint64_t calls = 0;
  /// Calls in flight at once (closed loop: each completion starts the next call).
  unsigned concurrency = 64;
  /// Connections the calls are spread over.
  unsigned connections = 8;
  /// Client I/O threads (each a client with its share of connections and calls).
  unsigned threads = 1;
  /// Unmeasured run before the measurement.
  std::chrono::milliseconds warmup{1'000};
  /// Print one JSON object instead of the table.
  bool json = false;
  /// Routed (`--cluster`, `--registry`): makes each client thread's channel; `target` is then
  /// a node name or `any`. Calls keep their retries (`--retries`, with idempotency keys then),
  /// so failover is measured as users get it.
  std::function<std::unique_ptr<netcall::channel>(const netcall::client_options&)> make_channel;
  /// Routed calls may move to another replica when their outcome is unknown (`--idempotent`).
  bool idempotent = false;
};

/// Runs the benchmark, prints the report on stdout (progress on stderr when it is a terminal).
/// Returns the exit code (SPEC §3): 0 no call failed; 1 some calls failed (the report, then
/// `netcall: bench: N of M calls failed; the first: ...` on stderr); when not one call got a
/// result, no report but `netcall: bench: every call failed: ...` on stderr and 3 when that
/// failure was a connection that could not be made or a timeout, else 1. A run whose calls
/// cannot connect and none ever did stops at once.
int run_bench(const bench_options& options);

}  // namespace netcall_cli
