#pragma once
/// \file
/// `--lb round_robin`: the candidates in turn, so N calls over K replicas land N/K on each.

#include <cstdint>

#include "cluster/load_balancer.hpp"

namespace netcall::detail {

class round_robin final : public load_balancer {
 public:
  /// Starts at `start` (the channel passes a random number, as gRPC's pick_first/round_robin
  /// do, so that many short-lived clients do not all begin with the first node).
  explicit round_robin(std::uint64_t start = 0) : next_(start) {}
  endpoint* pick(std::span<endpoint* const> candidates) override;

 private:
  std::uint64_t next_ = 0;
};

}  // namespace netcall::detail
