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

verdict cluster_router::forward(call& c) {
  // The forwarded call completes like an asynchronous procedure: from the channel's thread,
  // hopping back to the call's loop (or dropped unanswered if the server stopped meanwhile).
  auto context = std::make_shared<procedure_context>(c);
  route_options options;
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
