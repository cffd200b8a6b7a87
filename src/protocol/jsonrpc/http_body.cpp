// JSON-RPC 2.0 in HTTP bodies (SPEC §2): `POST` with a JSON content type at any path, one
// request or one batch per body; answered with the response (errors included) or 204 when the
// body held only notifications.
#include "protocol/jsonrpc/codec.hpp"
#include "protocol/jsonrpc/unit.hpp"
#include "protocol/protocol.hpp"

namespace netcall::detail::jsonrpc {
namespace {

class decoder final : public body_decoder {
 public:
  explicit decoder(std::size_t max_depth)
      : json_(max_depth, json::id_numbers::as_text, json::wide_integers::as_text) {}

  void decode(std::string_view body, const http_call_headers&, const decode_limits& limits,
              exchange& x) override {
    // The idempotency key travels in the request id (codec.hpp), not the HTTP header.
    message m = jsonrpc::decode(json_, body, limits);
    to_exchange(m, x);
  }

 private:
  json::reader json_;
};

class codec final : public body_codec {
 public:
  std::string_view name() const override { return protocol_names::jsonrpc_http; }
  std::string_view content_type() const override { return "application/json"; }
  std::string_view path() const override { return "/"; }

  /// Only a JSON media type: a body that merely looks like JSON is not enough, since a web
  /// page can POST any text as text/plain without asking (SPEC §6).
  claim claims(std::string_view type, std::string_view, std::string_view) const override {
    if (type == "application/json" || type == "application/json-rpc" ||
        type == "application/jsonrequest" || type.ends_with("+json")) {
      return claim::media_type;
    }
    return claim::none;
  }

  std::unique_ptr<body_decoder> make_decoder(const decode_limits& limits) const override {
    return std::make_unique<decoder>(limits.max_depth);
  }

  void encode_answers(exchange& x, std::string& body) const override {
    jsonrpc::encode_answers(x, body);  // empty when only notifications: HTTP 204 (SPEC §2)
  }

  bool has_notifications() const override { return true; }
  void prepare(request& r, std::uint32_t sequence) const override {
    prepare_request(r, sequence);
  }
  void encode_call(const request& r, std::string& body) const override {
    encode_request(r, body);
  }
  bool decode_answer(std::string_view body, const decode_limits& limits, response& out,
                     fault& why) const override {
    std::vector<response> answers;
    if (!decode_responses(body, limits, answers, why)) return false;
    if (answers.size() != 1) {
      why = make_fault(status_code::invalid_request, "expected one response");
      return false;
    }
    out = std::move(answers.front());
    return true;
  }
};

}  // namespace

const body_codec& http_body() {
  static const codec instance;
  return instance;
}

}  // namespace netcall::detail::jsonrpc
