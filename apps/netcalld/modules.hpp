#pragma once
/// \file
/// netcalld's built-in procedure modules (SPEC §2 "Built-in procedures"): math, text, demo.
/// The system module (introspection, multicall) is built into every netcall server.

#include <string>
#include <string_view>
#include <vector>

#include "netcall/server.hpp"

namespace netcalld {

/// The module names `--modules` accepts, in registration order.
const std::vector<std::string>& module_names();

/// Registers module `name` ("math", "text" or "demo") on `procedures`.
/// Throws std::invalid_argument for an unknown name.
void register_module(netcall::registry& procedures, std::string_view name);

}  // namespace netcalld
