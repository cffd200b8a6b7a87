// XML-RPC in HTTP bodies (SPEC §2): one <methodCall> per POST, one <methodResponse> back.
#include "protocol/idempotency.hpp"
#include "protocol/protocol.hpp"
#include "protocol/xmlrpc/codec.hpp"
#include "protocol/xmlrpc/unit.hpp"

namespace netcall::detail::xmlrpc {
namespace {

class decoder final : public body_decoder {
 public:
  void decode(std::string_view body, const http_call_headers& headers, const decode_limits& limits,
              exchange& x) override {
    request call;
    fault failure;
    if (!decode_call(body, limits, call, failure)) {
      response r;
      r.error = std::move(failure);
      x.answers.emplace_back(std::move(r));
      return;
    }
    // XML-RPC has no request id: the idempotency key travels in an HTTP header (SPEC §4).
    call.meta.idempotency_key = std::string(headers.idempotency_key);
    x.answers.emplace_back(response{});
    x.calls.emplace_back(0, std::move(call));
  }
};

class codec final : public body_codec {
 public:
  std::string_view name() const override { return protocol_names::xmlrpc; }
  std::string_view content_type() const override { return "text/xml"; }
  std::string_view path() const override { return "/RPC2"; }

  /// An XML media type, or a POST to /RPC2 whose body is XML (the HTTP unit refuses the media
  /// types a web page can POST unasked before asking: SPEC §6).
  claim claims(std::string_view type, std::string_view path, std::string_view body) const override {
    if (type == "text/xml" || type == "application/xml") return claim::media_type;
    if (path == "/RPC2" && first_non_space(body) == '<') return claim::path;
    return claim::none;
  }

  std::unique_ptr<body_decoder> make_decoder(const decode_limits&) const override {
    return std::make_unique<decoder>();
  }

  void encode_answers(exchange& x, std::string& body) const override {
    encode_response(*x.answers.front(), body);
  }

  bool has_notifications() const override { return false; }
  void prepare(request&, std::uint32_t) const override {}  // no id; the key goes in a header
  void encode_call(const request& r, std::string& body) const override {
    xmlrpc::encode_call(r, body);
  }
  bool decode_answer(std::string_view body, const decode_limits& limits, response& out,
                     fault& why) const override {
    return decode_response(body, limits, out, why);
  }
};

}  // namespace

const body_codec& http_body() {
  static const codec instance;
  return instance;
}

}  // namespace netcall::detail::xmlrpc
