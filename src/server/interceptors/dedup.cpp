#include "server/interceptors/dedup.hpp"

#include "transport/event_loop.hpp"

namespace netcall::detail {

namespace {
/// call::marks bit: this call's key was registered to run; its outcome must be stored.
constexpr std::uint32_t registered = 1u << 0;
}  // namespace

verdict dedup::on_call(call& c) {
  const std::string& key = c.req.meta.idempotency_key;
  if (key.empty() || c.req.notification) return verdict::proceed;
  // The first attempt's outcome reaches a waiting retry on the retry's own loop.
  auto waiter = [anchor = c.anchor(), target = &c](const response& outcome) {
    anchor->post([target, outcome] {
      target->answer.result = outcome.result;
      target->answer.error = outcome.error;
      pipeline::resume(*target, verdict::answered);
    });
  };
  response stored;
  outcome_cache::time_point first_arrival{};
  const auto v = stopping_.load(std::memory_order_relaxed)
                     ? cache_.lookup(key, c.req.method, std::move(waiter), stored, first_arrival)
                     : cache_.begin(key, c.req.method, c.req.meta.arrival, std::move(waiter),
                                    stored, first_arrival);
  switch (v) {
    case outcome_cache::verdict::run:
      c.marks |= registered;
      return verdict::proceed;
    case outcome_cache::verdict::absent:
      return verdict::proceed;
    case outcome_cache::verdict::stored:
      hits_.Increment();
      c.req.meta.arrival = first_arrival;
      c.answer.result = std::move(stored.result);
      c.answer.error = std::move(stored.error);
      return verdict::answered;
    case outcome_cache::verdict::wait:
      hits_.Increment();
      c.req.meta.arrival = first_arrival;
      return verdict::held;
    case outcome_cache::verdict::conflict:
      break;
  }
  c.fail(make_fault(status_code::invalid_request,
                    "idempotency key " + key + " was already used for a call of another method"));
  return verdict::answered;
}

verdict dedup::on_answer(call& c) {
  if (c.marks & registered) cache_.finish(c.req.meta.idempotency_key, c.answer);
  return verdict::proceed;
}

}  // namespace netcall::detail
