// Fuzz target: the HTTP protocol unit of the server (src/protocol/http/server.cpp), without
// sockets.
//
// The input is everything a client sends on one connection. As the transport does, the bytes
// go through protocol sniffing, then into the HTTP unit's real session, read after read (sizes
// derived from the input), keeping the bytes it has not taken; a fake host (tests/support/
// fake_host.hpp) answers its calls with an echo, at once or, for some inputs, later (so the
// session waits and resumes, as with a slow procedure). Beyond "never crash, never leak, never
// hang", it checks that what the session writes is one HTTP response per request it took (after
// any "100 Continue"), each parsing as the response to that request (version, keep-alive,
// HEAD), and that 200 bodies are readable by netcall's own client codecs. Half of the inputs
// meet the checks of SPEC §6 (a token for /metrics, Origin, Host), which answer too.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/token_set.hpp"
#include "fake_host.hpp"
#include "fuzz_support.hpp"
#include "protocol/http/message.hpp"
#include "protocol/http/unit.hpp"
#include "protocol/jsonrpc/codec.hpp"
#include "protocol/xmlrpc/codec.hpp"

namespace {

using namespace netcall;
using namespace netcall::detail;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using error_code = beast::error_code;

/// server_options::max_message_bytes default.
constexpr std::size_t max_message_bytes = 16u << 20;

/// What the client asked, request by request, as the server's own reader sees the same bytes.
struct asked {
  unsigned version;
  bool keep_alive;
  bool head;
};

/// The requests in `input` read in reads of `step` bytes, as the session's own reader gets them
/// (Beast's parser may judge a head differently whole and in pieces), up to the first refusal or
/// a request that closes the connection; `refused` when the reader refuses one (the session
/// then writes a 4xx and closes).
std::vector<asked> requests_in(std::string_view input, std::size_t step, bool& refused) {
  std::vector<asked> out;
  http_request_reader reader(max_message_bytes);
  std::string carry;
  refused = false;
  while (!input.empty()) {
    const std::string_view read = input.substr(0, std::min(step, input.size()));
    input.remove_prefix(read.size());
    carry.append(read);
    std::size_t consumed = 0;
    for (;;) {
      const auto s = reader.next(carry, consumed);
      if (s == http_request_reader::step::need_more) break;
      if (s == http_request_reader::step::expect_continue) continue;
      if (s == http_request_reader::step::refused) {
        refused = reader.refusal().has_value();
        return out;
      }
      const http_request req = reader.take();
      out.push_back({req.version(), req.keep_alive(), req.method() == bhttp::verb::head});
      if (!req.keep_alive()) return out;
    }
    carry.erase(0, consumed);
  }
  return out;
}

/// A 200 body must be readable by our own client codecs (when its content can be written).
void check_body(const bhttp::response<bhttp::string_body>& res) {
  if (res.result_int() != 200) return;
  const auto type = media_type(res[bhttp::field::content_type]);
  fault why;
  if (type == "application/json") {
    std::vector<response> back;
    NETCALL_FUZZ_CHECK(jsonrpc::decode_responses(res.body(), decode_limits{}, back, why),
                       "JSON-RPC answer not readable: " + why.message + "\n" + res.body());
  } else if (type == "text/xml") {
    response back;
    // The echoed params came from an XML-RPC call our codec read: their answer reads back.
    NETCALL_FUZZ_CHECK(xmlrpc::decode_response(res.body(), decode_limits{}, back, why),
                       "XML-RPC answer not readable: " + why.message + "\n" + res.body());
  }
}

/// The session's output: interim 100s, then one response per request, each as asked.
void check_output(const std::string& out, const std::vector<asked>& requests, bool refused) {
  std::size_t at = 0;
  std::size_t answered = 0;
  while (at < out.size()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(out.size());
    const bool head = answered < requests.size() && requests[answered].head;
    parser.skip(head);  // a response to HEAD has headers only (RFC 9110 §9.3.2)
    parser.eager(true);
    error_code ec;
    const std::string_view rest(out.data() + at, out.size() - at);
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    NETCALL_FUZZ_CHECK(!ec && parser.is_done(),
                       "our answer is not HTTP: " + ec.message() + "\n" + std::string(rest));
    at += used;
    const auto& res = parser.get();
    if (res.result_int() == 100) continue;
    if (answered < requests.size()) {
      const asked& a = requests[answered];
      NETCALL_FUZZ_CHECK(res.version() == (a.version == 10 ? 10u : 11u), std::string(rest));
      NETCALL_FUZZ_CHECK(res.keep_alive() == a.keep_alive, std::string(rest));
      if (!head) check_body(res);
    } else {
      NETCALL_FUZZ_CHECK(refused && !res.keep_alive() && res.result_int() >= 400,
                         "an answer to no request\n" + std::string(rest));
    }
    ++answered;
  }
  NETCALL_FUZZ_CHECK(answered == requests.size() + (refused ? 1 : 0),
                     std::to_string(answered) + " answers to " + std::to_string(requests.size()) +
                         " requests\n" + out);
}

/// The transport's loop over `input` as one connection, reads of at most `step` bytes.
void serve_connection(std::string_view input, std::size_t step, bool answer_later, bool guarded) {
  bool refused = false;
  const std::vector<asked> requests = requests_in(input, step, refused);

  test::fake_host host(decode_limits{}, [answer_later](request& req, response& answer) {
    if (answer_later) return false;
    answer.result = req.params;
    return true;
  });
  if (guarded) {
    // SPEC §6 in force: a token (`tok`), one allowed origin, the Host checked against a listen
    // address; the session must still answer each request exactly once.
    host.access_.set_tokens(std::make_shared<const token_set>(std::vector<std::string>{"tok"}));
    host.access_.allowed_origins = {"http://ok.example"};
    host.access_.allowed_hosts.clear();
    host.access_.set_listen_addresses({"127.0.0.1:8000", "[::1]:8000"});
  }
  auto session = http::server.make_session(host);
  host.session = session.get();
  std::string carry;
  bool closed = false;
  while (!input.empty() && !closed) {
    const std::string_view read = input.substr(0, std::min(step, input.size()));
    input.remove_prefix(read.size());
    carry.append(read);
    for (;;) {
      std::size_t consumed = 0;
      const auto verdict = session->feed(carry, consumed);
      NETCALL_FUZZ_CHECK(consumed <= carry.size(), "consumed out of range");
      carry.erase(0, consumed);
      if (verdict == server_session::verdict::close) {
        closed = true;
        break;
      }
      if (verdict == server_session::verdict::more) break;
      // wait: the calls of this request answer later, in order; then the session resumes.
      NETCALL_FUZZ_CHECK(!host.held.empty(), "waiting for no call");
      const int resumes = host.resumes;
      while (!host.held.empty()) {
        response echo;
        echo.result = host.held.front().req.params;
        host.answer_held(0, std::move(echo));
      }
      NETCALL_FUZZ_CHECK(host.resumes == resumes + 1, "answered but not resumed");
    }
    // Only a head not yet whole stays unparsed: the reader takes body bytes as they come.
    NETCALL_FUZZ_CHECK(closed || carry.size() <= max_http_header_bytes + step,
                       "unbounded pending bytes");
  }
  NETCALL_FUZZ_CHECK(host.held.empty() || !closed, "calls left unanswered");
  if (!closed && !input.empty()) return;
  check_output(host.out, requests, refused);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The listener hands the connection to HTTP only when its first bytes are a request line,
  // after empty lines if any, or more whitespace than a JSON text may begin with (the other
  // protocols take '{', '[' and 0x93..0x95, which no method starts with).
  if (http::server.sniff(input.substr(0, max_leading_whitespace_bytes + 16)) !=
      sniff_result::mine) {
    return 0;
  }
  const std::uint64_t h = fuzz::input_hash(input);
  // A quarter of the inputs arrive in one read, as a small request does; the others in reads
  // of 1 to 97 bytes, so requests and bodies straddle reads. One in three has its calls answered
  // later instead of at once.
  const std::size_t step = h % 4 == 0 ? input.size() : 1 + (h >> 8) % 97;
  // Half of them meet a server with a token, an allowed origin and a checked Host.
  serve_connection(input, step == 0 ? 1 : step, (h >> 16) % 3 == 0, (h >> 24) % 2 == 0);
  return 0;
}
