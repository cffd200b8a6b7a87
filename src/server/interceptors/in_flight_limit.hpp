#pragma once
/// \file
/// `--max-in-flight` (server_options::max_in_flight_per_connection): a call beyond the limit of
/// its connection is refused with -32001 and not run. Every call of a batch and of a
/// system.multicall counts (the transport counts them on their connection).

#include <cstddef>

#include "server/pipeline.hpp"

namespace netcall::detail {

class in_flight_limit final : public interceptor {
 public:
  explicit in_flight_limit(std::size_t max_per_connection) : max_(max_per_connection) {}
  verdict on_call(call& c) override;

 private:
  std::size_t max_;
};

}  // namespace netcall::detail
