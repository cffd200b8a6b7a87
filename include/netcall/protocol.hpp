#pragma once
/// \file
/// The wire protocols a netcall client speaks (SPEC §3 `--protocol`). A netcall server speaks
/// all of them on every port, and positional JSON array calls besides (docs/protocols.md).

#include <string_view>

namespace netcall {

/// The wire protocols a client can speak.
enum class protocol {
  jsonrpc,       ///< JSON-RPC 2.0 over raw TCP, one JSON text per line
  jsonrpc_http,  ///< JSON-RPC 2.0 over HTTP/1.1 POST / (application/json)
  xmlrpc,        ///< XML-RPC over HTTP/1.1 POST /RPC2 (text/xml)
  msgpack,       ///< MessagePack-RPC over raw TCP
};

/// Parses "jsonrpc", "jsonrpc-http", "xmlrpc" or "msgpack"; false for anything else.
bool parse_protocol(std::string_view text, protocol& out);

/// The name `parse_protocol` reads ("jsonrpc-http" for protocol::jsonrpc_http).
std::string_view to_string(protocol p) noexcept;

}  // namespace netcall
