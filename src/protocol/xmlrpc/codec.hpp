#pragma once
/// \file
/// XML-RPC codec (xmlrpc.com spec, plus the `<nil/>` and `<i8>` extensions Python's
/// xmlrpc.client uses): pure functions over bytes and netcall::detail::{request,response}.
/// Parsing and writing both go through pugixml.

#include <string>
#include <string_view>

#include "protocol/message.hpp"

namespace netcall::detail::xmlrpc {

/// Decoding functions report failure one way, like every codec's (protocol/message.hpp): they
/// return false and say why in a `fault`.
///
/// Decodes a `<methodCall>`. Params become an array (XML-RPC params are positional); id is nil.
/// On failure returns false and sets `error`: -32700 for XML that does not parse or nests deeper
/// than limits.max_depth, -32600 for XML that is not a methodCall of the spec's shape (unknown
/// type tag, bad int, bad base64, bad dateTime...).
bool decode_call(std::string_view body, const decode_limits& limits, request& out, fault& error);

/// Appends a `<methodResponse>`: `<params><param>` with the result, or `<fault>` with a struct
/// of faultCode (int) and faultString (string). Ints that fit 32 bits are `<int>`, others `<i8>`
/// (SPEC §2); nil is `<nil/>`; dates `dateTime.iso8601` as YYYYMMDDTHH:MM:SS (XML-RPC has no
/// sub-second dateTime: a date-time's microseconds are dropped); bytes `<base64>`.
void encode_response(const response& r, std::string& out);

/// Appends a `<methodCall>` (client side). Named params (a struct) are sent as one struct param
/// (netcall's client refuses them before they get here: src/client/client.cpp).
void encode_call(const request& r, std::string& out);

/// Client side: decodes a `<methodResponse>` into `out` (result, or `out.error` for a fault).
/// Returns false with `error` saying why when the body is not a methodResponse (-32700 for XML
/// that does not parse, -32600 for another shape).
bool decode_response(std::string_view body, const decode_limits& limits, response& out,
                     fault& error);

/// Appends one `<value>` element's content for `v` (used by encode_* and tests).
void encode_value(const value& v, std::string& out);

}  // namespace netcall::detail::xmlrpc
