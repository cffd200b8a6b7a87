#pragma once
/// \file
/// At most once (SPEC §4): a call with an idempotency key runs once; a retry with the same key
/// gets the stored outcome, or waits for the first attempt while it still runs. A retry's
/// `meta.arrival` becomes the first attempt's, so `--delay` (outside this) holds every attempt
/// until the same moment. While the server is stopping, only known keys are answered here; a
/// new call goes on, to be refused by the shutdown gate.

#include <atomic>

#include "server/outcome_cache.hpp"
#include <prometheus/counter.h>

#include "server/pipeline.hpp"

namespace netcall::detail {

class dedup final : public interceptor {
 public:
  /// `hits` counts the retries answered from the cache or made to wait for the first attempt
  /// (`netcall_dedup_hits_total`, SPEC §7).
  dedup(outcome_cache& cache, const std::atomic<bool>& stopping, prometheus::Counter& hits)
      : interceptor(true), cache_(cache), stopping_(stopping), hits_(hits) {}
  verdict on_call(call& c) override;
  verdict on_answer(call& c) override;

 private:
  outcome_cache& cache_;
  const std::atomic<bool>& stopping_;
  prometheus::Counter& hits_;
};

}  // namespace netcall::detail
