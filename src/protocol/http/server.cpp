// HTTP/1.1 server session (SPEC §2, §6), parsed by Boost.Beast (http/message.hpp). In order:
//   a Host that is not the server's (DNS rebinding) -> 403 (a target in absolute form,
//   `http://host/path`, names the host instead, RFC 9112 §3.2.2); an Origin not allowed -> 403,
//   an allowed one gets CORS headers (and a preflight OPTIONS its 204);
//   GET or HEAD /healthz -> 200 "ok" (always open); /metrics -> Prometheus text (token needed
//   when the server has tokens: 401); any other path -> 404;
//   POST -> the body codec that claims its Content-Type (application/json: JSON-RPC, text/xml:
//   XML-RPC; a POST to /RPC2 with an XML body and no Content-Type: XML-RPC), else 415: the
//   types a browser sends cross-origin unasked (text/plain, forms) never run anything;
//   any other method -> 405.
// The token of a POST (Authorization: Bearer, or Basic whose password is the token) is checked
// once per request: its calls are marked authenticated, or carry the token to the server's auth
// interceptor, which refuses them; a request whose calls were refused as unauthenticated
// (-32003) is answered 401 with WWW-Authenticate.
// Requests are answered in order (HTTP/1.1 pipelining): while the calls of one request run, the
// session stops taking bytes, so what follows waits in the transport, unparsed.
#include <boost/beast/http.hpp>
#include <optional>
#include <vector>

#include "protocol/http/auth.hpp"
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
  // Whitespace alone is left to the JSON protocols (a text may begin with it) until there is
  // too much of it for them: then it is HTTP's, whose session answers 400 saying why.
  if (first_non_space(first_bytes) < 0) {
    return first_bytes.size() > max_leading_whitespace_bytes ? sniff_result::mine
                                                             : sniff_result::need_more;
  }
  // Empty lines before the request line are HTTP's to skip (RFC 9112 §2.2).
  first_bytes.remove_prefix(std::min(first_bytes.find_first_not_of("\r\n"), first_bytes.size()));
  for (auto m : methods) {
    if (first_bytes.starts_with(m)) return sniff_result::mine;
    if (first_bytes.size() < m.size() && m.starts_with(first_bytes)) return sniff_result::need_more;
  }
  return sniff_result::not_mine;
}

/// The header fields the session reads, found in one pass over the request (each lookup by
/// name costs a search of its own).
struct request_heads {
  std::string_view host;
  std::size_t hosts = 0;
  std::string_view origin;
  bool has_origin = false;
  std::string_view authorization;
  std::string_view content_type;
  std::string_view idempotency_key;
};

