// Tests of src/protocol/jsonrpc/codec.cpp: JSON-RPC 2.0 decoding, stream framing and encoding.
#include <gtest/gtest.h>

#include <bit>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/jsonrpc/codec.hpp"

namespace netcall::detail::jsonrpc {
namespace {

constexpr int parse_error_code = -32700;
constexpr int invalid_request_code = -32600;
constexpr int invalid_params_code = -32602;
constexpr int protocol_error_code = -32005;
constexpr int resource_exhausted_code = -32001;

/// A JSON literal as a value (test input; must be valid).
value json_value(std::string_view text) {
  value v;
  EXPECT_TRUE(decode_value(text, decode_limits{}, v)) << text;
  return v;
}

std::string to_text(const value& v) {
  std::string out;
  encode_value(v, out);
  return out;
}

std::string to_text(const response& r) {
  std::string out;
  encode_response(r, out);
  return out;
}

const request& as_request(const entry& e) {
  EXPECT_TRUE(std::holds_alternative<request>(e)) << "expected a request";
  static const request none;
  const request* r = std::get_if<request>(&e);
  return r != nullptr ? *r : none;
}

const response& as_error(const entry& e) {
  EXPECT_TRUE(std::holds_alternative<response>(e)) << "expected an error response";
  static const response none;
  const response* r = std::get_if<response>(&e);
  if (r == nullptr) return none;
  EXPECT_TRUE(r->error.has_value());
  return *r;
}

int error_code(const entry& e) {
  const response& r = as_error(e);
  return r.error ? r.error->code : 0;
}

// ----------------------------------------------------------------------------------------------
// JSON-RPC 2.0 specification, section 7: every example, table-driven.

/// What one decoded entry must be: a request (method, params, id; no id = notification) or an
/// error response ready to send (code, id).
struct expected_entry {
  bool is_request;
  std::string method;             // request only
  std::string params;             // request only: JSON literal
  std::optional<std::string> id;  // JSON literal; nullopt: notification (requests only)
  int code = 0;                   // error only
};

expected_entry req(std::string method, std::string params, std::optional<std::string> id) {
  return {true, std::move(method), std::move(params), std::move(id), 0};
}
expected_entry err(int code, std::string id) { return {false, {}, {}, std::move(id), code}; }

struct spec_example {
  const char* name;
  std::string input;
  bool batch;
  std::vector<expected_entry> entries;
  /// The response the specification shows ("" when nothing is sent). Its -32700/-32600 errors
  /// are the codec's to produce; the rest come from the server.
  std::string spec_response;
};

// gtest prints the example by name rather than as raw bytes.
void PrintTo(const spec_example& e, std::ostream* os) { *os << e.name; }

const std::vector<spec_example>& spec_examples() {
  static const std::vector<spec_example> examples = {
      {"positional_params_42_23",
       R"({"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1})",
       false,
       {req("subtract", "[42,23]", "1")},
       R"({"jsonrpc": "2.0", "result": 19, "id": 1})"},
      {"positional_params_23_42",
       R"({"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2})",
       false,
       {req("subtract", "[23,42]", "2")},
       R"({"jsonrpc": "2.0", "result": -19, "id": 2})"},
      {"named_params_subtrahend_first",
       R"({"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3})",
       false,
       {req("subtract", R"({"subtrahend":23,"minuend":42})", "3")},
       R"({"jsonrpc": "2.0", "result": 19, "id": 3})"},
      {"named_params_minuend_first",
       R"({"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4})",
       false,
       {req("subtract", R"({"minuend":42,"subtrahend":23})", "4")},
       R"({"jsonrpc": "2.0", "result": 19, "id": 4})"},
      {"notification_update",
       R"({"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]})",
       false,
       {req("update", "[1,2,3,4,5]", std::nullopt)},
       ""},
      {"notification_foobar",
       R"({"jsonrpc": "2.0", "method": "foobar"})",
       false,
       {req("foobar", "[]", std::nullopt)},
       ""},
      {"non_existent_method",
       R"({"jsonrpc": "2.0", "method": "foobar", "id": "1"})",
       false,
       {req("foobar", "[]", R"("1")")},
       R"({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"})"},
      {"invalid_json",
       R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])",
       false,
       {err(parse_error_code, "null")},
       R"({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null})"},
      {"invalid_request_object",
       R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})",
       false,
       {err(invalid_request_code, "null")},
       R"({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null})"},
      {"batch_invalid_json",
       R"([
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
])",
       false,
       {err(parse_error_code, "null")},
       R"({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null})"},
      {"empty_array",
       "[]",
       false,
       {err(invalid_request_code, "null")},
       R"({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null})"},
      {"invalid_batch_not_empty",
       "[1]",
       true,
       {err(invalid_request_code, "null")},
       R"([
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
])"},
      {"invalid_batch",
       "[1,2,3]",
       true,
       {err(invalid_request_code, "null"), err(invalid_request_code, "null"),
        err(invalid_request_code, "null")},
       R"([
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
])"},
      {"mixed_batch",
       R"([
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ])",
       true,
       {req("sum", "[1,2,4]", R"("1")"), req("notify_hello", "[7]", std::nullopt),
        req("subtract", "[42,23]", R"("2")"), err(invalid_request_code, "null"),
        req("foo.get", R"({"name":"myself"})", R"("5")"), req("get_data", "[]", R"("9")")},
       R"([
        {"jsonrpc": "2.0", "result": 7, "id": "1"},
        {"jsonrpc": "2.0", "result": 19, "id": "2"},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
    ])"},
      {"all_notifications_batch",
       R"([
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ])",
       true,
       {req("notify_sum", "[1,2,4]", std::nullopt), req("notify_hello", "[7]", std::nullopt)},
       ""},
  };
  return examples;
}

class jsonrpc_spec_examples : public ::testing::TestWithParam<spec_example> {};

TEST_P(jsonrpc_spec_examples, decode_as_the_specification_says) {
  const spec_example& ex = GetParam();
  const message m = decode(ex.input, decode_limits{});
  EXPECT_EQ(m.batch, ex.batch);
  ASSERT_EQ(m.entries.size(), ex.entries.size());

  std::vector<response> codec_answers;
  for (std::size_t i = 0; i < ex.entries.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    const expected_entry& want = ex.entries[i];
    if (want.is_request) {
      const request& r = as_request(m.entries[i]);
      EXPECT_EQ(r.method, want.method);
      EXPECT_EQ(r.params, json_value(want.params)) << to_text(r.params);
      EXPECT_EQ(r.notification, !want.id.has_value());
      if (want.id) {
        EXPECT_EQ(r.id, json_value(*want.id)) << to_text(r.id);
      }
    } else {
      const response& r = as_error(m.entries[i]);
      EXPECT_EQ(error_code(m.entries[i]), want.code);
      EXPECT_EQ(r.id, json_value(*want.id));
      codec_answers.push_back(r);
    }
  }

  // The codec's own errors, once encoded, carry what the specification's answer carries
  // (messages aside: ours add a detail after "Parse error" / "Invalid Request").
  std::vector<response> spec_answers;
  if (!ex.spec_response.empty()) {
    fault why;
    ASSERT_TRUE(decode_responses(ex.spec_response, decode_limits{}, spec_answers, why)) << why;
  }
  std::vector<response> spec_codec_answers;
  for (const response& r : spec_answers) {
    if (r.error && (r.error->code == parse_error_code || r.error->code == invalid_request_code)) {
      spec_codec_answers.push_back(r);
    }
  }
  std::string encoded;
  if (m.batch) {
    encode_batch(codec_answers, encoded);
  } else if (!codec_answers.empty()) {
    encode_response(codec_answers.front(), encoded);
  }
  std::vector<response> ours;
  if (!encoded.empty()) {
    fault why;
    ASSERT_TRUE(decode_responses(encoded, decode_limits{}, ours, why)) << why << ": " << encoded;
    EXPECT_EQ(encoded.front() == '[', m.batch) << encoded;
  }
  ASSERT_EQ(ours.size(), spec_codec_answers.size()) << encoded;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i].id, spec_codec_answers[i].id);
    EXPECT_EQ(ours[i].error->code, spec_codec_answers[i].error->code);
  }
}

INSTANTIATE_TEST_SUITE_P(section7, jsonrpc_spec_examples, ::testing::ValuesIn(spec_examples()),
                         [](const ::testing::TestParamInfo<spec_example>& info) {
                           return std::string(info.param.name);
                         });

TEST(jsonrpc_spec_examples, error_messages_name_the_error) {
  const message parse =
      decode(R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])", decode_limits{});
  EXPECT_EQ(as_error(parse.entries.at(0)).error->message.rfind("Parse error", 0), 0u);
  const message invalid =
      decode(R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})", decode_limits{});
  EXPECT_EQ(as_error(invalid.entries.at(0)).error->message.rfind("Invalid Request", 0), 0u);
}

// ----------------------------------------------------------------------------------------------
// Request validation beyond the examples

TEST(jsonrpc_decode, null_id_is_a_request_not_a_notification) {
  const message m = decode(R"({"jsonrpc":"2.0","method":"m","id":null})", decode_limits{});
  const request& r = as_request(m.entries.at(0));
  EXPECT_FALSE(r.notification);
  EXPECT_TRUE(r.id.is_nil());
}

TEST(jsonrpc_decode, ids_keep_their_type) {
  auto id_of = [](std::string_view text) {
    const message m = decode(text, decode_limits{});
    return as_request(m.entries.at(0)).id;
  };
  EXPECT_EQ(id_of(R"({"jsonrpc":"2.0","method":"m","id":"1"})"), value("1"));
  EXPECT_EQ(id_of(R"({"jsonrpc":"2.0","method":"m","id":1})"), value(1));
  EXPECT_EQ(id_of(R"({"jsonrpc":"2.0","method":"m","id":-7})"), value(-7));
  // Any other number is kept as its JSON text, to be echoed verbatim (codec.hpp).
  EXPECT_EQ(id_of(R"({"jsonrpc":"2.0","method":"m","id":1.5})"), value(bytes{"1.5"}));
  EXPECT_EQ(id_of(R"({"jsonrpc":"2.0","method":"m","id":1.0})"), value(bytes{"1.0"}));
}

