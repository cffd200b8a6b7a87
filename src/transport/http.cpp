// HTTP/1.1 with keep-alive (SPEC §2), parsed by Boost.Beast:
//   POST with Content-Type text/xml, or POST /RPC2 without a JSON content type -> XML-RPC
//   POST with Content-Type application/json (any path)                        -> JSON-RPC
//   POST with another or no content type: the body's first byte decides ('<' XML, '{'/'[' JSON)
//   GET /healthz -> 200 "ok"; GET /metrics -> Prometheus text; anything else -> 404/405/415.
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <utility>
#include <vector>

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

/// One request's answer in the making. `prepare` answers what it can at once (parse errors,
/// procedures that answer inline: the common case, with no coroutine frame or timer); the
/// calls it could not answer run in `finish`.
class exchange {
 public:
  /// Routes `req`; true when `answer()` is ready, false when `finish` must run first.
  bool prepare(connection& c, const http_request& req) {
    switch (route_of(req)) {
      case http_route::healthz:
        answer_ = text_answer(200, "ok\n");
        return true;
      case http_route::metrics:
        answer_ = {200, "text/plain; version=0.0.4", c.shared.metrics.render()};
        return true;
      case http_route::not_found:
        answer_ = text_answer(404, "not found: GET serves /healthz and /metrics; calls are POSTed\n");
        return true;
      case http_route::method_not_allowed:
        answer_ = text_answer(405, "method not allowed\n");
        return true;
      case http_route::xmlrpc:
        xml_ = true;
        return prepare_xmlrpc(c, req);
      case http_route::jsonrpc:
        return prepare_jsonrpc(c, req);
      case http_route::unsupported_media_type:
        break;
    }
    answer_ = text_answer(415, "unsupported content type: POST text/xml (XML-RPC) or "
                               "application/json (JSON-RPC)\n");
    return true;
  }

  /// Runs the calls `prepare` left and completes the answer.
  asio::awaitable<void> finish(std::shared_ptr<connection> c) {
    std::vector<request> calls;
    calls.reserve(later_.size());
    for (auto& [slot, call] : later_) calls.push_back(std::move(call));
    std::vector<response> results = co_await call_all(std::move(c), std::move(calls));
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto& slot = slots_[later_[i].first];
      if (slot) *slot = std::move(results[i]);  // nullopt: a notification, not answered
    }
    later_.clear();
    complete();
  }

  /// The answer (after `prepare` returned true or `finish` completed).
  http_answer& answer() { return answer_; }

 private:
  bool prepare_xmlrpc(connection& c, const http_request& req) {
    request call;
    fault failure;
    slots_.emplace_back(response{});
    if (!xmlrpc::decode_call(req.body(), c.shared.limits, call, failure)) {
      c.shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
      slots_.back()->error = std::move(failure);
      complete();
      return true;
    }
    c.shared.metrics.calls_xmlrpc.fetch_add(1, std::memory_order_relaxed);
    // XML-RPC has no request id: the idempotency key travels in an HTTP header (SPEC §4).
    const auto key = req[idempotency_header];
    if (is_idempotency_key(std::string_view(key.data(), key.size()))) {
      call.idempotency_key = std::string(key);
    }
    return run_or_defer(c, std::move(call));
  }

  bool prepare_jsonrpc(connection& c, const http_request& req) {
    jsonrpc::message m = jsonrpc::decode(req.body(), c.shared.limits);
    batch_ = m.batch;
    std::int64_t calls = 0;
    bool answered = true;
    for (auto& e : m.entries) {
      if (auto* r = std::get_if<response>(&e)) {
        c.shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        slots_.emplace_back(std::move(*r));
        continue;
      }
      ++calls;
      auto& call = std::get<request>(e);
      slots_.emplace_back(call.notification ? std::nullopt : std::optional<response>(response{}));
      answered = run_or_defer(c, std::move(call)) && answered;
    }
    c.shared.metrics.calls_jsonrpc.fetch_add(calls, std::memory_order_relaxed);
    if (answered) complete();
    return answered;
  }

  /// Answers the call in the last slot at once if its procedure can; else leaves it for
  /// `finish`. True when answered.
  bool run_or_defer(connection& c, request call) {
    response now;
    if (c.try_call_now(call, now)) {
      if (slots_.back()) *slots_.back() = std::move(now);
      if (xml_) complete();
      return true;
    }
    later_.emplace_back(slots_.size() - 1, std::move(call));
    return false;
  }

  /// Encodes the slots into the answer's body.
  void complete() {
    if (xml_) {
      answer_.content_type = "text/xml";
      xmlrpc::encode_response(*slots_.front(), answer_.body);
      return;
    }
    std::vector<response> answers;
    for (auto& slot : slots_) {
      if (slot) answers.push_back(std::move(*slot));
    }
    if (answers.empty()) {
      answer_ = {204, {}, {}};  // only notifications: nothing to answer (SPEC §2)
      return;
    }
    answer_.content_type = "application/json";
    if (batch_) {
      jsonrpc::encode_batch(answers, answer_.body);
    } else {
      jsonrpc::encode_response(answers.front(), answer_.body);
    }
  }

  bool xml_ = false;
  bool batch_ = false;
  std::vector<std::optional<response>> slots_;  // answers in request order; nullopt: none
  std::vector<std::pair<std::size_t, request>> later_;  // (slot, call) still to run
  http_answer answer_;
};

