#pragma once
/// \file
/// Protocol-neutral requests and responses: what every codec decodes into and encodes from.
/// Codecs are pure functions over bytes and these types (no sockets, no procedures).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall::detail {

/// Reader limits every decoder takes at the point of use (STYLE.md, from Cap'n Proto).
struct decode_limits {
  /// Deepest nesting of arrays/structs accepted in one message; deeper is parse_error
  /// (JSON-RPC) or a fault (XML-RPC), never a stack overflow.
  std::size_t max_depth = 128;
  /// Most entries in one JSON-RPC batch; longer batches are refused with invalid_request.
  std::size_t max_batch = 10000;
};

/// A failure as carried on the wire: a code (JSON-RPC numbers, SPEC §2) and a message.
struct fault {
  int code = 0;
  std::string message;
  friend bool operator==(const fault&, const fault&) = default;
};

/// The fault for a netcall::error (its wire code and message).
inline fault to_fault(const error& e) { return fault{e.wire_code(), e.what()}; }

/// One call as read from the wire.
struct request {
  std::string method;
  /// Positional params as an array, named params as a struct; an absent `params` member is an
  /// empty array.
  value params = array{};
  /// The request id echoed in the response with its type (JSON-RPC: string, int, double or
  /// nil; MessagePack-RPC: the msgid). Unused by XML-RPC.
  value id;
  /// True when no response may be sent (JSON-RPC request without `id`, MessagePack type 2).
  bool notification = false;
  /// The idempotency key shared by every attempt of one logical call, or empty (SPEC §4;
  /// docs/failures.md says where each protocol carries it).
  std::string idempotency_key;
};

/// One answer: the request id and either a result or a fault.
struct response {
  value id;
  value result;                ///< meaningful when `error` is empty
  std::optional<fault> error;  ///< set when the call failed
  friend bool operator==(const response&, const response&) = default;
};

}  // namespace netcall::detail