/// The answer the server writes to `request_text` (a single request), with result true.
std::string answer_to(std::string_view request_text) {
  const message m = decode(request_text, decode_limits{});
  response answer;
  if (const auto* r = std::get_if<request>(&m.entries.at(0))) {
    answer.id = r->id;
    answer.result = value(true);
  } else {
    answer = std::get<response>(m.entries.at(0));
  }
  std::string out;
  encode_response(answer, out);
  return out;
}

// JSON-RPC 2.0 §5: the response id is the same value as the request's. Numbers outside int64
// used to come back converted to doubles (12345678901234567891 as 12345678901234567168.0), or
// refused (1e400), so the client could not match its answer.
// Integers beyond int64 in params are an error naming them, never a double (issue 13,
// docs/protocols.md "Type mapping"); numbers with a fraction or an exponent stay doubles.
TEST(jsonrpc_integers, beyond_int64_in_params_is_invalid_params_naming_it_with_the_id) {
  for (const std::string params :
       {"[18446744073709551615]", R"({"a":18446744073709551615})", "[1,[18446744073709551615]]",
        R"([{"id":18446744073709551615}])"}) {
    const message m =
        decode(R"({"jsonrpc":"2.0","method":"echo","params":)" + params + R"(,"id":"x"})",
               decode_limits{});
    ASSERT_EQ(m.entries.size(), 1u) << params;
    const response& e = as_error(m.entries[0]);
    EXPECT_EQ(e.id, value("x")) << params;
    EXPECT_EQ(e.error, (fault{invalid_params_code,
                              "invalid params: integer 18446744073709551615 is beyond int64"}))
        << params;
  }
  // Below INT64_MIN, and beyond uint64: the same.
  for (const std::string number :
       {"-9223372036854775809", "18446744073709551616", "-99999999999999999999999"}) {
    const message m =
        decode(R"({"jsonrpc":"2.0","method":"echo","params":[)" + number + R"(],"id":1})",
               decode_limits{});
    EXPECT_EQ(
        as_error(m.entries.at(0)).error,
        (fault{invalid_params_code, "invalid params: integer " + number + " is beyond int64"}));
  }
}

TEST(jsonrpc_integers, the_edges_of_int64_and_numbers_with_a_fraction_or_exponent_are_taken) {
  const message m = decode(
      R"({"jsonrpc":"2.0","method":"echo","params":[9223372036854775807,-9223372036854775808,)"
      R"(1e20,18446744073709551615.0,1.8446744073709552e19,-0],"id":1})",
      decode_limits{});
  EXPECT_EQ(as_request(m.entries.at(0)).params,
            value(array{std::numeric_limits<std::int64_t>::max(),
                        std::numeric_limits<std::int64_t>::min(), 1e20, 18446744073709551615.0,
                        18446744073709551615.0, 0}));
}

TEST(jsonrpc_integers, a_wide_id_is_still_echoed_verbatim_and_a_notification_is_not_answered) {
  // The id beyond int64 is kept as sent (not an error); the params' integer is the error.
  const message m = decode(R"({"jsonrpc":"2.0","method":"echo","params":[18446744073709551616],)"
                           R"("id":12345678901234567891})",
                           decode_limits{});
  EXPECT_EQ(to_text(as_error(m.entries.at(0))),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid params: integer )"
            R"(18446744073709551616 is beyond int64"},"id":12345678901234567891})");
  // Only the id beyond int64: a request like any other.
  const message ok = decode(R"({"jsonrpc":"2.0","method":"echo","params":[1],)"
                            R"("id":12345678901234567891})",
                            decode_limits{});
  EXPECT_EQ(as_request(ok.entries.at(0)).params, value(array{1}));
  // JSON-RPC 2.0 §4.1: a notification is never answered, even when it fails.
  const message note = decode(
      R"({"jsonrpc":"2.0","method":"echo","params":[18446744073709551616]})", decode_limits{});
  EXPECT_FALSE(note.batch);
  EXPECT_TRUE(note.entries.empty());
}

TEST(jsonrpc_integers, in_a_batch_only_the_entries_holding_one_are_refused) {
  const message m =
      decode(R"([{"jsonrpc":"2.0","method":"a","params":[1],"id":1},)"
             R"({"jsonrpc":"2.0","method":"b","params":{"n":[-9223372036854775809]},"id":2},)"
             R"({"jsonrpc":"2.0","method":"c","params":[18446744073709551616]},)"
             R"({"jsonrpc":"2.0","method":"d","params":[2],"id":4}])",
             decode_limits{});
  EXPECT_TRUE(m.batch);
  ASSERT_EQ(m.entries.size(), 3u);  // the notification is dropped, unanswered
  EXPECT_EQ(as_request(m.entries[0]).method, "a");
  EXPECT_EQ(as_error(m.entries[1]).id, value(2));
  EXPECT_EQ(error_code(m.entries[1]), invalid_params_code);
  EXPECT_EQ(as_request(m.entries[2]).method, "d");
}

TEST(jsonrpc_integers, a_very_long_integer_is_named_shortened) {
  const std::string digits(1000, '7');
  const message m = decode(
      R"({"jsonrpc":"2.0","method":"echo","params":[)" + digits + R"(],"id":1})", decode_limits{});
  EXPECT_EQ(as_error(m.entries.at(0)).error,
            (fault{invalid_params_code, "invalid params: integer " + digits.substr(0, 40) +
                                            "... (1000 characters) is beyond int64"}));
}

TEST(jsonrpc_integers, plain_values_still_read_them_as_doubles) {
  // decode_value (like netcall::from_json) reads a value that is no call: a double.
  EXPECT_EQ(json_value("[18446744073709551615]"), value(array{18446744073709551615.0}));
}

TEST(jsonrpc_ids, numbers_that_are_not_int64_come_back_exactly_as_sent) {
  for (std::string id : {"12345678901234567891", "-9223372036854775809", "1.5", "1.50", "1e400",
                         "-1E-400", "1E+2", "-0.0", "0.1000000000000000055511151231257827",
                         "18446744073709551616", "123456789012345678901234567890e-5",
                         "0e99999999999999999999"}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(answer_to(R"({"jsonrpc":"2.0","method":"m","id":)" + id + "}"),
              R"({"jsonrpc":"2.0","result":true,"id":)" + id + "}");
    const message m = decode(R"({"jsonrpc":"2.0","method":"m","id":)" + id + "}", decode_limits{});
    const request& r = as_request(m.entries.at(0));
    EXPECT_EQ(r.id, value(bytes{id}));
    EXPECT_FALSE(r.notification);
    EXPECT_TRUE(r.meta.idempotency_key.empty());
  }
}

TEST(jsonrpc_ids, int64_and_string_ids_keep_their_kind) {
  EXPECT_EQ(answer_to(R"({"jsonrpc":"2.0","method":"m","id":9223372036854775807})"),
            R"({"jsonrpc":"2.0","result":true,"id":9223372036854775807})");
  EXPECT_EQ(answer_to(R"({"jsonrpc":"2.0","method":"m","id":-9223372036854775808})"),
            R"({"jsonrpc":"2.0","result":true,"id":-9223372036854775808})");
  EXPECT_EQ(answer_to(R"({"jsonrpc":"2.0","method":"m","id":"1.5"})"),
            R"({"jsonrpc":"2.0","result":true,"id":"1.5"})");
  const message m = decode(R"({"jsonrpc":"2.0","method":"m","id":9223372036854775807})",
                           decode_limits{});
  EXPECT_EQ(as_request(m.entries.at(0)).id, value(std::numeric_limits<std::int64_t>::max()));
}

TEST(jsonrpc_ids, kept_in_batches_and_in_invalid_request_answers) {
  const message m = decode(R"([{"jsonrpc":"2.0","method":"m","id":1.25e0},)"
                           R"({"jsonrpc":"1.0","method":"m","id":12345678901234567891},)"
                           R"({"jsonrpc":"2.0","method":"m","id":7}])",
                           decode_limits{});
  ASSERT_TRUE(m.batch);
  ASSERT_EQ(m.entries.size(), 3u);
  EXPECT_EQ(as_request(m.entries[0]).id, value(bytes{"1.25e0"}));
  EXPECT_EQ(as_error(m.entries[1]).id, value(bytes{"12345678901234567891"}));
  EXPECT_EQ(as_request(m.entries[2]).id, value(7));
  EXPECT_EQ(answer_to(R"({"jsonrpc":"1.0","method":"m","id":1e400})"),
            R"({"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request: \"jsonrpc\" )"
            R"(must be exactly \"2.0\""},"id":1e400})");
}

TEST(jsonrpc_ids, numbers_named_id_elsewhere_are_values) {
  const message m = decode(R"({"jsonrpc":"2.0","method":"m","params":{"id":1.5,"x":{"id":2.5}},)"
                           R"("id":1})",
                           decode_limits{});
  EXPECT_EQ(as_request(m.entries.at(0)).params,
            value(structure{{"id", value(1.5)}, {"x", value(structure{{"id", value(2.5)}})}}));
  const message positional =
      decode(R"({"jsonrpc":"2.0","method":"m","params":[{"id":1.5}],"id":1})", decode_limits{});
  EXPECT_EQ(as_request(positional.entries.at(0)).params,
            value(array{value(structure{{"id", value(1.5)}})}));
  // A plain value (netcall::from_json, CLI params) has no id: numbers are numbers.
  EXPECT_EQ(json_value(R"({"id":1.5})"), value(structure{{"id", value(1.5)}}));
  EXPECT_EQ(json_value(R"([{"id":1.5}])"), value(array{value(structure{{"id", value(1.5)}})}));
  value v;
  EXPECT_FALSE(decode_value(R"({"id":1e400})", decode_limits{}, v));
}

TEST(jsonrpc_ids, responses_and_requests_carry_them_verbatim) {
  std::vector<response> out;
  fault why;
  ASSERT_TRUE(decode_responses(R"([{"jsonrpc":"2.0","result":1,"id":12345678901234567891},)"
                               R"({"jsonrpc":"2.0","result":2,"id":1e400}])",
                               decode_limits{}, out, why))
      << why;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, value(bytes{"12345678901234567891"}));
  EXPECT_EQ(out[1].id, value(bytes{"1e400"}));
  std::string text;
  encode_batch(out, text);
  EXPECT_EQ(text, R"([{"jsonrpc":"2.0","result":1,"id":12345678901234567891},)"
                  R"({"jsonrpc":"2.0","result":2,"id":1e400}])");
  request r;
  r.method = "m";
  r.id = value(bytes{"2.50"});
  text.clear();
  encode_request(r, text);
  EXPECT_EQ(text, R"({"jsonrpc":"2.0","method":"m","params":[],"id":2.50})");
}

