#include "netcall/value.hpp"

#include <gtest/gtest.h>

#include "netcall/status.hpp"

using namespace netcall;

TEST(value, holds_each_kind) {
  EXPECT_EQ(value().kind(), kind::nil);
  EXPECT_EQ(value(nil).kind(), kind::nil);
  EXPECT_EQ(value(true).kind(), kind::boolean);
  EXPECT_EQ(value(42).kind(), kind::integer);
  EXPECT_EQ(value(std::int64_t{1} << 40).as_int(), std::int64_t{1} << 40);
  EXPECT_EQ(value(2.5).kind(), kind::floating);
  EXPECT_EQ(value("text").kind(), kind::string);
  EXPECT_EQ(value(std::string("s")).as_string(), "s");
  EXPECT_EQ(value(bytes{std::string("\0\xff", 2)}).as_bytes().data.size(), 2u);
  EXPECT_EQ(value(date_time{2026, 11, 21, 1, 2, 3}).as_date_time().day, 21);
  EXPECT_EQ(value(array{1, "x"}).as_array().size(), 2u);
  EXPECT_EQ(value(structure{{"k", 1}}).as_struct().front().first, "k");
}

TEST(value, const_char_is_a_string_not_a_bool) {
  EXPECT_TRUE(value("x").is_string());
}

TEST(value, wrong_kind_access_raises_invalid_params_naming_both_kinds) {
  try {
    value("x").as_int();
    FAIL() << "no exception";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::invalid_params);
    EXPECT_EQ(e.wire_code(), -32602);
    EXPECT_STREQ(e.what(), "expected int, got string");
  }
  EXPECT_THROW(value(1).as_string(), error);
  EXPECT_THROW(value(1.5).as_int(), error);
  EXPECT_THROW(value(true).as_double(), error);
}

TEST(value, as_double_widens_ints) { EXPECT_EQ(value(3).as_double(), 3.0); }

TEST(value, equality_is_deep_and_kind_sensitive) {
  EXPECT_EQ(value(array{1, structure{{"a", array{}}}}), value(array{1, structure{{"a", array{}}}}));
  EXPECT_NE(value(1), value(1.0));
  EXPECT_NE(value(structure{{"a", 1}}), value(structure{{"a", 2}}));
}

TEST(value, find_returns_first_member_or_null) {
  value s(structure{{"a", 1}, {"b", 2}, {"a", 3}});
  ASSERT_NE(s.find("a"), nullptr);
  EXPECT_EQ(s.find("a")->as_int(), 1);
  EXPECT_EQ(s.find("z"), nullptr);
  EXPECT_EQ(value(1).find("a"), nullptr);
}

TEST(date_time, formats_and_parses_both_forms) {
  date_time t{1998, 7, 17, 14, 8, 55};
  EXPECT_EQ(t.to_xmlrpc(), "19980717T14:08:55");
  EXPECT_EQ(t.to_iso8601(), "1998-07-17T14:08:55");
  date_time out;
  ASSERT_TRUE(date_time::parse("19980717T14:08:55", out));
  EXPECT_EQ(out, t);
  ASSERT_TRUE(date_time::parse("1998-07-17T14:08:55Z", out));
  EXPECT_EQ(out, t);
  ASSERT_TRUE(date_time::parse("1998-07-17T14:08:55.123+02:00", out));
  EXPECT_EQ(out, (date_time{1998, 7, 17, 14, 8, 55, 123000}));
}

TEST(date_time, microseconds_are_part_of_equality) {
  EXPECT_NE((date_time{2026, 12, 3, 10, 0, 0, 1}), (date_time{2026, 12, 3, 10, 0, 0}));
  EXPECT_EQ((date_time{2026, 12, 3, 10, 0, 0, 0}), (date_time{2026, 12, 3, 10, 0, 0}));
  EXPECT_NE(value(date_time{2026, 12, 3, 10, 0, 0, 5}), value(date_time{2026, 12, 3, 10, 0, 0, 6}));
}

