#include "server/pipeline.hpp"

namespace netcall::detail {

void pipeline::handle(call& c) {
  c.handler = this;
  go_in(c, 0);
}

void pipeline::go_in(call& c, std::size_t from) {
  for (std::size_t i = from; i < chain_.size(); ++i) {
    c.stage = static_cast<std::uint32_t>(i);
    switch (chain_[i]->on_call(c)) {
      case verdict::proceed:
        continue;
      case verdict::held:
        return;
      case verdict::answered:
        return go_out(c, i);
    }
  }
  // The procedure runner answers every call: reaching here is a bug in the chain.
  c.fail(make_fault(status_code::internal_error, "no procedure runner in the call pipeline"));
  go_out(c, chain_.size());
}

void pipeline::go_out(call& c, std::size_t end) {
  for (std::size_t i = end; i-- > 0;) {
    interceptor* stage = chain_[i];
    if (!stage->sees_answers()) continue;
    c.stage = static_cast<std::uint32_t>(i);
    if (stage->on_answer(c) == verdict::held) return;
  }
  c.finish();
}

void pipeline::resume(call& c, verdict v) {
  auto& p = *static_cast<pipeline*>(c.handler);
  if (v == verdict::proceed) return p.go_in(c, c.stage + 1);
  p.go_out(c, c.stage);
}

void pipeline::resume_out(call& c) {
  auto& p = *static_cast<pipeline*>(c.handler);
  p.go_out(c, c.stage);
}

}  // namespace netcall::detail
