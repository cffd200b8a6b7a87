#pragma once
/// \file
/// `--delay` (SPEC §2): no answer to a call leaves before its first arrival + the delay,
/// whichever attempt it answers. Refusals of calls that did not run (-32001 a limit, -32002
/// shutting down, -32003 no token) leave at once: they are not the slow server's answers. The dedup interceptor (inside this one) moves a retry's
/// `meta.arrival` back to its first attempt's, so a retry waits for that same moment and starts
/// no second delay. A timer, never a blocked thread.

#include <chrono>

#include "server/pipeline.hpp"

namespace netcall::detail {

class delay final : public interceptor {
 public:
  explicit delay(std::chrono::milliseconds d) : interceptor(true), delay_(d) {}
  verdict on_call(call&) override { return verdict::proceed; }
  verdict on_answer(call& c) override;

 private:
  std::chrono::milliseconds delay_;
};

}  // namespace netcall::detail