TEST(date_time, iso8601_writes_six_fraction_digits_only_when_there_are_microseconds) {
  EXPECT_EQ((date_time{2026, 12, 3, 10, 0, 0}).to_iso8601(), "2026-12-03T10:00:00");
  EXPECT_EQ((date_time{2026, 12, 3, 10, 0, 0, 123456}).to_iso8601(), "2026-12-03T10:00:00.123456");
  EXPECT_EQ((date_time{2026, 12, 3, 10, 0, 0, 100}).to_iso8601(), "2026-12-03T10:00:00.000100");
  EXPECT_EQ((date_time{2026, 12, 3, 10, 0, 0, 500000}).to_iso8601(), "2026-12-03T10:00:00.500000");
  EXPECT_EQ((date_time{9999, 12, 31, 23, 59, 59, 999999}).to_iso8601(),
            "9999-12-31T23:59:59.999999");
  EXPECT_EQ((date_time{0, 1, 1, 0, 0, 0, 1}).to_iso8601(), "0000-01-01T00:00:00.000001");
}

TEST(date_time, xmlrpc_form_drops_the_fraction) {
  // XML-RPC has no sub-second dateTime.
  EXPECT_EQ((date_time{2026, 12, 3, 10, 0, 0, 123456}).to_xmlrpc(), "20261203T10:00:00");
}

TEST(date_time, parses_a_fraction_of_1_to_9_digits_to_the_microsecond_truncated) {
  const struct {
    const char* text;
    int microsecond;
  } cases[] = {
      {"2026-12-03T10:00:00.1", 100000},         {"2026-12-03T10:00:00.12", 120000},
      {"2026-12-03T10:00:00.123456", 123456},    {"2026-12-03T10:00:00.000001", 1},
      {"2026-12-03T10:00:00.1234567", 123456},    // truncated, not rounded
      {"2026-12-03T10:00:00.9999999", 999999},    // truncated: no carry into the seconds
      {"2026-12-03T10:00:00.123456789", 123456},  // nanoseconds, the most digits taken
      {"2026-12-03T10:00:00.000000999", 0},      {"2026-12-03T10:00:00.000000", 0},
      {"2026-12-03T10:00:00.123456Z", 123456},   {"2026-12-03T10:00:00.123456+01:00", 123456},
      {"2026-12-03T10:00:00.5-0530", 500000},
  };
  for (const auto& c : cases) {
    date_time out;
    ASSERT_TRUE(date_time::parse(c.text, out)) << c.text;
    EXPECT_EQ(out, (date_time{2026, 12, 3, 10, 0, 0, c.microsecond})) << c.text;
  }
}

TEST(date_time, iso8601_text_round_trips_through_parse) {
  for (const date_time& t :
       {date_time{2026, 12, 3, 10, 0, 0}, date_time{2026, 12, 3, 10, 0, 0, 123456},
        date_time{0, 1, 1, 0, 0, 0, 1}, date_time{9999, 12, 31, 23, 59, 59, 999999}}) {
    date_time out;
    ASSERT_TRUE(date_time::parse(t.to_iso8601(), out)) << t.to_iso8601();
    EXPECT_EQ(out, t) << t.to_iso8601();
  }
}

TEST(date_time, refuses_a_fraction_in_the_xmlrpc_form_or_of_0_or_10_digits) {
  date_time out{2000, 1, 1, 0, 0, 0, 7};
  for (const char* bad :
       {"20261203T10:00:00.5", "20261203T10:00:00.123456Z", "2026-12-03T10:00:00.",
        "2026-12-03T10:00:00.Z", "2026-12-03T10:00:00.1234567890", "2026-12-03T10:00:00.12a",
        "2026-12-03T10:00:00,5", "2026-12-03T10:00:00.-1", "2026-12-03T10:00.5"}) {
    EXPECT_FALSE(date_time::parse(bad, out)) << bad;
  }
  EXPECT_EQ(out, (date_time{2000, 1, 1, 0, 0, 0, 7}));
}

TEST(date_time, debug_string_shows_microseconds) {
  EXPECT_EQ(to_debug_string(date_time{2026, 12, 3, 10, 0, 0}), R"(dt"20261203T10:00:00")");
  EXPECT_EQ(to_debug_string(date_time{2026, 12, 3, 10, 0, 0, 42}),
            R"(dt"20261203T10:00:00.000042")");
}

TEST(date_time, rejects_bad_text_and_out_of_range_fields) {
  date_time out{2000, 1, 1, 0, 0, 0};
  for (const char* bad : {"", "1998", "19980717", "19980717T14:08", "19981317T14:08:55",
                          "19980230T14:08:55", "19980717T24:00:00", "19980717T14:08:55junk",
                          "1998-0717T14:08:55", "abcd0717T14:08:55"}) {
    EXPECT_FALSE(date_time::parse(bad, out)) << bad;
  }
  EXPECT_EQ(out, (date_time{2000, 1, 1, 0, 0, 0}));
  EXPECT_TRUE(date_time::parse("20000229T00:00:00", out));  // leap year
}

