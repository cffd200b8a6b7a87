#pragma once
/// \file
/// The outcome of one call: a result, or the error it failed with. Servers' asynchronous
/// procedures complete with one; clients' asynchronous calls deliver one.

#include <optional>

#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall {

/// A result, or the error a call failed with (`failure` set).
struct outcome {
  value result;                  ///< meaningful when `failure` is empty
  std::optional<error> failure;  ///< set when the call failed
};

}  // namespace netcall
