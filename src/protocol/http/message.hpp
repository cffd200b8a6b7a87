#pragma once
/// \file
/// HTTP/1.1 messages as the HTTP unit reads and writes them (SPEC §2): requests read off a
/// connection's bytes (Boost.Beast's parser, limited) and answers' heads written by hand. Pure
/// functions over bytes, no sockets: the server session (http/server.cpp) and the HTTP fuzz
/// target run the same code.

#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/limits.hpp"

namespace netcall::detail {

/// Beast's string_body, except that a declared Content-Length is not reserved up front (Beast's
/// reader reserves all of it: 100 clients announcing 16 MB would pin 1.6 GB). At most
/// `initial_reserve` bytes are; the string grows geometrically as bytes actually arrive.
struct request_body : boost::beast::http::string_body {
  /// Bytes reserved at most before any body byte arrived.
  static constexpr std::size_t initial_reserve = 64 * 1024;

  /// The body reader the parser fills (Beast's BodyReader concept).
  class reader {
   public:
    template <bool isRequest, class Fields>
    explicit reader(boost::beast::http::header<isRequest, Fields>&, value_type& body)
        : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      if (length) body_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, initial_reserve)));
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      const std::size_t old_size = body_.size();
      const std::size_t n = boost::asio::buffer_size(buffers);
      body_.resize(old_size + n);
      boost::asio::buffer_copy(boost::asio::buffer(body_.data() + old_size, n), buffers);
      ec = {};
      return n;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

/// A request as the HTTP transport reads it: the whole body in one string.
using http_request = boost::beast::http::request<request_body>;
/// The parser for one such request (its body limit makes any size check here unnecessary).
using http_request_parser = boost::beast::http::request_parser<request_body>;

/// Applies the server's limits to a fresh parser: the head up to max_http_header_bytes, the
/// body up to `max_body_bytes` (server_options::max_message_bytes; larger gets 413).
inline void limit_request_parser(http_request_parser& parser, std::size_t max_body_bytes) {
  parser.header_limit(max_http_header_bytes);
  parser.body_limit(max_body_bytes);
}

/// Gives `parser` what it takes of `rest` (Beast's `put`), keeping the head of its message (the
/// start line and the header fields) within `max_head_bytes` in total however the bytes arrive.
/// Beast's own header_limit bounds only the bytes of one `put`, while its parser takes a head's
/// start line and then each header field as soon as it is whole: a head that arrives over several
/// reads was never counted as one, and more than 64 KiB got through a 64 KiB limit. `head_bytes`
/// counts the head bytes this parser took so far (0 for a fresh parser; the caller keeps it
/// between calls). Returns the bytes taken; `ec` as `put` sets it, or
/// boost::beast::http::error::header_limit once the head cannot end within `max_head_bytes`.
template <class Parser>
std::size_t put_within_head_limit(Parser& parser, std::string_view rest, std::size_t& head_bytes,
                                  std::size_t max_head_bytes, boost::beast::error_code& ec) {
  namespace http = boost::beast::http;
  if (parser.is_header_done()) {
    if (rest.empty()) {
      ec = http::error::need_more;
      return 0;
    }
    return parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
  }
  // Never more than the head may still take: Beast looks for its end within what it is given.
  const std::size_t allowed = max_head_bytes > head_bytes ? max_head_bytes - head_bytes : 0;
  const std::string_view offered = rest.substr(0, allowed);
  std::size_t used = 0;
  ec = http::error::need_more;
  if (!offered.empty()) used = parser.put(boost::asio::buffer(offered.data(), offered.size()), ec);
  if (parser.is_header_done()) return used;
  head_bytes += used;
  // Every byte not taken is still part of the head, which has not ended.
  if (ec == http::error::need_more && head_bytes + (rest.size() - used) >= max_head_bytes) {
    ec = http::error::header_limit;
  }
  return used;
}

/// ASCII lower case (media types are case-insensitive, RFC 9110 §8.3.1).
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

/// A request target as RFC 9112 §3.2 reads it: the origin form `/RPC2?x=1`, or the absolute
/// form `http://127.0.0.1:8000/RPC2?x=1`, which a server MUST accept (§3.2.2) and whose
/// authority then stands for the Host header. Other forms (`*`, an authority alone) keep the
/// target as their path: they name no route.
struct request_target {
  std::string_view path;       ///< without the query (`/RPC2`); `/` for `http://host` alone
  std::string_view authority;  ///< the absolute form's `host[:port]`, else empty
  bool absolute = false;       ///< the target is in absolute form
  /// An absolute form that cannot be served: a scheme other than http and https, no host, or
  /// a user name (`http://user@host/`, which RFC 9110 §4.2.4 says to treat as an error).
  bool malformed = false;
};

