// MessagePack-RPC over raw TCP (SPEC §2), both sides.
#include "protocol/msgpack/codec.hpp"
#include "protocol/msgpack/unit.hpp"

namespace netcall::detail::msgpack {
namespace {

// ---- server -----------------------------------------------------------------------------------

sniff_result sniff(std::string_view first_bytes) {
  if (first_bytes.empty()) return sniff_result::need_more;
  // A request [0, ...] or notification [2, ...] is a fixarray of 3 to 5 elements.
  const auto b = static_cast<unsigned char>(first_bytes[0]);
  return b >= 0x93 && b <= 0x95 ? sniff_result::mine : sniff_result::not_mine;
}

class session final : public server_session {
 public:
  explicit session(session_host& host)
      : host_(host),
        limits_(host.limits()),
        scanner_(limits_) {}

  verdict feed(std::string_view data, std::size_t& consumed) override {
    while (consumed < data.size()) {
      const std::string_view rest = data.substr(consumed);
      const auto status = scanner_.scan(rest);
      if (status == frame_scanner::status::need_more) break;
      if (status == frame_scanner::status::over_budget) {
        // Whole and well-formed, too costly to decode: refused unread (a request gets -32001);
        // the stream goes on.
        refuse_over_budget(rest.substr(0, scanner_.size()));
        consumed += scanner_.size();
        scanner_.reset();
        continue;
      }
      if (status != frame_scanner::status::complete) {
        // Invalid bytes or an oversized message: no msgid to answer to, and the stream cannot
        // be resynchronised, so only this connection is closed.
        host_.protocol_error();
        return verdict::close;
      }
      process(rest.substr(0, scanner_.size()));
      consumed += scanner_.size();
      scanner_.reset();
    }
    return verdict::more;
  }

  void on_answer(response& answer, reply_tag tag) override {
    if (tag.index == call) encode_response(answer, host_.output());
  }

 private:
  /// reply_tag::index of a request (answered) and a notification (not answered).
  static constexpr std::size_t call = 0;
  static constexpr std::size_t notification = 1;

  void refuse_over_budget(std::string_view message) {
    host_.protocol_error();
    std::int64_t msgid = 0;
    if (!request_msgid(message, msgid)) return;  // a notification: dropped
    response refusal;
    refusal.id = msgid;
    refusal.error = make_fault(status_code::resource_exhausted,
                               over_budget_reason(scanner_) + "; not run");
    encode_response(refusal, host_.output());
  }

  void process(std::string_view message) {
    // Decoded straight into a pooled call's storage: a small call allocates nothing.
    request& req = host_.next_request();
    if (!decode_request_into(message, limits_, req, error_)) {
      host_.protocol_error();
      // Without a msgid to address an answer to (a notification, a response sent to a server),
      // the message is dropped.
      if (!req.id.is_nil()) {
        response refusal;
        refusal.id = req.id;
        refusal.error = error_;
        encode_response(refusal, host_.output());
      }
      return;
    }
    req.meta.protocol = protocol_names::msgpack;
    req.meta.message_bytes = message.size();
    host_.dispatch({nullptr, req.notification ? notification : call});
  }

  session_host& host_;
  decode_limits limits_;
  frame_scanner scanner_;
  fault error_;
};

std::unique_ptr<server_session> make_session(session_host& host) {
  return std::make_unique<session>(host);
}

// ---- client -----------------------------------------------------------------------------------

class reader final : public response_reader {
 public:
  explicit reader(const decode_limits& limits) : scanner_(limits) {}

  status next(std::string_view data, std::size_t& consumed, response& out,
              fault& why) override {
    const std::string_view rest = data.substr(consumed);
    if (rest.empty()) return status::need_more;
    const auto st = scanner_.scan(rest);
    if (st == frame_scanner::status::need_more) return status::need_more;
    if (st == frame_scanner::status::too_large) {
      why = make_fault(status_code::resource_exhausted, "answer over the size limit");
      return status::failed;
    }
    if (st == frame_scanner::status::over_budget) {
      why = make_fault(status_code::resource_exhausted, "answer refused: " + over_budget_reason(scanner_));
      return status::failed;
    }
    if (st != frame_scanner::status::complete) {
      why = make_fault(status_code::parse_error, scanner_.reason());
      return status::failed;
    }
    const std::size_t size = scanner_.size();
    scanner_.reset();
    if (!decode_framed_response(rest.substr(0, size), out, why)) return status::failed;
    consumed += size;
    return status::answer;
  }

 private:
  frame_scanner scanner_;
};

class client final : public client_protocol {
 public:
  std::string_view name() const override { return protocol_names::msgpack; }
  bool multiplexed() const override { return true; }
  void prepare(request& r, std::uint32_t sequence) const override {
    r.id = static_cast<std::int64_t>(sequence);  // the key is a fifth element (codec.hpp)
  }
  bool sequence_of(const value& id, std::uint32_t& out) const override {
    if (!id.is_int()) return false;
    out = static_cast<std::uint32_t>(id.as_int());
    return true;
  }
  void encode(const request& r, std::string_view, std::string_view, std::string& out) const override {
    encode_request(r, out);
  }
  std::unique_ptr<response_reader> make_reader(const decode_limits& limits,
                                               std::string_view) const override {
    return std::make_unique<reader>(limits);
  }
};

}  // namespace

const server_protocol tcp_server{protocol_names::msgpack, &sniff, &make_session};

const client_protocol& tcp_client() {
  static const client instance;
  return instance;
}

}  // namespace netcall::detail::msgpack