TEST(jsonrpc_decode, id_of_another_type_is_invalid_with_null_id) {
  for (const char* id : {"{}", "[1]", "true", "false", R"({"a":1})"}) {
    SCOPED_TRACE(id);
    const message m =
        decode(std::string(R"({"jsonrpc":"2.0","method":"m","id":)") + id + "}", decode_limits{});
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_EQ(error_code(m.entries[0]), invalid_request_code);
    EXPECT_TRUE(as_error(m.entries[0]).id.is_nil());
  }
}

TEST(jsonrpc_decode, version_must_be_exactly_2_0_and_readable_id_is_echoed) {
  for (const char* text :
       {R"({"method":"m","id":7})", R"({"jsonrpc":"1.0","method":"m","id":7})",
        R"({"jsonrpc":2.0,"method":"m","id":7})", R"({"jsonrpc":"2.0 ","method":"m","id":7})"}) {
    SCOPED_TRACE(text);
    const message m = decode(text, decode_limits{});
    EXPECT_EQ(error_code(m.entries.at(0)), invalid_request_code);
    EXPECT_EQ(as_error(m.entries.at(0)).id, value(7));
  }
}

TEST(jsonrpc_decode, method_must_be_a_string) {
  for (const char* text :
       {R"({"jsonrpc":"2.0","id":"a"})", R"({"jsonrpc":"2.0","method":null,"id":"a"})",
        R"({"jsonrpc":"2.0","method":["m"],"id":"a"})"}) {
    SCOPED_TRACE(text);
    const message m = decode(text, decode_limits{});
    EXPECT_EQ(error_code(m.entries.at(0)), invalid_request_code);
    EXPECT_EQ(as_error(m.entries.at(0)).id, value("a"));
  }
}

TEST(jsonrpc_decode, params_must_be_array_or_object) {
  for (const char* params : {"\"bar\"", "1", "null", "true"}) {
    SCOPED_TRACE(params);
    const message m =
        decode(std::string(R"({"jsonrpc":"2.0","method":"m","id":1,"params":)") + params + "}",
               decode_limits{});
    EXPECT_EQ(error_code(m.entries.at(0)), invalid_request_code);
    EXPECT_EQ(as_error(m.entries.at(0)).id, value(1));
  }
}

TEST(jsonrpc_decode, invalid_notification_is_still_answered) {
  const message m = decode(R"({"jsonrpc":"2.0","method":"m","params":5})", decode_limits{});
  EXPECT_EQ(error_code(m.entries.at(0)), invalid_request_code);
  EXPECT_TRUE(as_error(m.entries.at(0)).id.is_nil());
}

TEST(jsonrpc_decode, top_level_scalar_is_one_invalid_request) {
  for (const char* text : {"5", "\"x\"", "null", "true", "1.5"}) {
    SCOPED_TRACE(text);
    const message m = decode(text, decode_limits{});
    EXPECT_FALSE(m.batch);
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_EQ(error_code(m.entries[0]), invalid_request_code);
  }
}

TEST(jsonrpc_decode, not_one_json_text_is_a_parse_error) {
  for (const char* text : {"", "   ", "{} {}", "{\"jsonrpc\":\"2.0\",}", "[1,]", "nul", "{'a':1}",
                           "// c\n{}", "NaN"}) {
    SCOPED_TRACE(text);
    const message m = decode(text, decode_limits{});
    EXPECT_FALSE(m.batch);
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_EQ(error_code(m.entries[0]), parse_error_code);
    EXPECT_TRUE(as_error(m.entries[0]).id.is_nil());
  }
}

TEST(jsonrpc_decode, invalid_utf8_is_a_parse_error) {
  const message m = decode("{\"jsonrpc\":\"2.0\",\"method\":\"m\xff\",\"id\":1}", decode_limits{});
  EXPECT_EQ(error_code(m.entries.at(0)), parse_error_code);
}

TEST(jsonrpc_decode, params_keep_types_and_member_order) {
  const message m = decode(
      R"({"jsonrpc":"2.0","method":"m","id":1,"params":{"z":1,"a":2.5,"m":[null,true,"s",{"k":-1}]}})",
      decode_limits{});
  const request& r = as_request(m.entries.at(0));
  const structure want = {
      {"z", value(1)},
      {"a", value(2.5)},
      {"m", value(array{value(), value(true), value("s"), value(structure{{"k", value(-1)}})})}};
  EXPECT_EQ(r.params, value(want));
}

TEST(jsonrpc_decode, extra_members_are_ignored) {
  const message m =
      decode(R"({"jsonrpc":"2.0","method":"m","id":1,"extra":{"x":[1]}})", decode_limits{});
  EXPECT_EQ(as_request(m.entries.at(0)).method, "m");
}

TEST(jsonrpc_decode, deep_nesting_is_a_parse_error_without_crash) {
  const std::string deep(100000, '[');
  const message m = decode(deep, decode_limits{});
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(error_code(m.entries[0]), parse_error_code);
  EXPECT_NE(as_error(m.entries[0]).error->message.find("nesting deeper than 128"),
            std::string::npos)
      << as_error(m.entries[0]).error->message;

  const std::string closed = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(error_code(decode(closed, decode_limits{}).entries.at(0)), parse_error_code);

  const std::string in_params = R"({"jsonrpc":"2.0","method":"m","id":1,"params":)" +
                                std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_EQ(error_code(decode(in_params, decode_limits{}).entries.at(0)), parse_error_code);
}

TEST(jsonrpc_decode, max_depth_is_the_deepest_nesting_accepted) {
  decode_limits limits;
  limits.max_depth = 8;
  value v;
  EXPECT_TRUE(decode_value(std::string(8, '[') + std::string(8, ']'), limits, v));
  EXPECT_FALSE(decode_value(std::string(9, '[') + std::string(9, ']'), limits, v));
  // The request object itself is one level: params [[..]] of depth 7 makes 8 in all.
  const std::string ok = R"({"jsonrpc":"2.0","method":"m","id":1,"params":)" + std::string(7, '[') +
                         std::string(7, ']') + "}";
  EXPECT_TRUE(std::holds_alternative<request>(decode(ok, limits).entries.at(0)));
  const std::string deep = R"({"jsonrpc":"2.0","method":"m","id":1,"params":)" +
                           std::string(8, '[') + std::string(8, ']') + "}";
  EXPECT_EQ(error_code(decode(deep, limits).entries.at(0)), parse_error_code);
}

TEST(jsonrpc_batch, longer_than_max_batch_is_one_invalid_request) {
  decode_limits limits;
  limits.max_batch = 3;
  const std::string one = R"({"jsonrpc":"2.0","method":"m","id":1})";
  const message ok = decode("[" + one + "," + one + "," + one + "]", limits);
  EXPECT_TRUE(ok.batch);
  EXPECT_EQ(ok.entries.size(), 3u);

  const message over = decode("[" + one + "," + one + "," + one + "," + one + "]", limits);
  EXPECT_FALSE(over.batch);
  ASSERT_EQ(over.entries.size(), 1u);
  EXPECT_EQ(error_code(over.entries[0]), invalid_request_code);
  EXPECT_TRUE(as_error(over.entries[0]).id.is_nil());
}

TEST(jsonrpc_batch, nested_batch_element_is_invalid) {
  const message m = decode(R"([[{"jsonrpc":"2.0","method":"m","id":1}]])", decode_limits{});
  EXPECT_TRUE(m.batch);
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(error_code(m.entries[0]), invalid_request_code);
}

TEST(jsonrpc_batch, invalid_element_with_readable_id_echoes_it) {
  const message m =
      decode(R"([{"jsonrpc":"2.0","method":1,"id":"x"},{"jsonrpc":"2.0","method":"m","id":2}])",
             decode_limits{});
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(as_error(m.entries[0]).id, value("x"));
  EXPECT_EQ(as_request(m.entries[1]).id, value(2));
}

TEST(jsonrpc_decode_value, numbers_map_to_int64_or_double) {
  EXPECT_EQ(json_value("9223372036854775807"), value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(json_value("-9223372036854775808"), value(std::numeric_limits<std::int64_t>::min()));
  const value big = json_value("18446744073709551615");
  ASSERT_TRUE(big.is_double());
  EXPECT_EQ(big.as_double(), 18446744073709551615.0);
  EXPECT_TRUE(json_value("9223372036854775808").is_double());
  EXPECT_EQ(json_value("2.0"), value(2.0));
  EXPECT_EQ(json_value("2"), value(2));
  EXPECT_EQ(json_value("-0.0"), value(-0.0));
  EXPECT_TRUE(std::signbit(json_value("-0.0").as_double()));
}

TEST(jsonrpc_decode_value, accepts_exactly_one_json_text) {
  value v;
  EXPECT_TRUE(decode_value(" [1, 2] \n", decode_limits{}, v));
  EXPECT_EQ(v, value(array{value(1), value(2)}));
  EXPECT_FALSE(decode_value("1 2", decode_limits{}, v));
  EXPECT_FALSE(decode_value("hello", decode_limits{}, v));
  EXPECT_FALSE(decode_value("", decode_limits{}, v));
  EXPECT_FALSE(decode_value("\"\xc3\"", decode_limits{}, v));  // truncated UTF-8
}

// ----------------------------------------------------------------------------------------------
// Numbers: converted exactly from their text (Boost 1.81's own conversion is off by an ulp for
// about one double in five, and SPEC says echo returns its argument unchanged)

/// The shortest text of `d` as the codec writes a float: std::to_chars, then `.0` when that
/// reads as an integer.
std::string shortest(double d) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string text(buf, res.ptr);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::uint64_t bits_of(double d) { return std::bit_cast<std::uint64_t>(d); }

/// `count` finite doubles from random bit patterns (every exponent, denormals, both signs).
std::vector<double> random_doubles(std::size_t count) {
  std::mt19937_64 rng(20240611);
  std::vector<double> out;
  while (out.size() < count) {
    const double d = std::bit_cast<double>(rng());
    if (std::isfinite(d)) out.push_back(d);
  }
  return out;
}

TEST(jsonrpc_numbers, decode_then_encode_gives_back_the_shortest_text) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"123456789.12345679", "123456789.12345679"},  // Boost 1.81 alone: 123456789.1234568
      {"0.1", "0.1"},
      {"5e-324", "5e-324"},  // the smallest denormal
      {"1.7976931348623157e308", "1.7976931348623157e+308"},  // DBL_MAX
      {"-0.0", "-0.0"},
      {"2.2250738585072014e-308", "2.2250738585072014e-308"},  // DBL_MIN
      {"9007199254740993", "9007199254740993"},                // 2^53 + 1: an int stays an int
      {"1e23", "1e+23"},
      {"1.7976931348623158e308", "1.7976931348623157e+308"},  // rounds down to DBL_MAX
      {"-2.5E-3", "-0.0025"},
      {"1.00000000000000011102230246251565404236316680908203125", "1.0"},  // exactly halfway
      {"1.00000000000000011102230246251565404236316680908203126", "1.0000000000000002"},
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(in);
    value v;
    ASSERT_TRUE(decode_value(in, decode_limits{}, v));
    EXPECT_EQ(to_text(v), want);
  }
  EXPECT_TRUE(json_value("9007199254740993").is_int());
  EXPECT_TRUE(std::signbit(json_value("-0.0").as_double()));
}