/// Splits a request's target (see request_target).
inline request_target parse_request_target(std::string_view target) {
  request_target out;
  const auto scheme_end = target.find("://");
  const bool has_scheme =
      !target.starts_with('/') && scheme_end != std::string_view::npos && scheme_end > 0 &&
      std::isalpha(static_cast<unsigned char>(target[0])) &&
      std::all_of(target.begin(), target.begin() + static_cast<std::ptrdiff_t>(scheme_end),
                  [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' ||
                           c == '.';
                  });
  if (!has_scheme) {
    out.path = target.substr(0, target.find('?'));
    return out;
  }
  out.absolute = true;
  const std::string scheme = ascii_lower(target.substr(0, scheme_end));
  std::string_view rest = target.substr(scheme_end + 3);
  const auto authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  out.authority = rest.substr(0, authority_end);
  rest.remove_prefix(authority_end);
  out.path = rest.substr(0, rest.find_first_of("?#"));
  if (out.path.empty()) out.path = "/";
  out.malformed = (scheme != "http" && scheme != "https") || out.authority.empty() ||
                  out.authority.find('@') != std::string_view::npos;
  return out;
}

/// The request target's path, without its query (`/RPC2?x=1` -> `/RPC2`; in absolute form,
/// `http://h:1/RPC2` -> `/RPC2`).
inline std::string_view target_path(const http_request& req) {
  return parse_request_target(req.target()).path;
}

/// The media type of a Content-Type value: lower case, without parameters (`Text/XML;
/// charset=utf-8` -> `text/xml`).
inline std::string media_type(std::string_view content_type) {
  std::string type = ascii_lower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  return type;
}

/// An answer of the HTTP unit before it is written.
struct http_answer {
  unsigned status = 200;          ///< 200, 204, 400, 401, 403, 404, 405, 413, 415, 429 or 431
  std::string_view content_type;  ///< empty: no Content-Type header (204)
  std::string body;               ///< sent unless the request was HEAD
};

/// A text/plain answer.
inline http_answer text_answer(unsigned status, std::string body) {
  return {status, "text/plain", std::move(body)};
}

