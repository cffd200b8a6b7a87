#pragma once
/// \file
/// The one table of protocols (brpc's `global.cpp`): which protocols a server sniffs, in which
/// order, which body codecs HTTP carries, and which unit is the client side of each
/// `netcall::protocol`. A new protocol is a folder of its own plus a line here
/// (docs/architecture.md).

#include <span>

#include "netcall/protocol.hpp"
#include "protocol/http/body_codec.hpp"
#include "protocol/protocol.hpp"

namespace netcall::detail {

/// The protocols a server tries on a connection's first bytes, in order: the first that says
/// `mine` serves it; one that says `need_more` makes the server wait for more bytes before the
/// protocols after it are asked.
std::span<const server_protocol* const> server_protocols();

/// The protocols HTTP carries in POST bodies.
std::span<const body_codec* const> body_codecs();

/// The client side of `p`.
const client_protocol& client_protocol_for(protocol p);

/// The labels calls are counted under (the `protocol` label of netcall_calls_total): one per
/// protocol family, JSON-RPC over TCP and over HTTP being one ("jsonrpc").
std::span<const std::string_view> call_families();
/// Most families call_families() may hold (counters are kept in fixed arrays).
inline constexpr std::size_t max_call_families = 8;
/// The index in call_families() of the family of `protocol` (a call_metadata::protocol).
std::size_t family_of(std::string_view protocol);

}  // namespace netcall::detail
