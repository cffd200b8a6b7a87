// Tests of src/protocol/msgpack/codec.cpp: MessagePack framing (frame_scanner), MessagePack-RPC
// request/response decoding and encoding, and the value mapping (docs/protocols.md "Type
// mapping"). Expected bytes are written by hand from the MessagePack spec
// (github.com/msgpack/msgpack/blob/master/spec.md) or, where marked, were produced by Debian's
// python3-msgpack 1.0.3 (`/usr/bin/python3 -c 'import msgpack; print(msgpack.packb(...).hex())'`).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/msgpack/codec.hpp"

namespace netcall {
// Readable values in assertion failures.
inline void PrintTo(const value& v, std::ostream* os) { *os << to_debug_string(v); }
}  // namespace netcall

namespace netcall::detail {
inline void PrintTo(const fault& f, std::ostream* os) {
  *os << "fault{" << f.code << ", \"" << f.message << "\"}";
}
}  // namespace netcall::detail

namespace netcall::detail::msgpack {

inline void PrintTo(frame_scanner::status s, std::ostream* os) {
  switch (s) {
    case frame_scanner::status::need_more:
      *os << "need_more";
      return;
    case frame_scanner::status::complete:
      *os << "complete";
      return;
    case frame_scanner::status::invalid:
      *os << "invalid";
      return;
    case frame_scanner::status::too_large:
      *os << "too_large";
      return;
    case frame_scanner::status::over_budget:
      *os << "over_budget";
      return;
  }
  *os << "status(" << static_cast<int>(s) << ")";
}

namespace {

using status = frame_scanner::status;

constexpr int invalid_request_code = -32600;
constexpr int invalid_params_code = -32602;
constexpr int protocol_error_code = -32005;
constexpr int method_not_found_code = -32601;
constexpr int application_error_code = -32000;
constexpr std::size_t default_depth = 128;
constexpr std::size_t default_bytes = 16u << 20;

/// Bytes from hex text; spaces are ignored ("94 01 07" and "940107" are the same).
std::string unhex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    ADD_FAILURE() << "bad hex digit '" << c << "'";
    return 0;
  };
  std::string out;
  int high = -1;
  for (char c : text) {
    if (c == ' ') continue;
    if (high < 0) {
      high = nibble(c);
    } else {
      out.push_back(static_cast<char>(high * 16 + nibble(c)));
      high = -1;
    }
  }
  EXPECT_LT(high, 0) << "odd number of hex digits in " << text;
  return out;
}

/// Lower-case hex of `data`, for comparing encodings with readable failures.
std::string hex(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : data) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

/// `n` copies of byte `b` as hex.
std::string hex_repeat(std::string_view b, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += b;
  return out;
}

/// Scans `data` in one call with a fresh scanner.
status scan_once(std::string_view data, std::size_t max_depth = default_depth,
                 std::size_t max_bytes = default_bytes, std::size_t* size = nullptr) {
  frame_scanner s(max_depth, max_bytes);
  const status st = s.scan(data);
  if (size != nullptr) *size = s.size();
  return st;
}

/// `n` nested one-element arrays around `inner` (hex): 91 91 ... inner.
std::string nested_arrays(std::size_t n, std::string_view inner) {
  return unhex(hex_repeat("91", n)) + unhex(inner);
}

std::string encoded(const value& v) {
  std::string out;
  encode_value(v, out);
  return out;
}

/// Decodes one value without a decoded-size budget (the shapes here include an array of 65,536
/// nils, 40 times its size; budgets have tests of their own).
value read_back(std::string_view data) {
  value v;
  fault why;
  decode_limits unbudgeted;
  unbudgeted.max_decoded_ratio = 0;
  EXPECT_TRUE(decode_value(data, unbudgeted, v, why)) << hex(data) << ": " << why;
  return v;
}

/// What a server makes of one message: a request, an error answer (to a readable msgid), or
/// nothing (dropped). decode_request says it with a bool and a fault (the codecs' one error
/// style); the tests read it as this variant.
using server_message = std::variant<std::monostate, request, response>;

server_message outcome_of(bool ok, const request& req, const fault& error) {
  if (ok) return req;
  if (req.id.is_nil()) return std::monostate{};
  response r;
  r.id = req.id;
  r.error = error;
  return r;
}

server_message decode_request(std::string_view data, const decode_limits& limits) {
  request req;
  fault error;
  const bool ok = msgpack::decode_request(data, limits, req, error);
  return outcome_of(ok, req, error);
}

server_message decode_req(std::string_view hex_text) {
  return decode_request(unhex(hex_text), decode_limits{});
}

/// The request a server message holds (fails the test when it holds something else).
request request_of(const server_message& m) {
  EXPECT_TRUE(std::holds_alternative<request>(m))
      << "expected a request, got alternative " << m.index();
  const request* r = std::get_if<request>(&m);
  return r != nullptr ? *r : request{};
}

/// The error response a server message holds (fails the test when it holds something else).
response error_of(const server_message& m) {
  EXPECT_TRUE(std::holds_alternative<response>(m))
      << "expected an error response, got alternative " << m.index();
  const response* r = std::get_if<response>(&m);
  if (r == nullptr) return response{};
  EXPECT_TRUE(r->error.has_value());
  return *r;
}

// ----------------------------------------------------------------------------------------------
// frame_scanner: one complete object of every type, its size, and resumable scanning.

struct framing_case {
  const char* name;
  const char* hex;  // exactly one object
};

void PrintTo(const framing_case& c, std::ostream* os) { *os << c.name; }

const std::string str31_hex = "bf" + hex_repeat("61", 31);
const std::string array15_hex = "9f" + hex_repeat("c0", 15);
const std::string map15_hex = "8f" + hex_repeat("a16bc3", 15);

const std::vector<framing_case>& framing_cases() {
  static const std::vector<framing_case> cases = {
      {"positive_fixint_0", "00"},
      {"positive_fixint_127", "7f"},
      {"negative_fixint_minus_32", "e0"},
      {"negative_fixint_minus_1", "ff"},
      {"nil", "c0"},
      {"false", "c2"},
      {"true", "c3"},
      {"uint8", "cc ff"},
      {"uint16", "cd ffff"},
      {"uint32", "ce ffffffff"},
      {"uint64", "cf ffffffffffffffff"},
      {"int8", "d0 80"},
      {"int16", "d1 8000"},
      {"int32", "d2 80000000"},
      {"int64", "d3 8000000000000000"},
      {"float32", "ca 3fc00000"},
      {"float64", "cb 3ff8000000000000"},
      {"float32_payload_holding_c1", "ca c1c1c1c1"},
      {"fixstr_empty", "a0"},
      {"fixstr_3", "a3 616263"},
      {"fixstr_31", str31_hex.c_str()},
      {"fixstr_payload_holding_c1", "a2 c1c1"},
      {"str8_empty", "d9 00"},
      {"str8", "d9 03 616263"},
      {"str16", "da 0003 616263"},
      {"str32", "db 00000003 616263"},
      {"bin8_empty", "c4 00"},
      {"bin8", "c4 02 00ff"},
      {"bin16", "c5 0002 00ff"},
      {"bin32", "c6 00000002 00ff"},
      {"fixarray_empty", "90"},
      {"fixarray_3", "93 01 02 03"},
      {"fixarray_15", array15_hex.c_str()},
      {"array16_empty", "dc 0000"},
      {"array16", "dc 0002 01 02"},
      {"array32", "dd 00000002 01 02"},
      {"fixmap_empty", "80"},
      {"fixmap_1", "81 a16b 01"},
      {"fixmap_15", map15_hex.c_str()},
      {"map16", "de 0001 a16b 01"},
      {"map32", "df 00000001 a16b 01"},
      {"map_with_container_keys", "81 91 01 92 c0 c0"},
      {"fixext1", "d4 01 aa"},
      {"fixext2", "d5 01 aabb"},
      {"fixext4", "d6 ff 00000000"},
      {"fixext8", "d7 ff 0000000000000000"},
      {"fixext16", "d8 01 00112233445566778899aabbccddeeff"},
      {"ext8_empty", "c7 00 01"},
      {"ext8", "c7 03 01 aabbcc"},
      {"ext16", "c8 0003 01 aabbcc"},
      {"ext32", "c9 00000003 01 aabbcc"},
      {"nested_mixed", "92 81 a16b 91 c0 c3"},
      {"python_request_add", "940001a3616464920203"},
  };
  return cases;
}

class framing : public testing::TestWithParam<framing_case> {};

TEST_P(framing, whole_object_is_complete_with_its_size) {
  const std::string data = unhex(GetParam().hex);
  std::size_t size = 0;
  EXPECT_EQ(scan_once(data, default_depth, default_bytes, &size), status::complete);
  EXPECT_EQ(size, data.size());
}

TEST_P(framing, fed_byte_by_byte_is_need_more_until_the_last_byte) {
  const std::string data = unhex(GetParam().hex);
  frame_scanner s(default_depth, default_bytes);
  for (std::size_t n = 0; n < data.size(); ++n) {
    ASSERT_EQ(s.scan(std::string_view(data).substr(0, n)), status::need_more) << "prefix " << n;
  }
  EXPECT_EQ(s.scan(data), status::complete);
  EXPECT_EQ(s.size(), data.size());
}

