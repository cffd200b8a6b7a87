// Each protocol unit (protocol/protocol.hpp) on its own: the server session fed bytes through a
// fake host (tests/support/fake_host.hpp) that answers calls at once or later, and the client
// side's framing and answer readers. The protocol table's sniffing order too.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "common/token_set.hpp"
#include "fake_host.hpp"
#include "protocol/access_policy.hpp"
#include "protocol/http/auth.hpp"
#include "protocol/http/unit.hpp"
#include "protocol/json_array/unit.hpp"
#include "protocol/jsonrpc/unit.hpp"
#include "protocol/msgpack/codec.hpp"
#include "protocol/msgpack/unit.hpp"
#include "protocol/protocols.hpp"
#include "protocol/xmlrpc/unit.hpp"

using namespace netcall;
using namespace netcall::detail;
using test::fake_host;

namespace {

/// A session of `unit` on `host`.
std::unique_ptr<server_session> open(const server_protocol& unit, fake_host& host) {
  auto s = unit.make_session(host);
  host.session = s.get();
  return s;
}

/// Feeds all of `bytes`; returns the verdict and how much was taken.
server_session::verdict feed(server_session& s, std::string_view bytes, std::size_t& consumed) {
  consumed = 0;
  return s.feed(bytes, consumed);
}

server_session::verdict feed(server_session& s, std::string_view bytes) {
  std::size_t consumed = 0;
  return s.feed(bytes, consumed);
}

/// Answers the calls held by `host` later, as the transport would: by their method's name.
bool hold_everything(request&, response&) { return false; }

/// The protocol the server's table picks for these first bytes, or "" (undecided or none).
std::string sniffed(std::string_view first_bytes) {
  for (const server_protocol* p : server_protocols()) {
    const auto v = p->sniff(first_bytes);
    if (v == sniff_result::not_mine) continue;
    return v == sniff_result::mine ? std::string(p->name) : std::string();
  }
  return "none";
}

std::string msgpack_request(std::int64_t id, std::string method, array params,
                            std::string key = {}) {
  request r;
  r.id = id;
  r.method = std::move(method);
  r.params = std::move(params);
  r.meta.idempotency_key = std::move(key);
  std::string out;
  msgpack::encode_request(r, out);
  return out;
}

}  // namespace

// ---- the table --------------------------------------------------------------------------------

TEST(protocol_table, first_bytes_pick_the_protocol_in_table_order) {
  EXPECT_EQ(sniffed(R"(["add", 1, 2])"), "json-array");
  EXPECT_EQ(sniffed(R"( [ "add")"), "json-array");
  EXPECT_EQ(sniffed(R"([{"jsonrpc":"2.0"}])"), "jsonrpc");
  EXPECT_EQ(sniffed(R"({"jsonrpc":"2.0"})"), "jsonrpc");
  EXPECT_EQ(sniffed("\x94\x00\x01"), "msgpack");
  EXPECT_EQ(sniffed("POST / HTTP/1.1\r\n"), "http");
  EXPECT_EQ(sniffed("garbage"), "none");
  EXPECT_EQ(sniffed(std::string("\0\0", 2)), "none") << "NUL is a byte, not the end";
  EXPECT_EQ(sniffed(std::string(" \0", 2)), "none");
  // `[` alone could begin either a positional call or a JSON-RPC batch: wait for more.
  EXPECT_EQ(sniffed("["), "");
  EXPECT_EQ(sniffed("[  "), "");
  EXPECT_EQ(sniffed("PO"), "");
  // A batch spread out with a lot of whitespace after `[` is JSON-RPC's.
  EXPECT_EQ(sniffed("[" + std::string(2000, '\n')), "jsonrpc");
  // Whitespace before a JSON text, and empty lines before an HTTP request line (RFC 9112 §2.2).
  EXPECT_EQ(sniffed("\n\n" R"({"jsonrpc":"2.0"})"), "jsonrpc");
  EXPECT_EQ(sniffed(std::string(4000, ' ') + R"(["add"])"), "json-array");
  EXPECT_EQ(sniffed("\r\nGET /healthz HTTP/1.1\r\n"), "http");
  EXPECT_EQ(sniffed(std::string(4000, '\n') + "POST / HTTP/1.1\r\n"), "http");
  EXPECT_EQ(sniffed("\r\n\r\nPO"), "");
  EXPECT_EQ(sniffed("\r\n  GET / HTTP/1.1"), "none");
  // Whitespace alone: a JSON text may follow, up to 4 KiB of it; beyond, HTTP says 400.
  EXPECT_EQ(sniffed(std::string(max_leading_whitespace_bytes, '\n')), "");
  EXPECT_EQ(sniffed(std::string(max_leading_whitespace_bytes + 1, '\n')), "http");
  EXPECT_EQ(sniffed(std::string(max_leading_whitespace_bytes + 1, ' ')), "http");
}

TEST(protocol_table, every_client_protocol_is_named_as_the_cli_names_it) {
  for (const char* name : {"jsonrpc", "jsonrpc-http", "xmlrpc", "msgpack"}) {
    protocol p{};
    ASSERT_TRUE(parse_protocol(name, p)) << name;
    EXPECT_EQ(to_string(p), name);
    EXPECT_EQ(client_protocol_for(p).name(), name);
  }
  protocol p{};
  EXPECT_FALSE(parse_protocol("json-array", p));  // a server-only protocol
}

// ---- MessagePack-RPC --------------------------------------------------------------------------