/// Appends the status line and headers of `a` to `out` (its body is not appended): `Server`,
/// `Content-Type`, `Content-Length` (none on 204, RFC 9110 §8.6), `Allow` on 405, and
/// `Connection` where the answer departs from its HTTP version's default (close on 1.1,
/// keep-alive on 1.0), then `extra_headers` (whole lines, each ending in CRLF: CORS,
/// WWW-Authenticate). The version answered is the request's (10 or 11).
inline void append_http_head(std::string& out, const http_answer& a, unsigned version,
                             bool keep_alive, std::string_view extra_headers = {}) {
  char digits[24];
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out.append(digits, std::to_chars(digits, digits + sizeof digits, a.status).ptr);
  out += ' ';
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(a.status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: netcall\r\n";
  if (!a.content_type.empty()) {
    out += "Content-Type: ";
    out += a.content_type;
    out += "\r\n";
  }
  if (a.status == 405) out += "Allow: GET, HEAD, POST, OPTIONS\r\n";
  if (a.status != 204) {
    out += "Content-Length: ";
    out.append(digits, std::to_chars(digits, digits + sizeof digits, a.body.size()).ptr);
    out += "\r\n";
  }
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  out += extra_headers;
  out += "\r\n";
}

/// True when a request's Transfer-Encoding is present and does not end in `chunked`, or is in
/// an HTTP/1.0 request: its body length cannot be known, so it must be refused with 400 and the
/// connection closed (RFC 9112 §6.3 item 4, §6.1). Otherwise the bytes of such a body would be read as the next request (request
/// smuggling). A request with both Transfer-Encoding and Content-Length is refused by Beast's
/// parser itself (400, then close: RFC 9112 §6.3 item 3 allows the refusal and requires the
/// close).
inline bool transfer_coding_unknown(const http_request_parser& parser) {
  const auto& fields = parser.get();
  const auto it = fields.find(boost::beast::http::field::transfer_encoding);
  if (it == fields.end()) return false;
  // HTTP/1.0 has no transfer codings: such framing is faulty (RFC 9112 §6.1), and an HTTP/1.0
  // intermediary would read the body otherwise.
  return !parser.chunked() || fields.version() < 11;
}

/// Reads the requests of one connection, one after another, from the bytes as they arrive.
/// Socket-free: the caller keeps the bytes not taken yet and gives them again with more.
class http_request_reader {
 public:
  /// What `next` found.
  enum class step {
    need_more,        ///< no whole request yet: call again with more bytes after the rest
    expect_continue,  ///< the head asks for "100 Continue" before its body: send it, call again
    request,          ///< a whole request: `take` it
    refused,          ///< malformed or over a limit: write `refusal()` if any, then close
  };

  /// `max_body_bytes`: server_options::max_message_bytes (a larger body is refused with 413).
  explicit http_request_reader(std::size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  /// Parses from `data` starting at `consumed`, advancing `consumed` past the bytes taken
  /// (a head is taken only once whole; body bytes as they come).
  step next(std::string_view data, std::size_t& consumed) {
    namespace http = boost::beast::http;
    if (!parser_) start();
    if (!parser_->got_some()) {
      // RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received before the
      // request line; older clients send one after a POST body. Up to a bound: see limits.hpp.
      while (consumed < data.size() && (data[consumed] == '\r' || data[consumed] == '\n')) {
        ++consumed;
        ++blank_bytes_;
      }
      if (blank_bytes_ > max_leading_whitespace_bytes) {
        refusal_ = text_answer(400, "malformed HTTP request: more than " +
                                        std::to_string(max_leading_whitespace_bytes) +
                                        " bytes of empty lines before the request line (RFC "
                                        "9112 section 2.2)\n");
        return step::refused;
      }
      if (consumed == data.size()) return step::need_more;
      if (data[consumed] == ' ' || data[consumed] == '\t') {
        refusal_ = text_answer(400, "malformed HTTP request: whitespace before the request line "
                                    "(only empty lines may come before it, RFC 9112 section "
                                    "2.2)\n");
        return step::refused;
      }
    }
    for (;;) {
      const std::string_view rest = data.substr(consumed);
      boost::beast::error_code ec;
      // The request line and headers together, however they arrive (431 past 64 KiB).
      const std::size_t used =
          put_within_head_limit(*parser_, rest, head_bytes_, max_http_header_bytes, ec);
      consumed += used;
      if (parser_->is_header_done() && transfer_coding_unknown(*parser_)) {
        refusal_ = text_answer(400, "malformed HTTP request: a Transfer-Encoding that does not "
                                    "end in chunked, or in HTTP/1.0 (RFC 9112 sections 6.1, "
                                    "6.3)\n");
        return step::refused;
      }
      if (!ec && parser_->is_done()) return step::request;
      if (!ec && used > 0) continue;
      if (ec && ec != http::error::need_more) {
        refuse(ec);
        return step::refused;
      }
      // Beast bounds the head (header_limit) and the body (body_limit) but not a chunk-size
      // line with its extensions, nor the trailer after the last chunk: those are held
      // unparsed until whole, so their length is bounded here.
      if (data.size() - consumed > max_http_header_bytes) {
        refusal_ = text_answer(400, "malformed HTTP request: chunk header or trailer longer "
                                    "than 64 KiB\n");
        return step::refused;
      }
      if (parser_->is_header_done() && !continue_asked_ &&
          boost::beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
        continue_asked_ = true;
        return step::expect_continue;
      }
      return step::need_more;
    }
  }

  /// The request `next` found (call once after step::request).
  http_request take() {
    http_request req = parser_->release();
    parser_.reset();
    return req;
  }

  /// After step::refused: the answer to write before closing (400, 413 or 431).
  const std::optional<http_answer>& refusal() const { return refusal_; }

 private:
  void start() {
    parser_.emplace();
    limit_request_parser(*parser_, max_body_bytes_);
    parser_->eager(true);
    continue_asked_ = false;
    head_bytes_ = 0;
    blank_bytes_ = 0;
  }

  void refuse(const boost::beast::error_code& ec) {
    namespace http = boost::beast::http;
    if (ec == http::error::body_limit) {
      refusal_ = text_answer(413, "message larger than --max-message-bytes\n");
    } else if (ec == http::error::header_limit) {
      refusal_ = text_answer(431, "request header fields too large: the request line and headers "
                                  "take more than 64 KiB\n");
    } else {
      refusal_ = text_answer(400, "malformed HTTP request: " + ec.message() + "\n");
    }
  }

  std::size_t max_body_bytes_;
  std::optional<http_request_parser> parser_;
  std::size_t head_bytes_ = 0;   // of the request being read (put_within_head_limit)
  std::size_t blank_bytes_ = 0;  // empty lines skipped before it
  bool continue_asked_ = false;
  std::optional<http_answer> refusal_;
};

/// The interim answer a request with `Expect: 100-continue` gets before sending its body.
inline constexpr std::string_view http_continue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace netcall::detail
