// HTTP/1.1 with keep-alive (SPEC §2), parsed by Boost.Beast:
//   POST with Content-Type text/xml, or POST /RPC2 without a JSON content type -> XML-RPC
//   POST with Content-Type application/json (any path)                        -> JSON-RPC
//   POST with another or no content type: the body's first byte decides ('<' XML, '{'/'[' JSON)
//   GET /healthz -> 200 "ok"; GET /metrics -> Prometheus text; anything else -> 404/405/415.
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "protocol/idempotency.hpp"
#include "protocol/jsonrpc/codec.hpp"
#include "protocol/xmlrpc/codec.hpp"
#include "transport/http_routing.hpp"
#include "transport/transport.hpp"

namespace netcall::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

using http_response = http::response<http::string_body>;

http_response make_response(http::status status, unsigned version, std::string_view type,
                            std::string body) {
  http_response res(status, version);
  res.set(http::field::server, "netcall");
  if (!type.empty()) res.set(http::field::content_type, type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Runs every request on the connection's loop and waits for all their responses (in order).
asio::awaitable<std::vector<response>> call_all(std::shared_ptr<connection> c,
                                                std::vector<request> requests) {
  struct state {
    std::vector<response> responses;
    std::size_t remaining;
    asio::steady_timer done;
  };
  auto s = std::make_shared<state>(state{std::vector<response>(requests.size()), requests.size(),
                                         asio::steady_timer(c->socket.get_executor())});
  for (std::size_t i = 0; i < requests.size(); ++i) {
    c->call(std::move(requests[i]), [s, i](response r) {
      s->responses[i] = std::move(r);
      if (--s->remaining == 0) s->done.cancel();
    });
  }
  // Answers that were not ready inline arrive later on this same loop: wait for the last one.
  if (s->remaining > 0) {
    s->done.expires_at(std::chrono::steady_clock::time_point::max());
    while (s->remaining > 0) co_await s->done.async_wait(use_nothrow);
  }
  co_return std::move(s->responses);
}

asio::awaitable<http_response> serve_xmlrpc(std::shared_ptr<connection> c,
                                            const http::request<http::string_body>& req) {
  request call;
  fault failure;
  response answer;
  if (!xmlrpc::decode_call(req.body(), c->shared.limits, call, failure)) {
    c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
    answer.error = failure;
  } else {
    c->shared.metrics.calls_xmlrpc.fetch_add(1, std::memory_order_relaxed);
    // XML-RPC has no request id: the idempotency key travels in an HTTP header (SPEC §4).
    const auto key = req[idempotency_header];
    if (is_idempotency_key(std::string_view(key.data(), key.size()))) {
      call.idempotency_key = std::string(key);
    }
    std::vector<request> one;
    one.push_back(std::move(call));
    answer = std::move((co_await call_all(c, std::move(one))).front());
  }
  std::string body;
  xmlrpc::encode_response(answer, body);
  co_return make_response(http::status::ok, req.version(), "text/xml", std::move(body));
}

asio::awaitable<http_response> serve_jsonrpc(std::shared_ptr<connection> c,
                                             const http::request<http::string_body>& req) {
  jsonrpc::message m = jsonrpc::decode(req.body(), c->shared.limits);
  std::vector<request> calls;
  std::vector<response> answers;
  std::vector<bool> notification;
  for (auto& e : m.entries) {
    if (auto* r = std::get_if<response>(&e)) {
      answers.push_back(std::move(*r));
    } else {
      auto& call = std::get<request>(e);
      notification.push_back(call.notification);
      calls.push_back(std::move(call));
    }
  }
  if (!answers.empty()) c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
  c->shared.metrics.calls_jsonrpc.fetch_add(static_cast<std::int64_t>(calls.size()),
                                            std::memory_order_relaxed);
  if (!calls.empty()) {
    auto results = co_await call_all(c, std::move(calls));
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!notification[i]) answers.push_back(std::move(results[i]));
    }
  }
  if (answers.empty()) {
    // Only notifications: nothing to answer (SPEC §2: 204).
    co_return make_response(http::status::no_content, req.version(), {}, {});
  }
  std::string body;
  if (m.batch) {
    jsonrpc::encode_batch(answers, body);
  } else {
    jsonrpc::encode_response(answers.front(), body);
  }
  co_return make_response(http::status::ok, req.version(), "application/json", std::move(body));
}

