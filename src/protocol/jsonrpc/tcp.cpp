// JSON-RPC 2.0 over raw TCP (SPEC §2), both sides.
#include <charconv>
#include <list>
#include <optional>
#include <vector>

#include "protocol/jsonrpc/codec.hpp"
#include "protocol/jsonrpc/unit.hpp"

namespace netcall::detail::jsonrpc {
namespace {

// ---- server -----------------------------------------------------------------------------------

sniff_result sniff(std::string_view first_bytes) {
  const int ch = first_non_space(first_bytes);
  if (ch < 0) return json_sniff_of_whitespace(first_bytes);
  return ch == '{' || ch == '[' ? sniff_result::mine : sniff_result::not_mine;
}

/// Every JSON-RPC answer on TCP is one JSON text followed by a newline.
void send_line(session_host& host, const response& r) {
  std::string& out = host.output();
  encode_response(r, out);
  out += '\n';
}

class session final : public server_session {
 public:
  explicit session(session_host& host)
      : host_(host),
        limits_(host.limits()),
        reader_(limits_.max_depth, limits_.max_message_bytes, json::id_numbers::as_text,
                json::wide_integers::as_text) {
    reader_.set_limits(limits_, limits_.max_batch);
  }

  verdict feed(std::string_view data, std::size_t& consumed) override {
    std::string_view input = data.substr(consumed);
    verdict v = verdict::more;
    while (!input.empty() && v == verdict::more) {
      value text;
      switch (reader_.feed(input, text)) {
        case json::stream_reader::status::need_more:
          break;
        case json::stream_reader::status::complete:
          process(text);
          continue;
        case json::stream_reader::status::failed:
          // Answer it, then close: the stream cannot be resynchronised after a syntax error.
          host_.protocol_error();
          send_line(host_, error_line(status_code::parse_error, "Parse error: " + reader_.error()));
          v = verdict::close;
          continue;
        case json::stream_reader::status::too_large:
          host_.protocol_error();
          send_line(host_, error_line(status_code::resource_exhausted,
                                      "message too large: a JSON text may hold at most " +
                                          std::to_string(limits_.max_message_bytes) + " bytes"));
          v = verdict::close;
          continue;
        case json::stream_reader::status::refused:
          // Over the decoded-size budget or the batch limit: answered, nothing run; the
          // connection goes on (the text was well-formed, so the framing holds).
          host_.protocol_error();
          send_line(host_, refusal_response(reader_.last_refusal(), reader_.error()));
          continue;
      }
      break;
    }
    consumed = data.size();  // the reader keeps what it took of an unfinished text
    return v;
  }

  void on_answer(response& answer, reply_tag tag) override {
    if (tag.state == nullptr) {
      if (tag.index == single_call) send_line(host_, answer);
      return;
    }
    auto& b = *static_cast<batch*>(tag.state);
    if (auto& slot = b.calls.answers[tag.index]) *slot = std::move(answer);
    finish_one(b);
  }

 private:
  /// reply_tag::index of a single request (answered) and a single notification (not answered).
  static constexpr std::size_t single_call = 0;
  static constexpr std::size_t single_notification = 1;

  /// A batch being answered: its calls and answers, how many answers are still to come (plus
  /// one while its calls are being dispatched), and its place in `batches_`.
  struct batch {
    exchange calls;
    std::size_t remaining = 0;
    std::list<batch>::iterator self;
  };

  static response error_line(status_code code, std::string message) {
    response r;
    r.error = make_fault(code, std::move(message));
    return r;
  }

  void process(value& text) {
    if (text.is_struct()) {
      // A single request, decoded straight into the staged call (the common case).
      request& req = host_.next_request();
      response invalid;
      if (!to_request(text, req, invalid)) return send_line(host_, invalid);
      if (reader_.held_wide_integers() && !check_params_integers(req, invalid)) {
        // An integer beyond int64 in params: -32602, not run (a notification: not answered).
        if (!req.notification) send_line(host_, invalid);
        return;
      }
      req.meta.protocol = protocol_names::jsonrpc;
      req.meta.message_bytes = reader_.last_text_bytes();
      host_.dispatch({nullptr, req.notification ? single_notification : single_call});
      return;
    }
    message m = decode_parsed(text, limits_, reader_.held_wide_integers());
    if (!m.batch) {  // not an object, an empty batch or one over the limit: one error
      return send_line(host_, std::get<response>(m.entries.front()));
    }
    auto& b = batches_.emplace_front();
    b.self = batches_.begin();
    to_exchange(m, b.calls);
    b.remaining = b.calls.calls.size() + 1;
    for (auto& [slot, req] : b.calls.calls) {
      request& call = host_.next_request();
      call = std::move(req);
      call.meta.protocol = protocol_names::jsonrpc;
      call.meta.message_bytes = reader_.last_text_bytes();
      host_.dispatch({&b, slot});
    }
    finish_one(b);  // the dispatching is done
  }

