#pragma once
/// \file
/// XML-RPC as a protocol unit: a body codec of the HTTP unit (protocol/http/body_codec.hpp).

#include "protocol/http/body_codec.hpp"

namespace netcall::detail::xmlrpc {

/// XML-RPC in HTTP bodies: `POST /RPC2`, or any POST with `Content-Type: text/xml`. XML-RPC has
/// no request id, so the idempotency key travels in the `Idempotency-Key` header.
const body_codec& http_body();

}  // namespace netcall::detail::xmlrpc