TEST_P(framing, every_strict_prefix_is_need_more_and_then_resumes) {
  // One pause anywhere: the scanner keeps its place and finishes on the whole object.
  const std::string data = unhex(GetParam().hex);
  for (std::size_t cut = 0; cut < data.size(); ++cut) {
    frame_scanner s(default_depth, default_bytes);
    ASSERT_EQ(s.scan(std::string_view(data).substr(0, cut)), status::need_more) << "cut " << cut;
    ASSERT_EQ(s.scan(data), status::complete) << "cut " << cut;
    EXPECT_EQ(s.size(), data.size()) << "cut " << cut;
  }
}

TEST_P(framing, bytes_after_the_object_are_not_part_of_it) {
  const std::string data = unhex(GetParam().hex);
  std::size_t size = 0;
  EXPECT_EQ(scan_once(data + unhex("c1 940001"), default_depth, default_bytes, &size),
            status::complete);
  EXPECT_EQ(size, data.size());
}

TEST_P(framing, object_of_exactly_max_bytes_is_accepted_one_less_is_too_large) {
  const std::string data = unhex(GetParam().hex);
  EXPECT_EQ(scan_once(data, default_depth, data.size()), status::complete);
  EXPECT_EQ(scan_once(data, default_depth, data.size() - 1), status::too_large);
}

INSTANTIATE_TEST_SUITE_P(msgpack_types, framing, testing::ValuesIn(framing_cases()),
                         [](const testing::TestParamInfo<framing_case>& info) {
                           return std::string(info.param.name);
                         });

TEST(msgpack_frame_scanner, empty_input_is_need_more) {
  EXPECT_EQ(scan_once(""), status::need_more);
}

TEST(msgpack_frame_scanner, two_messages_back_to_back_report_the_first_size) {
  const std::string first = unhex("940001a3616464920203");
  const std::string second = unhex("9302a36c6f6791a26869");
  frame_scanner s(default_depth, default_bytes);
  ASSERT_EQ(s.scan(first + second), status::complete);
  EXPECT_EQ(s.size(), first.size());
}

TEST(msgpack_frame_scanner, reset_then_scans_the_next_message) {
  const std::string first = unhex("940001a3616464920203");
  const std::string second = unhex("9302a36c6f6791a26869");
  const std::string stream = first + second;
  frame_scanner s(default_depth, default_bytes);
  ASSERT_EQ(s.scan(stream), status::complete);
  ASSERT_EQ(s.size(), first.size());
  // The next message starts where the first ended; reset() puts size() back to 0.
  const std::string_view rest = std::string_view(stream).substr(s.size());
  s.reset();
  EXPECT_EQ(s.size(), 0u);
  ASSERT_EQ(s.scan(rest.substr(0, 3)), status::need_more);
  ASSERT_EQ(s.scan(rest), status::complete);
  EXPECT_EQ(s.size(), second.size());
}

TEST(msgpack_frame_scanner, reset_after_a_partial_message_forgets_it) {
  frame_scanner s(default_depth, default_bytes);
  ASSERT_EQ(s.scan(unhex("94 00 01")), status::need_more);
  s.reset();
  EXPECT_EQ(s.scan(unhex("c3")), status::complete);
  EXPECT_EQ(s.size(), 1u);
}

TEST(msgpack_frame_scanner, reset_after_invalid_scans_again) {
  frame_scanner s(default_depth, default_bytes);
  ASSERT_EQ(s.scan(unhex("c1")), status::invalid);
  s.reset();
  EXPECT_STREQ(s.reason(), "");
  EXPECT_EQ(s.scan(unhex("92 01 02")), status::complete);
  EXPECT_EQ(s.size(), 3u);
}

TEST(msgpack_frame_scanner, byte_c1_is_invalid_with_a_reason) {
  frame_scanner s(default_depth, default_bytes);
  EXPECT_EQ(s.scan(unhex("c1")), status::invalid);
  EXPECT_STRNE(s.reason(), "");
}

TEST(msgpack_frame_scanner, byte_c1_inside_a_container_is_invalid) {
  EXPECT_EQ(scan_once(unhex("93 01 c1 02")), status::invalid);
  EXPECT_EQ(scan_once(unhex("81 c1 01")), status::invalid);
  // Reported as soon as the byte arrives, before the container could complete.
  EXPECT_EQ(scan_once(unhex("93 01 c1")), status::invalid);
}

TEST(msgpack_frame_scanner, nesting_of_exactly_max_depth_is_accepted) {
  // max_depth counts arrays/maps around the innermost item: [[[1]]] has depth 3.
  std::size_t size = 0;
  EXPECT_EQ(scan_once(nested_arrays(3, "01"), 3, default_bytes, &size), status::complete);
  EXPECT_EQ(size, 4u);
  EXPECT_EQ(scan_once(unhex("81 a16b 81 a16b 81 a16b 01"), 3), status::complete);
  EXPECT_EQ(scan_once(nested_arrays(default_depth, "01")), status::complete);
}

TEST(msgpack_frame_scanner, nesting_deeper_than_max_depth_is_invalid) {
  frame_scanner s(3, default_bytes);
  EXPECT_EQ(s.scan(nested_arrays(4, "01")), status::invalid);
  EXPECT_STRNE(s.reason(), "");
  EXPECT_EQ(scan_once(unhex("81 a16b 81 a16b 81 a16b 81 a16b 01"), 3), status::invalid);
  EXPECT_EQ(scan_once(unhex("91 81 a16b 91 81 a16b 01"), 3), status::invalid);
  EXPECT_EQ(scan_once(nested_arrays(default_depth + 1, "01")), status::invalid);
  // A deep prefix is refused before the rest arrives (no need to wait for the leaf).
  EXPECT_EQ(scan_once(unhex(hex_repeat("91", 4)), 3), status::invalid);
}

TEST(msgpack_frame_scanner, empty_container_deeper_than_max_depth_is_invalid) {
  // [[[[]]]] nests four containers, like [[[[1]]]]: over a limit of 3 whichever the leaf is.
  // (XML-RPC and JSON-RPC count empty containers against max_depth too.)
  EXPECT_EQ(scan_once(nested_arrays(3, "90"), 3), status::invalid) << "[[[[]]]] at max_depth 3";
  EXPECT_EQ(scan_once(nested_arrays(3, "80"), 3), status::invalid) << "[[[{}]]] at max_depth 3";
  EXPECT_EQ(scan_once(nested_arrays(2, "90"), 3), status::complete) << "[[[]]] at max_depth 3";
  decode_limits limits;
  limits.max_depth = 3;
  value v;
  fault why;
  EXPECT_FALSE(decode_value(nested_arrays(3, "90"), limits, v, why)) << "[[[[]]]] at max_depth 3";
}

TEST(msgpack_frame_scanner, object_longer_than_max_bytes_is_too_large) {
  // str8 of 9 bytes (11 in all) against 10: known from the header alone.
  EXPECT_EQ(scan_once(unhex("d9 09"), default_depth, 10), status::too_large);
  EXPECT_EQ(scan_once(unhex("d9 08" + hex_repeat("61", 8)), default_depth, 10), status::complete);
  // An array whose items add up past the limit: too_large once the item that crosses it is
  // seen, never complete.
  const std::string data = unhex("93 a3616263 a3646566 a3676869");  // 13 bytes
  frame_scanner s(default_depth, 8);
  status last = status::need_more;
  for (std::size_t n = 1; n <= data.size() && last == status::need_more; ++n) {
    last = s.scan(std::string_view(data).substr(0, n));
  }
  EXPECT_EQ(last, status::too_large);
}

TEST(msgpack_frame_scanner, header_longer_than_max_bytes_is_too_large) {
  // A str32 header alone is 5 bytes.
  EXPECT_EQ(scan_once(unhex("db 00"), default_depth, 3), status::too_large);
}

TEST(msgpack_frame_scanner, str32_claiming_4_gib_is_too_large_without_waiting_for_data) {
  for (const char* header : {"db ffffffff", "c6 ffffffff", "c9 ffffffff 01", "db 80000000"}) {
    frame_scanner s(default_depth, default_bytes);
    EXPECT_EQ(s.scan(unhex(header)), status::too_large) << header;
  }
  // The same inside a request's params.
  EXPECT_EQ(scan_once(unhex("94 00 01 a3616464 91 db ffffffff")), status::too_large);
}

TEST(msgpack_frame_scanner, array32_claiming_4g_elements_is_too_large_without_waiting_for_data) {
  EXPECT_EQ(scan_once(unhex("dd ffffffff")), status::too_large);
  EXPECT_EQ(scan_once(unhex("df ffffffff")), status::too_large);
  EXPECT_EQ(scan_once(unhex("94 00 01 a3616464 dd ffffffff")), status::too_large);
}

