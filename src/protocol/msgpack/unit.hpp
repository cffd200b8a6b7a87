#pragma once
/// \file
/// MessagePack-RPC over raw TCP as a protocol unit (protocol/protocol.hpp).

#include "protocol/protocol.hpp"

namespace netcall::detail::msgpack {

/// Server side: a connection whose first byte is a fixarray of 3 to 5 elements (`0x93`-`0x95`).
/// Messages back to back in both directions; requests answered as they complete (out of order),
/// all answers of one read in one write. A call answered at once allocates nothing.
extern const server_protocol tcp_server;
/// Client side: many calls in flight, matched by msgid; the idempotency key is a fifth request
/// element.
const client_protocol& tcp_client();

}  // namespace netcall::detail::msgpack
