#include "server/server_pipeline.hpp"

#include "server/builtins.hpp"

namespace netcall::detail {

/// Registers the server's own procedures under the reserved `system.` prefix.
struct registry_access {
  static void add_reserved(registry& r, registry::entry e) { r.add_reserved(std::move(e)); }
};

namespace {

std::vector<interceptor*> chain_of(const server_options& options, bool tokens,
                                   interceptor& limit, interceptor& auth, interceptor& delay,
                                   interceptor& dedup, interceptor& gate, interceptor& router,
                                   interceptor& runner) {
  std::vector<interceptor*> chain{&limit};
  if (options.response_delay.count() > 0) chain.push_back(&delay);
  if (tokens) chain.push_back(&auth);
  for (interceptor* i : {&dedup, &gate, &router, &runner}) chain.push_back(i);
  return chain;
}

}  // namespace

server_pipeline::server_pipeline(const server_options& options, registry& procedures,
                                 access_policy& access)
    : cache_(options.dedup_ttl, options.dedup_max_bytes),
      node_(options, procedures),
      limit_(options.max_in_flight_per_connection),
      auth_(access),
      delay_(options.response_delay),
      dedup_(cache_, stopping_),
      gate_(stopping_),
      router_(node_, procedures),
      runner_(procedures),
      calls_(chain_of(options, access.tokens_required(), limit_, auth_, delay_, dedup_, gate_,
                      router_, runner_)),
      entries_({&limit_, &router_, &runner_}) {
  for (auto& e : builtin_procedures(procedures, entries_, options.max_batch, access)) {
    registry_access::add_reserved(procedures, std::move(e));
  }
  for (auto& e : node_.admin_procedures()) {
    registry_access::add_reserved(procedures, std::move(e));
  }
}

}  // namespace netcall::detail
