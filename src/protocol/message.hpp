#pragma once
/// \file
/// Protocol-neutral requests and responses: what every codec decodes into and encodes from, on
/// both the server and the client side. Codecs are pure functions over bytes and these types.

#include <optional>
#include <ostream>
#include <string>

#include "common/limits.hpp"
#include "netcall/metadata.hpp"
#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall::detail {

/// A failure as carried on the wire: a code (JSON-RPC numbers, SPEC §2) and a message.
///
/// Also the one error style of every codec: a decoding function that can fail returns `bool`
/// and, on false, says why in a `fault` whose code is what the protocol answers with (-32700
/// bytes that are not the syntax, -32600 a valid syntax that is not the message expected,
/// -32001 over a limit). JSON-RPC requests are the one exception the standard makes: each bad
/// entry of a batch is answered with its own error response (jsonrpc::decode).
struct fault {
  int code = 0;
  std::string message;
  friend bool operator==(const fault&, const fault&) = default;
  /// "CODE: MESSAGE", for logs and test failures.
  friend std::ostream& operator<<(std::ostream& os, const fault& f) {
    return os << f.code << ": " << f.message;
  }
};

/// The fault for a netcall::error (its wire code and whole message: what() would end at a NUL).
inline fault to_fault(const error& e) { return fault{e.wire_code(), e.message()}; }

/// The fault for a status code and message.
inline fault make_fault(status_code code, std::string message) {
  return fault{wire_code(code), std::move(message)};
}

/// The netcall::error a fault read off the wire stands for (its number kept).
inline error to_error(const fault& f) {
  return error(status_from_wire_code(f.code), f.code, f.message);
}

/// One call as read from (server) or written to (client) the wire.
struct request {
  std::string method;
  /// Positional params as an array, named params as a struct; an absent `params` member is an
  /// empty array.
  value params = array{};
  /// The request id echoed in the response with its type (JSON-RPC: string, int or nil, or a
  /// `bytes` value holding the JSON text of any other number, echoed verbatim: jsonrpc/codec.hpp;
  /// MessagePack-RPC: the msgid). Unused by XML-RPC and positional JSON array calls.
  value id;
  /// True when no response may be sent (JSON-RPC request without `id`, MessagePack type 2).
  bool notification = false;
  /// Idempotency key, token, deadline, protocol, peer (netcall/metadata.hpp).
  call_metadata meta;
};

/// One answer: the request id and either a result or a fault.
struct response {
  value id;                    ///< the request's id, as `request::id` holds it
  value result;                ///< meaningful when `error` is empty
  std::optional<fault> error;  ///< set when the call failed
  friend bool operator==(const response&, const response&) = default;
};

/// Names of the wire protocols as `call_metadata::protocol` and `netcall --protocol` write them.
/// Each is one object, so code may compare their data pointers.
namespace protocol_names {
inline constexpr std::string_view jsonrpc = "jsonrpc";
inline constexpr std::string_view jsonrpc_http = "jsonrpc-http";
inline constexpr std::string_view xmlrpc = "xmlrpc";
inline constexpr std::string_view msgpack = "msgpack";
inline constexpr std::string_view json_array = "json-array";
}  // namespace protocol_names

}  // namespace netcall::detail
