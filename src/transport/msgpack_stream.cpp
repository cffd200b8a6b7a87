// MessagePack-RPC over raw TCP (SPEC §2): messages back to back in both directions; requests
// are answered as they complete (out of order), all answers of one read in one write.
#include "protocol/msgpack/codec.hpp"
#include "transport/transport.hpp"

namespace netcall::detail {
namespace {


void send_response(connection& c, const response& r) {
  thread_local std::string scratch;
  scratch.clear();
  msgpack::encode_response(r, scratch);
  c.send(scratch);
}

void process(const std::shared_ptr<connection>& c, std::string_view message) {
  // Reused per event loop: a call answered at once allocates nothing (issue 4).
  thread_local request req;
  thread_local response answer;
  switch (msgpack::decode_request_into(message, c->shared.limits, req, answer)) {
    case msgpack::decoded::answer:
      c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
      send_response(*c, answer);
      return;
    case msgpack::decoded::nothing:
      // Not a request or notification, and no msgid to address an answer to: dropped.
      c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
      return;
    case msgpack::decoded::request:
      break;
  }
  c->shared.metrics.calls_msgpack.fetch_add(1, std::memory_order_relaxed);
  if (c->try_call_now(req, answer)) {
    if (!req.notification) send_response(*c, answer);
    return;
  }
  const bool notification = req.notification;
  connection* raw = c.get();  // kept alive by connection::call until done runs
  c->call(std::move(req), [raw, notification](response r) {
    if (!notification) send_response(*raw, r);
  });
}

}  // namespace

sniff_result sniff_msgpack_stream(std::string_view first_bytes) {
  if (first_bytes.empty()) return sniff_result::need_more;
  // A request [0, ...] or notification [2, ...] is a fixarray of 3 to 5 elements.
  const auto b = static_cast<unsigned char>(first_bytes[0]);
  return b >= 0x93 && b <= 0x95 ? sniff_result::mine : sniff_result::not_mine;
}

asio::awaitable<void> serve_msgpack_stream(std::shared_ptr<connection> c, std::string initial) {
  msgpack::frame_scanner scanner(c->shared.options.max_depth, c->shared.options.max_message_bytes);
  std::string pending;  // the start of a message that has not fully arrived
  std::string_view input(initial);
  for (;;) {
    std::string_view data = input;
    if (!pending.empty()) {
      pending.append(input);
      data = pending;
    }
    c->holding = true;
    std::size_t consumed = 0;
    bool failed = false;
    while (consumed < data.size()) {
      const auto status = scanner.scan(data.substr(consumed));
      if (status == msgpack::frame_scanner::status::need_more) break;
      if (status != msgpack::frame_scanner::status::complete) {
        // Invalid bytes or an oversized message: no msgid to answer to, and the stream cannot
        // be resynchronised, so only this connection is closed.
        c->shared.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        failed = true;
        break;
      }
      c->touch();
      process(c, data.substr(consumed, scanner.size()));
      consumed += scanner.size();
      scanner.reset();
    }
    c->holding = false;
    c->flush();
    if (failed) {
      c->close_after_flush();
      co_return;
    }
    keep_unparsed(pending, data, consumed);
    if (!co_await read_more(*c, initial, input)) co_return;
  }
}

}  // namespace netcall::detail
