#include "server/interceptors/shutdown_gate.hpp"

namespace netcall::detail {

verdict shutdown_gate::on_call(call& c) {
  if (!stopping_.load(std::memory_order_relaxed)) return verdict::proceed;
  c.fail(make_fault(status_code::unavailable, "server is shutting down; the call was not run"));
  return verdict::answered;
}

}  // namespace netcall::detail
