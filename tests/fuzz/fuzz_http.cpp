// Fuzz target: the HTTP request path of the server (src/transport/http.cpp), without sockets.
//
// The input is everything a client sends on one connection. As serve_http does, the bytes go
// through protocol sniffing, then the server's own request reader (http_request_reader in
// transport/http_routing.hpp: Boost.Beast's parser, limited), request after request while the
// client keeps the connection alive, keeping the bytes not taken yet exactly as serve_http
// does; reads deliver the bytes in pieces (sizes derived from the input), and each parsed
// request takes the server's route (route_of) and the codec work of the server's exchange, with
// an echo procedure standing in for the dispatcher. Beyond "never crash, never leak, never
// hang", it checks that every answer the server would write (append_http_head and the body) is
// an HTTP response Beast parses, and that its body is readable by netcall's own client codecs.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_support.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/jsonrpc/codec.hpp"
#include "protocol/xmlrpc/codec.hpp"
#include "transport/http_routing.hpp"
#include "transport/transport.hpp"

namespace {

using namespace netcall;
using namespace netcall::detail;
namespace beast = boost::beast;
namespace http = beast::http;
using error_code = beast::error_code;

/// server_options::max_message_bytes default.
constexpr std::size_t max_message_bytes = 16u << 20;

http_answer make_response(unsigned status, std::string_view type, std::string body) {
  return {status, type, std::move(body)};
}

/// serve_xmlrpc with an echo procedure; the answer must be a methodResponse our client reads.
http_answer serve_xmlrpc(const http_request& req) {
  request call;
  fault failure;
  response answer;
  if (!xmlrpc::decode_call(req.body(), decode_limits{}, call, failure)) {
    answer.error = failure;
  } else {
    const auto key = req[idempotency_header];
    if (is_idempotency_key(std::string_view(key.data(), key.size()))) {
      call.idempotency_key = std::string(key);
    }
    answer.result = std::move(call.params);
  }
  std::string body;
  xmlrpc::encode_response(answer, body);
  response back;
  std::string why;
  const bool readable = xmlrpc::decode_response(body, decode_limits{}, back, why);
  if (fuzz::texts_are_xml(answer.result) &&
      (!answer.error || fuzz::is_xml_text(answer.error->message))) {
    NETCALL_FUZZ_CHECK(readable, "XML-RPC answer not readable: " + why + "\n" + body);
  }
  return make_response(200, "text/xml", std::move(body));
}

/// serve_jsonrpc with an echo procedure; the answer must be JSON-RPC responses our client reads.
http_answer serve_jsonrpc(const http_request& req) {
  jsonrpc::message m = jsonrpc::decode(req.body(), decode_limits{});
  std::vector<response> answers;
  for (auto& e : m.entries) {
    if (auto* r = std::get_if<response>(&e)) {
      answers.push_back(std::move(*r));
      continue;
    }
    auto& call = std::get<request>(e);
    if (!call.notification) answers.push_back(response{call.id, std::move(call.params), {}});
  }
  if (answers.empty()) return make_response(204, {}, {});
  std::string body;
  if (m.batch) {
    jsonrpc::encode_batch(answers, body);
  } else {
    jsonrpc::encode_response(answers.front(), body);
  }
  std::vector<response> back;
  std::string why;
  NETCALL_FUZZ_CHECK(jsonrpc::decode_responses(body, decode_limits{}, back, why),
                     "JSON-RPC answer not readable: " + why + "\n" + body);
  NETCALL_FUZZ_CHECK(back.size() == answers.size(), body);
  return make_response(200, "application/json", std::move(body));
}

/// exchange::prepare in http.cpp, with the answers' bodies where they do not depend on server
/// state.
http_answer route(const http_request& req) {
  const http_route r = route_of(req);
  const bool get_or_head = req.method() == http::verb::get || req.method() == http::verb::head;
  NETCALL_FUZZ_CHECK(get_or_head == (r == http_route::healthz || r == http_route::metrics ||
                                     r == http_route::not_found),
                     std::string(req.method_string()));
  switch (r) {
    case http_route::healthz:
      return text_answer(200, "ok\n");
    case http_route::metrics:
      return make_response(200, "text/plain; version=0.0.4", "netcall_connections_active 1\n");
    case http_route::not_found:
      return text_answer(404, "not found\n");
    case http_route::method_not_allowed:
      return text_answer(405, "method not allowed\n");
    case http_route::xmlrpc:
      return serve_xmlrpc(req);
    case http_route::jsonrpc:
      return serve_jsonrpc(req);
    case http_route::unsupported_media_type:
      break;
  }
  return text_answer(415, "unsupported content type\n");
}

/// The answer as serve_http writes it (send_answer) must parse as the response it is.
void check_written(const http_answer& a, unsigned version, bool keep_alive, bool head) {
  std::string text;
  append_http_head(text, a, version, keep_alive);
  if (!head) text += a.body;
  http::response_parser<http::string_body> parser;
  parser.skip(head);  // a response to HEAD has headers only (RFC 9110 §9.3.2)
  parser.eager(true);
  error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(text), ec);
  if (ec == http::error::need_more || (!ec && !parser.is_done())) {
    ec = {};
    parser.put_eof(ec);
  }
  NETCALL_FUZZ_CHECK(!ec && parser.is_done(), "our answer is not HTTP: " + ec.message() + "\n" +
                                                  text);
  NETCALL_FUZZ_CHECK(used == text.size(), "bytes after our answer\n" + text);
  NETCALL_FUZZ_CHECK(parser.get().result_int() == a.status, text);
  NETCALL_FUZZ_CHECK(parser.get().keep_alive() == keep_alive, text);
  NETCALL_FUZZ_CHECK(parser.get().version() == (version == 10 ? 10u : 11u), text);
  if (!head) NETCALL_FUZZ_CHECK(parser.get().body() == a.body, text);
  if (head && a.status != 204) {
    NETCALL_FUZZ_CHECK(parser.content_length() && *parser.content_length() == a.body.size(), text);
  }
}