TEST(base64, round_trips_every_byte_value) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 255u, 256u}) {
    const std::string data = all.substr(0, n);
    std::string back;
    ASSERT_TRUE(base64_decode(base64_encode(data), back));
    EXPECT_EQ(back, data);
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
}

TEST(base64, ignores_whitespace_and_rejects_garbage) {
  std::string out;
  ASSERT_TRUE(base64_decode("aGVs\nbG8=\n", out));
  EXPECT_EQ(out, "hello");
  EXPECT_FALSE(base64_decode("aGVsbG8", out));   // bad length
  EXPECT_FALSE(base64_decode("aG!sbG8=", out));  // bad character
  EXPECT_FALSE(base64_decode("a=VsbG8=", out));  // padding in the middle
}

TEST(status, wire_codes_follow_the_table) {
  EXPECT_EQ(wire_code(status_code::parse_error), -32700);
  EXPECT_EQ(wire_code(status_code::invalid_request), -32600);
  EXPECT_EQ(wire_code(status_code::method_not_found), -32601);
  EXPECT_EQ(wire_code(status_code::invalid_params), -32602);
  EXPECT_EQ(wire_code(status_code::internal_error), -32603);
  EXPECT_EQ(wire_code(status_code::application_error), -32000);
  EXPECT_EQ(status_from_wire_code(-32601), status_code::method_not_found);
  EXPECT_EQ(status_from_wire_code(4), status_code::application_error);
  error foreign(status_code::application_error, 4, "too many parameters");
  EXPECT_EQ(foreign.wire_code(), 4);
}

// A message may quote a client's text, NUL bytes included: what() (a C string) ends at the first
// one, message() and the fault a procedure's error becomes keep all of it.
TEST(status, error_keeps_a_message_with_nul_whole) {
  const std::string text("no method named x\0y", 19);
  const error e(status_code::invalid_params, text);
  EXPECT_EQ(e.message(), text);
  EXPECT_STREQ(e.what(), "no method named x");
  error copy = e;
  EXPECT_EQ(copy.message(), text);
  error assigned(status_code::internal_error, "other");
  assigned = copy;
  EXPECT_EQ(assigned.message(), text);
  EXPECT_EQ(assigned.code(), status_code::invalid_params);
  EXPECT_EQ(error(status_code::application_error, 4, text).message(), text);
}

// from_json with a reason (value.hpp): JSON netcall cannot carry is told from text that is not
// JSON at all (what `netcall call` refuses in a PARAM and what it sends as a string).
TEST(value_json, from_json_says_why_it_refused) {
  const std::string deep = std::string(129, '[') + std::string(129, ']');
  const struct {
    std::string text;
    json_error why;
  } cases[] = {
      {"hello", json_error::syntax},
      {"[1,", json_error::syntax},
      {"\"\xff\"", json_error::syntax},
      {deep, json_error::too_deep},
      {std::string(129, '[') + "x", json_error::syntax},  // deep, and not JSON either
      {"1e999", json_error::out_of_range},
      {"[-1e400, 2]", json_error::out_of_range},
      {"1e999x", json_error::syntax},  // not JSON: a word, whatever its start
      {"[1e999", json_error::syntax},
      {deep.substr(0, 129) + "1e999" + deep.substr(129), json_error::too_deep},
      {"18446744073709551615", json_error::integer_out_of_range},
      {"[1, {\"k\": -9223372036854775809}]", json_error::integer_out_of_range},
  };
  for (const auto& c : cases) {
    value v;
    json_error why = json_error::syntax;
    EXPECT_FALSE(from_json(c.text, v, why)) << c.text;
    EXPECT_EQ(why, c.why) << c.text;
  }
  value v;
  json_error why = json_error::syntax;
  ASSERT_TRUE(from_json(std::string(128, '[') + std::string(128, ']'), v, why));
  ASSERT_TRUE(from_json("9223372036854775807", v, why));  // INT64_MAX is an int
  EXPECT_EQ(v, value(std::int64_t{9223372036854775807}));
  ASSERT_TRUE(from_json("1.8446744073709552e19", v, why));  // written as a double: a double
  EXPECT_TRUE(v.is_double());
  ASSERT_TRUE(from_json("1e-999", v, why));  // underflow reads as zero
  EXPECT_EQ(v, value(0.0));
  ASSERT_TRUE(from_json(deep, v, why, 200));
}
