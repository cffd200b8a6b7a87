// Fuzz target: the HTTP request path of the server (src/transport/http.cpp), without sockets.
//
// The input is everything a client sends on one connection. As serve_http does, the bytes go
// through protocol sniffing, then a Boost.Beast request parser limited like the server's
// (transport/http_routing.hpp), request after request while the client keeps the connection
// alive; reads deliver the bytes in pieces (sizes derived from the input), and each parsed
// request takes the server's route (route_of) and the codec work of serve_xmlrpc/serve_jsonrpc,
// with an echo procedure standing in for the dispatcher. Beyond "never crash, never leak,
// never hang", it checks that every answer the server would write is an HTTP response that
// parses, and that its body is readable by netcall's own client codecs.
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
using http_response = http::response<http::string_body>;

/// server_options::max_message_bytes default.
constexpr std::size_t max_message_bytes = 16u << 20;

/// The bytes of a connection as reads deliver them: at most `step` bytes a read.
struct socket_reads {
  std::string_view rest;
  std::size_t step;

  /// Appends the next read to `buffer`; false at the end of the stream.
  bool read(beast::flat_buffer& buffer) {
    if (rest.empty()) return false;
    const std::size_t n = std::min(step, rest.size());
    const auto dst = buffer.prepare(n);
    std::memcpy(dst.data(), rest.data(), n);
    buffer.commit(n);
    rest.remove_prefix(n);
    return true;
  }
};

/// What http::async_read_header (`header_only`) or http::async_read does with the parser:
/// parse what is buffered, read more on need_more, and at the end of the stream either finish
/// a message that has started (put_eof) or report end_of_stream.
error_code read(http_request_parser& parser, beast::flat_buffer& buffer, socket_reads& reads,
                bool header_only) {
  parser.eager(!header_only);
  auto done = [&] { return header_only ? parser.is_header_done() : parser.is_done(); };
  while (!done()) {
    error_code ec;
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (!ec) {
        // Beast's read loop calls put again while the message is not done: without progress
        // that would spin forever on a connection.
        NETCALL_FUZZ_CHECK(used > 0 || done(), "the parser took no bytes and is not done");
        continue;
      }
      if (ec != http::error::need_more) return ec;
    }
    if (!reads.read(buffer)) {
      if (!parser.got_some()) return http::error::end_of_stream;
      ec = {};
      parser.put_eof(ec);
      if (!ec) NETCALL_FUZZ_CHECK(parser.is_done(), "put_eof left the message unfinished");
      return ec;
    }
  }
  return {};
}

http_response make_response(http::status status, unsigned version, std::string_view type,
                            std::string body) {
  http_response res(status, version);
  res.set(http::field::server, "netcall");
  if (!type.empty()) res.set(http::field::content_type, type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

/// serve_xmlrpc with an echo procedure; the answer must be a methodResponse our client reads.
http_response serve_xmlrpc(const http_request& req) {
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
  return make_response(http::status::ok, req.version(), "text/xml", std::move(body));
}

/// serve_jsonrpc with an echo procedure; the answer must be JSON-RPC responses our client reads.
http_response serve_jsonrpc(const http_request& req) {
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
  if (answers.empty()) return make_response(http::status::no_content, req.version(), {}, {});
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
  return make_response(http::status::ok, req.version(), "application/json", std::move(body));
}

/// route() in http.cpp, with the answers' bodies where they do not depend on server state.
http_response route(const http_request& req) {
  const unsigned version = req.version();
  const http_route r = route_of(req);
  const bool get_or_head = req.method() == http::verb::get || req.method() == http::verb::head;
  NETCALL_FUZZ_CHECK(get_or_head == (r == http_route::healthz || r == http_route::metrics ||
                                     r == http_route::not_found),
                     std::string(req.method_string()));
  switch (r) {
    case http_route::healthz:
      return make_response(http::status::ok, version, "text/plain", "ok\n");
    case http_route::metrics:
      return make_response(http::status::ok, version, "text/plain; version=0.0.4",
                           "netcall_connections_active 1\n");
    case http_route::not_found:
      return make_response(http::status::not_found, version, "text/plain", "not found\n");
    case http_route::method_not_allowed: {
      auto res = make_response(http::status::method_not_allowed, version, "text/plain",
                               "method not allowed\n");
      res.set(http::field::allow, "GET, HEAD, POST");
      return res;
    }
    case http_route::xmlrpc:
      return serve_xmlrpc(req);
    case http_route::jsonrpc:
      return serve_jsonrpc(req);
    case http_route::unsupported_media_type:
      break;
  }
  return make_response(http::status::unsupported_media_type, version, "text/plain",
                       "unsupported content type\n");
}

/// The answer as written on the wire must parse as the response it is.
void check_written(const http_response& res, bool head) {
  std::ostringstream wire;
  wire << res;
  const std::string text = wire.str();
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
  NETCALL_FUZZ_CHECK(parser.get().result() == res.result(), text);
  if (!head) NETCALL_FUZZ_CHECK(parser.get().body() == res.body(), text);
}

/// serve_http over `input` as one connection, reads of `step` bytes.
void serve_connection(std::string_view input, std::size_t step) {
  socket_reads reads{input, step};
  beast::flat_buffer buffer;
  for (int requests = 0;; ++requests) {
    NETCALL_FUZZ_CHECK(static_cast<std::size_t>(requests) <= input.size(),
                       "more requests than bytes");
    http_request_parser parser;
    limit_request_parser(parser, max_message_bytes);
    error_code ec = read(parser, buffer, reads, true);
    if (!ec) {
      // serve_http writes "100 Continue" here; nothing changes in what it reads.
      (void)beast::iequals(parser.get()[http::field::expect], "100-continue");
    }
    if (!ec && !parser.is_done()) ec = read(parser, buffer, reads, false);
    if (ec) {
      // The refusals serve_http answers with before closing.
      std::optional<http_response> refusal;
      if (ec == http::error::body_limit) {
        refusal = make_response(http::status::payload_too_large, 11, "text/plain", "too large\n");
      } else if (ec == http::error::header_limit) {
        refusal = make_response(http::status::request_header_fields_too_large, 11, "text/plain",
                                "headers too large\n");
      } else if (ec.category() == make_error_code(http::error::bad_method).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        refusal = make_response(http::status::bad_request, 11, "text/plain",
                                "malformed HTTP request: " + ec.message() + "\n");
      }
      if (refusal) {
        refusal->keep_alive(false);
        check_written(*refusal, false);
      }
      return;
    }
    http_request req = parser.release();
    http_response res = route(req);
    res.keep_alive(req.keep_alive());
    const bool head = req.method() == http::verb::head;
    if (head) {
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    check_written(res, head);
    if (!req.keep_alive()) return;
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