TEST(msgpack_unit, answers_each_call_as_it_completes_out_of_order) {
  fake_host host({}, hold_everything);
  auto s = open(msgpack::tcp_server, host);
  const std::string bytes = msgpack_request(1, "slow", array{}) + msgpack_request(2, "fast", array{});
  EXPECT_EQ(feed(*s, bytes), server_session::verdict::more);
  ASSERT_EQ(host.held.size(), 2u);
  EXPECT_EQ(host.dispatched[0].meta.protocol, "msgpack");
  response r;
  r.result = value("second");
  host.answer_held(1, r);
  r.result = value("first");
  host.answer_held(0, r);
  response a, b;
  fault why;
  msgpack::frame_scanner scan(128, 1 << 20);
  ASSERT_EQ(scan.scan(host.out), msgpack::frame_scanner::status::complete);
  ASSERT_TRUE(msgpack::decode_response(std::string_view(host.out).substr(0, scan.size()),
                                       decode_limits{}, a, why))
      << why;
  ASSERT_TRUE(msgpack::decode_response(std::string_view(host.out).substr(scan.size()),
                                       decode_limits{}, b, why))
      << why;
  EXPECT_EQ(a.id, value(2));
  EXPECT_EQ(a.result, value("second"));
  EXPECT_EQ(b.id, value(1));
}

TEST(msgpack_unit, a_message_split_across_reads_is_kept_until_whole) {
  fake_host host;
  auto s = open(msgpack::tcp_server, host);
  const std::string bytes = msgpack_request(7, "echo", array{"hello"});
  std::size_t consumed = 0;
  EXPECT_EQ(feed(*s, std::string_view(bytes).substr(0, 5), consumed), server_session::verdict::more);
  EXPECT_EQ(consumed, 0u);
  EXPECT_TRUE(host.dispatched.empty());
  EXPECT_EQ(feed(*s, bytes, consumed), server_session::verdict::more);
  EXPECT_EQ(consumed, bytes.size());
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_EQ(host.dispatched[0].params, value(array{"hello"}));
}

TEST(msgpack_unit, the_idempotency_key_travels_as_a_fifth_element) {
  fake_host host;
  auto s = open(msgpack::tcp_server, host);
  feed(*s, msgpack_request(1, "m", array{}, "nc1:0123456789abcdef:1"));
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_EQ(host.dispatched[0].meta.idempotency_key, "nc1:0123456789abcdef:1");
}

TEST(msgpack_unit, bytes_that_are_not_msgpack_close_the_connection) {
  fake_host host;
  auto s = open(msgpack::tcp_server, host);
  EXPECT_EQ(feed(*s, "\x94\xc1"), server_session::verdict::close);
  EXPECT_EQ(host.protocol_errors, 1);
}

TEST(msgpack_unit, a_str_that_is_not_utf8_is_refused_with_its_msgid_and_the_stream_goes_on) {
  fake_host host;
  auto s = open(msgpack::tcp_server, host);
  // [0, 7, "echo", ["\xff"]] then a good call on the same connection.
  const std::string bad("\x94\x00\x07\xa4" "echo" "\x91\xa1\xff", 11);
  EXPECT_EQ(feed(*s, bad + msgpack_request(8, "echo", array{"ok"})),
            server_session::verdict::more);
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_EQ(host.dispatched[0].params, value(array{"ok"}));
  EXPECT_EQ(host.protocol_errors, 1);
  response refusal;
  fault why;
  msgpack::frame_scanner scan(128, 1 << 20);
  ASSERT_EQ(scan.scan(host.out), msgpack::frame_scanner::status::complete);
  ASSERT_TRUE(msgpack::decode_response(std::string_view(host.out).substr(0, scan.size()),
                                       decode_limits{}, refusal, why))
      << why;
  EXPECT_EQ(refusal.id, value(7));
  ASSERT_TRUE(refusal.error);
  EXPECT_EQ(*refusal.error,
            (fault{-32600, "Invalid Request: str at offset 9 is not valid UTF-8 (byte 0xff at "
                           "offset 10)"}));
}

TEST(msgpack_unit, an_integer_beyond_int64_is_invalid_params_to_its_msgid_and_the_stream_goes_on) {
  fake_host host;
  auto s = open(msgpack::tcp_server, host);
  // python3-msgpack: packb([0, 7, "echo", [2**64 - 1]]), the same as a notification, then a
  // good call on the same connection.
  const std::string wide = std::string(
                               "\x94\x00\x07\xa4"
                               "echo"
                               "\x91\xcf",
                               10) +
                           std::string(8, '\xff');
  const std::string wide_note = std::string(
                                    "\x93\x02\xa4"
                                    "echo"
                                    "\x91\xcf",
                                    9) +
                                std::string(8, '\xff');
  EXPECT_EQ(feed(*s, wide + wide_note + msgpack_request(8, "echo", array{"ok"})),
            server_session::verdict::more);
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_EQ(host.dispatched[0].params, value(array{"ok"}));
  response refusal;
  fault why;
  msgpack::frame_scanner scan(128, 1 << 20);
  ASSERT_EQ(scan.scan(host.out), msgpack::frame_scanner::status::complete);
  ASSERT_TRUE(msgpack::decode_response(std::string_view(host.out).substr(0, scan.size()),
                                       decode_limits{}, refusal, why))
      << why;
  EXPECT_EQ(refusal.id, value(7));
  EXPECT_EQ(refusal.error,
            (fault{-32602, "invalid params: integer 18446744073709551615 is beyond int64"}));
  // Next, only the answer to msgid 8: the notification is not answered.
  const std::string_view rest = std::string_view(host.out).substr(scan.size());
  response next;
  ASSERT_TRUE(msgpack::decode_response(rest, decode_limits{}, next, why)) << why;
  EXPECT_EQ(next.id, value(8));
}

TEST(msgpack_unit, notifications_are_run_and_not_answered) {
  fake_host host;
  auto s = open(msgpack::tcp_server, host);
  feed(*s, "\x93\x02\xa1m\x90");  // [2, "m", []]
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_TRUE(host.dispatched[0].notification);
  EXPECT_TRUE(host.out.empty());
}

// ---- JSON-RPC over TCP ------------------------------------------------------------------------

