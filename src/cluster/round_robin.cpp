#include "cluster/round_robin.hpp"

namespace netcall::detail {

endpoint* round_robin::pick(std::span<endpoint* const> candidates) {
  return candidates[next_++ % candidates.size()];
}

}  // namespace netcall::detail