TEST(jsonrpc_numbers, echo_returns_the_argument_unchanged) {
  const message m = decode(
      R"({"jsonrpc":"2.0","method":"echo","params":[123456789.12345679],"id":1.0})",
      decode_limits{});
  const request& r = as_request(m.entries.at(0));
  response answer;
  answer.id = r.id;
  answer.result = r.params.as_array().at(0);
  EXPECT_EQ(to_text(answer), R"({"jsonrpc":"2.0","result":123456789.12345679,"id":1.0})");
}

TEST(jsonrpc_numbers, random_doubles_round_trip_bit_for_bit) {
  const std::vector<double> doubles = random_doubles(2000);
  std::size_t mismatches = 0;
  for (double d : doubles) {
    const std::string text = shortest(d);
    value v;
    ASSERT_TRUE(decode_value(text, decode_limits{}, v)) << text;
    ASSERT_TRUE(v.is_double()) << text;
    if (bits_of(v.as_double()) != bits_of(d)) {
      ++mismatches;
      ADD_FAILURE() << text << " came back as " << to_text(v);
    }
    EXPECT_EQ(to_text(v), text);
    if (mismatches > 10) break;
  }
}

TEST(jsonrpc_numbers, integers_beyond_int64_are_doubles_rounded_exactly) {
  EXPECT_EQ(json_value("9223372036854775808"), value(9223372036854775808.0));
  EXPECT_EQ(json_value("9223372036854775809"), value(9223372036854775808.0));
  EXPECT_EQ(json_value("-9223372036854775809"), value(-9223372036854775808.0));
  EXPECT_EQ(json_value("18446744073709551616"), value(18446744073709551616.0));
  // 2^64 + 2^12 + 1: above the halfway point between two doubles, so it rounds up.
  EXPECT_EQ(json_value("18446744073709555713"), value(18446744073709555712.0));
  EXPECT_EQ(bits_of(json_value("18446744073709555713").as_double()),
            bits_of(18446744073709555712.0));
}

TEST(jsonrpc_numbers, beyond_the_double_range_is_a_parse_error) {
  for (const char* number : {"1e400", "-1e400", "1.7976931348623159e308", "1e99999999999"}) {
    SCOPED_TRACE(number);
    value v;
    EXPECT_FALSE(decode_value(number, decode_limits{}, v));

    const message m = decode(
        std::string(R"({"jsonrpc":"2.0","method":"echo","params":[)") + number + R"(],"id":1})",
        decode_limits{});
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_EQ(error_code(m.entries[0]), parse_error_code);
    EXPECT_TRUE(as_error(m.entries[0]).id.is_nil());
    EXPECT_EQ(as_error(m.entries[0]).error->message, "Parse error: number out of range");

    std::vector<response> out;
    fault why;
    EXPECT_FALSE(decode_responses(
        std::string(R"({"jsonrpc":"2.0","result":)") + number + R"(,"id":1})", decode_limits{},
        out, why));
    EXPECT_NE(why.message.find("range"), std::string::npos) << why;
  }
}

TEST(jsonrpc_numbers, underflow_rounds_to_a_signed_zero) {
  // The nearest double to 1e-400 is zero: the exact rounding, not an error (as before).
  const value tiny = json_value("1e-400");
  ASSERT_TRUE(tiny.is_double());
  EXPECT_EQ(bits_of(tiny.as_double()), bits_of(0.0));
  EXPECT_EQ(bits_of(json_value("-1e-400").as_double()), bits_of(-0.0));
  EXPECT_EQ(bits_of(json_value("2e-324").as_double()), bits_of(0.0));  // under half of 5e-324
  EXPECT_EQ(json_value("3e-324"), value(std::numeric_limits<double>::denorm_min()));
  EXPECT_EQ(bits_of(json_value("0e999999").as_double()), bits_of(0.0));
}

// RFC 8259 §6: an exponent is any number of digits. Boost 1.81 alone refuses one beyond INT_MAX
// ("exponent overflow") even when the value is an ordinary one.
TEST(jsonrpc_numbers, huge_exponents_of_representable_values_are_read) {
  const std::string twenty_nines = "99999999999999999999";
  EXPECT_EQ(bits_of(json_value("0e" + twenty_nines).as_double()), bits_of(0.0));
  EXPECT_EQ(bits_of(json_value("-0e" + twenty_nines).as_double()), bits_of(-0.0));
  EXPECT_EQ(bits_of(json_value("0.000E+" + twenty_nines).as_double()), bits_of(0.0));
  EXPECT_EQ(bits_of(json_value("1e-" + twenty_nines).as_double()), bits_of(0.0));
  EXPECT_EQ(bits_of(json_value("-25.5e-" + twenty_nines).as_double()), bits_of(-0.0));
  EXPECT_EQ(json_value("0e2147483648"), value(0.0));
  // Leading zeros of an exponent count for nothing.
  EXPECT_EQ(json_value("1.5e0000000000000000000000000001"), value(15.0));
  EXPECT_EQ(json_value("2E-00000000000000000000000000001"), value(0.2));
  // Strings that look like exponents are left alone.
  EXPECT_EQ(json_value("[\"1e" + twenty_nines + "\", 1e2, \"\\\"e" + twenty_nines + "\"]"),
            value(array{value("1e" + twenty_nines), value(100.0), value("\"e" + twenty_nines)}));

  const message m = decode(R"({"jsonrpc":"2.0","method":"echo","params":[0e)" + twenty_nines +
                               R"(,1],"id":1})",
                           decode_limits{});
  const request& r = as_request(m.entries.at(0));
  EXPECT_EQ(r.params, value(array{value(0.0), value(1)}));
}

TEST(jsonrpc_numbers, huge_exponents_of_values_out_of_range_are_a_parse_error) {
  for (std::string number : {"1e99999999999999999999", "-7.0E+2147483648", "1e1000000000"}) {
    SCOPED_TRACE(number);
    value v;
    fault why;
    EXPECT_FALSE(decode_value(number, decode_limits{}, v, why));
    EXPECT_EQ(why.message, "Parse error: number out of range");
  }
}

TEST(jsonrpc_numbers, a_failed_text_leaves_nothing_behind) {
  // The one-shot parser is reused: a text that fails half way does not leak into the next.
  value v;
  EXPECT_FALSE(decode_value(R"({"a":[1,2,{"b":"x)", decode_limits{}, v));
  EXPECT_FALSE(decode_value(R"([1.5e)", decode_limits{}, v));
  EXPECT_FALSE(decode_value(R"([1e400, 2])", decode_limits{}, v));
  ASSERT_TRUE(decode_value(R"({"c":[3]})", decode_limits{}, v));
  EXPECT_EQ(v, value(structure{{"c", value(array{value(3)})}}));
  EXPECT_EQ(json_value("2.5"), value(2.5));
}

TEST(jsonrpc_decode_value, duplicate_names_keep_the_last_value_at_the_first_place) {
  EXPECT_EQ(json_value(R"({"a":1,"b":2,"a":3})"),
            value(structure{{"a", value(3)}, {"b", value(2)}}));
  EXPECT_EQ(as_request(decode(R"({"jsonrpc":"2.0","method":"a","id":1,"method":"b"})",
                              decode_limits{})
                           .entries.at(0))
                .method,
            "b");
  // A large object (names checked through a hash set) behaves the same.
  std::string text = "{";
  structure want;
  for (int i = 0; i < 100; ++i) {
    std::string name = "k";  // (not "k" + ...: GCC 12 warns -Wrestrict on that, PR 105651)
    name += std::to_string(i);
    text += '"';
    text += name;
    text += "\":";
    text += std::to_string(i);
    text += ',';
    want.emplace_back(name, value(i));
  }
  text += R"("k7":"seven","k99":null,"k7":"SEVEN"})";
  want[7].second = value("SEVEN");
  want[99].second = value();
  EXPECT_EQ(json_value(text), value(want));
}

// ----------------------------------------------------------------------------------------------
// Encoding

TEST(jsonrpc_encode, response_members_in_order) {
  response ok;
  ok.id = value(1);
  ok.result = value(19);
  EXPECT_EQ(to_text(ok), R"({"jsonrpc":"2.0","result":19,"id":1})");

  response failed;
  failed.id = value("5");
  failed.error = fault{-32601, "Method not found"};
  EXPECT_EQ(to_text(failed),
            R"({"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"5"})");
}

TEST(jsonrpc_encode, nil_result_is_null) {
  response r;
  r.id = value(3);
  EXPECT_EQ(to_text(r), R"({"jsonrpc":"2.0","result":null,"id":3})");
}