/// serve_http over `input` as one connection, reads of at most `step` bytes: the same reader,
/// the same keeping of the bytes it has not taken.
void serve_connection(std::string_view input, std::size_t step) {
  http_request_reader reader(max_message_bytes);
  std::string pending;
  while (!input.empty()) {
    const std::string_view read = input.substr(0, std::min(step, input.size()));
    input.remove_prefix(read.size());
    pending.append(read);
    std::size_t consumed = 0;
    for (;;) {
      const std::size_t before = consumed;
      const auto s = reader.next(pending, consumed);
      NETCALL_FUZZ_CHECK(consumed >= before && consumed <= pending.size(), "consumed out of range");
      if (s == http_request_reader::step::need_more) break;
      if (s == http_request_reader::step::expect_continue) continue;  // "100 Continue" written
      if (s == http_request_reader::step::refused) {
        if (const auto& refusal = reader.refusal()) check_written(*refusal, 11, false, false);
        return;
      }
      NETCALL_FUZZ_CHECK(consumed > before, "a request out of no bytes");
      const http_request req = reader.take();
      const http_answer a = route(req);
      check_written(a, req.version(), req.keep_alive(), req.method() == http::verb::head);
      if (!req.keep_alive()) return;
    }
    pending.erase(0, consumed);
    // Only a head not yet whole stays unparsed: the reader takes body bytes as they come.
    NETCALL_FUZZ_CHECK(pending.size() <= max_http_header_bytes + step, "unbounded pending bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The listener hands the connection to HTTP only when its first bytes are a request line
  // (JSON-RPC and MessagePack-RPC take '{', '[' and 0x93..0x95, which no method starts with).
  if (sniff_http(input.substr(0, 16)) != sniff_result::mine) return 0;
  const std::uint64_t h = fuzz::input_hash(input);
  // A quarter of the inputs arrive in one read, as a small request does; the others in reads
  // of 1 to 97 bytes, so requests and bodies straddle reads.
  const std::size_t step = h % 4 == 0 ? input.size() : 1 + (h >> 8) % 97;
  serve_connection(input, step == 0 ? 1 : step);
  return 0;
}