TEST(jsonrpc_unit, a_batch_is_answered_once_all_its_calls_are_even_when_some_answer_later) {
  fake_host host({}, [](request& req, response& answer) {
    if (req.method == "later") return false;
    answer.result = value(req.method);
    return true;
  });
  auto s = open(jsonrpc::tcp_server, host);
  feed(*s, R"([{"jsonrpc":"2.0","method":"now","id":1},)"
           R"({"jsonrpc":"2.0","method":"later","id":2},)"
           R"({"jsonrpc":"2.0","method":"note"},)"
           R"({"jsonrpc":"2.0","id":4}])");
  EXPECT_TRUE(host.out.empty()) << "a batch is answered as one array";
  ASSERT_EQ(host.held.size(), 1u);
  response r;
  r.result = value("done later");
  host.answer_held(0, r);
  ASSERT_FALSE(host.out.empty());
  EXPECT_EQ(host.out.back(), '\n');
  const auto answers = boost::json::parse(host.out);
  ASSERT_EQ(answers.as_array().size(), 3u);  // the notification gets none
  EXPECT_EQ(answers.at(0).at("result"), "now");
  EXPECT_EQ(answers.at(1).at("result"), "done later");
  EXPECT_EQ(answers.at(2).at("error").at("code"), -32600);
  EXPECT_EQ(answers.at(2).at("id"), 4);
}

TEST(jsonrpc_unit, single_requests_are_answered_each_on_its_own_line) {
  fake_host host;
  auto s = open(jsonrpc::tcp_server, host);
  feed(*s, R"({"jsonrpc":"2.0","method":"a","params":[1],"id":1}{"jsonrpc":"2.0","method":"b","params":[2],"id":"x"})");
  EXPECT_EQ(host.out, R"({"jsonrpc":"2.0","result":[1],"id":1})" "\n"
                      R"({"jsonrpc":"2.0","result":[2],"id":"x"})" "\n");
  EXPECT_EQ(host.dispatched[0].meta.protocol, "jsonrpc");
}

TEST(jsonrpc_unit, a_request_id_shaped_like_a_key_is_the_idempotency_key) {
  fake_host host;
  auto s = open(jsonrpc::tcp_server, host);
  feed(*s, R"({"jsonrpc":"2.0","method":"a","id":"nc1:0123456789abcdef:5"})"
           R"({"jsonrpc":"2.0","method":"a","id":"nc1:xyz:5"})");
  ASSERT_EQ(host.dispatched.size(), 2u);
  EXPECT_EQ(host.dispatched[0].meta.idempotency_key, "nc1:0123456789abcdef:5");
  EXPECT_EQ(host.dispatched[1].meta.idempotency_key, "");
}

TEST(jsonrpc_unit, number_ids_that_are_not_int64_are_echoed_as_sent) {
  fake_host host;
  auto s = open(jsonrpc::tcp_server, host);
  feed(*s, R"({"jsonrpc":"2.0","method":"a","id":12345678901234567891})"
           R"([{"jsonrpc":"2.0","method":"b","id":1.50}])");
  EXPECT_EQ(host.out, R"({"jsonrpc":"2.0","result":[],"id":12345678901234567891})" "\n"
                      R"([{"jsonrpc":"2.0","result":[],"id":1.50}])" "\n");
}

TEST(jsonrpc_unit, an_integer_beyond_int64_in_params_is_invalid_params_and_the_stream_goes_on) {
  fake_host host;
  auto s = open(jsonrpc::tcp_server, host);
  EXPECT_EQ(feed(*s, R"({"jsonrpc":"2.0","method":"echo","params":[18446744073709551615],"id":1})"
                     R"({"jsonrpc":"2.0","method":"echo","params":[18446744073709551615]})"
                     R"([{"jsonrpc":"2.0","method":"echo","params":{"n":-9223372036854775809},)"
                     R"("id":2},{"jsonrpc":"2.0","method":"echo","params":[3],"id":3}])"
                     R"({"jsonrpc":"2.0","method":"echo","params":[4],"id":4})"),
            server_session::verdict::more);
  ASSERT_EQ(host.dispatched.size(), 2u);  // [3] and [4]; the notification ran nothing
  EXPECT_EQ(host.dispatched[0].params, value(array{3}));
  EXPECT_EQ(host.dispatched[1].params, value(array{4}));
  EXPECT_EQ(host.out,
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid params: integer )"
            R"(18446744073709551615 is beyond int64"},"id":1})"
            "\n"
            R"([{"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid params: integer )"
            R"(-9223372036854775809 is beyond int64"},"id":2},)"
            R"({"jsonrpc":"2.0","result":[3],"id":3}])"
            "\n"
            R"({"jsonrpc":"2.0","result":[4],"id":4})"
            "\n");
}

TEST(jsonrpc_unit, a_syntax_error_is_answered_then_closes) {
  fake_host host;
  auto s = open(jsonrpc::tcp_server, host);
  EXPECT_EQ(feed(*s, R"({"jsonrpc":"2.0","method":"a","id":1}{nope)"), server_session::verdict::close);
  const auto second = host.out.substr(host.out.find('\n') + 1);
  EXPECT_EQ(boost::json::parse(second).at("error").at("code"), -32700);
  EXPECT_EQ(host.protocol_errors, 1);
}

// ---- positional JSON array calls --------------------------------------------------------------

TEST(json_array_unit, a_call_is_answered_with_the_bare_result) {
  fake_host host({}, [](request& req, response& answer) {
    answer.result = value(req.params.as_array()[0].as_int() + req.params.as_array()[1].as_int());
    return true;
  });
  auto s = open(json_array::tcp_server, host);
  EXPECT_EQ(feed(*s, R"(["add", 10, 10])"), server_session::verdict::more);
  EXPECT_EQ(host.out, "20\n");
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_EQ(host.dispatched[0].method, "add");
  EXPECT_EQ(host.dispatched[0].params, value(array{10, 10}));
  EXPECT_EQ(host.dispatched[0].meta.protocol, "json-array");
}

TEST(json_array_unit, errors_are_an_error_object) {
  fake_host host({}, [](request&, response& answer) {
    answer.error = make_fault(status_code::method_not_found, "method not found: nope");
    return true;
  });
  auto s = open(json_array::tcp_server, host);
  feed(*s, R"(["nope"])");
  EXPECT_EQ(host.out, R"({"error":{"code":-32601,"message":"method not found: nope"}})" "\n");
}

