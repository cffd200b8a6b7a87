#pragma once
/// \file
/// HTTP/1.1 as a protocol unit (SPEC §2): keep-alive and pipelining, `GET /healthz`,
/// `GET /metrics`, and POST bodies handed to the body codec that claims them (XML-RPC,
/// JSON-RPC: protocol/protocols.cpp lists them).

#include "protocol/http/body_codec.hpp"
#include "protocol/protocol.hpp"

namespace netcall::detail::http {

/// The server side: a connection whose first bytes are an HTTP method and a space. Requests are
/// answered in order; while one request's calls run, the bytes behind it wait.
extern const server_protocol server;

/// The client side of `codec` over HTTP/1.1: one call at a time per connection, `POST
/// codec.path()` with keep-alive; the idempotency key also travels in the `Idempotency-Key`
/// header. Lives as long as `codec`.
const client_protocol& client_for(const body_codec& codec);

}  // namespace netcall::detail::http
