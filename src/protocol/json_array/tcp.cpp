// Positional JSON array calls over raw TCP (SPEC §2).
#include "protocol/json_array/unit.hpp"
#include "common/utf8.hpp"
#include "value/json.hpp"

namespace netcall::detail::json_array {
namespace {

bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

/// Whitespace after `[` beyond which the text is left to JSON-RPC (a call names its method
/// right away; a batch may be spread out any way it likes).
constexpr std::size_t max_space_after_bracket = 1024;

/// `[` then (after whitespace) `"`: the first element of the array is a string.
sniff_result sniff(std::string_view first_bytes) {
  std::size_t i = 0;
  while (i < first_bytes.size() && is_space(first_bytes[i])) ++i;
  if (i == first_bytes.size()) return json_sniff_of_whitespace(first_bytes);
  if (first_bytes[i] != '[') return sniff_result::not_mine;
  const std::size_t bracket = i++;
  while (i < first_bytes.size() && is_space(first_bytes[i])) ++i;
  if (i == first_bytes.size()) {
    return i - bracket > max_space_after_bracket ? sniff_result::not_mine
                                                 : sniff_result::need_more;
  }
  return first_bytes[i] == '"' ? sniff_result::mine : sniff_result::not_mine;
}

class session final : public server_session {
 public:
  explicit session(session_host& host)
      : host_(host),
        reader_(host.limits().max_depth, host.limits().max_message_bytes,
                json::id_numbers::as_values, json::wide_integers::as_text) {
    reader_.set_limits(host.limits(), 0);
  }

  verdict feed(std::string_view data, std::size_t& consumed) override {
    for (;;) {
      std::string_view input = data.substr(consumed);
      if (input.empty()) return verdict::more;
      value text;
      const auto status = reader_.feed(input, text);
      consumed = data.size() - input.size();
      switch (status) {
        case json::stream_reader::status::need_more:
          return verdict::more;
        case json::stream_reader::status::failed:
          host_.protocol_error();
          send_error(make_fault(status_code::parse_error, "Parse error: " + reader_.error()));
          return verdict::close;  // a byte stream cannot be resynchronised
        case json::stream_reader::status::too_large:
          host_.protocol_error();
          send_error(make_fault(status_code::resource_exhausted,
                                "message too large: a JSON text may hold at most " +
                                    std::to_string(host_.limits().max_message_bytes) + " bytes"));
          return verdict::close;
        case json::stream_reader::status::refused:
          // Over the decoded-size budget: answered, not run; the stream goes on.
          host_.protocol_error();
          send_error(make_fault(status_code::resource_exhausted,
                                "message too large: " + reader_.error()));
          continue;
        case json::stream_reader::status::complete:
          break;
      }
      if (!start(text)) {
        waiting_ = true;
        return verdict::wait;
      }
    }
  }

  void on_answer(response& answer, reply_tag) override {
    if (answer.error) {
      send_error(*answer.error);
    } else {
      std::string& out = host_.output();
      json::write(answer.result, out);
      out += '\n';
    }
    answered_ = true;
    if (waiting_) {
      waiting_ = false;
      host_.resume();
    }
  }

 private:
  /// Runs the call in `text`; true when it was answered at once.
  bool start(value& text) {
    array* a = std::get_if<array>(&text.get());
    if (a == nullptr || a->empty() || !a->front().is_string()) {
      host_.protocol_error();
      send_error(make_fault(status_code::invalid_request,
                            "Invalid Request: a call is a JSON array whose first element is the "
                            "method name"));
      return true;
    }
    if (reader_.held_wide_integers()) {
      // An integer beyond int64 among the params: -32602 naming it, not run (never a double).
      if (const std::string* wide = json::find_wide_integer(text)) {
        host_.protocol_error();
        send_error(make_fault(status_code::invalid_params,
                              "invalid params: " + json::describe_wide_integer(*wide)));
        return true;
      }
    }
    request& req = host_.next_request();
    req.method = std::move(a->front().as_string());
    a->erase(a->begin());
    req.params = std::move(text);
    req.id = value();
    req.notification = false;
    req.meta.idempotency_key.clear();
    req.meta.protocol = protocol_names::json_array;
    req.meta.message_bytes = reader_.last_text_bytes();
    answered_ = false;
    host_.dispatch({});
    return answered_;
  }

  void send_error(const fault& f) {
    std::string& out = host_.output();
    out += R"({"error":{"code":)";
    json::write_int(f.code, out);
    out += R"(,"message":)";
    std::string escaped;  // a message may quote a peer's bytes: never raw (utf8.hpp)
    json::write_string(valid_utf8_text(f.message, escaped), out);
    out += "}}\n";
  }

  session_host& host_;
  json::stream_reader reader_;
  bool answered_ = false;
  bool waiting_ = false;
};

std::unique_ptr<server_session> make_session(session_host& host) {
  return std::make_unique<session>(host);
}

}  // namespace

const server_protocol tcp_server{protocol_names::json_array, &sniff, &make_session};

}  // namespace netcall::detail::json_array