/// Counts one answer as an active write for its lifetime (transport_metrics::writes_active).
class answer_guard {
 public:
  explicit answer_guard(transport_metrics& metrics) : metrics_(metrics) {
    metrics_.writes_active.fetch_add(1, std::memory_order_relaxed);
  }
  ~answer_guard() { metrics_.writes_active.fetch_sub(1, std::memory_order_relaxed); }
  answer_guard(const answer_guard&) = delete;
  answer_guard& operator=(const answer_guard&) = delete;

 private:
  transport_metrics& metrics_;
};

/// Queues `a` as the answer to a request of `version` (HEAD: headers only, RFC 9110 §9.3.2).
void send_answer(connection& c, const http_answer& a, unsigned version, bool keep_alive,
                 bool head) {
  thread_local std::string scratch;
  scratch.clear();
  append_http_head(scratch, a, version, keep_alive);
  c.send(scratch);
  if (!head && !a.body.empty()) c.send(a.body);
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
  http_request_reader reader(c->shared.options.max_message_bytes);
  // Bytes received and not taken by the parser yet: the start of a head that has not fully
  // arrived (at most the 64 KiB head limit plus one read), or requests pipelined behind one
  // whose answer is awaited.
  std::string pending;
  std::string_view input(initial);
  for (;;) {
    std::string_view data = input;
    if (!pending.empty()) {
      pending.append(input);
      data = pending;
    }
    std::size_t consumed = 0;
    bool close = false;
    c->holding = true;  // every answer this read produces leaves in one write
    while (!close) {
      const auto step = reader.next(data, consumed);
      if (step == http_request_reader::step::need_more) break;
      if (step == http_request_reader::step::expect_continue) {
        // curl and others wait for this before sending a large body.
        c->send(http_continue);
        continue;
      }
      if (step == http_request_reader::step::refused) {
        c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        if (const auto& refusal = reader.refusal()) send_answer(*c, *refusal, 11, false, false);
        close = true;
        break;
      }
      c->touch();
      const http_request req = reader.take();
      const bool keep_alive = req.keep_alive();
      const bool head = req.method() == http::verb::head;
      exchange x;
      if (!x.prepare(*c, req)) {
        // Answers go out in request order (HTTP/1.1 pipelining): keep what follows this request
        // (`data` may be the loop's shared read buffer) and wait for this one's calls.
        keep_unparsed(pending, data, consumed);
        data = pending;
        consumed = 0;
        c->holding = false;
        c->flush();
        // The answer counts as a write from now until its write has started, so shutdown
        // does not stop the loop between the calls' end and the answer leaving (the calls'
        // completion resumes this coroutine later, from the loop's queue).
        answer_guard guard(c->shared.metrics);
        co_await x.finish(c);
        if (c->closed()) co_return;
        send_answer(*c, x.answer(), req.version(), keep_alive, head);
        c->flush();
        c->holding = true;
        close = !keep_alive;
        continue;
      }
      send_answer(*c, x.answer(), req.version(), keep_alive, head);
      close = !keep_alive;
    }
    c->holding = false;
    c->flush();
    if (close) {
      c->close_after_flush();
      co_return;
    }
    keep_unparsed(pending, data, consumed);
    // At the end of the stream a request cut short is dropped; answers already queued go out.
    if (!co_await read_more(*c, initial, input)) co_return;
  }
}

}  // namespace netcall::detail
