// HTTP/1.1 server session (SPEC §2), parsed by Boost.Beast (http/message.hpp):
//   GET or HEAD /healthz -> 200 "ok"; /metrics -> Prometheus text; any other path -> 404;
//   POST -> the body codec with the strongest claim (a media type, then the path, then the body's
//   first byte: protocol/http/body_codec.hpp), or 415 when none claims it;
//   any other method -> 405.
// Requests are answered in order (HTTP/1.1 pipelining): while the calls of one request run, the
// session stops taking bytes, so what follows waits in the transport, unparsed.
#include <boost/beast/http.hpp>
#include <optional>
#include <vector>

#include "protocol/http/message.hpp"
#include "protocol/http/unit.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/protocols.hpp"

namespace netcall::detail::http {
namespace {

namespace beast_http = boost::beast::http;

sniff_result sniff(std::string_view first_bytes) {
  static constexpr std::string_view methods[] = {"GET ",    "POST ",    "PUT ",
                                                 "HEAD ",   "DELETE ",  "OPTIONS ",
                                                 "PATCH ",  "CONNECT ", "TRACE "};
  for (auto m : methods) {
    if (first_bytes.starts_with(m)) return sniff_result::mine;
    if (first_bytes.size() < m.size() && m.starts_with(first_bytes)) return sniff_result::need_more;
  }
  return sniff_result::not_mine;
}

class session final : public server_session {
 public:
  explicit session(session_host& host)
      : host_(host), reader_(host.limits().max_message_bytes), decoders_(body_codecs().size()) {}

  verdict feed(std::string_view data, std::size_t& consumed) override {
    if (close_after_answer_) return verdict::close;
    for (;;) {
      const auto step = reader_.next(data, consumed);
      switch (step) {
        case http_request_reader::step::need_more:
          return verdict::more;
        case http_request_reader::step::expect_continue:
          host_.output() += http_continue;  // curl and others wait for it before a large body
          continue;
        case http_request_reader::step::refused:
          host_.protocol_error();
          if (const auto& refusal = reader_.refusal()) write(*refusal, 11, false, false);
          return verdict::close;
        case http_request_reader::step::request:
          break;
      }
      http_request req = reader_.take();
      version_ = req.version();
      keep_alive_ = req.keep_alive();
      head_ = req.method() == beast_http::verb::head;
      if (!start(req)) {
        waiting_ = true;
        return verdict::wait;  // on_answer writes the answer and resumes
      }
      if (!keep_alive_) return verdict::close;
    }
  }

  void on_answer(response& answer, reply_tag tag) override {
    if (auto& slot = exchange_.answers[tag.index]) *slot = std::move(answer);
    if (--remaining_ > 0) return;
    complete();
    if (waiting_) {
      waiting_ = false;
      close_after_answer_ = !keep_alive_;
      host_.resume();
    }
  }

 private:
  /// Answers `req` or starts its calls; true when its answer was written.
  bool start(http_request& req) {
    const std::string_view path = target_path(req);
    if (req.method() == beast_http::verb::get || head_) {
      if (path == "/healthz") {
        write(text_answer(200, "ok\n"));
      } else if (path == "/metrics") {
        write({200, "text/plain; version=0.0.4", host_.metrics_text()});
      } else {
        write(text_answer(404, "not found: GET serves /healthz and /metrics; calls are POSTed\n"));
      }
      return true;
    }
    if (req.method() != beast_http::verb::post) {
      write(text_answer(405, "method not allowed\n"));
      return true;
    }
    const std::size_t chosen = choose_codec(req);
    if (chosen == no_codec) {
      write(text_answer(415, "unsupported content type: POST text/xml (XML-RPC) or "
                             "application/json (JSON-RPC)\n"));
      return true;
    }
    codec_ = body_codecs()[chosen];
    auto& decoder = decoders_[chosen];
    if (!decoder) decoder = codec_->make_decoder(host_.limits());

    http_call_headers headers;
    const auto key = req[idempotency_header];
    if (is_idempotency_key(std::string_view(key.data(), key.size()))) {
      headers.idempotency_key = std::string_view(key.data(), key.size());
    }
    exchange_.clear();
    decoder->decode(req.body(), headers, host_.limits(), exchange_);
    for (const auto& a : exchange_.answers) {
      if (a && a->error) host_.protocol_error();  // an entry that could not be decoded
    }
    remaining_ = exchange_.calls.size() + 1;  // one more while the calls are dispatched
    for (auto& [slot, call] : exchange_.calls) {
      request& next = host_.next_request();
      next = std::move(call);
      next.meta.protocol = codec_->name();
      host_.dispatch({this, slot});
    }
    if (--remaining_ > 0) return false;
    complete();
    return true;
  }

  static constexpr std::size_t no_codec = static_cast<std::size_t>(-1);

  /// The body codec with the strongest claim on `req`, or no_codec.
  static std::size_t choose_codec(const http_request& req) {
    const std::string type = media_type(req[beast_http::field::content_type]);
    const std::string_view path = target_path(req);
    std::size_t best = no_codec;
    auto best_claim = body_codec::claim::none;
    const auto codecs = body_codecs();
    for (std::size_t i = 0; i < codecs.size(); ++i) {
      const auto c = codecs[i]->claims(type, path, req.body());
      if (c > best_claim) {
        best_claim = c;
        best = i;
      }
    }
    return best;
  }

  /// Writes the answer of the current exchange.
  void complete() {
    body_.clear();
    codec_->encode_answers(exchange_, body_);
    if (body_.empty()) {
      write({204, {}, {}});  // only notifications: nothing to answer (SPEC §2)
    } else {
      http_answer a{200, codec_->content_type(), {}};
      a.body.swap(body_);
      write(a);
      body_.swap(a.body);  // keep the buffer for the next answer
    }
  }

  void write(const http_answer& a) { write(a, version_, keep_alive_, head_); }

  /// Appends `a` as the answer to a request of `version` (HEAD: headers only, RFC 9110 §9.3.2).
  void write(const http_answer& a, unsigned version, bool keep_alive, bool head) {
    std::string& out = host_.output();
    append_http_head(out, a, version, keep_alive);
    if (!head) out += a.body;
  }

  session_host& host_;
  http_request_reader reader_;
  std::vector<std::unique_ptr<body_decoder>> decoders_;  // one per body codec, made when used

  // The request being answered.
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  const body_codec* codec_ = nullptr;
  exchange exchange_;
  std::size_t remaining_ = 0;
  std::string body_;
  bool waiting_ = false;             // feed returned wait; on_answer resumes
  bool close_after_answer_ = false;  // the answer written after a wait ends the connection
};

std::unique_ptr<server_session> make_session(session_host& host) {
  return std::make_unique<session>(host);
}

}  // namespace

const server_protocol server{"http", &sniff, &make_session};

}  // namespace netcall::detail::http