TEST(jsonrpc_encode, id_is_echoed_with_its_type) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"("1")", R"({"jsonrpc":"2.0","result":true,"id":"1"})"},
      {"1", R"({"jsonrpc":"2.0","result":true,"id":1})"},
      {"1.5", R"({"jsonrpc":"2.0","result":true,"id":1.5})"},
      {"1.0", R"({"jsonrpc":"2.0","result":true,"id":1.0})"},
      {"null", R"({"jsonrpc":"2.0","result":true,"id":null})"},
  };
  for (const auto& [id, want] : cases) {
    SCOPED_TRACE(id);
    const message m =
        decode(std::string(R"({"jsonrpc":"2.0","method":"m","id":)") + id + "}", decode_limits{});
    const request& r = as_request(m.entries.at(0));
    response answer;
    answer.id = r.id;
    answer.result = value(true);
    EXPECT_EQ(to_text(answer), want);
  }
}

// No error message the server writes echoes bytes that are not UTF-8 (a procedure's message
// may quote anything): they are written as \xNN, so the answer stays valid JSON.
TEST(jsonrpc_encode, error_message_bytes_that_are_not_utf8_are_escaped) {
  response r;
  r.id = value(1);
  r.error = fault{-32000, std::string("bad \xff\xc3( \xe2\x9c\x93\0", 12)};
  const std::string text = to_text(r);
  EXPECT_EQ(text, R"({"jsonrpc":"2.0","error":{"code":-32000,"message":"bad \\xff\\xc3( )"
                  "\xe2\x9c\x93"
                  R"(\u0000"},"id":1})");
  std::vector<response> back;
  fault why;
  ASSERT_TRUE(decode_responses(text, decode_limits{}, back, why)) << why;
}

TEST(jsonrpc_encode, appends_to_the_output) {
  std::string out = "x";
  encode_value(value(1), out);
  response r;
  encode_response(r, out);
  EXPECT_EQ(out, R"(x1{"jsonrpc":"2.0","result":null,"id":null})");
}

TEST(jsonrpc_encode, doubles_are_always_written_as_floats) {
  EXPECT_EQ(to_text(value(2.0)), "2.0");
  EXPECT_EQ(to_text(value(0.1)), "0.1");
  EXPECT_EQ(to_text(value(-0.0)), "-0.0");
  EXPECT_EQ(to_text(value(1e300)), "1e+300");
  EXPECT_EQ(to_text(value(-2.5)), "-2.5");
  EXPECT_EQ(to_text(value(100.0)), "100.0");
  EXPECT_EQ(to_text(value(1e-7)), "1e-07");
  EXPECT_EQ(to_text(value(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(to_text(value(std::numeric_limits<double>::infinity())), "null");
  EXPECT_EQ(to_text(value(-std::numeric_limits<double>::infinity())), "null");
}

TEST(jsonrpc_encode, doubles_round_trip_exactly) {
  for (double d : {0.1, 1.0 / 3.0, 2.0, -0.0, 1e300, 1e-300, 123456789.125,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                   std::numeric_limits<double>::denorm_min(), 9007199254740993.0, 1e21, 1e22}) {
    SCOPED_TRACE(d);
    const std::string text = to_text(value(d));
    const value back = json_value(text);
    ASSERT_TRUE(back.is_double()) << text;
    EXPECT_EQ(back.as_double(), d) << text;
    EXPECT_EQ(std::signbit(back.as_double()), std::signbit(d)) << text;
  }
}

TEST(jsonrpc_encode, integers_are_exact) {
  EXPECT_EQ(to_text(value(0)), "0");
  EXPECT_EQ(to_text(value(-19)), "-19");
  EXPECT_EQ(to_text(value(std::numeric_limits<std::int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(to_text(value(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
}

TEST(jsonrpc_encode, strings_are_escaped_per_rfc8259) {
  const std::string s = "q\"b\\n\nt\tr\rb\bf\f\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80";
  EXPECT_EQ(to_text(value(s)),
            "\"q\\\"b\\\\n\\nt\\tr\\rb\\bf\\f\\u0001\\u001f\x7f \xc3\xa9\xf0\x9f\x98\x80\"");
  EXPECT_EQ(to_text(value(std::string("a\0b", 3))), "\"a\\u0000b\"");
  EXPECT_EQ(json_value(to_text(value(s))), value(s));
}

TEST(jsonrpc_encode, every_control_character_round_trips) {
  std::string s;
  for (int c = 0; c < 0x20; ++c) s.push_back(static_cast<char>(c));
  const std::string text = to_text(value(s));
  for (char c : text) EXPECT_GE(static_cast<unsigned char>(c), 0x20u) << text;
  EXPECT_EQ(json_value(text), value(s));
  // And Boost.JSON, an independent reader, agrees.
  EXPECT_EQ(boost::json::parse(text).as_string(), s);
}

TEST(jsonrpc_encode, unicode_escapes_decode_to_utf8) {
  EXPECT_EQ(json_value(R"("\u00e9\ud83d\ude00\u0041")"), value("\xc3\xa9\xf0\x9f\x98\x80"
                                                               "A"));
}

TEST(jsonrpc_encode, bytes_as_base64_and_date_time_as_iso8601) {
  EXPECT_EQ(to_text(value(bytes{std::string("\x00\x01hello\xff", 8)})), R"("AAFoZWxsb/8=")");
  EXPECT_EQ(to_text(value(bytes{})), R"("")");
  EXPECT_EQ(to_text(value(date_time{2024, 1, 2, 3, 4, 5})), R"("2024-01-02T03:04:05")");
  EXPECT_EQ(to_text(value(date_time{2024, 1, 2, 3, 4, 5, 6})), R"("2024-01-02T03:04:05.000006")");
}

TEST(jsonrpc_round_trip, date_times_travel_as_iso8601_text_with_their_microseconds) {
  // JSON has no date-time: one arrives as its ISO 8601 text, which date_time::parse (and the
  // typed binding) reads back whole.
  for (const date_time& t :
       {date_time{2026, 12, 3, 10, 0, 0}, date_time{2026, 12, 3, 10, 0, 0, 123456},
        date_time{0, 1, 1, 0, 0, 0, 1}, date_time{9999, 12, 31, 23, 59, 59, 999999}}) {
    response r;
    r.id = 1;
    r.result = array{t};
    std::vector<response> back;
    fault why;
    ASSERT_TRUE(decode_responses(to_text(r), decode_limits{}, back, why)) << why;
    ASSERT_EQ(back.size(), 1u);
    const value& text = back[0].result.as_array().at(0);
    ASSERT_TRUE(text.is_string()) << to_text(text);
    date_time read;
    ASSERT_TRUE(date_time::parse(text.as_string(), read)) << text.as_string();
    EXPECT_EQ(read, t) << text.as_string();
  }
}

TEST(jsonrpc_encode, containers_keep_order) {
  const value v(structure{{"b", value(array{value(1), value(2.0), value(), value(false)})},
                          {"a", value(structure{})},
                          {"k\"ey", value(array{})}});
  EXPECT_EQ(to_text(v), R"({"b":[1,2.0,null,false],"a":{},"k\"ey":[]})");
  EXPECT_EQ(json_value(to_text(v)), v);
}

TEST(jsonrpc_encode, batch_is_an_array_and_empty_batch_writes_nothing) {
  std::string out;
  encode_batch({}, out);
  EXPECT_EQ(out, "");
  response a;
  a.id = value(1);
  a.result = value(7);
  response b;
  b.error = fault{-32600, "Invalid Request"};
  encode_batch({a, b}, out);
  EXPECT_EQ(out,
            R"([{"jsonrpc":"2.0","result":7,"id":1},)"
            R"({"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}])");
}

TEST(jsonrpc_encode, request_and_notification) {
  request r;
  r.method = "subtract";
  r.params = value(array{value(42), value(23)});
  r.id = value(1);
  std::string out;
  encode_request(r, out);
  EXPECT_EQ(out, R"({"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1})");

  request n;
  n.method = "update";
  n.params = value(structure{{"x", value("y")}});
  n.notification = true;
  out.clear();
  encode_request(n, out);
  EXPECT_EQ(out, R"({"jsonrpc":"2.0","method":"update","params":{"x":"y"}})");

  // What the codec writes, it reads back as the same request.
  const message m = decode(out, decode_limits{});
  const request& back = as_request(m.entries.at(0));
  EXPECT_TRUE(back.notification);
  EXPECT_EQ(back.method, "update");
  EXPECT_EQ(back.params, n.params);
}

TEST(jsonrpc_encode, request_with_nil_params_omits_them) {
  request r;
  r.method = "counter.get";
  r.params = value();
  r.id = value("a");
  std::string out;
  encode_request(r, out);
  EXPECT_EQ(out, R"({"jsonrpc":"2.0","method":"counter.get","id":"a"})");
  EXPECT_EQ(as_request(decode(out, decode_limits{}).entries.at(0)).params, value(array{}));
}

// ----------------------------------------------------------------------------------------------
// Client side: decode_responses

TEST(jsonrpc_decode_responses, a_result_beyond_int64_fails_that_answer_as_a_protocol_error) {
  std::vector<response> out;
  fault why;
  ASSERT_TRUE(
      decode_responses(R"([{"jsonrpc":"2.0","result":[1,{"n":18446744073709551615}],"id":1},)"
                       R"({"jsonrpc":"2.0","result":2,"id":2},)"
                       R"({"jsonrpc":"2.0","result":3,"id":12345678901234567891}])",
                       decode_limits{}, out, why))
      << why;
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id, value(1));
  EXPECT_TRUE(out[0].result.is_nil());
  EXPECT_EQ(out[0].error, (fault{protocol_error_code,
                                 "answer refused: integer 18446744073709551615 is beyond int64"}));
  EXPECT_EQ(out[1].result, value(2));
  EXPECT_FALSE(out[1].error);
  EXPECT_EQ(out[2].result, value(3));  // an id beyond int64 is no error
  EXPECT_EQ(out[2].id, value(bytes{"12345678901234567891"}));
}

TEST(jsonrpc_decode_responses, result_and_error) {
  std::vector<response> out;
  fault why;
  ASSERT_TRUE(
      decode_responses(R"({"jsonrpc":"2.0","result":[1,2.5],"id":"a"})", decode_limits{}, out, why))
      << why;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, value("a"));
  EXPECT_EQ(out[0].result, value(array{value(1), value(2.5)}));
  EXPECT_FALSE(out[0].error);

  ASSERT_TRUE(decode_responses(
      R"({"jsonrpc":"2.0","error":{"code":-32000,"message":"division by zero","data":1},"id":7})",
      decode_limits{}, out, why))
      << why;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, value(7));
  ASSERT_TRUE(out[0].error);
  EXPECT_EQ(*out[0].error, (fault{-32000, "division by zero"}));
}

TEST(jsonrpc_decode_responses, batch_of_responses) {
  std::vector<response> out;
  fault why;
  ASSERT_TRUE(decode_responses(
      R"([{"jsonrpc":"2.0","result":null,"id":1},{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":null}])",
      decode_limits{}, out, why))
      << why;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].result.is_nil());
  EXPECT_FALSE(out[0].error);
  EXPECT_TRUE(out[1].id.is_nil());
  EXPECT_EQ(out[1].error->code, -32600);
}

