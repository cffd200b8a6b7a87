#pragma once
/// \file
/// What travels with a call besides its method and params: the per-call metadata every layer
/// reads from one place (the idempotency key of SPEC §4, a token of §6, a deadline, the protocol
/// and the peer). Servers fill it from the wire; clients set what their protocol carries.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace netcall {

/// What a server knows of the connection a call arrived on (one per connection).
struct peer_info {
  /// The client's address, "HOST:PORT" ("[V6]:PORT" for IPv6).
  std::string address;
  /// The verified subject of the client's TLS certificate (RFC 2253 form, e.g.
  /// "CN=client,O=example"); empty without one.
  std::string tls_identity;
  /// True when the connection is TLS.
  bool tls = false;
  /// True once the connection presented a valid token with `system.authenticate` (raw TCP
  /// protocols, SPEC §6).
  bool authenticated = false;
};

/// The metadata of one call.
struct call_metadata {
  /// The wire protocol: "jsonrpc" (JSON-RPC 2.0 over TCP), "jsonrpc-http", "xmlrpc", "msgpack"
  /// or "json-array" (positional JSON array calls); the names of `netcall --protocol`.
  std::string_view protocol;
  /// The idempotency key shared by every attempt of one logical call, or empty (SPEC §4;
  /// docs/failures.md says where each protocol carries it).
  std::string idempotency_key;
  /// The caller's token, or empty (SPEC §6): the HTTP Authorization header's on the server; on
  /// the client, what the HTTP protocols send in it.
  std::string token;
  /// Server side: true when the call carried a valid token, or came on a connection that
  /// authenticated (SPEC §6). Admin procedures accept such calls from any peer (SPEC §5).
  bool authenticated = false;
  /// When the caller stops waiting for the answer (steady clock); max() when unknown.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// Server side: when the call arrived. For a retry (same idempotency key) the pipeline moves
  /// it back to the first attempt's arrival, which is what `--delay` counts from (SPEC §2).
  std::chrono::steady_clock::time_point arrival{};
  /// Server side: the size of the message the call came in (bytes: a JSON text, a MessagePack
  /// message, an HTTP body; the calls of a batch share their batch's). The access log's bytes
  /// in (SPEC §7).
  std::size_t message_bytes = 0;
  /// Server side: the connection's peer; valid while the call runs. Null on the client side.
  const peer_info* peer = nullptr;
};

}  // namespace netcall
