#include "cluster/load_balancer.hpp"

#include <random>
#include <stdexcept>
#include <string>

#include "cluster/least_outstanding.hpp"
#include "cluster/round_robin.hpp"

namespace netcall::detail {

std::unique_ptr<load_balancer> make_load_balancer(std::string_view name) {
  const std::uint64_t start = std::random_device{}();
  if (name == "round_robin") return std::make_unique<round_robin>(start);
  if (name == "least_outstanding") return std::make_unique<least_outstanding>(start);
  throw std::invalid_argument("unknown load balancer '" + std::string(name) +
                              "' (choose round_robin or least_outstanding)");
}

}  // namespace netcall::detail