TEST(msgpack_frame_scanner, claims_within_the_limit_wait_for_their_bytes) {
  EXPECT_EQ(scan_once(unhex("dd 00000010"), default_depth, 1000), status::need_more);
  EXPECT_EQ(scan_once(unhex("db 00000010 61"), default_depth, 1000), status::need_more);
}

// ----------------------------------------------------------------------------------------------
// decode_request: what a server reads.

TEST(msgpack_decode_request, request_with_positional_params) {
  // What python3-msgpack sends for [0, 1, "add", [2, 3]].
  const request r = request_of(decode_req("940001a3616464920203"));
  EXPECT_EQ(r.method, "add");
  EXPECT_EQ(r.params, value(array{2, 3}));
  EXPECT_TRUE(r.id.is_int());
  EXPECT_EQ(r.id, value(1));
  EXPECT_FALSE(r.notification);
  EXPECT_EQ(r.meta.idempotency_key, "");
}

TEST(msgpack_decode_request, msgid_of_every_uint_width_up_to_2_32_minus_1) {
  EXPECT_EQ(request_of(decode_req("94 00 00 a16d 90")).id, value(0));
  EXPECT_EQ(request_of(decode_req("94 00 cc ff a16d 90")).id, value(255));
  EXPECT_EQ(request_of(decode_req("94 00 cd ffff a16d 90")).id, value(65535));
  EXPECT_EQ(request_of(decode_req("94 00 ce ffffffff a16d 90")).id, value(4294967295LL));
  EXPECT_EQ(request_of(decode_req("94 00 cf 00000000ffffffff a16d 90")).id, value(4294967295LL));
}

TEST(msgpack_decode_request, five_elements_carry_the_idempotency_key) {
  // python3-msgpack: [0, 9, "add", [2, 3], "client-1:17"].
  const request r = request_of(decode_req("950009a3616464920203ab636c69656e742d313a3137"));
  EXPECT_EQ(r.method, "add");
  EXPECT_EQ(r.params, value(array{2, 3}));
  EXPECT_EQ(r.id, value(9));
  EXPECT_EQ(r.meta.idempotency_key, "client-1:17");
  EXPECT_FALSE(r.notification);
}

TEST(msgpack_decode_request, idempotency_key_that_is_not_a_string_is_invalid_request) {
  const response e = error_of(decode_req("95 00 09 a3616464 90 01"));
  EXPECT_EQ(e.id, value(9));
  ASSERT_TRUE(e.error);
  EXPECT_EQ(e.error->code, invalid_request_code);
}

TEST(msgpack_decode_request, type_2_is_a_notification) {
  // python3-msgpack: [2, "log", ["hi"]].
  const request r = request_of(decode_req("9302a36c6f6791a26869"));
  EXPECT_TRUE(r.notification);
  EXPECT_EQ(r.method, "log");
  EXPECT_EQ(r.params, value(array{"hi"}));
  EXPECT_TRUE(r.id.is_nil());
}

TEST(msgpack_decode_request, map_params_are_struct_params) {
  // python3-msgpack: [0, 7, "greet", {"name": "Ada", "n": 3}].
  const request r = request_of(decode_req("940007a5677265657482a46e616d65a3416461a16e03"));
  EXPECT_EQ(r.method, "greet");
  EXPECT_EQ(r.params, value(structure{{"name", "Ada"}, {"n", 3}}));
  EXPECT_EQ(r.id, value(7));
  // And in a notification.
  EXPECT_EQ(request_of(decode_req("93 02 a16d 81 a16b 01")).params, value(structure{{"k", 1}}));
}

TEST(msgpack_decode_request, params_of_every_kind_as_python_sends_them) {
  // python3-msgpack: [0, 42, "echo", [None, True, False, -1, -33, 255, 65536, 2**32, -2**63, 1.5,
  //                                   "héllo", b"\x00\xff", [], {}]].
  const request r = request_of(decode_req(
      "94002aa46563686f9ec0c3c2ffd0dfccffce00010000cf0000000100000000d38000000000000000cb3ff800"
      "0000000000a668c3a96c6c6fc40200ff9080"));
  EXPECT_EQ(r.id, value(42));
  EXPECT_EQ(r.method, "echo");
  const array expected = {nil,
                          true,
                          false,
                          -1,
                          -33,
                          255,
                          65536,
                          std::int64_t{4294967296},
                          std::numeric_limits<std::int64_t>::min(),
                          1.5,
                          "h\xc3\xa9llo",
                          bytes{std::string("\0\xff", 2)},
                          array{},
                          structure{}};
  EXPECT_EQ(r.params, value(expected));
}

TEST(msgpack_decode_request, msgid_that_is_not_a_uint_is_dropped) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 00 ff a16d 90")));    // -1
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 00 a131 a16d 90")));  // "1"
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 00 c0 a16d 90")));    // nil
  EXPECT_TRUE(std::holds_alternative<std::monostate>(
      decode_req("94 00 cb 3ff0000000000000 a16d 90")));  // 1.0
}

TEST(msgpack_decode_request, msgid_above_2_32_minus_1_is_dropped) {
  EXPECT_TRUE(
      std::holds_alternative<std::monostate>(decode_req("94 00 cf 0000000100000000 a16d 90")));
  EXPECT_TRUE(
      std::holds_alternative<std::monostate>(decode_req("94 00 cf ffffffffffffffff a16d 90")));
}

TEST(msgpack_decode_request, missing_msgid_is_dropped) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("91 00")));
}

TEST(msgpack_decode_request, method_that_is_not_a_string_is_invalid_request_with_the_msgid) {
  for (const char* method : {"01", "c0", "c4 01 6d", "91 a16d"}) {
    const response e = error_of(decode_req(std::string("94 00 07 ") + method + " 90"));
    EXPECT_EQ(e.id, value(7)) << method;
    ASSERT_TRUE(e.error) << method;
    EXPECT_EQ(e.error->code, invalid_request_code) << method;
    EXPECT_TRUE(e.result.is_nil());
  }
}

TEST(msgpack_decode_request, params_that_are_not_an_array_or_map_are_invalid_request) {
  for (const char* params : {"01", "c0", "a3616263", "c4 00", "d6ff00000000"}) {
    const response e = error_of(decode_req(std::string("94 00 07 a16d ") + params));
    EXPECT_EQ(e.id, value(7)) << params;
    ASSERT_TRUE(e.error) << params;
    EXPECT_EQ(e.error->code, invalid_request_code) << params;
  }
}

TEST(msgpack_decode_request, wrong_element_count_with_a_msgid_is_invalid_request) {
  for (const char* text : {"92 00 07", "93 00 07 a16d", "96 00 07 a16d 90 a16b c0"}) {
    const response e = error_of(decode_req(text));
    EXPECT_EQ(e.id, value(7)) << text;
    ASSERT_TRUE(e.error) << text;
    EXPECT_EQ(e.error->code, invalid_request_code) << text;
  }
}

TEST(msgpack_decode_request, map_with_a_non_string_key_in_params_is_invalid_request) {
  for (const char* params : {"91 81 01 02", "81 01 02", "91 91 81 c0 02", "81 a16b 81 c3 01"}) {
    const response e = error_of(decode_req(std::string("94 00 07 a16d ") + params));
    EXPECT_EQ(e.id, value(7)) << params;
    ASSERT_TRUE(e.error) << params;
    EXPECT_EQ(e.error->code, invalid_request_code) << params;
  }
}

TEST(msgpack_decode_request, extension_other_than_timestamp_in_params_is_invalid_request) {
  for (const char* ext : {"d4 05 00", "c7 02 05 0000", "d6 01 00000000"}) {
    const response e = error_of(decode_req(std::string("94 00 07 a16d 91 ") + ext));
    EXPECT_EQ(e.id, value(7)) << ext;
    ASSERT_TRUE(e.error) << ext;
    EXPECT_EQ(e.error->code, invalid_request_code) << ext;
  }
}

