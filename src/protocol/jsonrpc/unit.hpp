#pragma once
/// \file
/// JSON-RPC 2.0 as protocol units (protocol/protocol.hpp): over raw TCP (SPEC §2: JSON texts
/// back to back in, one JSON text plus "\n" out per answer) and as HTTP bodies.

#include "protocol/http/body_codec.hpp"
#include "protocol/protocol.hpp"

namespace netcall::detail::jsonrpc {

/// JSON-RPC over raw TCP, server side: a connection whose first byte (after whitespace) is `{`
/// or `[`. Single requests are answered as they complete (several in flight, any order); a
/// batch as one array once every call in it completed; a syntax error gets -32700 and the
/// connection closes (a byte stream cannot be resynchronised).
extern const server_protocol tcp_server;
/// JSON-RPC over raw TCP, client side: many calls in flight, matched by id; the idempotency key
/// is the request id.
const client_protocol& tcp_client();
/// JSON-RPC in HTTP bodies (`Content-Type: application/json`, any path).
const body_codec& http_body();

/// The request id for call number `sequence`: its idempotency key when it has one (the key ends
/// with the sequence number), else the number.
void prepare_request(request& r, std::uint32_t sequence);
/// The sequence number an answer's id stands for: an int id, or the number at the end of an
/// idempotency key. False for ids a netcall client never sends.
bool sequence_of(const value& id, std::uint32_t& out);

}  // namespace netcall::detail::jsonrpc
