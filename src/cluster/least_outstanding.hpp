#pragma once
/// \file
/// `--lb least_outstanding`: the candidate with the fewest calls in flight from this channel
/// (Envoy's "least request", brpc's "la" in spirit): a slow replica accumulates outstanding
/// calls and so gets few new ones. Ties go round robin, so equal replicas share evenly.

#include <cstdint>

#include "cluster/load_balancer.hpp"

namespace netcall::detail {

class least_outstanding final : public load_balancer {
 public:
  /// Ties start from `start` (random, as for round_robin).
  explicit least_outstanding(std::uint64_t start = 0) : next_(start) {}
  endpoint* pick(std::span<endpoint* const> candidates) override;

 private:
  std::uint64_t next_ = 0;
};

}  // namespace netcall::detail