TEST(json_array_unit, error_message_bytes_that_are_not_utf8_are_escaped) {
  fake_host host({}, [](request&, response& answer) {
    answer.error = make_fault(status_code::application_error, "bad \xff");
    return true;
  });
  auto s = open(json_array::tcp_server, host);
  feed(*s, R"(["m"])");
  EXPECT_EQ(host.out, R"({"error":{"code":-32000,"message":"bad \\xff"}})" "\n");
}

TEST(json_array_unit, params_named_id_are_plain_numbers) {
  fake_host host;
  auto s = open(json_array::tcp_server, host);
  feed(*s, R"(["m", {"id": 1.5}, [{"id": 2.5}]])");
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_EQ(host.dispatched[0].params,
            value(array{structure{{"id", 1.5}}, array{structure{{"id", 2.5}}}}));
}

TEST(json_array_unit, an_integer_beyond_int64_is_invalid_params_and_the_stream_goes_on) {
  fake_host host;
  auto s = open(json_array::tcp_server, host);
  EXPECT_EQ(feed(*s, R"(["echo", [18446744073709551615]]["echo", 1])"),
            server_session::verdict::more);
  ASSERT_EQ(host.dispatched.size(), 1u);
  EXPECT_EQ(host.dispatched[0].params, value(array{1}));
  EXPECT_EQ(host.out, R"({"error":{"code":-32602,"message":"invalid params: integer )"
                      R"(18446744073709551615 is beyond int64"}})"
                      "\n[1]\n");
}

TEST(json_array_unit, calls_are_answered_in_the_order_they_came) {
  fake_host host({}, hold_everything);
  auto s = open(json_array::tcp_server, host);
  const std::string two = R"(["sleep", 200]["add", 1, 2])";
  std::size_t consumed = 0;
  EXPECT_EQ(feed(*s, two, consumed), server_session::verdict::wait)
      << "the second call waits for the first's answer";
  EXPECT_EQ(host.held.size(), 1u);
  response r;
  r.result = value(200);
  host.answer_held(0, r);
  EXPECT_EQ(host.resumes, 1);
  EXPECT_EQ(host.out, "200\n");
  EXPECT_EQ(feed(*s, std::string_view(two).substr(consumed)), server_session::verdict::wait);
  r.result = value(3);
  host.answer_held(0, r);
  EXPECT_EQ(host.out, "200\n3\n");
}

TEST(json_array_unit, a_text_that_is_not_a_call_is_refused_and_malformed_json_closes) {
  fake_host host;
  auto s = open(json_array::tcp_server, host);
  EXPECT_EQ(feed(*s, R"([1, 2])"), server_session::verdict::more);
  EXPECT_EQ(boost::json::parse(host.out).at("error").at("code"), -32600);
  host.out.clear();
  EXPECT_EQ(feed(*s, "[nope"), server_session::verdict::close);
  EXPECT_EQ(boost::json::parse(host.out).at("error").at("code"), -32700);
}

// ---- HTTP -------------------------------------------------------------------------------------

namespace {
std::string post(std::string_view path, std::string_view type, std::string_view body,
                 std::string_view extra = {}) {
  std::string r = "POST " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n";
  if (!type.empty()) r += "Content-Type: " + std::string(type) + "\r\n";
  r += std::string(extra);
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  return r;
}
}  // namespace

