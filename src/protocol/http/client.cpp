// HTTP/1.1 client side of a body codec: `POST PATH` with keep-alive, one call at a time per
// connection; answers read with Boost.Beast's response parser, interim (1xx) answers skipped.
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

#include "protocol/http/message.hpp"
#include "protocol/http/unit.hpp"
#include "protocol/idempotency.hpp"

namespace netcall::detail::http {
namespace {

namespace beast_http = boost::beast::http;

class reader final : public response_reader {
 public:
  reader(const body_codec& codec, const decode_limits& limits, std::string_view host)
      : codec_(codec), limits_(limits), host_(host) {}

  status next(std::string_view data, std::size_t& consumed, response& out,
              fault& why) override {
    beast_http::response<beast_http::string_body> res;
    for (;;) {
      if (!parser_) {
        parser_.emplace();
        parser_->header_limit(max_http_header_bytes);
        parser_->body_limit(limits_.max_message_bytes);
        parser_->eager(true);
        head_bytes_ = 0;
        message_bytes_ = 0;
      }
      // Interim answers before this one count against the same head limit: a server that sends
      // 1xx forever is cut off after 64 KiB of them, not only by the call's timeout.
      const std::size_t head_limit =
          max_http_header_bytes > interim_bytes_ ? max_http_header_bytes - interim_bytes_ : 0;
      for (;;) {
        const std::string_view rest = data.substr(consumed);
        boost::beast::error_code ec;
        const std::size_t used = put_within_head_limit(*parser_, rest, head_bytes_, head_limit, ec);
        consumed += used;
        message_bytes_ += used;
        if (!ec && parser_->is_done()) break;
        if (!ec && used > 0) continue;
        if (ec && ec != beast_http::error::need_more) {
          const bool interim_too_long = ec == beast_http::error::header_limit && interim_bytes_ > 0;
          why = make_fault(status_code::parse_error,
                           interim_too_long
                               ? "not an HTTP answer: interim (1xx) answers and the head of the "
                                 "answer longer than 64 KiB together"
                               : "not an HTTP answer: " + ec.message());
          parser_.reset();
          interim_bytes_ = 0;
          return status::failed;
        }
        return status::need_more;
      }
      res = parser_->release();
      parser_.reset();
      if (res.result_int() / 100 != 1) break;
      if (res.result() == beast_http::status::switching_protocols) {
        // Only an Upgrade request may be answered 101 (RFC 9110 §15.2.2), and netcall sends none.
        why = make_fault(status_code::protocol_error,
                         "HTTP 101 Switching Protocols, which netcall never asks for");
        interim_bytes_ = 0;
        return status::failed;
      }
      // 100 Continue, 103 Early Hints, ...: an interim answer, the final one follows on the same
      // connection (RFC 9110 §15.2: a client must be able to read and skip them).
      interim_bytes_ += message_bytes_;
    }
    interim_bytes_ = 0;
    closing_ = !res.keep_alive();
    out = response{};
    fault reason;
    if (res.result() == beast_http::status::ok) {
      if (!codec_.decode_answer(res.body(), limits_, out, reason)) {
        out = response{};
        out.error = make_fault(status_code::protocol_error,
                               "unreadable answer from " + host_ + ": " + reason.message);
      }
    } else if (res.result() == beast_http::status::unauthorized &&
               codec_.decode_answer(res.body(), limits_, out, reason) && out.error) {
      // The server's own -32003 (SPEC §6): its message says what is missing.
    } else if (res.result() == beast_http::status::unauthorized) {
      out = response{};
      out.error = make_fault(status_code::unauthenticated,
                             "HTTP 401 from " + host_ + ": " + res.body());
    } else {
      // 204 answers a notification (the connection drops it); anything else is not an answer.
      out.error = make_fault(status_code::protocol_error,
                             "HTTP " + std::to_string(res.result_int()) + " from " + host_ +
                                 ": " + res.body());
    }
    return status::answer;
  }

  bool closing() const override { return closing_; }

 private:
  const body_codec& codec_;
  decode_limits limits_;
  std::string host_;
  std::optional<beast_http::response_parser<beast_http::string_body>> parser_;
  std::size_t head_bytes_ = 0;     // of the answer being read (put_within_head_limit)
  std::size_t message_bytes_ = 0;  // all bytes of the answer being read
  std::size_t interim_bytes_ = 0;  // of the 1xx answers read before it
  bool closing_ = false;
};

}  // namespace

void body_client::encode(const request& r, std::string_view host, std::string_view token,
                         std::string& out) const {
  std::string body;  // protocol objects are shared by every client: no state of their own
  codec_.encode_call(r, body);
  out += "POST ";
  out += codec_.path();
  out += " HTTP/1.1\r\nHost: ";
  out += host;
  out += "\r\nUser-Agent: netcall\r\nContent-Type: ";
  out += codec_.content_type();
  out += "\r\n";
  if (!token.empty()) {
    out += "Authorization: Bearer ";
    out += token;
    out += "\r\n";
  }
  if (!r.meta.idempotency_key.empty()) {
    out += idempotency_header;
    out += ": ";
    out += r.meta.idempotency_key;
    out += "\r\n";
  }
  char digits[24];
  out += "Content-Length: ";
  out.append(digits, std::to_chars(digits, digits + sizeof digits, body.size()).ptr);
  out += "\r\n\r\n";
  out += body;
}

std::unique_ptr<response_reader> body_client::make_reader(const decode_limits& limits,
                                                      std::string_view host) const {
  return std::make_unique<reader>(codec_, limits, host);
}

}  // namespace netcall::detail::http
