#include "server/server_pipeline.hpp"

#include "server/builtins.hpp"

namespace netcall::detail {

/// Registers the server's own procedures under the reserved `system.` and `rpc.` prefixes.
struct registry_access {
  static void add_reserved(registry& r, registry::entry e) { r.add_reserved(std::move(e)); }
};

namespace {

std::vector<interceptor*> chain_of(const server_options& options, bool tokens,
                                   interceptor* metrics, interceptor& limit, interceptor& auth,
                                   interceptor& delay, interceptor& dedup, interceptor& gate,
                                   interceptor& router, interceptor& runner) {
  std::vector<interceptor*> chain;
  if (metrics != nullptr) chain.push_back(metrics);
  chain.push_back(&limit);
  if (options.response_delay.count() > 0) chain.push_back(&delay);
  if (tokens) chain.push_back(&auth);
  for (interceptor* i : {&dedup, &gate, &router, &runner}) chain.push_back(i);
  return chain;
}

std::vector<interceptor*> entries_chain(interceptor* metrics, interceptor& limit,
                                        interceptor& router, interceptor& runner) {
  std::vector<interceptor*> chain;
  if (metrics != nullptr) chain.push_back(metrics);
  for (interceptor* i : {&limit, &router, &runner}) chain.push_back(i);
  return chain;
}

/// Registers the built-in procedures in `procedures`, then makes the call metrics (whose rows
/// are the registered methods, the built-in ones included).
std::unique_ptr<call_metrics> register_builtins(
    const server_options& options, registry& procedures, pipeline& entries,
    access_policy& access, cluster_node& node, prometheus::Registry& metrics) {
  for (auto& e : builtin_procedures(procedures, entries, options.max_batch, access)) {
    registry_access::add_reserved(procedures, std::move(e));
  }
  for (auto& e : node.admin_procedures()) {
    registry_access::add_reserved(procedures, std::move(e));
  }
  if (!options.call_metrics) return nullptr;
  return std::make_unique<call_metrics>(procedures, metrics);
}

prometheus::Counter& dedup_hits(prometheus::Registry& metrics) {
  return prometheus::BuildCounter()
      .Name("netcall_dedup_hits_total")
      .Help("Retries (a known idempotency key) answered with the stored outcome or made to "
            "wait for the first attempt's, not run again.")
      .Register(metrics)
      .Add({});
}

}  // namespace

server_pipeline::server_pipeline(const server_options& options, registry& procedures,
                                 access_policy& access, prometheus::Registry& metrics,
                                 logger_ptr log)
    : log_(std::move(log)),
      blocking_(options.blocking_threads, options.max_blocking_queue, log_),
      cache_(options.dedup_ttl, options.dedup_max_bytes),
      node_(options, procedures, log_),
      limit_(options.max_in_flight_per_connection),
      auth_(access),
      delay_(options.response_delay),
      dedup_(cache_, stopping_, dedup_hits(metrics)),
      gate_(stopping_),
      router_(node_, procedures, metrics, log_),
      runner_(procedures, blocking_, log_),
      calls_({}),
      entries_({}) {
  metrics_ = register_builtins(options, procedures, entries_, access, node_, metrics);
  entries_ = pipeline(entries_chain(metrics_.get(), limit_, router_, runner_));
  calls_ = pipeline(chain_of(options, access.tokens_required(), metrics_.get(), limit_, auth_,
                             delay_, dedup_, gate_, router_, runner_));
}

}  // namespace netcall::detail