// The msgpack spec: str holds UTF-8. A str that is not used to be echoed back raw (a result, an
// error message quoting the method), which a client decoding str as text (python3-msgpack's
// raw=False) cannot read, and which a stored outcome would carry into JSON-RPC as invalid JSON.
TEST(msgpack_decode_request, str_that_is_not_utf8_is_invalid_request_naming_the_offset) {
  struct bad_str {
    const char* message;   // hex
    const char* expected;  // the fault message
  };
  for (const bad_str& c : {
           // [0, 7, "m", ["a\xffb"]]: a string param
           bad_str{"94 00 07 a16d 91 a3 61ff62",
                   "Invalid Request: str at offset 6 is not valid UTF-8 (byte 0xff at offset 8)"},
           // the method: "n\xffp"
           bad_str{"94 00 07 a3 6eff70 90",
                   "Invalid Request: str at offset 3 is not valid UTF-8 (byte 0xff at offset 5)"},
           // a map key in named params: {"\xc3(": 1}
           bad_str{"94 00 07 a16d 81 a2 c328 01",
                   "Invalid Request: str at offset 6 is not valid UTF-8 (byte 0xc3 at offset 7)"},
           // deep inside: [[{"k": ["\xed\xa0\x80"]}]] (a surrogate), str8 form
           bad_str{"94 00 07 a16d 91 91 81 a16b 91 d9 03 eda080",
                   "Invalid Request: str at offset 11 is not valid UTF-8 (byte 0xed at offset 13)"},
           // the idempotency key (fifth element), cut short inside a sequence
           bad_str{"95 00 07 a16d 90 a2 61e2",
                   "Invalid Request: str at offset 6 is not valid UTF-8 (byte 0xe2 at offset 8)"},
       }) {
    SCOPED_TRACE(c.message);
    const response e = error_of(decode_req(c.message));
    EXPECT_EQ(e.id, value(7));
    ASSERT_TRUE(e.error);
    EXPECT_EQ(*e.error, (fault{invalid_request_code, c.expected}));
    request reused;
    fault why;
    EXPECT_FALSE(decode_request_into(unhex(c.message), decode_limits{}, reused, why));
    EXPECT_EQ(why.message, c.expected);
  }
  // A notification of the same kind is dropped (nothing to answer to).
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("93 02 a16d 91 a1 ff")));
  // Well-formed UTF-8 of every length, and NUL, are strings like any other.
  EXPECT_EQ(request_of(decode_req("94 00 07 a16d 91 ab 00 c3a9 e29c93 f09f9880 7f")).params,
            value(array{std::string("\0\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\x7f", 11)}));
}

TEST(msgpack_decode_response, str_that_is_not_utf8_is_refused) {
  for (const char* text : {"94 01 02 c0 a1 ff",                          // the result
                           "94 01 02 82 a4636f6465 01 a76d657373616765 a1 80 c0",  // the message
                           "94 01 02 a2 c328 c0"}) {                       // a string error
    SCOPED_TRACE(text);
    response r;
    fault why;
    EXPECT_FALSE(decode_response(unhex(text), decode_limits{}, r, why));
    EXPECT_EQ(why.code, invalid_request_code);
    EXPECT_NE(why.message.find("not valid UTF-8"), std::string::npos) << why;
  }
  value v;
  fault why;
  EXPECT_FALSE(decode_value(unhex("92 a1 61 a1 fe"), decode_limits{}, v, why));
  EXPECT_EQ(why, (fault{invalid_request_code,
                        "Invalid Request: str at offset 3 is not valid UTF-8 (byte 0xfe at "
                        "offset 4)"}));
}

TEST(msgpack_decode_request, timestamp_param_is_a_date_time) {
  const request r = request_of(decode_req("94 00 07 a16d 91 d6ff6b01a063"));
  EXPECT_EQ(r.params, value(array{date_time{2026, 11, 21, 13, 45, 7}}));
  // python3-msgpack: Timestamp(1795268707, 123456000), microseconds kept.
  EXPECT_EQ(request_of(decode_req("94 00 07 a16d 91 d7ff1d6f28006b01a063")).params,
            value(array{date_time{2026, 11, 21, 13, 45, 7, 123456}}));
}

TEST(msgpack_decode_request, integer_beyond_int64_in_params_is_invalid_params_with_the_msgid) {
  // python3-msgpack: packb([0, 7, "echo", [2**64 - 1]]), the same inside a list, and as a
  // named param (a map).
  for (const char* params :
       {"91 cf ffffffffffffffff", "92 01 91 cf ffffffffffffffff", "81 a161 cf ffffffffffffffff"}) {
    const response e = error_of(decode_req(std::string("94 00 07 a46563686f ") + params));
    EXPECT_EQ(e.id, value(7)) << params;
    ASSERT_TRUE(e.error) << params;
    EXPECT_EQ(*e.error, (fault{invalid_params_code,
                               "invalid params: integer 18446744073709551615 is beyond int64"}))
        << params;
  }
  // INT64_MAX itself is an int.
  EXPECT_EQ(request_of(decode_req("94 00 07 a46563686f 91 cf 7fffffffffffffff")).params,
            value(array{std::numeric_limits<std::int64_t>::max()}));
  // A notification holding one is dropped (never answered).
  EXPECT_TRUE(std::holds_alternative<std::monostate>(
      decode_req("93 02 a46563686f 91 cf ffffffffffffffff")));
}

TEST(msgpack_decode_request, response_sent_to_a_server_is_dropped) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("940101c005")));
}

TEST(msgpack_decode_request, unknown_type_is_dropped) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 03 07 a16d 90")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 ff 07 a16d 90")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 a130 07 a16d 90")));
}

TEST(msgpack_decode_request, empty_array_is_dropped) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("90")));
}

TEST(msgpack_decode_request, not_an_array_is_dropped) {
  for (const char* text : {"00", "c0", "a3616464", "80", "81 a16b 01", "d6ff00000000"}) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req(text))) << text;
  }
}

TEST(msgpack_decode_request, malformed_notifications_are_dropped) {
  for (const char* text : {"92 02 a16d", "94 02 a16d 90 c0", "93 02 01 90", "93 02 a16d 01",
                           "93 02 a16d 91 81 01 02", "93 02 a16d 91 d4 05 00"}) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req(text))) << text;
  }
}

TEST(msgpack_decode_request, bytes_that_are_not_exactly_one_object_are_dropped) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 00 01 a3616464 92 02")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("940001a3616464920203 c0")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_req("94 00 01 a3616464 92 c1 03")));
}

TEST(msgpack_decode_request, nesting_deeper_than_the_limit_is_dropped) {
  decode_limits limits;
  limits.max_depth = 4;  // the request array is level 1, its params level 2
  const std::string ok = unhex("94 00 07 a16d 91 91 91 01");
  EXPECT_TRUE(std::holds_alternative<request>(decode_request(ok, limits)));
  const std::string deep = unhex("94 00 07 a16d 91 91 91 91 01");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_request(deep, limits)));
}

// ----------------------------------------------------------------------------------------------
// decode_request_into: the server's reusing fast path over frames the scanner validated.

/// decode_request_into on a fresh request after framing `hex_text` with a scanner.
server_message decode_into_fresh(std::string_view hex_text) {
  const std::string data = unhex(hex_text);
  frame_scanner s(decode_limits{}.max_depth, default_bytes);
  EXPECT_EQ(s.scan(data), status::complete) << hex_text;
  EXPECT_EQ(s.size(), data.size()) << hex_text;
  request req;
  fault error;
  const bool ok = decode_request_into(data, decode_limits{}, req, error);
  return outcome_of(ok, req, error);
}

void expect_same(const server_message& a, const server_message& b, std::string_view what) {
  ASSERT_EQ(a.index(), b.index()) << what;
  if (const auto* ra = std::get_if<request>(&a)) {
    const auto& rb = std::get<request>(b);
    EXPECT_EQ(ra->method, rb.method) << what;
    EXPECT_EQ(ra->params, rb.params) << what;
    EXPECT_EQ(ra->id, rb.id) << what;
    EXPECT_EQ(ra->notification, rb.notification) << what;
    EXPECT_EQ(ra->meta.idempotency_key, rb.meta.idempotency_key) << what;
  } else if (const auto* ea = std::get_if<response>(&a)) {
    EXPECT_EQ(*ea, std::get<response>(b)) << what;
  }
}

TEST(msgpack_decode_request_into, agrees_with_decode_request_on_every_shape) {
  for (const char* text : {
           "940001a3616464920203",                          // request
           "950009a3616464920203ab636c69656e742d313a3137",  // with idempotency key
           "9302a36c6f6791a26869",                          // notification
           "940007a5677265657482a46e616d65a3416461a16e03",  // map params
           "93 02 a16d 81 a16b 01",                         // notification, map params
           "95 00 09 a3616464 90 01",                       // key not a string
           "94 00 ff a16d 90",
           "94 00 cf 0000000100000000 a16d 90",
           "91 00",  // bad msgid
           "94 00 07 01 90",
           "94 00 07 a16d 01",
           "92 00 07",
           "96 00 07 a16d 90 a16b c0",
           "94 00 07 a16d 91 81 01 02",
           "94 00 07 a16d 81 a16b 81 c3 01",  // non-string key
           "94 00 07 a16d 91 d4 05 00",       // ext type 5
           "940101c005",
           "94 03 07 a16d 90",
           "90",
           "00",
           "81 a16b 01",  // not requests
           "92 02 a16d",
           "93 02 01 90",
           "93 02 a16d 01",
           "93 02 a16d 91 d4 05 00",
       }) {
    expect_same(decode_into_fresh(text), decode_req(text), text);
  }
}

