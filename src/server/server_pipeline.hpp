#pragma once
/// \file
/// The server's call pipelines, assembled from server_options (docs/architecture.md):
///
///   calls:   metrics → in_flight_limit → delay (when --delay is set) → auth (with tokens)
///            → dedup → shutdown_gate → cluster_router → runner
///   entries: metrics → in_flight_limit → cluster_router → runner   (the calls inside
///            system.multicall)
///
/// Outermost first: metrics (unless server_options::call_metrics is off) counts every call
/// and its duration, refusals included (SPEC §7); the in-flight limit refuses before anything else (it also bounds the calls
/// auth holds while slowing a peer down); --delay holds answers (not refusals); auth refuses
/// calls without a valid token (SPEC §6), so nothing inside it runs for them, and sees
/// `system.authenticate`'s answer before --delay holds it, so the calls pipelined behind it on
/// the connection are authenticated;
/// dedup answers retries and moves their arrival back to the first attempt's, which --delay
/// counts from; the shutdown gate refuses new calls once stopping; the cluster router answers
/// or forwards (gateway) what the placement sends to other nodes (SPEC §5); the runner runs the
/// procedure. A new interceptor is a file pair in server/interceptors/ and a line here.

#include <atomic>

#include "netcall/server.hpp"
#include "server/blocking_pool.hpp"
#include "server/cluster_node.hpp"
#include "protocol/access_policy.hpp"
#include "server/interceptors/auth.hpp"
#include "server/interceptors/cluster_router.hpp"
#include "server/interceptors/dedup.hpp"
#include "server/interceptors/delay.hpp"
#include "server/interceptors/in_flight_limit.hpp"
#include "server/interceptors/metrics.hpp"
#include "server/interceptors/shutdown_gate.hpp"
#include "server/outcome_cache.hpp"
#include "server/pipeline.hpp"
#include "server/procedure_runner.hpp"

namespace netcall::detail {

class server_pipeline {
 public:
  /// Registers the built-in `system.*` procedures in `procedures`; `access` says who may call
  /// (tokens: the auth interceptor is in the chain when `access.tokens_required()`). Both must
  /// outlive this.
  /// Metrics go to `metrics` (the dedup and call families; the transport's are there too), log
  /// lines to `log`.
  server_pipeline(const server_options& options, registry& procedures, access_policy& access,
                  prometheus::Registry& metrics, logger_ptr log);

  /// Every call a connection dispatches goes here (the transport's call handler).
  pipeline& calls() { return calls_; }
  /// Set when shutdown begins: new calls are refused with -32002 from then on.
  std::atomic<bool>& stopping() { return stopping_; }
  /// Where blocking procedures run.
  blocking_pool& blocking() { return blocking_; }
  /// The outcomes kept for retries.
  outcome_cache& cache() { return cache_; }
  /// The server as a cluster node: placement, gateway, registration.
  cluster_node& node() { return node_; }

 private:
  std::atomic<bool> stopping_{false};
  logger_ptr log_;
  blocking_pool blocking_;  // before runner_: calls' contexts reach it until they complete
  outcome_cache cache_;
  std::unique_ptr<call_metrics> metrics_;  // null when server_options::call_metrics is off
  cluster_node node_;
  in_flight_limit limit_;
  auth auth_;
  delay delay_;
  dedup dedup_;
  shutdown_gate gate_;
  cluster_router router_;
  procedure_runner runner_;
  pipeline calls_;
  pipeline entries_;
};

}  // namespace netcall::detail
