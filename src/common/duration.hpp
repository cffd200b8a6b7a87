#pragma once
/// \file
/// Time arithmetic that cannot overflow: every duration from an option or a flag may be large,
/// and `now + d` past the clock's range would wrap into the past (issue: a 10000000000s
/// --dedup-ttl let a key run twice). Internally deadlines are absolute (gRPC's habit); relative
/// timeouts exist only at the API edge.

#include <chrono>

#include "netcall/duration.hpp"

namespace netcall::detail {

using steady = std::chrono::steady_clock;

/// `from + d`, saturating at steady::time_point::max() (and min() for a negative `d`).
inline steady::time_point saturating_add(steady::time_point from, std::chrono::milliseconds d) {
  using ns = steady::duration;
  constexpr auto longest = std::chrono::duration_cast<std::chrono::milliseconds>(ns::max());
  if (d >= longest) return steady::time_point::max();
  if (d <= -longest) return steady::time_point::min();
  const ns step = d;  // fits: |d| < longest
  if (step > ns::zero() && from > steady::time_point::max() - step) return steady::time_point::max();
  if (step < ns::zero() && from < steady::time_point::min() - step) return steady::time_point::min();
  return from + step;
}

/// The deadline `timeout` from now (saturating).
inline steady::time_point deadline_after(std::chrono::milliseconds timeout) {
  return saturating_add(steady::now(), timeout);
}

}  // namespace netcall::detail