TEST(msgpack_decode_request_into, reused_request_forgets_the_previous_message) {
  request req;
  fault error;
  const decode_limits limits;
  // A request with a key and map params ...
  ASSERT_TRUE(decode_request_into(unhex("95 00 09 a5 6772656574 81 a16b 01 a3 6b6579"), limits, req, error));
  EXPECT_EQ(req.meta.idempotency_key, "key");
  EXPECT_EQ(req.params, value(structure{{"k", 1}}));
  // ... then a notification with array params: no key, no id, notification set.
  ASSERT_TRUE(decode_request_into(unhex("9302a36c6f6791a26869"), limits, req, error));
  EXPECT_EQ(req.method, "log");
  EXPECT_EQ(req.params, value(array{"hi"}));
  EXPECT_TRUE(req.id.is_nil());
  EXPECT_TRUE(req.notification);
  EXPECT_EQ(req.meta.idempotency_key, "");
  // ... then a plain request: notification cleared, id set, fewer params.
  ASSERT_TRUE(decode_request_into(unhex("94 00 05 a3616464 91 01"), limits, req, error));
  EXPECT_EQ(req.method, "add");
  EXPECT_EQ(req.params, value(array{1}));
  EXPECT_EQ(req.id, value(5));
  EXPECT_FALSE(req.notification);
  // ... then an empty params array.
  ASSERT_TRUE(decode_request_into(unhex("94 00 06 a3616464 90"), limits, req, error));
  EXPECT_EQ(req.params, value(array{}));
  // ... and after a moved-from request (the transport moves it to a slow call).
  request moved = std::move(req);
  ASSERT_TRUE(decode_request_into(unhex("940001a3616464920203"), limits, req, error));
  EXPECT_EQ(req.method, "add");
  EXPECT_EQ(req.params, value(array{2, 3}));
  EXPECT_EQ(req.id, value(1));
}

TEST(msgpack_decode_request_into, keeps_the_params_capacity_across_calls) {
  request req;
  fault error;
  const decode_limits limits;
  const std::string call = unhex("940001a3616464920203");
  ASSERT_TRUE(decode_request_into(call, limits, req, error));
  const value* storage = req.params.as_array().data();
  ASSERT_TRUE(decode_request_into(unhex("94 00 02 a3616464 92 07 08"), limits, req, error));
  EXPECT_EQ(req.params.as_array().data(), storage);
  EXPECT_EQ(req.params, value(array{7, 8}));
}

TEST(msgpack_decode_request_into, a_failure_keeps_the_msgid_to_answer_to) {
  request req;
  fault error;
  ASSERT_FALSE(decode_request_into(unhex("94 00 0b 01 90"), decode_limits{}, req, error));
  EXPECT_EQ(req.id, value(11));
  EXPECT_EQ(error.code, invalid_request_code);
  // A notification cannot be answered: no msgid.
  ASSERT_FALSE(decode_request_into(unhex("93 02 01 90"), decode_limits{}, req, error));
  EXPECT_TRUE(req.id.is_nil());
}

// ----------------------------------------------------------------------------------------------
// decode_response: what a client reads.

TEST(msgpack_decode_response, success) {
  response r;
  fault why;
  // python3-msgpack: [1, 1, None, 5].
  ASSERT_TRUE(decode_response(unhex("940101c005"), decode_limits{}, r, why)) << why;
  EXPECT_EQ(r.id, value(1));
  EXPECT_EQ(r.result, value(5));
  EXPECT_FALSE(r.error);
}

TEST(msgpack_decode_response, integer_beyond_int64_fails_that_call_as_a_protocol_error) {
  // python3-msgpack: packb([1, 5, None, [1, 2**64 - 1]]) and an error map whose code is one.
  for (const char* text :
       {"94 01 05 c0 92 01 cf ffffffffffffffff", "94 01 05 81 a4636f6465 cf ffffffffffffffff c0"}) {
    response r;
    fault why;
    ASSERT_TRUE(decode_response(unhex(text), decode_limits{}, r, why)) << why;
    EXPECT_EQ(r.id, value(5));
    EXPECT_TRUE(r.result.is_nil());
    ASSERT_TRUE(r.error) << text;
    EXPECT_EQ(*r.error, (fault{protocol_error_code,
                               "answer refused: integer 18446744073709551615 is beyond int64"}));
  }
}

TEST(msgpack_decode_response, success_with_a_structured_result) {
  response r;
  fault why;
  ASSERT_TRUE(
      decode_response(unhex("94 01 ce ffffffff c0 82 a161 92 01 cb3ff8000000000000 a162 c0"),
                      decode_limits{}, r, why))
      << why;
  EXPECT_EQ(r.id, value(4294967295LL));
  EXPECT_EQ(r.result, value(structure{{"a", array{1, 1.5}}, {"b", nil}}));
  EXPECT_FALSE(r.error);
}

TEST(msgpack_decode_response, error_map_is_a_fault) {
  response r;
  fault why;
  // python3-msgpack: [1, 2, {"code": -32601, "message": "Method not found"}, None].
  ASSERT_TRUE(decode_response(
      unhex("94010282a4636f6465d180a7a76d657373616765b04d6574686f64206e6f7420666f756e64c0"),
      decode_limits{}, r, why))
      << why;
  EXPECT_EQ(r.id, value(2));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, (fault{method_not_found_code, "Method not found"}));
  EXPECT_TRUE(r.result.is_nil());
}

TEST(msgpack_decode_response, error_as_a_plain_string_is_an_application_fault) {
  response r;
  fault why;
  // python3-msgpack: [1, 3, "boom", None], as foreign msgpack-rpc servers answer.
  ASSERT_TRUE(decode_response(unhex("940103a4626f6f6dc0"), decode_limits{}, r, why)) << why;
  EXPECT_EQ(r.id, value(3));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, (fault{application_error_code, "boom"}));
}

TEST(msgpack_decode_response, error_of_another_shape_keeps_its_text) {
  response r;
  fault why;
  // [1, 4, [42, "bad"], 9]: neither a map nor a string.
  ASSERT_TRUE(decode_response(unhex("94 01 04 92 2a a3626164 09"), decode_limits{}, r, why)) << why;
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, application_error_code);
  EXPECT_NE(r.error->message.find("bad"), std::string::npos) << r.error->message;
  EXPECT_TRUE(r.result.is_nil()) << "the result of a failed call is dropped";
  // A map with only a message.
  ASSERT_TRUE(
      decode_response(unhex("94 01 05 81 a7 6d657373616765 a1 78 c0"), decode_limits{}, r, why))
      << why;
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, (fault{application_error_code, "x"}));
}

TEST(msgpack_decode_response, error_code_outside_int_range_is_an_application_fault) {
  // {"code": 2**32, "message": "x"} from a foreign server: the code must not wrap to 0 ("ok").
  for (const char* code : {"cf 0000000100000000", "d3 ffffff0000000000", "ce 80000000"}) {
    response r;
    fault why;
    ASSERT_TRUE(decode_response(
        unhex(std::string("94 01 01 82 a4636f6465 ") + code + " a76d657373616765 a178 c0"),
        decode_limits{}, r, why))
        << code << ": " << why;
    ASSERT_TRUE(r.error) << code;
    EXPECT_EQ(*r.error, (fault{application_error_code, "x"})) << code;
  }
}

TEST(msgpack_decode_response, malformed_is_false_with_a_reason) {
  for (const char* text : {
           "",                                 // nothing
           "c1",                               // never used
           "940101",                           // truncated
           "940101c005 c0",                    // trailing bytes
           "940001a3616464920203",             // a request
           "9302a36c6f6791a26869",             // a notification
           "93 01 01 c0",                      // three elements
           "95 01 01 c0 05 c0",                // five elements
           "94 01 ff c0 05",                   // negative msgid
           "94 01 cf 0000000100000000 c0 05",  // msgid over 32 bits
           "94 01 a131 c0 05",                 // string msgid
           "81 a16b 01",                       // not an array
           "94 01 01 c0 81 01 02",             // result map with an int key
           "94 01 01 c0 d4 05 00",             // result holds an unknown extension
           "94 01 01 81 01 02 c0",             // error map with an int key
       }) {
    response r;
    fault why;
    EXPECT_FALSE(decode_response(unhex(text), decode_limits{}, r, why)) << text;
    EXPECT_FALSE(why.message.empty()) << text;
  }
}

// ----------------------------------------------------------------------------------------------
// encode_value / decode_value: the type mapping, byte-exact where the spec fixes the bytes.

struct encoding_case {
  const char* name;
  value v;
  std::string hex;
};

void PrintTo(const encoding_case& c, std::ostream* os) { *os << c.name; }