TEST(jsonrpc_decode_responses, round_trip_of_encoded_responses) {
  response a;
  a.id = value(1.5);
  a.result = value(structure{{"k", value(bytes{"hi"})}});
  response b;
  b.id = value("x");
  b.error = fault{-32602, "invalid params: \"a\" must be an int"};
  std::string text;
  encode_batch({a, b}, text);
  std::vector<response> out;
  fault why;
  ASSERT_TRUE(decode_responses(text, decode_limits{}, out, why)) << why;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, value(bytes{"1.5"}));  // a number id that is not an int64: its text
  EXPECT_EQ(out[0].result, value(structure{{"k", value("aGk=")}}));  // bytes travel as base64
  EXPECT_EQ(out[1], b);
}

TEST(jsonrpc_decode_responses, refuses_what_is_not_a_response) {
  const std::vector<const char*> bad = {
      "garbage",
      "",
      "[]",
      "5",
      R"({"jsonrpc":"2.0","result":1})",                                          // no id
      R"({"jsonrpc":"1.0","result":1,"id":1})",                                   // version
      R"({"result":1,"id":1})",                                                   // no version
      R"({"jsonrpc":"2.0","id":1})",                                              // neither
      R"({"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"m"},"id":1})",  // both
      R"({"jsonrpc":"2.0","error":{"code":"1","message":"m"},"id":1})",           // code type
      R"({"jsonrpc":"2.0","error":{"code":1.5,"message":"m"},"id":1})",           // code type
      R"({"jsonrpc":"2.0","error":{"code":99999999999,"message":"m"},"id":1})",   // code range
      R"({"jsonrpc":"2.0","error":{"code":1},"id":1})",                           // no message
      R"({"jsonrpc":"2.0","error":{"code":1,"message":2},"id":1})",               // message type
      R"({"jsonrpc":"2.0","error":"boom","id":1})",                               // error type
      R"({"jsonrpc":"2.0","result":1,"id":[1]})",                                 // id type
      R"([{"jsonrpc":"2.0","result":1,"id":1},3])",                               // element
      R"({"jsonrpc":"2.0","result":1,"id":1}{})",                                 // two texts
  };
  for (const char* text : bad) {
    SCOPED_TRACE(text);
    std::vector<response> out;
    fault why;
    EXPECT_FALSE(decode_responses(text, decode_limits{}, out, why));
    EXPECT_FALSE(why.message.empty());
    EXPECT_EQ(why.message.find('\n'), std::string::npos);
    EXPECT_TRUE(out.empty());
  }
}

TEST(jsonrpc_decode_responses, deep_nesting_is_refused_without_crash) {
  std::vector<response> out;
  fault why;
  EXPECT_FALSE(decode_responses(std::string(100000, '['), decode_limits{}, out, why));
  EXPECT_NE(why.message.find("nesting"), std::string::npos) << why;
}

// ----------------------------------------------------------------------------------------------
// stream_decoder

/// `limits` with a message size limit of `bytes`.
decode_limits sized(decode_limits limits, std::size_t bytes) {
  limits.max_message_bytes = bytes;
  return limits;
}

/// Feeds `chunks` one after another, collecting every completed message; stops at a failure.
struct stream_run {
  std::vector<message> messages;
  std::optional<message> failure;
  std::string_view last_rest;
};

stream_run run_stream(stream_decoder& d, const std::vector<std::string>& chunks) {
  stream_run run;
  for (const std::string& chunk : chunks) {
    std::string_view input(chunk);
    while (!input.empty()) {
      message m;
      const auto before = input.size();
      const auto st = d.feed(input, m);
      if (st == stream_decoder::status::need_more) {
        EXPECT_TRUE(input.empty()) << "need_more must consume all input";
        break;
      }
      EXPECT_LT(input.size(), before) << "a result must consume input";
      if (st == stream_decoder::status::failed) {
        run.failure = std::move(m);
        run.last_rest = input;
        return run;
      }
      run.messages.push_back(std::move(m));
    }
  }
  return run;
}

std::vector<std::string> bytes_of(std::string_view text) {
  std::vector<std::string> out;
  for (char c : text) out.emplace_back(1, c);
  return out;
}

const std::string three_texts =
    R"({"jsonrpc":"2.0","method":"a","id":1}[{"jsonrpc":"2.0","method":"b","id":"2"},)"
    R"({"jsonrpc":"2.0","method":"c"}]{"jsonrpc":"2.0","method":"d","params":[1.5],"id":3})";

void expect_three_texts(const stream_run& run) {
  ASSERT_FALSE(run.failure);
  ASSERT_EQ(run.messages.size(), 3u);
  EXPECT_FALSE(run.messages[0].batch);
  EXPECT_EQ(as_request(run.messages[0].entries.at(0)).method, "a");
  EXPECT_EQ(as_request(run.messages[0].entries.at(0)).id, value(1));
  EXPECT_TRUE(run.messages[1].batch);
  ASSERT_EQ(run.messages[1].entries.size(), 2u);
  EXPECT_EQ(as_request(run.messages[1].entries[0]).id, value("2"));
  EXPECT_TRUE(as_request(run.messages[1].entries[1]).notification);
  EXPECT_EQ(as_request(run.messages[2].entries.at(0)).params, value(array{value(1.5)}));
}

TEST(jsonrpc_stream, back_to_back_texts_in_one_feed) {
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  std::string_view input(three_texts);
  message m;
  ASSERT_EQ(d.feed(input, m), stream_decoder::status::complete);
  const std::size_t first = three_texts.find('[');
  EXPECT_EQ(input.size(), three_texts.size() - first);  // advanced past exactly the first text
  EXPECT_EQ(input.front(), '[');
  EXPECT_EQ(as_request(m.entries.at(0)).method, "a");
  const stream_run rest = run_stream(d, {std::string(input)});
  EXPECT_FALSE(rest.failure);
  EXPECT_EQ(rest.messages.size(), 2u);

  stream_decoder fresh(sized(decode_limits{}, 1 << 20));
  expect_three_texts(run_stream(fresh, {three_texts}));
}

TEST(jsonrpc_stream, texts_split_byte_by_byte) {
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  expect_three_texts(run_stream(d, bytes_of(three_texts)));
}

TEST(jsonrpc_stream, texts_split_at_every_position) {
  for (std::size_t cut = 0; cut <= three_texts.size(); ++cut) {
    SCOPED_TRACE(cut);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    expect_three_texts(run_stream(d, {three_texts.substr(0, cut), three_texts.substr(cut)}));
  }
}

TEST(jsonrpc_stream, whitespace_between_and_after_texts_makes_no_message) {
  const std::string text =
      " \r\n\t{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}\n\n  "
      "{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":2}\r\n \t ";
  for (bool split : {false, true}) {
    SCOPED_TRACE(split);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    const stream_run run = split ? run_stream(d, bytes_of(text)) : run_stream(d, {text});
    ASSERT_FALSE(run.failure);
    ASSERT_EQ(run.messages.size(), 2u);
    EXPECT_EQ(as_request(run.messages[0].entries.at(0)).method, "a");
    EXPECT_EQ(as_request(run.messages[1].entries.at(0)).method, "b");
    // More whitespace later is still nothing.
    std::string_view more = "\n\n\n";
    message m;
    EXPECT_EQ(d.feed(more, m), stream_decoder::status::need_more);
    EXPECT_TRUE(more.empty());
  }
}

TEST(jsonrpc_stream, ready_for_the_next_text_after_complete) {
  // Many texts on one decoder: Boost 1.81's monotonic_resource::release() doubles its next block
  // size each time, so a decoder that reused one resource threw bad_alloc after ~60 texts.
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  for (int i = 0; i < 1000; ++i) {
    const std::string text = R"({"jsonrpc":"2.0","method":"m","id":)" + std::to_string(i) + "}\n";
    std::string_view input(text);
    message m;
    ASSERT_EQ(d.feed(input, m), stream_decoder::status::complete);
    EXPECT_TRUE(input.empty());
    EXPECT_EQ(as_request(m.entries.at(0)).id, value(i));
  }
}

TEST(jsonrpc_stream, top_level_number_waits_for_a_delimiter) {
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  std::string_view input = "5";
  message m;
  EXPECT_EQ(d.feed(input, m), stream_decoder::status::need_more);
  EXPECT_TRUE(input.empty());
  input = "7 ";
  ASSERT_EQ(d.feed(input, m), stream_decoder::status::complete);
  EXPECT_TRUE(input.empty());
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(error_code(m.entries[0]), invalid_request_code);
}

TEST(jsonrpc_stream, invalid_requests_and_empty_batch_do_not_fail_the_stream) {
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  const stream_run run =
      run_stream(d, {R"([] {"jsonrpc":"2.0","method":1} [1,2] {"jsonrpc":"2.0","method":"ok"})"});
  ASSERT_FALSE(run.failure);
  ASSERT_EQ(run.messages.size(), 4u);
  EXPECT_FALSE(run.messages[0].batch);
  EXPECT_EQ(error_code(run.messages[0].entries.at(0)), invalid_request_code);
  EXPECT_EQ(error_code(run.messages[1].entries.at(0)), invalid_request_code);
  EXPECT_TRUE(run.messages[2].batch);
  EXPECT_EQ(run.messages[2].entries.size(), 2u);
  EXPECT_EQ(as_request(run.messages[3].entries.at(0)).method, "ok");
}

TEST(jsonrpc_stream, batch_over_max_batch_is_one_invalid_request) {
  decode_limits limits;
  limits.max_batch = 2;
  stream_decoder d(sized(limits, 1 << 20));
  const stream_run run = run_stream(d, {"[1,2,3][1,2]"});
  ASSERT_FALSE(run.failure);
  ASSERT_EQ(run.messages.size(), 2u);
  EXPECT_FALSE(run.messages[0].batch);
  EXPECT_EQ(run.messages[0].entries.size(), 1u);
  EXPECT_TRUE(run.messages[1].batch);
}

