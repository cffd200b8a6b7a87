#include "protocol/protocols.hpp"

#include "protocol/http/unit.hpp"
#include "protocol/json_array/unit.hpp"
#include "protocol/jsonrpc/unit.hpp"
#include "protocol/msgpack/unit.hpp"
#include "protocol/xmlrpc/unit.hpp"

namespace netcall::detail {

std::span<const server_protocol* const> server_protocols() {
  // Positional JSON arrays before JSON-RPC: both begin with `[`, and only the element after it
  // tells them apart (a string: a positional call; an object: a JSON-RPC batch).
  static const server_protocol* const table[] = {
      &json_array::tcp_server,
      &jsonrpc::tcp_server,
      &msgpack::tcp_server,
      &http::server,
  };
  return table;
}

std::span<const body_codec* const> body_codecs() {
  static const body_codec* const table[] = {
      &xmlrpc::http_body(),
      &jsonrpc::http_body(),
  };
  return table;
}

namespace {

/// Each protocol's family, in call_families() order.
struct family_row {
  std::string_view protocol;
  std::size_t family;
};

constexpr std::string_view families[] = {"jsonrpc", "xmlrpc", "msgpack", "json-array"};
static_assert(std::size(families) <= max_call_families);

constexpr family_row family_rows[] = {
    {protocol_names::jsonrpc, 0},
    {protocol_names::jsonrpc_http, 0},
    {protocol_names::xmlrpc, 1},
    {protocol_names::msgpack, 2},
    {protocol_names::json_array, 3},
};

}  // namespace

std::span<const std::string_view> call_families() { return families; }

std::size_t family_of(std::string_view protocol) {
  // Compared by address first: metadata holds the protocol_names constants themselves.
  for (const family_row& row : family_rows) {
    if (row.protocol.data() == protocol.data()) return row.family;
  }
  for (const family_row& row : family_rows) {
    if (row.protocol == protocol) return row.family;
  }
  return 0;
}

const client_protocol& client_protocol_for(protocol p) {
  static const http::body_client jsonrpc_http(jsonrpc::http_body());
  static const http::body_client xmlrpc_http(xmlrpc::http_body());
  switch (p) {
    case protocol::jsonrpc:
      return jsonrpc::tcp_client();
    case protocol::jsonrpc_http:
      return jsonrpc_http;
    case protocol::xmlrpc:
      return xmlrpc_http;
    case protocol::msgpack:
      break;
  }
  return msgpack::tcp_client();
}

}  // namespace netcall::detail

namespace netcall {

bool parse_protocol(std::string_view text, protocol& out) {
  for (auto p : {protocol::jsonrpc, protocol::jsonrpc_http, protocol::xmlrpc, protocol::msgpack}) {
    if (text == to_string(p)) {
      out = p;
      return true;
    }
  }
  return false;
}

std::string_view to_string(protocol p) noexcept {
  return detail::client_protocol_for(p).name();
}

}  // namespace netcall
