#pragma once
/// \file
/// Shutdown refusal (SPEC §2): once the server is stopping, a call that reaches this point is
/// refused with -32002 and not run, so its client may retry elsewhere. A retry whose outcome is
/// known never gets here: the dedup interceptor before this one answers it (SPEC §4: a call that
/// ran is never reported as not run).

#include <atomic>

#include "server/pipeline.hpp"

namespace netcall::detail {

class shutdown_gate final : public interceptor {
 public:
  explicit shutdown_gate(const std::atomic<bool>& stopping) : stopping_(stopping) {}
  verdict on_call(call& c) override;

 private:
  const std::atomic<bool>& stopping_;
};

}  // namespace netcall::detail