asio::awaitable<http_response> route(std::shared_ptr<connection> c,
                                     const http::request<http::string_body>& req) {
  const unsigned version = req.version();
  switch (route_of(req)) {
    case http_route::healthz:
      co_return make_response(http::status::ok, version, "text/plain", "ok\n");
    case http_route::metrics:
      co_return make_response(http::status::ok, version, "text/plain; version=0.0.4",
                              c->shared.metrics.render());
    case http_route::not_found:
      co_return make_response(http::status::not_found, version, "text/plain",
                              "not found: GET serves /healthz and /metrics; calls are POSTed\n");
    case http_route::method_not_allowed: {
      auto res = make_response(http::status::method_not_allowed, version, "text/plain",
                               "method not allowed\n");
      res.set(http::field::allow, "GET, HEAD, POST");
      co_return res;
    }
    case http_route::xmlrpc:
      co_return co_await serve_xmlrpc(c, req);
    case http_route::jsonrpc:
      co_return co_await serve_jsonrpc(c, req);
    case http_route::unsupported_media_type:
      break;
  }
  co_return make_response(http::status::unsupported_media_type, version, "text/plain",
                          "unsupported content type: POST text/xml (XML-RPC) or "
                          "application/json (JSON-RPC)\n");
}

}  // namespace

sniff_result sniff_http(std::string_view first_bytes) {
  static constexpr std::string_view methods[] = {"GET ",    "POST ",    "PUT ",
                                                 "HEAD ",   "DELETE ",  "OPTIONS ",
                                                 "PATCH ",  "CONNECT ", "TRACE "};
  for (auto m : methods) {
    if (first_bytes.starts_with(m)) return sniff_result::mine;
    if (first_bytes.size() < m.size() && m.starts_with(first_bytes)) return sniff_result::need_more;
  }
  return sniff_result::not_mine;
}

asio::awaitable<void> serve_http(std::shared_ptr<connection> c, std::string initial) {
  beast::flat_buffer buffer;
  buffer.commit(asio::buffer_copy(buffer.prepare(initial.size()), asio::buffer(initial)));
  for (;;) {
    http_request_parser parser;
    limit_request_parser(parser, c->shared.options.max_message_bytes);
    auto [ec, n] = co_await http::async_read_header(c->socket, buffer, parser, use_nothrow);
    if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a large body.
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      std::tie(ec, n) = co_await asio::async_write(c->socket, asio::buffer(go_on), use_nothrow);
    }
    if (!ec && !parser.is_done()) {
      std::tie(ec, n) = co_await http::async_read(c->socket, buffer, parser, use_nothrow);
    }
    if (ec) {
      std::optional<http_response> refusal;
      if (ec == http::error::body_limit) {
        refusal = make_response(http::status::payload_too_large, 11, "text/plain",
                                "message larger than --max-message-bytes\n");
      } else if (ec == http::error::header_limit) {
        refusal = make_response(http::status::request_header_fields_too_large, 11, "text/plain",
                                "headers too large\n");
      } else if (ec.category() == make_error_code(http::error::bad_method).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        refusal = make_response(http::status::bad_request, 11, "text/plain",
                                "malformed HTTP request: " + ec.message() + "\n");
      }
      if (refusal && !c->closed()) {
        c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        refusal->keep_alive(false);
        co_await http::async_write(c->socket, *refusal, use_nothrow);
      }
      c->close();
      co_return;
    }
    c->touch();
    auto req = parser.release();
    // Counted from here to the end of the write, so shutdown never cuts an answer in between.
    c->shared.metrics.writes_active.fetch_add(1, std::memory_order_relaxed);
    http_response res = co_await route(c, req);
    res.keep_alive(req.keep_alive());
    if (req.method() == http::verb::head) {
      // RFC 9110 §9.3.2: the headers GET would send, no body.
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    auto [wec, written] = co_await http::async_write(c->socket, res, use_nothrow);
    c->shared.metrics.writes_active.fetch_sub(1, std::memory_order_relaxed);
    if (wec || !req.keep_alive()) {
      c->close();
      co_return;
    }
    c->touch();
  }
}

}  // namespace netcall::detail
