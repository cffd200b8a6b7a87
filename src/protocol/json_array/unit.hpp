#pragma once
/// \file
/// Positional JSON array calls over raw TCP (SPEC §2), the form tutorials use: the JSON text
/// `["add", 10, 10]` is the call `add(10, 10)`, answered with the bare result `20` as one JSON
/// text plus "\n", or `{"error": {"code": int, "message": str}}`.

#include "protocol/protocol.hpp"

namespace netcall::detail::json_array {

/// Server side: a connection whose first JSON text is an array whose first element is a string
/// (a JSON-RPC batch never starts with one). Answers carry no id, so calls are answered in the
/// order they came: while one call runs, the bytes behind it wait. There is no client side.
extern const server_protocol tcp_server;

}  // namespace netcall::detail::json_array
