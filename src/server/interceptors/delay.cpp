#include "server/interceptors/delay.hpp"

#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "common/duration.hpp"

namespace netcall::detail {

verdict delay::on_answer(call& c) {
  // A call refused without running (a limit, shutdown, no token) is told at once, so its client can go
  // elsewhere: only answers of calls that ran are held.
  if (c.answer.error && (c.answer.error->code == wire_code(status_code::resource_exhausted) ||
                         c.answer.error->code == wire_code(status_code::unavailable) ||
                         c.answer.error->code == wire_code(status_code::unauthenticated))) {
    return verdict::proceed;
  }
  const auto due = saturating_add(c.req.meta.arrival, delay_);
  if (std::chrono::steady_clock::now() >= due) return verdict::proceed;
  auto timer = std::make_shared<boost::asio::steady_timer>(c.executor(), due);
  // When the server stops first, the timer's handler is destroyed unrun with the loop.
  timer->async_wait([timer, target = &c](const boost::system::error_code&) {
    pipeline::resume_out(*target);
  });
  return verdict::held;
}

}  // namespace netcall::detail
