#include "server/interceptors/cluster_router.hpp"

#include "server/procedure_runner.hpp"

namespace netcall::detail {

verdict cluster_router::on_call(call& c) {
  if (!node_.active()) return verdict::proceed;
  if (auto table = node_.table()) {
    auto it = table->methods.find(c.req.method);
    if (it != table->methods.end()) {
      if (it->second.here) return verdict::proceed;
      if (node_.gateway() != nullptr) return forward(c);
      c.fail(make_fault(status_code::method_not_found, "method not found: " + c.req.method +
                                                           " (served by " + it->second.serving +
                                                           ")"));
      return verdict::answered;
    }
  }
  if (node_.gateway() != nullptr && procedures_.find(c.req.method) == nullptr &&
      !c.req.method.starts_with("system.") && !c.req.method.starts_with("rpc.")) {
    return forward(c);
  }
  return verdict::proceed;
}

cluster_router::cluster_router(cluster_node& node, const registry& procedures,
                               prometheus::Registry& metrics, logger_ptr log)
    : node_(node), procedures_(procedures), log_(std::move(log)) {
  if (node_.gateway() != nullptr) {
    forwarded_ = std::make_shared<forwarded_counts>(prometheus::BuildCounter()
                      .Name("netcall_forwarded_calls_total")
                      .Help("Calls this gateway forwarded, by the node that answered the last "
                            "attempt (\"\" when none could be made) and code (0: success).")
                      .Register(metrics));
  }
}

cluster_router::~cluster_router() = default;

void cluster_router::forwarded_counts::count(const std::string& node, int code) {
  code_counters* counters = nullptr;
  {
    std::lock_guard lock(mutex);
    auto it = by_node.find(node);
    if (it == by_node.end()) {
      it = by_node
               .emplace(node, std::make_unique<code_counters>(
                                  family, prometheus::Labels{{"node", node}}))
               .first;
    }
    counters = it->second.get();
  }
  counters->of(code).Increment();
}

verdict cluster_router::forward(call& c) {
  // The forwarded call completes like an asynchronous procedure: from the channel's thread,
  // hopping back to the call's loop (or dropped unanswered if the server stopped meanwhile).
  auto context = std::make_shared<procedure_context>(c, nullptr, log_);
  route_options options;
  if (forwarded_ != nullptr) {
    options.on_finish = [counts = forwarded_](const std::string& node, int code) {
      counts->count(node, code);
    };
  }
  options.idempotency_key = c.req.meta.idempotency_key;
  options.known_servers_only = true;  // never to a node of unknown procedures: no loops
  try {
    node_.gateway()->async_call_params(
        "any", c.req.method, std::move(c.req.params),
        [context](outcome o) { context->complete(std::move(o)); }, std::move(options));
  } catch (...) {
    context->complete({value(), to_error(fault_of(std::current_exception()))});
  }
  return verdict::held;
}

}  // namespace netcall::detail
