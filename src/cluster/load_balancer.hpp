#pragma once
/// \file
/// Load balancers (SPEC §5 `--lb`): pick the endpoint of one attempt among the candidates, the
/// healthy replicas that serve the method. One file pair per policy; `make_load_balancer` names
/// them. Everything runs on the channel's I/O thread.

#include <memory>
#include <span>
#include <string_view>

namespace netcall::detail {

class endpoint;

class load_balancer {
 public:
  virtual ~load_balancer() = default;
  /// One of `candidates` (never empty).
  virtual endpoint* pick(std::span<endpoint* const> candidates) = 0;
};

/// The policy named `name`: "round_robin" or "least_outstanding". Throws std::invalid_argument
/// naming the choices for any other name.
std::unique_ptr<load_balancer> make_load_balancer(std::string_view name);

}  // namespace netcall::detail