request_heads scan_heads(const http_request& req) {
  request_heads h;
  for (const auto& f : req) {
    const auto value = f.value();
    const std::string_view v(value.data(), value.size());
    switch (f.name()) {
      case beast_http::field::host:
        if (h.hosts++ == 0) h.host = v;
        break;
      case beast_http::field::origin:
        if (!h.has_origin) h.origin = v;
        h.has_origin = true;
        break;
      case beast_http::field::authorization:
        if (h.authorization.empty()) h.authorization = v;
        break;
      case beast_http::field::content_type:
        if (h.content_type.empty()) h.content_type = v;
        break;
      case beast_http::field::unknown: {
        const auto name = f.name_string();
        if (h.idempotency_key.empty() &&
            boost::beast::iequals(name, boost::beast::string_view(idempotency_header.data(),
                                                                   idempotency_header.size()))) {
          h.idempotency_key = v;
        }
        break;
      }
      default:
        break;
    }
  }
  return h;
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
          extra_headers_.clear();
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
    if (answer.error && answer.error->code == wire_code(status_code::unauthenticated)) {
      unauthenticated_ = true;
    }
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
    extra_headers_.clear();
    unauthenticated_ = false;
    access_policy& access = host_.access();
    const request_heads heads = scan_heads(req);
    // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; more than one is refused in any
    // version (which of them would the Host check read?).
    const std::size_t hosts = heads.hosts;
    if (hosts > 1 || (hosts == 0 && version_ >= 11)) {
      write(text_answer(400, "malformed HTTP request: an HTTP/1.1 request has exactly one Host "
                             "header\n"));
      return true;
    }
    // RFC 9112 §3.2.2: a target in absolute form (`GET http://host:port/healthz`) must be
    // served, and its authority is the name the request gives the server in place of Host:
    // checked the same way (DNS rebinding, --allow-host).
    const request_target target = parse_request_target(req.target());
    if (target.malformed) {
      write(text_answer(400, "malformed HTTP request: a target in absolute form is an http or "
                             "https URI with a host and no user name (RFC 9112 section 3.2.2, "
                             "RFC 9110 section 4.2.4)\n"));
      return true;
    }
    if (!access.host_allowed(target.absolute ? target.authority : heads.host)) {
      write(text_answer(403, "host not allowed: a request must name the server by an address it "
                             "listens on, localhost, or a name given with --allow-host (DNS "
                             "rebinding protection)\n"));
      return true;
    }
    const std::string_view origin = heads.origin;
    const bool has_origin = heads.has_origin;
    if (has_origin) {
      if (!access.origin_allowed(origin)) {
        write(text_answer(403, "cross-origin request refused: the origin is not listed with "
                               "--allow-origin\n"));
        return true;
      }
      extra_headers_ += "Access-Control-Allow-Origin: ";
      extra_headers_ += origin;
      extra_headers_ += "\r\nVary: Origin\r\n";
    }
    if (req.method() == beast_http::verb::options) {
      if (has_origin) {
        // A CORS preflight (Fetch standard): what the actual request may use.
        extra_headers_ +=
            "Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n"
            "Access-Control-Allow-Headers: Content-Type, Authorization, Idempotency-Key\r\n"
            "Access-Control-Max-Age: 600\r\n";
      } else {
        extra_headers_ += "Allow: GET, HEAD, POST, OPTIONS\r\n";
      }
      write({204, {}, {}});
      return true;
    }
    const std::string_view path = target.path;
    if (req.method() == beast_http::verb::get || head_) {
      if (path == "/healthz") {
        write(text_answer(200, "ok\n"));
      } else if (path == "/metrics") {
        if (!authorized(heads.authorization)) return true;
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
    const std::size_t chosen = choose_codec(req, heads.content_type);
    if (chosen == no_codec) {
      write(text_answer(415, "unsupported content type: POST with Content-Type text/xml "
                             "(XML-RPC) or application/json (JSON-RPC)\n"));
      return true;
    }
    codec_ = body_codecs()[chosen];
    auto& decoder = decoders_[chosen];
    if (!decoder) decoder = codec_->make_decoder(host_.limits());

    http_call_headers headers;
    if (is_idempotency_key(heads.idempotency_key)) headers.idempotency_key = heads.idempotency_key;
    // The token is checked once for the request (calls of a valid one are marked
    // authenticated); the calls of a missing or wrong one carry it to the auth interceptor,
    // which refuses them (and counts the failure, SPEC §6).
    bool token_ok = false;
    if (access.tokens_required()) {
      bearer_or_basic_token(heads.authorization, token_);
      token_ok = !token_.empty() && access.blocked_for(host_.peer().address).count() == 0 &&
                 access.token_valid(token_);
    }
    exchange_.clear();
    decoder->decode(req.body(), headers, host_.limits(), exchange_);
    for (const auto& a : exchange_.answers) {
      if (a && a->error) host_.protocol_error();  // an entry that could not be decoded
    }
    // One more while the calls are dispatched, so a batch is answered once all of its calls
    // are; a single call is answered from on_answer (its bytes then count as its answer's in
    // the access log).
    const bool single = exchange_.calls.size() == 1;
    remaining_ = exchange_.calls.size() + (single ? 0 : 1);
    for (auto& [slot, call] : exchange_.calls) {
      request& next = host_.next_request();
      next = std::move(call);
      next.meta.protocol = codec_->name();
      next.meta.message_bytes = req.body().size();
      if (token_ok) {
        next.meta.authenticated = true;
      } else if (!token_.empty()) {
        next.meta.token = token_;
      }
      host_.dispatch({this, slot});
    }
    if (single) return remaining_ == 0;  // answered at once, or on_answer answers later
    if (--remaining_ > 0) return false;
    complete();
    return true;
  }

  /// True when `authorization` (the request's header) carries a token the server accepts (or
  /// none is required); else writes 401 (429 while the peer is blocked) and returns false.
  bool authorized(std::string_view authorization) {
    access_policy& access = host_.access();
    if (!access.tokens_required()) return true;
    const std::string token = bearer_or_basic_token(authorization);
    // A peer blocked after wrong tokens gets no check (access_policy::record_failure); a wrong
    // token counts as a failed guess (a missing one does not).
    if (!token.empty() && access.blocked_for(host_.peer().address).count() > 0) {
      extra_headers_ += "Retry-After: 5\r\n";
      write(text_answer(429, "too many wrong tokens from this address: try again later\n"));
      return false;
    }
    if (access.token_valid(token)) return true;
    if (!token.empty()) access.record_failure(host_.peer().address);
    extra_headers_ += www_authenticate;
    write(text_answer(401, "unauthenticated: send the token as Authorization: Bearer TOKEN\n"));
    return false;
  }

  static constexpr std::size_t no_codec = static_cast<std::size_t>(-1);

  /// The body codec with the strongest claim on `req`, or no_codec.
  static std::size_t choose_codec(const http_request& req, std::string_view content_type) {
    const std::string type = media_type(content_type);
    // What a web page may POST cross-origin without a preflight runs nothing (SPEC §2, §6).
    if (browser_simple_type(type)) return no_codec;
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
    if (unauthenticated_) extra_headers_ += www_authenticate;
    if (body_.empty()) {
      // Only notifications: nothing to answer (SPEC §2), unless they were refused.
      write({unauthenticated_ ? 401u : 204u, {}, {}});
    } else {
      http_answer a{unauthenticated_ ? 401u : 200u, codec_->content_type(), {}};
      a.body.swap(body_);
      write(a);
      body_.swap(a.body);  // keep the buffer for the next answer
    }
  }

  void write(const http_answer& a) { write(a, version_, keep_alive_, head_); }

  /// Appends `a` as the answer to a request of `version` (HEAD: headers only, RFC 9110 §9.3.2).
  void write(const http_answer& a, unsigned version, bool keep_alive, bool head) {
    std::string& out = host_.output();
    append_http_head(out, a, version, keep_alive, extra_headers_);
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
  std::string extra_headers_;        // CORS, WWW-Authenticate: lines for the answer's head
  std::string token_;                // the request's token (capacity kept between requests)
  bool unauthenticated_ = false;     // a call of the request was refused with -32003
  bool waiting_ = false;             // feed returned wait; on_answer resumes
  bool close_after_answer_ = false;  // the answer written after a wait ends the connection
};

std::unique_ptr<server_session> make_session(session_host& host) {
  return std::make_unique<session>(host);
}

}  // namespace

const server_protocol server{"http", &sniff, &make_session};

}  // namespace netcall::detail::http
