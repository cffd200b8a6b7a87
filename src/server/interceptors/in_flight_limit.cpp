#include "server/interceptors/in_flight_limit.hpp"

namespace netcall::detail {

verdict in_flight_limit::on_call(call& c) {
  if (c.calls_on_connection() <= max_) return verdict::proceed;  // this call included
  c.fail(make_fault(status_code::resource_exhausted,
                    "too many calls in flight on this connection (limit " + std::to_string(max_) +
                        "); the call was not run"));
  return verdict::answered;
}

}  // namespace netcall::detail
