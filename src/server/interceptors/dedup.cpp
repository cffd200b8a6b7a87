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
  // A key names one call: its method and the params received (a fingerprint of them).
  const outcome_cache::call_identity identity{
      key, c.req.method, cache_.fingerprint(c.req.params),
      c.req.meta.peer != nullptr ? std::string_view(c.req.meta.peer->address) : std::string_view()};
  const auto v = stopping_.load(std::memory_order_relaxed)
                     ? cache_.lookup(identity, std::move(waiter), stored, first_arrival)
                     : cache_.begin(identity, c.req.meta.arrival, std::move(waiter), stored,
                                    first_arrival);
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
      c.fail(make_fault(status_code::invalid_request,
                        "idempotency key " + key +
                            " was already used for a call of another method"));
      return verdict::answered;
    case outcome_cache::verdict::other_params:
      c.fail(make_fault(status_code::invalid_request,
                        "idempotency key reused with other params: " + key));
      return verdict::answered;
  }
  // Unreachable (every verdict is handled above); never run a call the cache did not clear.
  c.fail(make_fault(status_code::internal_error, "idempotency key not checked"));
  return verdict::answered;
}

verdict dedup::on_answer(call& c) {
  if (c.marks & registered) cache_.finish(c.req.meta.idempotency_key, c.answer);
  return verdict::proceed;
}

}  // namespace netcall::detail