void expect_failure(const stream_run& run, int code, std::string_view message_part) {
  ASSERT_TRUE(run.failure);
  EXPECT_FALSE(run.failure->batch);
  ASSERT_EQ(run.failure->entries.size(), 1u);
  const response& r = as_error(run.failure->entries[0]);
  EXPECT_TRUE(r.id.is_nil());
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, code);
  EXPECT_NE(r.error->message.find(message_part), std::string::npos) << r.error->message;
}

TEST(jsonrpc_stream, oversize_text_fails_with_resource_exhausted) {
  const std::string big =
      R"({"jsonrpc":"2.0","method":"m","params":[")" + std::string(200, 'x') + R"("],"id":1})";
  {
    stream_decoder d(sized(decode_limits{}, 64));
    expect_failure(run_stream(d, {big}), resource_exhausted_code, "message too large");
  }
  {
    stream_decoder d(sized(decode_limits{}, 64));
    expect_failure(run_stream(d, bytes_of(big)), resource_exhausted_code, "message too large");
  }
  {
    // The limit is per text: many small texts pass.
    stream_decoder d(sized(decode_limits{}, 64));
    std::string many;
    for (int i = 0; i < 50; ++i) many += R"({"jsonrpc":"2.0","method":"m","id":1})";
    const stream_run run = run_stream(d, {many});
    EXPECT_FALSE(run.failure);
    EXPECT_EQ(run.messages.size(), 50u);
  }
}

TEST(jsonrpc_stream, text_of_exactly_the_limit_is_accepted) {
  const std::string text = R"({"jsonrpc":"2.0","method":"m","id":1})";
  stream_decoder exact(sized(decode_limits{}, text.size()));
  const stream_run ok = run_stream(exact, {text, text});
  EXPECT_FALSE(ok.failure);
  EXPECT_EQ(ok.messages.size(), 2u);

  stream_decoder under(sized(decode_limits{}, text.size() - 1));
  expect_failure(run_stream(under, {text}), resource_exhausted_code, "message too large");
}

TEST(jsonrpc_stream, garbage_fails_with_parse_error) {
  for (const char* text :
       {"{\"jsonrpc\" 1}", "}", "hello", "{\"a\":1,}", "[1,2,,]", "{\"s\":\"\xff\"}"}) {
    SCOPED_TRACE(text);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    expect_failure(run_stream(d, {text}), parse_error_code, "Parse error");
  }
}

TEST(jsonrpc_stream, good_text_then_garbage_answers_the_good_one_first) {
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  const stream_run run = run_stream(d, {R"({"jsonrpc":"2.0","method":"m","id":1} xyz)"});
  ASSERT_EQ(run.messages.size(), 1u);
  expect_failure(run, parse_error_code, "Parse error");
}

TEST(jsonrpc_stream, after_failure_it_stays_failed) {
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  expect_failure(run_stream(d, {"]"}), parse_error_code, "Parse error");
  std::string_view input = R"({"jsonrpc":"2.0","method":"m","id":1})";
  message m;
  EXPECT_EQ(d.feed(input, m), stream_decoder::status::failed);
  EXPECT_TRUE(input.empty());
  EXPECT_EQ(error_code(m.entries.at(0)), parse_error_code);
}

TEST(jsonrpc_stream, deep_nesting_fails_with_parse_error_without_crash) {
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  expect_failure(run_stream(d, {std::string(100000, '[')}), parse_error_code,
                 "nesting deeper than 128");
}

TEST(jsonrpc_stream, numbers_split_at_every_position_keep_their_value) {
  const std::string text =
      R"({"jsonrpc":"2.0","method":"m","params":[123456789.12345679,-2.5E-3,)"
      R"(18446744073709551616.0,-9223372036854775808,1e-400,0.1],"id":12345} )";
  const value want(array{value(123456789.12345679), value(-2.5e-3), value(18446744073709551616.0),
                         value(std::numeric_limits<std::int64_t>::min()), value(0.0),
                         value(0.1)});
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    SCOPED_TRACE(cut);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    const stream_run run = run_stream(d, {text.substr(0, cut), text.substr(cut)});
    ASSERT_FALSE(run.failure);
    ASSERT_EQ(run.messages.size(), 1u);
    const request& r = as_request(run.messages[0].entries.at(0));
    EXPECT_EQ(r.params, want);
    EXPECT_EQ(r.id, value(12345));
  }
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  const stream_run run = run_stream(d, bytes_of(text));
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(as_request(run.messages[0].entries.at(0)).params, want);
}

TEST(jsonrpc_stream, integers_beyond_int64_split_at_every_position_are_named_whole) {
  for (const std::string number :
       {"18446744073709551616", "-9223372036854775809", "123456789012345678901234567890"}) {
    const std::string text =
        R"({"jsonrpc":"2.0","method":"m","params":[1,{"k":[)" + number + R"(]},2.5],"id":7} )";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      SCOPED_TRACE(text.substr(0, cut) + "|" + text.substr(cut));
      stream_decoder d(sized(decode_limits{}, 1 << 20));
      const stream_run run = run_stream(d, {text.substr(0, cut), text.substr(cut)});
      ASSERT_FALSE(run.failure);
      ASSERT_EQ(run.messages.size(), 1u);
      const response& e = as_error(run.messages[0].entries.at(0));
      EXPECT_EQ(e.id, value(7));
      EXPECT_EQ(e.error, (fault{invalid_params_code,
                                "invalid params: integer " + number + " is beyond int64"}));
    }
  }
}

TEST(jsonrpc_stream, random_doubles_round_trip_bit_for_bit_when_split) {
  const std::vector<double> doubles = random_doubles(2000);
  std::string stream_text;
  for (std::size_t i = 0; i < doubles.size(); ++i) {
    stream_text += R"({"jsonrpc":"2.0","method":"echo","params":[)" + shortest(doubles[i]) +
                   R"(],"id":)" + std::to_string(i) + "}";
    if (i % 3 == 0) stream_text += "\n";  // texts back to back or apart
  }
  std::mt19937_64 rng(7);
  std::vector<std::string> chunks;
  for (std::size_t at = 0; at < stream_text.size();) {
    const std::size_t len = 1 + rng() % 40;  // cuts land inside numbers, names and strings
    chunks.push_back(stream_text.substr(at, len));
    at += len;
  }
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  const stream_run run = run_stream(d, chunks);
  ASSERT_FALSE(run.failure);
  ASSERT_EQ(run.messages.size(), doubles.size());
  for (std::size_t i = 0; i < doubles.size(); ++i) {
    const request& r = as_request(run.messages[i].entries.at(0));
    ASSERT_EQ(r.id, value(static_cast<std::int64_t>(i)));
    const value& p = r.params.as_array().at(0);
    ASSERT_TRUE(p.is_double());
    ASSERT_EQ(bits_of(p.as_double()), bits_of(doubles[i])) << shortest(doubles[i]);
  }
}

TEST(jsonrpc_stream, number_out_of_range_fails_with_parse_error) {
  for (const char* number : {"1e400", "-1e400"}) {
    SCOPED_TRACE(number);
    const std::string text =
        std::string(R"({"jsonrpc":"2.0","method":"m","params":[)") + number + R"(],"id":1})";
    stream_decoder whole(sized(decode_limits{}, 1 << 20));
    expect_failure(run_stream(whole, {text}), parse_error_code, "number out of range");
    stream_decoder split(sized(decode_limits{}, 1 << 20));
    expect_failure(run_stream(split, bytes_of(text)), parse_error_code, "number out of range");
  }
}

TEST(jsonrpc_stream, huge_exponents_split_at_every_position_keep_their_value) {
  const std::string text = R"({"jsonrpc":"2.0","method":"m","params":[0e99999999999999999999,)"
                           R"("e99999999999",-1E-000000000000123456789012345,7],"id":1}{"jsonrpc":)"
                           R"("2.0","method":"n","params":[1e2],"id":2} )";
  const value want(array{value(0.0), value("e99999999999"), value(-0.0), value(7)});
  auto check = [&](const stream_run& run) {
    ASSERT_FALSE(run.failure);
    ASSERT_EQ(run.messages.size(), 2u);
    EXPECT_EQ(as_request(run.messages[0].entries.at(0)).params, want);
    EXPECT_EQ(as_request(run.messages[1].entries.at(0)).params, value(array{value(100.0)}));
  };
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    SCOPED_TRACE(cut);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    check(run_stream(d, {text.substr(0, cut), text.substr(cut)}));
  }
  stream_decoder d(sized(decode_limits{}, 1 << 20));
  check(run_stream(d, bytes_of(text)));
  // Out of range however it is split.
  const std::string big = R"({"jsonrpc":"2.0","method":"m","params":[1e99999999999999999999]})";
  stream_decoder whole(sized(decode_limits{}, 1 << 20));
  expect_failure(run_stream(whole, {big}), parse_error_code, "number out of range");
  stream_decoder split(sized(decode_limits{}, 1 << 20));
  expect_failure(run_stream(split, bytes_of(big)), parse_error_code, "number out of range");
}

TEST(jsonrpc_ids, kept_when_the_stream_splits_them_anywhere) {
  const std::string text =
      R"({"jsonrpc":"2.0","method":"m","id":12345678901234567891}[{"jsonrpc":"2.0","method":)"
      R"("m","id":-1.5E+0000000000000000000007}] )";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    SCOPED_TRACE(cut);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    const stream_run run = run_stream(d, {text.substr(0, cut), text.substr(cut)});
    ASSERT_FALSE(run.failure);
    ASSERT_EQ(run.messages.size(), 2u);
    EXPECT_EQ(as_request(run.messages[0].entries.at(0)).id, value(bytes{"12345678901234567891"}));
    EXPECT_EQ(as_request(run.messages[1].entries.at(0)).id,
              value(bytes{"-1.5E+0000000000000000000007"}));
  }
}

