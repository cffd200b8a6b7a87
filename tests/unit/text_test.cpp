// netcall/text.hpp and common/text.hpp: text from elsewhere made safe to show (SPEC §3, §7).
#include "common/text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "netcall/text.hpp"

using netcall::escape_json_text;
using netcall::escape_text;
using netcall::is_utf8;
using netcall::detail::json_quoted;

TEST(text, is_utf8_accepts_well_formed_text_only) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8(std::string_view("a\0b", 3)));
  EXPECT_TRUE(is_utf8("h\xC3\xA9 \xE2\x98\xBA \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("ab\xC0\xAF"));     // overlong
  EXPECT_FALSE(is_utf8("x\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(is_utf8("ok\xE2\x82"));     // cut short
}

TEST(text, escape_text_escapes_every_control_and_bad_byte_and_keeps_the_rest) {
  const struct {
    std::string in, out;
  } cases[] = {
      {"plain text: 1 + 2 = \"3\"", "plain text: 1 + 2 = \"3\""},
      {"\x1b]0;title\x07", "\\u001b]0;title\\u0007"},
      {"\x1b[2J", "\\u001b[2J"},
      {"line\r\n$ fake prompt\t", "line\\r\\n$ fake prompt\\t"},
      {std::string("nul\0", 4), "nul\\u0000"},
      {"del\x7f", "del\\u007f"},
      {"csi\xC2\x9B"
       "2J and NEL\xC2\x85",
       "csi\\u009b2J and NEL\\u0085"},
      {"\xC2\xA0\xC3\xA9\xE2\x82\xAC", "\xC2\xA0\xC3\xA9\xE2\x82\xAC"},  // NBSP, é, €: kept
      {"raw \x9b and \xff\xfe", "raw \\x9b and \\xff\\xfe"},
      {"cut \xE2\x82", "cut \\xe2\\x82"},
      {"\xC3\x28", "\\xc3("},
      {"a backslash \\x1b is not an escape", "a backslash \\\\x1b is not an escape"},
  };
  for (const auto& c : cases) {
    const std::string got = escape_text(c.in);
    EXPECT_EQ(got, c.out) << c.in;
    EXPECT_TRUE(is_utf8(got));
    for (unsigned char ch : got) EXPECT_TRUE(ch >= 0x20 && ch != 0x7f) << got;
  }
}

TEST(text, json_quoted_is_a_json_string_of_the_same_text_with_bad_bytes_spelled_out) {
  const std::string in = std::string("q\"b\\ \x1b\x7f\xC2\x9B \xff \xC3\xA9\0", 15);
  const std::string quoted = json_quoted(in);
  EXPECT_EQ(quoted, "\"q\\\"b\\\\ \\u001b\\u007f\\u009b \\\\xff \xC3\xA9\\u0000\"");
  const auto parsed = boost::json::parse(quoted);
  EXPECT_EQ(std::string(parsed.as_string()),
            std::string("q\"b\\ \x1b\x7f\xC2\x9B \\xff \xC3\xA9\0", 18));
}

TEST(text, escape_json_text_keeps_the_json_and_escapes_what_a_terminal_would_act_on) {
  // What to_json writes for ["\x7f\u009b", "a\"b\\c", "\xff"]: C0 already escaped.
  const std::string json = "[\"\x7f\xC2\x9B\",\"a\\\"b\\\\c\\u001b\",\"\xff\xC3\xA9\"]";
  const std::string safe = escape_json_text(json);
  EXPECT_EQ(safe, "[\"\\u007f\\u009b\",\"a\\\"b\\\\c\\u001b\",\"\\\\xff\xC3\xA9\"]");
  const auto parsed = boost::json::parse(safe).as_array();
  EXPECT_EQ(std::string(parsed[0].as_string()), "\x7f\xC2\x9B");
  EXPECT_EQ(std::string(parsed[1].as_string()), "a\"b\\c\x1b");
  EXPECT_EQ(std::string(parsed[2].as_string()), "\\xff\xC3\xA9");
  EXPECT_EQ(escape_json_text(R"({"k":[1,2.5,null,true]})"), R"({"k":[1,2.5,null,true]})");
}
