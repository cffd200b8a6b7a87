// JSON-RPC 2.0 over raw TCP (SPEC §2): JSON texts back to back in, one JSON text plus "\n" out
// per answer; several requests in flight per connection, answered as they complete.
#include <boost/asio/as_tuple.hpp>

#include "protocol/jsonrpc/codec.hpp"
#include "transport/transport.hpp"

namespace netcall::detail {
namespace {


void send_text(connection& c, const response& r) {
  thread_local std::string scratch;
  scratch.clear();
  jsonrpc::encode_response(r, scratch);
  scratch += '\n';
  c.send(scratch);
}

void process(const std::shared_ptr<connection>& c, jsonrpc::message m) {
  if (!m.batch) {
    auto& e = m.entries.front();
    if (auto* r = std::get_if<response>(&e)) {
      send_text(*c, *r);
      return;
    }
    auto& req = std::get<request>(e);
    c->shared.metrics.calls_jsonrpc.fetch_add(1, std::memory_order_relaxed);
    thread_local response answer;
    if (c->try_call_now(req, answer)) {
      if (!req.notification) send_text(*c, answer);
      return;
    }
    const bool notification = req.notification;
    connection* raw = c.get();  // kept alive by connection::call until done runs
    c->call(std::move(req), [raw, notification](response r) {
      if (!notification) send_text(*raw, r);
    });
    return;
  }

  struct batch_state {
    std::vector<response> responses;
    std::size_t remaining = 0;
  };
  auto state = std::make_shared<batch_state>();
  state->remaining = m.entries.size();
  state->responses.reserve(m.entries.size());
  auto finish_one = [state, raw = c.get()] {
    if (--state->remaining == 0 && !state->responses.empty()) {
      thread_local std::string scratch;
      scratch.clear();
      jsonrpc::encode_batch(state->responses, scratch);
      scratch += '\n';
      raw->send(scratch);
    }
  };
  // Every entry is dispatched before any answer is written: the batch holds the connection.
  auto keep_alive = c;
  for (auto& e : m.entries) {
    if (auto* r = std::get_if<response>(&e)) {
      state->responses.push_back(std::move(*r));
      finish_one();
      continue;
    }
    auto& req = std::get<request>(e);
    c->shared.metrics.calls_jsonrpc.fetch_add(1, std::memory_order_relaxed);
    const bool notification = req.notification;
    c->call(std::move(req), [state, finish_one, notification](response r) {
      if (!notification) state->responses.push_back(std::move(r));
      finish_one();
    });
  }
}

}  // namespace

sniff_result sniff_jsonrpc_stream(std::string_view first_bytes) {
  for (char ch : first_bytes) {
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    return ch == '{' || ch == '[' ? sniff_result::mine : sniff_result::not_mine;
  }
  return sniff_result::need_more;
}

asio::awaitable<void> serve_jsonrpc_stream(std::shared_ptr<connection> c, std::string initial) {
  jsonrpc::stream_decoder decoder(c->shared.limits, c->shared.options.max_message_bytes);
  std::string_view input(initial);
  for (;;) {
    // Everything answered while processing this read leaves in one write (flush below).
    c->holding = true;
    bool failed = false;
    while (!input.empty() && !failed) {
      jsonrpc::message m;
      const auto status = decoder.feed(input, m);
      if (status == jsonrpc::stream_decoder::status::need_more) break;
      c->touch();
      if (status == jsonrpc::stream_decoder::status::failed) {
        // The stream cannot be resynchronised after a syntax error: answer it, then close.
        c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        failed = true;
      }
      process(c, std::move(m));
    }
    c->holding = false;
    c->flush();
    if (failed) {
      c->close_after_flush();
      co_return;
    }
    if (!co_await read_more(*c, initial, input)) co_return;
  }
}

}  // namespace netcall::detail
