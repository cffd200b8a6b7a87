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

const client_protocol& client_protocol_for(protocol p) {
  switch (p) {
    case protocol::jsonrpc:
      return jsonrpc::tcp_client();
    case protocol::jsonrpc_http:
      return http::client_for(jsonrpc::http_body());
    case protocol::xmlrpc:
      return http::client_for(xmlrpc::http_body());
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