TEST(http_unit, health_metrics_and_refusals) {
  fake_host host;
  auto s = open(http::server, host);
  feed(*s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
           "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(host.out.find("HTTP/1.1 200 OK\r\n"), std::string::npos);
  EXPECT_NE(host.out.find("netcall_test_metric 1"), std::string::npos);
  EXPECT_NE(host.out.find("HTTP/1.1 404"), std::string::npos);
  EXPECT_NE(host.out.find("HTTP/1.1 405"), std::string::npos);
  EXPECT_NE(host.out.find("Allow: GET, HEAD, POST"), std::string::npos);
}

// SPEC §2, §6: a JSON or XML media type picks the codec, or an XML body POSTed to /RPC2 without
// a Content-Type; a body alone never does, and what a web page can POST cross-origin unasked
// (text/plain, forms) runs nothing, whatever its path or body.
TEST(http_unit, a_media_type_or_xml_at_rpc2_picks_the_codec_and_browser_simple_types_run_nothing) {
  fake_host host;
  auto s = open(http::server, host);
  const std::string xml =
      "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params/></methodCall>";
  const std::string json = R"({"jsonrpc":"2.0","method":"m","id":1})";
  feed(*s, post("/RPC2", "text/xml", xml) + post("/x", "application/json", json) +
               post("/RPC2", "", xml) + post("/", "", json) + post("/", "text/plain", json) +
               post("/RPC2", "text/plain", xml) +
               post("/RPC2", "application/x-www-form-urlencoded", xml) +
               post("/", "multipart/form-data; boundary=x", json) +
               post("/", "Text/Plain; charset=utf-8", json));
  ASSERT_EQ(host.dispatched.size(), 3u);
  EXPECT_EQ(host.dispatched[0].meta.protocol, "xmlrpc");
  EXPECT_EQ(host.dispatched[1].meta.protocol, "jsonrpc-http");
  EXPECT_EQ(host.dispatched[2].meta.protocol, "xmlrpc");
  std::size_t refused = 0;
  for (auto at = host.out.find("HTTP/1.1 415"); at != std::string::npos;
       at = host.out.find("HTTP/1.1 415", at + 1)) {
    ++refused;
  }
  EXPECT_EQ(refused, 6u);
}

TEST(http_unit, pipelined_requests_wait_for_the_answer_before_them) {
  fake_host host({}, hold_everything);
  auto s = open(http::server, host);
  const std::string two = post("/", "application/json", R"({"jsonrpc":"2.0","method":"slow","id":1})") +
                          post("/", "application/json", R"({"jsonrpc":"2.0","method":"fast","id":2})");
  std::size_t consumed = 0;
  EXPECT_EQ(feed(*s, two, consumed), server_session::verdict::wait);
  EXPECT_LT(consumed, two.size()) << "the second request stays unparsed";
  ASSERT_EQ(host.held.size(), 1u);
  response r;
  r.result = value("slow");
  host.answer_held(0, r);
  EXPECT_EQ(host.resumes, 1);
  EXPECT_NE(host.out.find(R"("result":"slow")"), std::string::npos);
  EXPECT_EQ(host.out.find(R"("result":"fast")"), std::string::npos);
}

TEST(http_unit, only_notifications_get_204_and_xmlrpc_reads_the_key_from_a_header) {
  fake_host host;
  auto s = open(http::server, host);
  feed(*s, post("/", "application/json", R"({"jsonrpc":"2.0","method":"note"})") +
               post("/RPC2", "text/xml",
                    "<methodCall><methodName>m</methodName></methodCall>",
                    "Idempotency-Key: nc1:0123456789abcdef:3\r\n"));
  EXPECT_EQ(host.out.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u);
  ASSERT_EQ(host.dispatched.size(), 2u);
  EXPECT_EQ(host.dispatched[1].meta.idempotency_key, "nc1:0123456789abcdef:3");
}

// RFC 9112 §2.2: empty lines before a request line are skipped, up to 4 KiB; beyond, 400.
TEST(http_unit, empty_lines_before_a_request_are_skipped_up_to_a_bound) {
  fake_host host;
  auto s = open(http::server, host);
  EXPECT_EQ(feed(*s, "\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\r\n"
                     "\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
            server_session::verdict::more);
  EXPECT_EQ(host.out.find("HTTP/1.1 400"), std::string::npos) << host.out;
  std::size_t answers = 0;
  for (auto at = host.out.find("HTTP/1.1 200"); at != std::string::npos;
       at = host.out.find("HTTP/1.1 200", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2u);
  // Empty lines in pieces count together.
  fake_host host2;
  auto s2 = open(http::server, host2);
  std::size_t consumed = 0;
  EXPECT_EQ(feed(*s2, std::string(4000, '\n'), consumed), server_session::verdict::more);
  EXPECT_EQ(consumed, 4000u) << "skipped empty lines are not kept";
  EXPECT_EQ(feed(*s2, std::string(200, '\n')), server_session::verdict::close);
  EXPECT_NE(host2.out.find("HTTP/1.1 400"), std::string::npos);
  EXPECT_NE(host2.out.find("empty lines before the request line"), std::string::npos);
}

TEST(http_unit, connection_close_ends_after_the_answer) {
  fake_host host;
  auto s = open(http::server, host);
  EXPECT_EQ(feed(*s, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"),
            server_session::verdict::close);
  EXPECT_NE(host.out.find("Connection: close"), std::string::npos);
}

// ---- client side ------------------------------------------------------------------------------

namespace {
/// Reads every answer in `bytes` with `p`'s reader.
std::vector<response> read_all(const client_protocol& p, std::string_view bytes) {
  auto reader = p.make_reader(decode_limits{}, "h:1");
  std::vector<response> out;
  std::size_t consumed = 0;
  for (;;) {
    response r;
    fault why;
    const auto st = reader->next(bytes, consumed, r, why);
    if (st != response_reader::status::answer) {
      EXPECT_NE(st, response_reader::status::failed) << why;
      return out;
    }
    out.push_back(std::move(r));
  }
}
}  // namespace

TEST(client_units, jsonrpc_carries_the_key_as_the_id_and_reads_answers_by_line) {
  const auto& p = jsonrpc::tcp_client();
  request r;
  r.method = "add";
  r.params = array{1, 2};
  r.meta.idempotency_key = "nc1:0123456789abcdef:42";
  p.prepare(r, 42);
  EXPECT_EQ(r.id, value("nc1:0123456789abcdef:42"));
  std::uint32_t seq = 0;
  ASSERT_TRUE(p.sequence_of(r.id, seq));
  EXPECT_EQ(seq, 42u);
  std::string wire;
  p.encode(r, "h:1", {}, wire);
  EXPECT_EQ(wire.back(), '\n');
  const auto answers =
      read_all(p, R"({"jsonrpc":"2.0","result":3,"id":1})" "\n"
                  R"([{"jsonrpc":"2.0","result":4,"id":2},{"jsonrpc":"2.0","result":5,"id":3}])" "\n");
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[2].result, value(5));
}

TEST(client_units, an_answer_beyond_int64_fails_that_call_and_the_next_answer_is_read) {
  const std::string refused = "answer refused: integer 18446744073709551615 is beyond int64";
  const auto json =
      read_all(jsonrpc::tcp_client(), R"({"jsonrpc":"2.0","result":18446744073709551615,"id":1})"
                                      "\n"
                                      R"({"jsonrpc":"2.0","result":5,"id":2})"
                                      "\n");
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].error, (fault{-32005, refused}));
  EXPECT_EQ(json[1].result, value(5));
  // python3-msgpack: packb([1, 1, None, 2**64 - 1]) then packb([1, 2, None, 5]).
  const auto mp = read_all(msgpack::tcp_client(), std::string("\x94\x01\x01\xc0\xcf", 5) +
                                                      std::string(8, '\xff') +
                                                      std::string("\x94\x01\x02\xc0\x05", 5));
  ASSERT_EQ(mp.size(), 2u);
  EXPECT_EQ(mp[0].id, value(1));
  EXPECT_EQ(mp[0].error, (fault{-32005, refused}));
  EXPECT_EQ(mp[1].result, value(5));
}

TEST(client_units, msgpack_round_trips_through_the_server_session) {
  const auto& p = msgpack::tcp_client();
  request r;
  r.method = "echo";
  r.params = array{"x"};
  p.prepare(r, 9);
  std::string wire;
  p.encode(r, "h:1", {}, wire);
  fake_host host;
  auto s = open(msgpack::tcp_server, host);
  feed(*s, wire);
  const auto answers = read_all(p, host.out);
  ASSERT_EQ(answers.size(), 1u);
  std::uint32_t seq = 0;
  ASSERT_TRUE(p.sequence_of(answers[0].id, seq));
  EXPECT_EQ(seq, 9u);
  EXPECT_EQ(answers[0].result, value(array{"x"}));
}

TEST(client_units, http_clients_round_trip_through_the_server_session) {
  for (protocol proto : {protocol::jsonrpc_http, protocol::xmlrpc}) {
    const auto& p = client_protocol_for(proto);
    EXPECT_FALSE(p.multiplexed());
    request r;
    r.method = "echo";
    r.params = array{"x", 1};
    r.meta.idempotency_key = "nc1:0123456789abcdef:7";
    p.prepare(r, 7);
    std::string wire;
    p.encode(r, "h:1", {}, wire);
    EXPECT_NE(wire.find("Idempotency-Key: nc1:0123456789abcdef:7"), std::string::npos);
    fake_host host;
    auto s = open(http::server, host);
    feed(*s, wire);
    ASSERT_EQ(host.dispatched.size(), 1u) << wire;
    EXPECT_EQ(host.dispatched[0].meta.idempotency_key, "nc1:0123456789abcdef:7");
    const auto answers = read_all(p, host.out);
    ASSERT_EQ(answers.size(), 1u) << host.out;
    EXPECT_FALSE(answers[0].error) << answers[0].error->message;
    EXPECT_EQ(answers[0].result, value(array{"x", 1}));
  }
}

TEST(client_units, an_http_status_other_than_200_is_a_protocol_error) {
  const auto answers = read_all(client_protocol_for(protocol::xmlrpc),
                                "HTTP/1.1 415 Unsupported Media Type\r\nContent-Length: 4\r\n\r\nnope");
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_TRUE(answers[0].error);
  EXPECT_EQ(answers[0].error->code, wire_code(status_code::protocol_error));
  EXPECT_NE(answers[0].error->message.find("HTTP 415"), std::string::npos);
}

// RFC 9110 §15.2: a client reads and skips interim (1xx) answers before the final one.
TEST(client_units, http_interim_answers_are_skipped_and_101_is_an_error) {
  const std::string final_answer =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 35\r\n\r\n"
      R"({"jsonrpc":"2.0","result":3,"id":1})";
  const auto& p = client_protocol_for(protocol::jsonrpc_http);
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n";
  auto answers = read_all(p, interim + final_answer);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_FALSE(answers[0].error) << answers[0].error->message;
  EXPECT_EQ(answers[0].result, value(3));
  // The same bytes one at a time.
  auto reader = p.make_reader(decode_limits{}, "h:1");
  const std::string all = interim + final_answer;
  std::size_t consumed = 0;
  response r;
  fault why;
  auto st = response_reader::status::need_more;
  for (std::size_t n = 1; n <= all.size() && st == response_reader::status::need_more; ++n) {
    st = reader->next(std::string_view(all).substr(0, n), consumed, r, why);
  }
  ASSERT_EQ(st, response_reader::status::answer) << why.message;
  EXPECT_EQ(r.result, value(3));

  reader = p.make_reader(decode_limits{}, "h:1");
  consumed = 0;
  const std::string upgrade =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n" + final_answer;
  EXPECT_EQ(reader->next(upgrade, consumed, r, why), response_reader::status::failed);
  EXPECT_NE(why.message.find("101"), std::string::npos) << why.message;
}

TEST(client_units, http_endless_interim_answers_and_long_heads_are_cut_off_at_64_kib) {
  const auto& p = client_protocol_for(protocol::xmlrpc);
  std::string endless;
  while (endless.size() <= max_http_header_bytes) endless += "HTTP/1.1 100 Continue\r\n\r\n";
  auto reader = p.make_reader(decode_limits{}, "h:1");
  std::size_t consumed = 0;
  response r;
  fault why;
  EXPECT_EQ(reader->next(endless, consumed, r, why), response_reader::status::failed);
  EXPECT_NE(why.message.find("interim"), std::string::npos) << why.message;
  // A head over 64 KiB, given in 1000-byte pieces as reads would (Beast alone counted each
  // piece on its own).
  std::string head = "HTTP/1.1 200 OK\r\n";
  while (head.size() <= max_http_header_bytes) head += "X-Filler: " + std::string(80, 'a') + "\r\n";
  reader = p.make_reader(decode_limits{}, "h:1");
  consumed = 0;
  auto st = response_reader::status::need_more;
  for (std::size_t n = 1000; st == response_reader::status::need_more && n < 2 * head.size();
       n += 1000) {
    st = reader->next(std::string_view(head).substr(0, std::min(n, head.size())), consumed, r,
                      why);
  }
  EXPECT_EQ(st, response_reader::status::failed);
  EXPECT_NE(why.message.find("header"), std::string::npos) << why.message;
}

// ---- security (SPEC §6) -------------------------------------------------------------------------

TEST(token_set, accepts_each_token_and_nothing_else) {
  const token_set tokens({"alpha-123", "beta-4567"});
  EXPECT_TRUE(tokens.contains("alpha-123"));
  EXPECT_TRUE(tokens.contains("beta-4567"));
  EXPECT_FALSE(tokens.contains("alpha-12"));
  EXPECT_FALSE(tokens.contains("alpha-1234"));
  EXPECT_FALSE(tokens.contains("ALPHA-123"));
  EXPECT_FALSE(tokens.contains(""));
  EXPECT_THROW(token_set({""}), std::invalid_argument);
  EXPECT_THROW(token_set({"with space"}), std::invalid_argument);
  EXPECT_THROW(token_set({std::string("nul\0in", 6)}), std::invalid_argument);
}

TEST(token_set, a_file_holds_one_token_a_line_with_comments_and_blank_lines) {
  const std::string path = ::testing::TempDir() + "/netcall_tokens_test";
  {
    std::ofstream f(path);
    f << "# rotated monthly\n\n  first-token  \r\nsecond-token\n";
  }
  EXPECT_EQ(token_set::read_file(path), (std::vector<std::string>{"first-token", "second-token"}));
  {
    std::ofstream f(path);
    f << "# only a comment\n";
  }
  EXPECT_THROW(token_set::read_file(path), std::invalid_argument);
  EXPECT_THROW(token_set::read_file(path + ".missing"), std::invalid_argument);
  std::remove(path.c_str());
}

TEST(http_auth, bearer_and_basic_carry_the_token) {
  EXPECT_EQ(bearer_or_basic_token("Bearer abc.def"), "abc.def");
  EXPECT_EQ(bearer_or_basic_token("bearer   abc"), "abc");
  EXPECT_EQ(bearer_or_basic_token("Basic YW55OnMzY3JldA=="), "s3cret");  // any:s3cret
  EXPECT_EQ(bearer_or_basic_token("Basic OnRvaw=="), "tok");             // :tok
  EXPECT_EQ(bearer_or_basic_token("Basic bm9jb2xvbg=="), "");            // nocolon
  EXPECT_EQ(bearer_or_basic_token("Basic !!!!"), "");
  EXPECT_EQ(bearer_or_basic_token("Bearer"), "");
  EXPECT_EQ(bearer_or_basic_token("Bearerabc"), "");
  EXPECT_EQ(bearer_or_basic_token("Digest abc"), "");
  EXPECT_EQ(bearer_or_basic_token(""), "");
}

TEST(access_policy, tokens_are_required_once_set_and_replaced_by_a_reload) {
  access_policy access;
  EXPECT_FALSE(access.tokens_required());
  EXPECT_TRUE(access.token_valid(""));
  access.set_tokens(std::make_shared<const token_set>(std::vector<std::string>{"old"}));
  EXPECT_TRUE(access.tokens_required());
  EXPECT_TRUE(access.token_valid("old"));
  EXPECT_FALSE(access.token_valid(""));
  access.set_tokens(std::make_shared<const token_set>(std::vector<std::string>{"new"}));
  EXPECT_FALSE(access.token_valid("old"));
  EXPECT_TRUE(access.token_valid("new"));
}

TEST(access_policy, hosts_are_the_listen_addresses_localhost_and_allowed_names) {
  access_policy access;
  access.set_listen_addresses({"127.0.0.1:8000", "[::1]:8000"});
  access.allowed_hosts = {"rpc.example"};
  for (const char* ok : {"", "127.0.0.1", "127.0.0.1:9", "[::1]:8000", "localhost",
                         "LOCALHOST:80", "app.localhost", "rpc.example", "RPC.Example:443"}) {
    EXPECT_TRUE(access.host_allowed(ok)) << ok;
  }
  for (const char* refused : {"evil.example", "127.0.0.2", "10.0.0.1:8000", "localhost.evil",
                              "example.localhost.evil", "rpc.example.evil", ":80", "[]"}) {
    EXPECT_FALSE(access.host_allowed(refused)) << refused;
  }
  access.set_listen_addresses({"0.0.0.0:8000"});
  EXPECT_TRUE(access.host_allowed("10.0.0.1:8000"));  // a wildcard listener: any IP address
  EXPECT_FALSE(access.host_allowed("evil.example"));  // but no name
  access.allowed_hosts = {"*"};
  EXPECT_TRUE(access.host_allowed("evil.example"));
}

TEST(access_policy, origins_are_compared_whole_and_case_insensitively) {
  access_policy access;
  EXPECT_FALSE(access.origin_allowed("http://ok.example"));
  access.allowed_origins = {"http://ok.example"};
  EXPECT_TRUE(access.origin_allowed("HTTP://OK.example"));
  EXPECT_FALSE(access.origin_allowed("http://ok.example.evil"));
  EXPECT_FALSE(access.origin_allowed("https://ok.example"));
  EXPECT_FALSE(access.origin_allowed("null"));
}

TEST(access_policy, failures_are_free_three_times_then_slowed_down_per_address) {
  access_policy access;
  using std::chrono::milliseconds;
  for (int i = 0; i < access_policy::free_failures; ++i) {
    EXPECT_EQ(access.record_failure("10.0.0.1:1000"), milliseconds(0));
  }
  EXPECT_EQ(access.record_failure("10.0.0.1:1001"), milliseconds(250));  // another port
  EXPECT_EQ(access.record_failure("10.0.0.1:1002"), milliseconds(500));
  EXPECT_EQ(access.record_failure("10.0.0.2:1000"), milliseconds(0));  // another peer
  for (int i = 0; i < 10; ++i) access.record_failure("10.0.0.1:1");
  EXPECT_EQ(access.record_failure("10.0.0.1:1"), access_policy::max_penalty);
  // Blocked for the penalty, by address; others are not.
  EXPECT_GT(access.blocked_for("10.0.0.1:9999"), milliseconds(3'000));
  EXPECT_LE(access.blocked_for("10.0.0.1:9999"), access_policy::max_penalty);
  EXPECT_EQ(access.blocked_for("10.0.0.2:1000"), milliseconds(0));
  EXPECT_EQ(access.blocked_for("10.0.0.3:1000"), milliseconds(0));
}

namespace {

/// Feeds one HTTP request to a new session of `host` and returns what it wrote.
std::string answer_of(fake_host& host, const std::string& request) {
  auto s = open(http::server, host);
  feed(*s, request);
  return host.out;
}

}  // namespace

TEST(http_unit, an_origin_not_allowed_is_403_and_an_allowed_one_gets_cors_headers) {
  const std::string json = R"({"jsonrpc":"2.0","method":"m","id":1})";
  fake_host refused;
  EXPECT_EQ(answer_of(refused, post("/", "application/json", json, "Origin: http://evil\r\n"))
                .rfind("HTTP/1.1 403", 0),
            0u);
  EXPECT_TRUE(refused.dispatched.empty());
  fake_host allowed;
  allowed.access_.allowed_origins = {"http://ok.example"};
  const std::string out =
      answer_of(allowed, post("/", "application/json", json, "Origin: http://ok.example\r\n"));
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("Access-Control-Allow-Origin: http://ok.example\r\n"), std::string::npos);
  EXPECT_NE(out.find("Vary: Origin\r\n"), std::string::npos);
  EXPECT_EQ(allowed.dispatched.size(), 1u);
  fake_host preflight;
  preflight.access_.allowed_origins = {"http://ok.example"};
  const std::string pre = answer_of(
      preflight, "OPTIONS /RPC2 HTTP/1.1\r\nHost: x\r\nOrigin: http://ok.example\r\n"
                 "Access-Control-Request-Method: POST\r\n\r\n");
  EXPECT_EQ(pre.rfind("HTTP/1.1 204", 0), 0u) << pre;
  EXPECT_NE(pre.find("Access-Control-Allow-Methods: POST"), std::string::npos);
  EXPECT_NE(pre.find("Access-Control-Allow-Headers: Content-Type, Authorization"),
            std::string::npos);
}

TEST(http_unit, a_host_that_is_not_the_server_is_403_and_runs_nothing) {
  fake_host host;
  host.access_.allowed_hosts.clear();
  host.access_.set_listen_addresses({"127.0.0.1:8000"});
  const std::string json = R"({"jsonrpc":"2.0","method":"m","id":1})";
  std::string request = post("/", "application/json", json);
  request.replace(request.find("Host: x"), 7, "Host: attacker.example:8000");
  EXPECT_EQ(answer_of(host, request).rfind("HTTP/1.1 403", 0), 0u);
  EXPECT_TRUE(host.dispatched.empty());
}

TEST(http_unit, metrics_needs_the_token_when_the_server_has_tokens) {
  fake_host host;
  host.access_.set_tokens(std::make_shared<const token_set>(std::vector<std::string>{"tok"}));
  const std::string out = answer_of(host, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                                          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                          "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                          "Authorization: Bearer tok\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 401", 0), 0u) << out;
  EXPECT_NE(out.find("WWW-Authenticate: Bearer realm=\"netcall\"\r\n"), std::string::npos);
  EXPECT_NE(out.find("HTTP/1.1 200 OK\r\nServer: netcall\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 3"),
            std::string::npos);  // /healthz
  EXPECT_NE(out.find("netcall_test_metric 1"), std::string::npos);
}

TEST(http_unit, the_request_token_is_checked_once_and_an_unauthenticated_answer_is_401) {
  fake_host host({}, [](request& r, response& answer) {
    if (!r.meta.authenticated) {  // what the auth interceptor does with the others
      answer.error = make_fault(status_code::unauthenticated, "unauthenticated");
    } else {
      answer.result = value(1);
    }
    return true;
  });
  host.access_.set_tokens(std::make_shared<const token_set>(std::vector<std::string>{"tok"}));
  const std::string json = R"({"jsonrpc":"2.0","method":"m","id":1})";
  const std::string out = answer_of(
      host, post("/", "application/json", json) +
                post("/", "application/json", json, "Authorization: Bearer tok\r\n") +
                post("/", "application/json", json, "Authorization: Bearer wrong\r\n"));
  ASSERT_EQ(host.dispatched.size(), 3u);
  // Missing: nothing to check; valid: marked, the token not copied; wrong: carried to the
  // interceptor, which refuses it and counts the failure.
  EXPECT_FALSE(host.dispatched[0].meta.authenticated);
  EXPECT_EQ(host.dispatched[0].meta.token, "");
  EXPECT_TRUE(host.dispatched[1].meta.authenticated);
  EXPECT_EQ(host.dispatched[1].meta.token, "");
  EXPECT_FALSE(host.dispatched[2].meta.authenticated);
  EXPECT_EQ(host.dispatched[2].meta.token, "wrong");
  EXPECT_EQ(out.rfind("HTTP/1.1 401", 0), 0u) << out;
  EXPECT_NE(out.find("WWW-Authenticate: Basic realm=\"netcall\""), std::string::npos);
  const auto second = out.find("HTTP/1.1 200");
  ASSERT_NE(second, std::string::npos) << out;
  const auto third = out.find("HTTP/1.1 401", second);
  ASSERT_NE(third, std::string::npos) << out;
  EXPECT_EQ(out.substr(second, third - second).find("WWW-Authenticate"), std::string::npos)
      << "per request";
}

TEST(http_unit, an_http_1_1_request_has_exactly_one_host) {
  // RFC 9112 §3.2: none (HTTP/1.1) or two are 400; the connection goes on (its framing holds).
  fake_host host;
  const std::string json = R"({"jsonrpc":"2.0","method":"m","id":1})";
  std::string none = post("/", "application/json", json);
  none.erase(none.find("Host: x\r\n"), 9);
  std::string two = post("/", "application/json", json);
  two.insert(two.find("Host: x\r\n"), "Host: 127.0.0.1\r\n");
  std::string old = none;
  old.replace(old.find("HTTP/1.1"), 8, "HTTP/1.0");
  const std::string out = answer_of(host, none + two + old);
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  EXPECT_NE(out.find("HTTP/1.1 400", 1), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP/1.0 200"), std::string::npos) << out;  // HTTP/1.0 may omit it
  EXPECT_EQ(host.dispatched.size(), 1u);
}

TEST(http_unit, a_transfer_encoding_that_does_not_end_in_chunked_is_refused) {
  // RFC 9112 §6.3: the body's length cannot be known; what follows must not be read as a
  // second request.
  const std::string hidden = post("/", "application/json", R"({"jsonrpc":"2.0","method":"m","id":1})");
  for (const char* coding : {"gzip", "chunked, gzip", "identity"}) {
    fake_host host;
    const std::string out = answer_of(
        host, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Transfer-Encoding: " + std::string(coding) + "\r\n\r\n" + hidden);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << coding << ": " << out;
    EXPECT_TRUE(host.dispatched.empty()) << coding;
  }
  fake_host chunked;
  answer_of(chunked, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.out.rfind("HTTP/1.1 400", 0) != 0u);  // ends in chunked: a length known
  // HTTP/1.0 has no transfer codings (RFC 9112 §6.1): an HTTP/1.0 hop would frame it otherwise.
  fake_host old;
  answer_of(old, "POST / HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                     hidden);
  EXPECT_NE(old.out.find(" 400 "), std::string::npos) << old.out;
  EXPECT_TRUE(old.dispatched.empty());
}
