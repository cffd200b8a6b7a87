// JSON-RPC 2.0 in HTTP bodies (SPEC §2): `POST` with a JSON content type at any path, one
// request or one batch per body; answered with the response (errors included) or 204 when the
// body held only notifications.
#include "protocol/jsonrpc/codec.hpp"
#include "protocol/jsonrpc/unit.hpp"

namespace netcall::detail::jsonrpc {
namespace {

class decoder final : public body_decoder {
 public:
  explicit decoder(std::size_t max_depth) : json_(max_depth) {}

  void decode(std::string_view body, const http_call_headers&, const decode_limits& limits,
              body_exchange& x) override {
    // The idempotency key travels in the request id (codec.hpp), not the HTTP header.
    message m = jsonrpc::decode(json_, body, limits);
    x.batch = m.batch;
    for (auto& e : m.entries) {
      if (auto* r = std::get_if<response>(&e)) {
        x.answers.emplace_back(std::move(*r));
        continue;
      }
      auto& req = std::get<request>(e);
      x.answers.emplace_back(req.notification ? std::nullopt
                                              : std::optional<response>(response{}));
      x.calls.emplace_back(x.answers.size() - 1, std::move(req));
    }
  }

 private:
  json::reader json_;
};

class codec final : public body_codec {
 public:
  std::string_view name() const override { return protocol_names::jsonrpc_http; }
  std::string_view content_type() const override { return "application/json"; }
  std::string_view path() const override { return "/"; }

  claim claims(std::string_view type, std::string_view, std::string_view body) const override {
    if (type == "application/json" || type == "application/json-rpc" ||
        type == "application/jsonrequest" || type.ends_with("+json")) {
      return claim::media_type;
    }
    for (char ch : body) {
      if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
      return ch == '{' || ch == '[' ? claim::body : claim::none;
    }
    return claim::none;
  }

  std::unique_ptr<body_decoder> make_decoder(const decode_limits& limits) const override {
    return std::make_unique<decoder>(limits.max_depth);
  }

  void encode_answers(body_exchange& x, std::string& body) const override {
    if (!x.batch) {
      if (!x.answers.empty() && x.answers.front()) encode_response(*x.answers.front(), body);
      return;
    }
    std::vector<response> answers;
    answers.reserve(x.answers.size());
    for (auto& a : x.answers) {
      if (a) answers.push_back(std::move(*a));
    }
    if (answers.empty()) return;  // only notifications: nothing to answer (SPEC §2)
    if (x.batch) {
      encode_batch(answers, body);
    } else {
      encode_response(answers.front(), body);
    }
  }

  bool has_notifications() const override { return true; }
  void prepare(request& r, std::uint32_t sequence) const override {
    prepare_request(r, sequence);
  }
  void encode_call(const request& r, std::string& body) const override {
    encode_request(r, body);
  }
  bool decode_answer(std::string_view body, const decode_limits& limits, response& out,
                     std::string& why) const override {
    std::vector<response> answers;
    if (!decode_responses(body, limits, answers, why)) return false;
    if (answers.size() != 1) {
      why = "expected one response";
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