// The exponent guard looks at one byte in ten for runs of ten digits: long runs anywhere (in
// strings and names, in significands, in exponents with and without leading zeros), cut into
// pieces of every size, must read as std::from_chars reads each number's whole text.
TEST(jsonrpc_stream, long_digit_runs_anywhere_read_as_their_whole_text) {
  std::mt19937_64 rng(1234);
  auto digits = [&](std::size_t n, bool leading_zeros) {
    std::string d;
    for (std::size_t i = 0; i < n; ++i) {
      d.push_back(static_cast<char>('0' + (leading_zeros && i < n / 2 ? 0 : rng() % 10)));
    }
    return d;
  };
  const std::vector<std::string> signs = {"", "+", "-"};
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> tokens;
    array want;
    std::string first_wide;  // the first integer token beyond int64: the call is refused
    const int items = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < items; ++i) {
      std::string token;
      switch (rng() % 6) {
        case 0: {  // a string of digits, and one that looks like an exponent
          token = "\"" + digits(1 + rng() % 30, false) + "e" + digits(rng() % 30, false) + "\"";
          want.emplace_back(token.substr(1, token.size() - 2));
          tokens.push_back(token);
          continue;
        }
        case 1:
          token = std::string(rng() % 2 ? "-" : "") + "1" + digits(rng() % 40, false);
          break;
        case 2:
          token = "0." + digits(1 + rng() % 40, rng() % 2 != 0);
          break;
        default: {
          const std::string significand =
              rng() % 3 == 0 ? "0" : std::to_string(rng() % 1000) + "." + digits(1 + rng() % 12, false);
          token = (rng() % 2 ? "-" : "") + significand + (rng() % 2 ? "e" : "E") +
                  signs[rng() % 3] + digits(1 + rng() % 30, rng() % 2 != 0);
        }
      }
      double d = 0;
      const auto [end, errc] = std::from_chars(token.data(), token.data() + token.size(), d);
      ASSERT_EQ(end, token.data() + token.size()) << token;
      if (errc == std::errc::result_out_of_range) {
        // Beyond the double range: refused. Below it: a zero of the number's sign.
        const std::size_t e = token.find_first_of("eE");
        const bool negative_exponent = e != std::string::npos && token[e + 1] == '-';
        if (!negative_exponent) continue;  // keep the text readable: leave this one out
        d = token[0] == '-' ? -0.0 : 0.0;
      }
      if (token.find_first_of(".eE") == std::string::npos) {
        std::int64_t as_int = 0;
        const auto r = std::from_chars(token.data(), token.data() + token.size(), as_int);
        if (r.ec == std::errc() && r.ptr == token.data() + token.size()) {
          want.emplace_back(as_int);
          tokens.push_back(token);
          continue;
        }
        if (first_wide.empty()) first_wide = token;  // never a double (-32602 naming it)
      }
      want.emplace_back(d);
      tokens.push_back(token);
    }
    std::string text = R"({"jsonrpc":"2.0","method":"m","params":[)";
    for (std::size_t i = 0; i < tokens.size(); ++i) text += (i > 0 ? "," : "") + tokens[i];
    text += R"(],"id":1} )";
    std::vector<std::string> chunks;
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t len = 1 + rng() % 23;
      chunks.push_back(text.substr(at, len));
      at += len;
    }
    SCOPED_TRACE(text);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    const stream_run run = run_stream(d, chunks);
    ASSERT_FALSE(run.failure);
    ASSERT_EQ(run.messages.size(), 1u);
    const message whole = decode(text, decode_limits{});
    if (!first_wide.empty()) {
      const fault refused{invalid_params_code,
                          "invalid params: integer " + first_wide + " is beyond int64"};
      ASSERT_EQ(as_error(run.messages[0].entries.at(0)).error, refused);
      ASSERT_EQ(as_error(whole.entries.at(0)).error, refused);
      continue;
    }
    const value& params = as_request(run.messages[0].entries.at(0)).params;
    ASSERT_EQ(params, value(want));
    ASSERT_EQ(as_request(whole.entries.at(0)).params, value(want));
  }
}

TEST(jsonrpc_stream, escapes_split_byte_by_byte_keep_their_content) {
  // \u00e9 (é), a surrogate pair for U+1F600 and escaped quotes, in names and strings.
  const std::string text =
      R"({"jsonrpc":"2.0","method":"caf\u00e9\ud83d\ude00","params":)"
      R"({"k\u00e9y\ud83d\ude00\"":"v\u00e9\ud83d\ude00\\\"x","plain":"abc"},"id":"\ud83d\ude00"})";
  const std::string smiley = "\xf0\x9f\x98\x80";
  for (bool split : {false, true}) {
    SCOPED_TRACE(split);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    const stream_run run = split ? run_stream(d, bytes_of(text)) : run_stream(d, {text});
    ASSERT_FALSE(run.failure);
    ASSERT_EQ(run.messages.size(), 1u);
    const request& r = as_request(run.messages[0].entries.at(0));
    EXPECT_EQ(r.method, "caf\xc3\xa9" + smiley);
    EXPECT_EQ(r.params, value(structure{{"k\xc3\xa9y" + smiley + "\"",
                                         value("v\xc3\xa9" + smiley + "\\\"x")},
                                        {"plain", value("abc")}}));
    EXPECT_EQ(r.id, value(smiley));
  }
}

TEST(jsonrpc_stream, long_strings_split_at_every_position_keep_their_content) {
  // Longer than Boost.JSON's internal buffer for unescaped text, with escapes, split anywhere.
  std::string content;
  for (int i = 0; i < 300; ++i) content += "ab\\n\\u00e9" + std::to_string(i);
  const std::string text = R"({"jsonrpc":"2.0","method":"m","params":[")" + content +
                           R"("],"id":1})";
  const value want = json_value("\"" + content + "\"");
  ASSERT_TRUE(want.is_string());
  for (std::size_t cut = 0; cut <= text.size(); cut += 7) {
    SCOPED_TRACE(cut);
    stream_decoder d(sized(decode_limits{}, 1 << 20));
    const stream_run run = run_stream(d, {text.substr(0, cut), text.substr(cut)});
    ASSERT_EQ(run.messages.size(), 1u);
    EXPECT_EQ(as_request(run.messages[0].entries.at(0)).params.as_array().at(0), want);
  }
}

// ---- the decoded-size budget and the batch limit (docs/failures.md "Memory model")

/// `n` nulls as one JSON array text: 5 bytes each in the text, 40 (sizeof(value)) decoded.
std::string nulls(std::size_t n) {
  std::string text = "[";
  for (std::size_t i = 0; i < n; ++i) text += i == 0 ? "null" : ",null";
  return text + "]";
}

const std::string after = R"({"jsonrpc":"2.0","method":"after","id":7})";

TEST(jsonrpc_budget, a_text_over_the_decoded_budget_is_refused_and_the_stream_goes_on) {
  // 300,000 nulls: 1.5 MB of text, 12 MB decoded, over 6 x 1.5 MB + 1 MiB.
  const std::string big = R"({"jsonrpc":"2.0","method":"echo","params":)" + nulls(300000) + "}";
  for (const std::size_t cut : {big.size(), std::size_t{65536}, std::size_t{7}}) {
    SCOPED_TRACE(cut);
    stream_decoder d(decode_limits{});
    std::vector<std::string> chunks;
    const std::string all = big + after;
    for (std::size_t at = 0; at < all.size(); at += cut) chunks.push_back(all.substr(at, cut));
    const stream_run run = run_stream(d, chunks);
    ASSERT_FALSE(run.failure);
    ASSERT_EQ(run.messages.size(), 2u);
    const response& refused = as_error(run.messages[0].entries.at(0));
    EXPECT_EQ(refused.error->code, wire_code(status_code::resource_exhausted));
    EXPECT_NE(refused.error->message.find("decodes to more than"), std::string::npos)
        << refused.error->message;
    EXPECT_TRUE(refused.id.is_nil());
    EXPECT_EQ(as_request(run.messages[1].entries.at(0)).method, "after");
  }
}

TEST(jsonrpc_budget, within_the_budget_a_large_text_decodes) {
  // 20,000 nulls: 100 KB decoded to 800 KB, within the 1 MiB every text is allowed.
  const message m = decode(R"({"jsonrpc":"2.0","method":"echo","params":)" + nulls(20000) + "}",
                           decode_limits{});
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(as_request(m.entries[0]).params.as_array().size(), 20000u);
  // Without a budget, the refused text of the test above decodes.
  decode_limits unbudgeted;
  unbudgeted.max_decoded_ratio = 0;
  const message all =
      decode(R"({"jsonrpc":"2.0","method":"echo","params":)" + nulls(300000) + "}", unbudgeted);
  EXPECT_EQ(as_request(all.entries.at(0)).params.as_array().size(), 300000u);
}

TEST(jsonrpc_budget, the_budget_counts_the_whole_text_not_its_first_piece) {
  // Found by test_daemon: the builder's byte count was reset at the document's start, so a
  // whole HTTP body had only the 1 MiB allowance and an 8 MiB string was refused.
  const std::string big(4 << 20, 'x');
  const message m =
      decode(R"({"jsonrpc":"2.0","method":"echo","params":[")" + big + R"("],"id":1})",
             decode_limits{});
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(as_request(m.entries[0]).params, value(array{value(big)}));
}

TEST(jsonrpc_budget, a_batch_over_the_limit_is_refused_by_count_and_the_stream_goes_on) {
  decode_limits limits;
  limits.max_batch = 3;
  std::string batch = "[";
  for (int i = 0; i < 5; ++i) {
    if (i > 0) batch += ',';
    batch += R"({"jsonrpc":"2.0","method":"m","id":)";
    batch += std::to_string(i);
    batch += '}';
  }
  batch += "]";
  stream_decoder d(limits);
  const stream_run run = run_stream(d, {batch + after});
  ASSERT_FALSE(run.failure);
  ASSERT_EQ(run.messages.size(), 2u);
  const response& refused = as_error(run.messages[0].entries.at(0));
  EXPECT_EQ(refused.error->code, wire_code(status_code::invalid_request));
  EXPECT_NE(refused.error->message.find("batch of 5 entries exceeds the limit of 3"),
            std::string::npos)
      << refused.error->message;
  EXPECT_EQ(as_request(run.messages[1].entries.at(0)).method, "after");
  // The same through the whole-text decoder (HTTP bodies).
  const message whole = decode(batch, limits);
  EXPECT_EQ(as_error(whole.entries.at(0)).error->code, wire_code(status_code::invalid_request));
}

}  // namespace
}  // namespace netcall::detail::jsonrpc