std::vector<encoding_case> encoding_cases() {
  return {
      {"nil", nil, "c0"},
      {"true", true, "c3"},
      {"false", false, "c2"},
      {"zero", 0, "00"},
      {"positive_fixint_max", 127, "7f"},
      {"uint8", 128, "cc80"},
      {"uint8_max", 255, "ccff"},
      {"uint16", 256, "cd0100"},
      {"uint32", 65536, "ce00010000"},
      {"uint64", std::int64_t{4294967296}, "cf0000000100000000"},
      {"int64_max", std::numeric_limits<std::int64_t>::max(), "cf7fffffffffffffff"},
      {"negative_fixint", -1, "ff"},
      {"negative_fixint_min", -32, "e0"},
      {"int8", -33, "d0df"},
      {"int8_min", -128, "d080"},
      {"int16", -129, "d1ff7f"},
      {"int32", -32769, "d2ffff7fff"},
      {"int32_min", std::numeric_limits<std::int32_t>::min(), "d280000000"},
      {"int64", std::int64_t{-2147483649LL}, "d3ffffffff7fffffff"},
      {"int64_min", std::numeric_limits<std::int64_t>::min(), "d38000000000000000"},
      {"double", 1.5, "cb3ff8000000000000"},
      {"double_zero", 0.0, "cb0000000000000000"},
      {"double_integral", 2.0, "cb4000000000000000"},
      {"double_infinity", std::numeric_limits<double>::infinity(), "cb7ff0000000000000"},
      {"double_negative", -1e300, "cbfe37e43c8800759c"},  // python3-msgpack
      {"string_empty", "", "a0"},
      {"string", "abc", "a3616263"},
      {"string_unicode", "h\xc3\xa9llo", "a668c3a96c6c6f"},
      {"string_31", std::string(31, 'a'), str31_hex},
      {"string_32_is_str8", std::string(32, 'a'), "d920" + hex_repeat("61", 32)},
      {"string_256_is_str16", std::string(256, 'a'), "da0100" + hex_repeat("61", 256)},
      {"string_65536_is_str32", std::string(65536, 'a'), "db00010000" + hex_repeat("61", 65536)},
      {"bytes_empty", bytes{}, "c400"},
      {"bytes_nul_ff", bytes{std::string("\0\xff", 2)}, "c40200ff"},
      {"bytes_256_is_bin16", bytes{std::string(256, 'a')}, "c50100" + hex_repeat("61", 256)},
      {"bytes_65536_is_bin32", bytes{std::string(65536, 'a')},
       "c600010000" + hex_repeat("61", 65536)},
      {"array_empty", array{}, "90"},
      {"array", array{1, "a", nil}, "9301a161c0"},
      {"array_16_is_array16", array(16, value(true)), "dc0010" + hex_repeat("c3", 16)},
      {"array_65536_is_array32", array(65536, value()), "dd00010000" + hex_repeat("c0", 65536)},
      {"struct_empty", structure{}, "80"},
      {"struct", structure{{"k", 1}, {"a", array{}}}, "82a16b01a16190"},
      // Timestamp 64 from 1970 to 2514 (nanoseconds = microseconds * 1000), 96 outside.
      {"date_time_epoch", date_time{1970, 1, 1, 0, 0, 0}, "d7ff0000000000000000"},
      {"date_time_2026", date_time{2026, 11, 21, 13, 45, 7}, "d7ff000000006b01a063"},
      // python3-msgpack: packb(Timestamp(1795268707, 123456000)).
      {"date_time_2026_microseconds", date_time{2026, 11, 21, 13, 45, 7, 123456},
       "d7ff1d6f28006b01a063"},
      // python3-msgpack: packb(Timestamp(0, 1000)).
      {"date_time_epoch_one_microsecond", date_time{1970, 1, 1, 0, 0, 0, 1},
       "d7ff00000fa000000000"},
      // python3-msgpack: packb(Timestamp(2**34 - 1, 999999000)), the last second of the 64-bit
      // form, and packb(Timestamp(2**34)), the first of the 96-bit form after it.
      {"date_time_2514_last_64_bit", date_time{2514, 5, 30, 1, 53, 3, 999999},
       "d7ffee6b1863ffffffff"},
      {"date_time_2514_first_96_bit", date_time{2514, 5, 30, 1, 53, 4},
       "c70cff000000000000000400000000"},
      // python3-msgpack: packb(Timestamp(-2208988800, 500000000)) and
      // packb(Timestamp(-1, 999999000)): before 1970, 96-bit with nanoseconds.
      {"date_time_1900_half_second", date_time{1900, 1, 1, 0, 0, 0, 500000},
       "c70cff1dcd6500ffffffff7c558180"},
      {"date_time_1969_last_microsecond", date_time{1969, 12, 31, 23, 59, 59, 999999},
       "c70cff3b9ac618ffffffffffffffff"},
      // python3-msgpack: packb(Timestamp(253402300799, 999999000)).
      {"date_time_9999_last_microsecond", date_time{9999, 12, 31, 23, 59, 59, 999999},
       "c70cff3b9ac6180000003afff4417f"},
      {"date_time_1900_negative_seconds", date_time{1900, 1, 1, 0, 0, 0},
       "c70cff00000000ffffffff7c558180"},
      {"date_time_1969_last_second", date_time{1969, 12, 31, 23, 59, 59},
       "c70cff00000000ffffffffffffffff"},
      {"date_time_9999", date_time{9999, 12, 31, 23, 59, 59}, "c70cff000000000000003afff4417f"},
      {"date_time_year_0", date_time{0, 1, 1, 0, 0, 0}, "c70cff00000000fffffff1868b8400"},
  };
}

class encoding : public testing::TestWithParam<encoding_case> {};

TEST_P(encoding, encodes_to_the_spec_bytes) {
  EXPECT_EQ(hex(encoded(GetParam().v)), GetParam().hex);
}

TEST_P(encoding, decodes_back_to_the_same_value) {
  const std::string out = encoded(GetParam().v);
  EXPECT_EQ(read_back(out), GetParam().v);
}

TEST_P(encoding, decodes_from_the_spec_bytes) {
  EXPECT_EQ(read_back(unhex(GetParam().hex)), GetParam().v);
}

TEST_P(encoding, appends_to_what_is_there) {
  std::string out = "xy";
  encode_value(GetParam().v, out);
  EXPECT_EQ(out.substr(0, 2), "xy");
  EXPECT_EQ(out.substr(2), encoded(GetParam().v));
}

INSTANTIATE_TEST_SUITE_P(msgpack_values, encoding, testing::ValuesIn(encoding_cases()),
                         [](const testing::TestParamInfo<encoding_case>& info) {
                           return std::string(info.param.name);
                         });

