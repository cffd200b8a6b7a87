#include "cluster/least_outstanding.hpp"

#include "cluster/endpoint.hpp"

namespace netcall::detail {

endpoint* least_outstanding::pick(std::span<endpoint* const> candidates) {
  // Start the scan at a rotating position so that ties do not always go to the first.
  const std::size_t n = candidates.size();
  const std::size_t start = next_++ % n;
  endpoint* best = candidates[start];
  for (std::size_t i = 1; i < n; ++i) {
    endpoint* e = candidates[(start + i) % n];
    if (e->outstanding() < best->outstanding()) best = e;
  }
  return best;
}

}  // namespace netcall::detail