  void finish_one(batch& b) {
    if (--b.remaining > 0) return;
    std::string& out = host_.output();
    const std::size_t before = out.size();
    encode_answers(b.calls, out);
    if (out.size() > before) out += '\n';  // a batch of notifications gets no reply (§6)
    batches_.erase(b.self);
  }

  session_host& host_;
  decode_limits limits_;
  json::stream_reader reader_;
  std::list<batch> batches_;
};

std::unique_ptr<server_session> make_session(session_host& host) {
  return std::make_unique<session>(host);
}

// ---- client -----------------------------------------------------------------------------------

/// Answers are JSON texts each followed by a newline (a netcall server's framing); a line may
/// hold one response or a batch of them.
class reader final : public response_reader {
 public:
  explicit reader(const decode_limits& limits)
      : limits_(limits),
        json_(limits.max_depth, json::id_numbers::as_text, json::wide_integers::as_text) {
    json_.set_limits(limits, 0);
  }

  status next(std::string_view data, std::size_t& consumed, response& out,
              fault& why) override {
    if (queued_ < answers_.size()) {
      out = std::move(answers_[queued_++]);
      return status::answer;
    }
    for (;;) {
      const std::string_view rest = data.substr(consumed);
      const auto newline = rest.find('\n');
      if (newline == std::string_view::npos) {
        if (rest.size() > limits_.max_message_bytes) {
          why = make_fault(status_code::resource_exhausted,
                           "answer longer than " + std::to_string(limits_.max_message_bytes) +
                               " bytes");
          return status::failed;
        }
        return status::need_more;
      }
      consumed += newline + 1;
      const std::string_view line = rest.substr(0, newline);
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      answers_.clear();
      queued_ = 0;
      if (!decode_responses(json_, line, answers_, why)) return status::failed;
      out = std::move(answers_[queued_++]);
      return status::answer;
    }
  }

 private:
  decode_limits limits_;
  json::reader json_;
  std::vector<response> answers_;  // the rest of a batch read from one line
  std::size_t queued_ = 0;
};

class client final : public client_protocol {
 public:
  std::string_view name() const override { return protocol_names::jsonrpc; }
  bool multiplexed() const override { return true; }
  void prepare(request& r, std::uint32_t sequence) const override { prepare_request(r, sequence); }
  bool sequence_of(const value& id, std::uint32_t& out) const override {
    return jsonrpc::sequence_of(id, out);
  }
  void encode(const request& r, std::string_view, std::string_view, std::string& out) const override {
    encode_request(r, out);
    out += '\n';
  }
  std::unique_ptr<response_reader> make_reader(const decode_limits& limits,
                                               std::string_view) const override {
    return std::make_unique<reader>(limits);
  }
};

}  // namespace

const server_protocol tcp_server{protocol_names::jsonrpc, &sniff, &make_session};

const client_protocol& tcp_client() {
  static const client instance;
  return instance;
}

void prepare_request(request& r, std::uint32_t sequence) {
  if (r.meta.idempotency_key.empty() || r.notification) {
    r.id = static_cast<std::int64_t>(sequence);
  } else {
    r.id = r.meta.idempotency_key;
  }
}

bool sequence_of(const value& id, std::uint32_t& out) {
  if (id.is_int()) {
    out = static_cast<std::uint32_t>(id.as_int());
    return true;
  }
  if (!id.is_string()) return false;
  const std::string& s = id.as_string();
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data() + colon + 1, s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  out = static_cast<std::uint32_t>(n);
  return true;
}

}  // namespace netcall::detail::jsonrpc