TEST(msgpack_value, nested_containers_round_trip) {
  const value v = structure{
      {"ints", array{0, -1, std::numeric_limits<std::int64_t>::min(),
                     std::numeric_limits<std::int64_t>::max()}},
      {"doubles", array{0.1, -2.5e-300, 1e308}},
      {"text", array{"", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", std::string(3, '\0')}},
      {"raw", bytes{std::string("\0\x01\xfe\xff\0", 5)}},
      {"when", date_time{2026, 11, 21, 13, 45, 7}},
      {"empty", structure{{"a", array{}}, {"s", structure{}}, {"b", bytes{}}}},
      {"dup", 1},
      {"dup", 2},  // member order and duplicates are kept
  };
  EXPECT_EQ(read_back(encoded(v)), v);
}

TEST(msgpack_value, uint_above_int64_max_is_refused_naming_it_never_a_double) {
  // python3-msgpack: packb(2**64 - 1) and packb(2**63).
  for (const auto& [text, number] :
       {std::pair{"cf ffffffffffffffff", "18446744073709551615"},
        std::pair{"cf 8000000000000000", "9223372036854775808"},
        std::pair{"92 01 cf 8000000000000000", "9223372036854775808"}}) {
    value v;
    fault why;
    EXPECT_FALSE(decode_value(unhex(text), decode_limits{}, v, why)) << to_debug_string(v);
    EXPECT_EQ(why.message, "Invalid Request: integer " + std::string(number) + " is beyond int64");
  }
  const value int64_max = read_back(unhex("cf 7fffffffffffffff"));
  ASSERT_TRUE(int64_max.is_int());
  EXPECT_EQ(int64_max.as_int(), std::numeric_limits<std::int64_t>::max());
}

TEST(msgpack_value, float32_decodes_as_double) {
  // python3-msgpack with use_single_float=True: 1.5.
  const value v = read_back(unhex("ca3fc00000"));
  ASSERT_TRUE(v.is_double());
  EXPECT_EQ(v.as_double(), 1.5);
  const value tenth = read_back(unhex("ca 3dcccccd"));  // 0.1f
  ASSERT_TRUE(tenth.is_double());
  EXPECT_EQ(tenth.as_double(), static_cast<double>(0.1f));
}

TEST(msgpack_value, every_int_width_decodes_as_int) {
  EXPECT_EQ(read_back(unhex("cc 05")), value(5));
  EXPECT_EQ(read_back(unhex("cd 0005")), value(5));
  EXPECT_EQ(read_back(unhex("ce 00000005")), value(5));
  EXPECT_EQ(read_back(unhex("cf 0000000000000005")), value(5));
  EXPECT_EQ(read_back(unhex("d0 fb")), value(-5));
  EXPECT_EQ(read_back(unhex("d1 fffb")), value(-5));
  EXPECT_EQ(read_back(unhex("d2 fffffffb")), value(-5));
  EXPECT_EQ(read_back(unhex("d3 fffffffffffffffb")), value(-5));
  // Non-negative values in signed forms (other encoders use them) are ints too.
  EXPECT_EQ(read_back(unhex("d0 05")), value(5));
  EXPECT_EQ(read_back(unhex("d3 7fffffffffffffff")),
            value(std::numeric_limits<std::int64_t>::max()));
}

TEST(msgpack_value, str8_str16_str32_and_bin_forms_decode_alike) {
  EXPECT_EQ(read_back(unhex("d9 03 616263")), value("abc"));
  EXPECT_EQ(read_back(unhex("da 0003 616263")), value("abc"));
  EXPECT_EQ(read_back(unhex("db 00000003 616263")), value("abc"));
  EXPECT_EQ(read_back(unhex("c5 0002 00ff")), value(bytes{std::string("\0\xff", 2)}));
  EXPECT_EQ(read_back(unhex("c6 00000002 00ff")), value(bytes{std::string("\0\xff", 2)}));
  EXPECT_EQ(read_back(unhex("dc 0002 01 02")), value(array{1, 2}));
  EXPECT_EQ(read_back(unhex("dd 00000002 01 02")), value(array{1, 2}));
  EXPECT_EQ(read_back(unhex("de 0001 a16b 01")), value(structure{{"k", 1}}));
  EXPECT_EQ(read_back(unhex("df 00000001 a16b 01")), value(structure{{"k", 1}}));
}

TEST(msgpack_value, timestamp_32_bit_form) {
  // python3-msgpack: Timestamp(1795268707) = 2026-11-21T13:45:07Z, and the epoch.
  EXPECT_EQ(read_back(unhex("d6ff6b01a063")), value(date_time{2026, 11, 21, 13, 45, 7}));
  EXPECT_EQ(read_back(unhex("d6ff00000000")), value(date_time{1970, 1, 1, 0, 0, 0}));
  // Unsigned: 0xffffffff is 2106-02-07T06:28:15, not 1969.
  EXPECT_EQ(read_back(unhex("d6ff ffffffff")), value(date_time{2106, 2, 7, 6, 28, 15}));
}

TEST(msgpack_value, timestamp_64_bit_form_keeps_microseconds) {
  // python3-msgpack: Timestamp(1795268707, 123456789): 30 bits of nanoseconds, 34 of seconds;
  // kept to the microsecond, the 789 ns below it truncated.
  EXPECT_EQ(read_back(unhex("d7ff1d6f34546b01a063")),
            value(date_time{2026, 11, 21, 13, 45, 7, 123456}));
  // python3-msgpack: Timestamp(1795268707, 123456000): whole microseconds come back exactly.
  EXPECT_EQ(read_back(unhex("d7ff1d6f28006b01a063")),
            value(date_time{2026, 11, 21, 13, 45, 7, 123456}));
  // python3-msgpack: Timestamp(2**33): the 34th bit of seconds matters (2242-03-16T12:56:32).
  EXPECT_EQ(read_back(unhex("d7ff0000000200000000")), value(date_time{2242, 3, 16, 12, 56, 32}));
  // python3-msgpack: Timestamp(0, 999999999): the nanoseconds do not leak into the seconds.
  EXPECT_EQ(read_back(unhex("d7ffee6b27fc00000000")),
            value(date_time{1970, 1, 1, 0, 0, 0, 999999}));
  // Timestamp(0, 999): below a microsecond, so nothing is kept.
  EXPECT_EQ(read_back(unhex("d7ff00000f9c00000000")), value(date_time{1970, 1, 1, 0, 0, 0}));
  // The 2 low bits of the first word are the seconds' top bits: 0x3_0000_0000 s is 2378.
  EXPECT_EQ(read_back(unhex("d7ff 00000003 00000000")), value(date_time{2378, 4, 22, 19, 24, 48}));
}

TEST(msgpack_value, timestamp_96_bit_form_as_python_sends_it) {
  // python3-msgpack: Timestamp(-2208988800) and Timestamp(253402300799).
  EXPECT_EQ(read_back(unhex("c70cff00000000ffffffff7c558180")),
            value(date_time{1900, 1, 1, 0, 0, 0}));
  EXPECT_EQ(read_back(unhex("c70cff000000000000003afff4417f")),
            value(date_time{9999, 12, 31, 23, 59, 59}));
  // With nanoseconds (123456789): kept to the microsecond, truncated.
  EXPECT_EQ(read_back(unhex("c70cff075bcd15ffffffff7c558180")),
            value(date_time{1900, 1, 1, 0, 0, 0, 123456}));
}

TEST(msgpack_value, timestamp_with_nanoseconds_beyond_999999999_is_refused) {
  // The spec: nanoseconds are 0 to 999999999 (python3-msgpack refuses more too).
  for (const char* text : {"d7ff ee6b2800 00000000",               // 64-bit, 1000000000 ns
                           "d7ff ffffffff ffffffff",               // 64-bit, 2^30 - 1 ns
                           "c70cff 3b9aca00 0000000000000000"}) {  // 96-bit, 1000000000 ns
    value v;
    fault why;
    EXPECT_FALSE(decode_value(unhex(text), decode_limits{}, v, why)) << to_debug_string(v);
    EXPECT_EQ(why.code, invalid_request_code) << text;
    EXPECT_NE(why.message.find("nanoseconds"), std::string::npos) << why;
  }
}

TEST(msgpack_value, date_times_with_microseconds_round_trip) {
  for (const date_time& t :
       {date_time{0, 1, 1, 0, 0, 0, 1}, date_time{1969, 12, 31, 23, 59, 59, 999999},
        date_time{1970, 1, 1, 0, 0, 0, 999999}, date_time{2026, 12, 3, 10, 0, 0, 123456},
        date_time{2514, 5, 30, 1, 53, 3, 999999}, date_time{2514, 5, 30, 1, 53, 4, 1},
        date_time{9999, 12, 31, 23, 59, 59, 999999}}) {
    EXPECT_EQ(read_back(encoded(t)), value(t)) << value(t).as_date_time().to_iso8601();
  }
}

TEST(msgpack_value, timestamp_outside_years_0_to_9999_is_refused) {
  value v;
  fault why;
  // 10000-01-01T00:00:00Z = 253402300800.
  EXPECT_FALSE(decode_value(unhex("c70cff00000000 0000003afff44180"), decode_limits{}, v, why));
  EXPECT_FALSE(why.message.empty());
  why = fault{};
  // -0000-12-31T23:59:59Z, one second before year 0.
  EXPECT_FALSE(decode_value(unhex("c70cff00000000 fffffff1868b83ff"), decode_limits{}, v, why));
  EXPECT_FALSE(why.message.empty());
}

TEST(msgpack_value, timestamp_far_outside_years_0_to_9999_is_refused_not_wrapped) {
  // 2^32 days after the epoch (year ~11.8 million) and 2^32 days plus 2026-11-21T13:45:07:
  // the day count must not be truncated to 32 bits into a plausible date.
  for (const char* text : {"c70cff00000000 0001518000000000", "c70cff00000000 000151806b01a063",
                           "c70cff00000000 fffeae8000000000",
                           // INT64_MIN and INT64_MAX seconds (INT64_MIN: the day computation
                           // must not overflow; run under -fsanitize=undefined).
                           "c70cff00000000 8000000000000000", "c70cff00000000 7fffffffffffffff"}) {
    value v;
    fault why;
    EXPECT_FALSE(decode_value(unhex(text), decode_limits{}, v, why))
        << text << " decoded as " << to_debug_string(v);
  }
}

TEST(msgpack_value, timestamp_of_another_length_is_refused) {
  for (const char* text :
       {"d4ff00", "d5ff0000", "d8ff00000000000000000000000000000000", "c700ff", "c703ff000000"}) {
    value v;
    fault why;
    EXPECT_FALSE(decode_value(unhex(text), decode_limits{}, v, why)) << text;
    EXPECT_FALSE(why.message.empty()) << text;
  }
}

TEST(msgpack_value, other_extension_types_are_refused) {
  for (const char* text : {"d4 05 00", "d6 01 00000000", "c7 00 7f", "c8 0001 02 00",
                           "c9 00000001 80 00", "91 d4 05 00"}) {
    value v;
    fault why;
    EXPECT_FALSE(decode_value(unhex(text), decode_limits{}, v, why)) << text;
    EXPECT_FALSE(why.message.empty()) << text;
  }
}

TEST(msgpack_value, map_with_a_non_string_key_is_refused) {
  for (const char* text : {"81 01 02", "81 c0 02", "81 c4 01 6b 02", "82 a16b 01 91 01 02"}) {
    value v;
    fault why;
    EXPECT_FALSE(decode_value(unhex(text), decode_limits{}, v, why)) << text;
    EXPECT_FALSE(why.message.empty()) << text;
  }
}

TEST(msgpack_value, bytes_that_are_not_exactly_one_object_are_refused) {
  for (const char* text : {"", "c1", "92 01", "01 02", "a3 6162"}) {
    value v;
    fault why;
    EXPECT_FALSE(decode_value(unhex(text), decode_limits{}, v, why)) << text;
    EXPECT_FALSE(why.message.empty()) << text;
  }
}

TEST(msgpack_value, nesting_is_bounded_by_the_limit) {
  decode_limits limits;
  limits.max_depth = 3;
  value v;
  fault why;
  EXPECT_TRUE(decode_value(nested_arrays(3, "01"), limits, v, why)) << why;
  EXPECT_FALSE(decode_value(nested_arrays(4, "01"), limits, v, why));
}

// ----------------------------------------------------------------------------------------------
// encode_response / encode_request: byte-exact.

TEST(msgpack_encode_response, success_is_byte_exact) {
  response r;
  r.id = 7;
  r.result = 5;
  std::string out;
  encode_response(r, out);
  EXPECT_EQ(hex(out), "940107c005");  // [1, 7, nil, 5]
  // python3-msgpack packs [1, 1, None, 5] the same way.
  r.id = 1;
  out.clear();
  encode_response(r, out);
  EXPECT_EQ(hex(out), "940101c005");
}

// No error message the server writes echoes bytes that are not UTF-8 (a procedure's message
// may quote anything): they are written as \xNN, so the answer stays readable as text.
TEST(msgpack_encode_response, error_message_bytes_that_are_not_utf8_are_escaped) {
  response r;
  r.id = 9;
  r.error = fault{-32000, std::string("bad \xff\xc3( \xe2\x9c\x93\0", 12)};
  std::string out;
  encode_response(r, out);
  response back;
  fault why;
  ASSERT_TRUE(decode_response(out, decode_limits{}, back, why)) << why;
  ASSERT_TRUE(back.error);
  EXPECT_EQ(back.error->message, std::string("bad \\xff\\xc3( \xe2\x9c\x93\0", 18));
}

TEST(msgpack_encode_response, error_is_byte_exact) {
  response r;
  r.id = 2;
  r.error = fault{method_not_found_code, "Method not found"};
  std::string out;
  encode_response(r, out);
  // python3-msgpack: [1, 2, {"code": -32601, "message": "Method not found"}, None].
  EXPECT_EQ(hex(out),
            "94010282a4636f6465d180a7a76d657373616765b04d6574686f64206e6f7420666f756e64c0");
}

TEST(msgpack_encode_response, error_wins_over_a_result_and_the_msgid_keeps_its_width) {
  response r;
  r.id = std::int64_t{4294967295};
  r.result = 9;  // ignored: the call failed
  r.error = fault{-32000, ""};
  std::string out = "z";
  encode_response(r, out);
  EXPECT_EQ(hex(out),
            hex(unhex("7a 94 01 ceffffffff 82 a4636f6465 d18300 a76d657373616765 a0 c0")));
}

TEST(msgpack_encode_response, result_of_every_kind_reads_back) {
  response r;
  r.id = 12;
  r.result = structure{{"sum", 5},
                       {"avg", 2.5},
                       {"tags", array{"a", bytes{"\x01"}}},
                       {"at", date_time{2026, 11, 21, 13, 45, 7}}};
  std::string out;
  encode_response(r, out);
  response back;
  fault why;
  ASSERT_TRUE(decode_response(out, decode_limits{}, back, why)) << why;
  EXPECT_EQ(back, r);
}

TEST(msgpack_encode_response, error_reads_back) {
  response r;
  r.id = 3;
  r.error = fault{invalid_request_code, "Invalid Request: method must be a string"};
  std::string out;
  encode_response(r, out);
  response back;
  fault why;
  ASSERT_TRUE(decode_response(out, decode_limits{}, back, why)) << why;
  EXPECT_EQ(back, r);
}

TEST(msgpack_encode_request, positional_request_is_what_python_sends) {
  request r;
  r.method = "add";
  r.params = array{2, 3};
  r.id = 1;
  std::string out;
  encode_request(r, out);
  EXPECT_EQ(hex(out), "940001a3616464920203");  // python3-msgpack: [0, 1, "add", [2, 3]]
}

TEST(msgpack_encode_request, idempotency_key_is_the_fifth_element) {
  request r;
  r.method = "add";
  r.params = array{2, 3};
  r.id = 9;
  r.meta.idempotency_key = "client-1:17";
  std::string out;
  encode_request(r, out);
  // python3-msgpack: [0, 9, "add", [2, 3], "client-1:17"].
  EXPECT_EQ(hex(out), "950009a3616464920203ab636c69656e742d313a3137");
}

TEST(msgpack_encode_request, notification_is_type_2_without_msgid_or_key) {
  request r;
  r.method = "log";
  r.params = array{"hi"};
  r.notification = true;
  r.meta.idempotency_key = "ignored";
  std::string out;
  encode_request(r, out);
  EXPECT_EQ(hex(out), "9302a36c6f6791a26869");  // python3-msgpack: [2, "log", ["hi"]]
}

TEST(msgpack_encode_request, named_params_are_a_map_in_the_params_slot) {
  request r;
  r.method = "greet";
  r.params = structure{{"name", "Ada"}, {"n", 3}};
  r.id = 7;
  std::string out;
  encode_request(r, out);
  // python3-msgpack: [0, 7, "greet", {"name": "Ada", "n": 3}].
  EXPECT_EQ(hex(out), "940007a5677265657482a46e616d65a3416461a16e03");
  EXPECT_EQ(request_of(decode_request(out, decode_limits{})).params, r.params);
}

TEST(msgpack_encode_request, nil_params_are_an_empty_array) {
  request r;
  r.method = "ping";
  r.params = nil;
  r.id = 1;
  std::string out;
  encode_request(r, out);
  EXPECT_EQ(hex(out), "940001a470696e6790");
}

TEST(msgpack_encode_request, a_single_plain_param_is_wrapped_in_an_array) {
  request r;
  r.method = "neg";
  r.params = 5;
  r.id = 1;
  std::string out;
  encode_request(r, out);
  EXPECT_EQ(hex(out), "940001a36e65679105");
}

TEST(msgpack_value, nan_round_trips_as_nan) {
  const value back = read_back(encoded(std::numeric_limits<double>::quiet_NaN()));
  ASSERT_TRUE(back.is_double());
  EXPECT_TRUE(std::isnan(back.as_double()));
}

TEST(msgpack_encode_request, reads_back_as_the_same_request) {
  request r;
  r.method = "echo";
  r.params = array{nil,
                   1.25,
                   "x",
                   bytes{std::string("\0", 1)},
                   date_time{1900, 1, 1, 0, 0, 0},
                   array{structure{{"k", array{}}}}};
  r.id = std::int64_t{4294967295};
  r.meta.idempotency_key = "c:1";
  std::string out;
  encode_request(r, out);
  const request back = request_of(decode_request(out, decode_limits{}));
  EXPECT_EQ(back.method, r.method);
  EXPECT_EQ(back.params, r.params);
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(back.meta.idempotency_key, r.meta.idempotency_key);
  EXPECT_FALSE(back.notification);
}

// ---- the decoded-size budget (docs/failures.md "Memory model")

/// A request [0, msgid, "echo", [[nil x n]]]: 1 byte per nil on the wire, 40 decoded.
std::string nil_request(std::uint32_t msgid, std::size_t n) {
  request r;
  r.method = "echo";
  r.params = array{value(array(n))};
  r.id = static_cast<std::int64_t>(msgid);
  std::string out;
  encode_request(r, out);
  return out;
}

TEST(msgpack_budget, the_scanner_reports_over_budget_for_a_whole_message_and_frames_the_next) {
  const std::string big = nil_request(9, 200000);  // ~200 KB, 8 MB decoded: over 1 MiB + 6x
  const std::string small = nil_request(10, 3);
  const std::string stream = big + small;
  frame_scanner s(decode_limits{});
  ASSERT_EQ(s.scan(stream), status::over_budget);
  EXPECT_EQ(s.size(), big.size());  // framed whole: the stream goes on
  EXPECT_GT(s.decoded_bytes(), s.decoded_budget());
  std::int64_t msgid = 0;
  ASSERT_TRUE(request_msgid(std::string_view(stream).substr(0, s.size()), msgid));
  EXPECT_EQ(msgid, 9);
  s.reset();
  ASSERT_EQ(s.scan(std::string_view(stream).substr(big.size())), status::complete);
  EXPECT_EQ(s.size(), small.size());
}

TEST(msgpack_budget, decode_request_refuses_over_budget_with_the_limit_error) {
  request r;
  fault f;
  EXPECT_FALSE(msgpack::decode_request(nil_request(9, 200000), decode_limits{}, r, f));
  EXPECT_EQ(f.code, wire_code(status_code::resource_exhausted));
  EXPECT_NE(f.message.find("decodes to more than"), std::string::npos) << f.message;
  // Within the allowance every message has (1 MiB: 26,000 nils), or without a budget, it decodes.
  EXPECT_TRUE(msgpack::decode_request(nil_request(9, 20000), decode_limits{}, r, f)) << f.message;
  decode_limits unbudgeted;
  unbudgeted.max_decoded_ratio = 0;
  EXPECT_TRUE(msgpack::decode_request(nil_request(9, 200000), unbudgeted, r, f)) << f.message;
  EXPECT_EQ(r.params.as_array().at(0).as_array().size(), 200000u);
}

}  // namespace
}  // namespace netcall::detail::msgpack
