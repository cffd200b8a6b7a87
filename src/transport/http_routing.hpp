#pragma once
/// \file
/// The socket-free decisions of the HTTP transport (SPEC §2): how a request parser is limited
/// and which handler a parsed request goes to. http.cpp serves with these; the HTTP fuzz target
/// (tests/fuzz/fuzz_http.cpp) runs the same decisions without a socket, so what is fuzzed is
/// what is served.

#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

namespace netcall::detail {

/// A request as the HTTP transport reads it: the whole body in one string.
using http_request = boost::beast::http::request<boost::beast::http::string_body>;
/// The parser for one such request.
using http_request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Largest request line plus headers accepted (bytes); larger gets 431.
inline constexpr std::size_t max_http_header_bytes = 64 * 1024;

/// Applies the server's limits to a fresh parser: the head up to max_http_header_bytes, the
/// body up to `max_body_bytes` (server_options::max_message_bytes; larger gets 413).
inline void limit_request_parser(http_request_parser& parser, std::size_t max_body_bytes) {
  parser.header_limit(max_http_header_bytes);
  parser.body_limit(max_body_bytes);
}

/// Which codec a POSTed body is for.
enum class body_kind { xmlrpc, jsonrpc, unknown };

/// ASCII lower case (media types are case-insensitive, RFC 9110 §8.3.1).
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

/// The request target without its query (`/RPC2?x=1` -> `/RPC2`).
inline std::string_view target_path(const http_request& req) {
  std::string_view target = req.target();
  return target.substr(0, target.find('?'));
}

/// The codec for a POST: Content-Type text/xml or application/xml -> XML-RPC; a JSON type (any
/// path) -> JSON-RPC; otherwise POST /RPC2 -> XML-RPC; otherwise the body's first
/// non-whitespace byte decides ('<' XML-RPC, '{'/'[' JSON-RPC).
inline body_kind classify(const http_request& req) {
  std::string type = ascii_lower(req[boost::beast::http::field::content_type]);
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type == "text/xml" || type == "application/xml") return body_kind::xmlrpc;
  if (type == "application/json" || type == "application/json-rpc" ||
      type == "application/jsonrequest" || type.ends_with("+json")) {
    return body_kind::jsonrpc;
  }
  if (target_path(req) == "/RPC2") return body_kind::xmlrpc;
  for (char ch : req.body()) {
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    if (ch == '<') return body_kind::xmlrpc;
    if (ch == '{' || ch == '[') return body_kind::jsonrpc;
    break;
  }
  return body_kind::unknown;
}

/// What the server does with a parsed request.
enum class http_route {
  healthz,                 ///< GET/HEAD /healthz: 200 "ok"
  metrics,                 ///< GET/HEAD /metrics: 200 Prometheus text
  not_found,               ///< GET/HEAD of any other path: 404
  method_not_allowed,      ///< neither GET, HEAD nor POST: 405
  xmlrpc,                  ///< POST for the XML-RPC codec
  jsonrpc,                 ///< POST for the JSON-RPC codec
  unsupported_media_type,  ///< POST of a body no codec claims: 415
};

/// The route of `req` (http.cpp answers each route; see the list above).
inline http_route route_of(const http_request& req) {
  namespace http = boost::beast::http;
  if (req.method() == http::verb::get || req.method() == http::verb::head) {
    const std::string_view path = target_path(req);
    if (path == "/healthz") return http_route::healthz;
    if (path == "/metrics") return http_route::metrics;
    return http_route::not_found;
  }
  if (req.method() != http::verb::post) return http_route::method_not_allowed;
  switch (classify(req)) {
    case body_kind::xmlrpc:
      return http_route::xmlrpc;
    case body_kind::jsonrpc:
      return http_route::jsonrpc;
    case body_kind::unknown:
      break;
  }
  return http_route::unsupported_media_type;
}

}  // namespace netcall::detail
