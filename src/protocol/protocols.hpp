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

}  // namespace netcall::detail
