// netcall::codec<T> (netcall/codec.hpp): every supported C++ type through every protocol's
// codec and back, and each wrong shape's error message (issue 13).
#include "netcall/codec.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/describe.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "netcall/binding.hpp"
#include "netcall/client.hpp"
#include "protocol/jsonrpc/codec.hpp"
#include "protocol/msgpack/codec.hpp"
#include "protocol/xmlrpc/codec.hpp"

namespace shop {
enum class status { draft, listed, sold_out };
BOOST_DESCRIBE_ENUM(status, draft, listed, sold_out)

struct money {
  std::int64_t cents = 0;
  std::string currency;
  friend bool operator==(const money&, const money&) = default;
};
BOOST_DESCRIBE_STRUCT(money, (), (cents, currency))

struct item {
  std::string sku;
  std::int32_t quantity = 0;
  std::vector<std::string> tags;
  std::optional<double> weight;
  status state = status::draft;
  money price;
  friend bool operator==(const item&, const item&) = default;
};
BOOST_DESCRIBE_STRUCT(item, (), (sku, quantity, tags, weight, state, price))
/// A struct that holds itself: a category tree.
struct category {
  std::string name;
  std::vector<category> children;
  bool operator==(const category&) const = default;
};
BOOST_DESCRIBE_STRUCT(category, (), (name, children))

/// Described (for the user's own logging, say) but written by a codec of its own.
struct interned {
  const char* name = "";
};
BOOST_DESCRIBE_STRUCT(interned, (), (name))

struct labelled {
  std::string_view label;
  int x = 0;
};
BOOST_DESCRIBE_STRUCT(labelled, (), (label, x))

}  // namespace shop

using namespace netcall;

namespace {

enum class wire { jsonrpc, msgpack, xmlrpc };

/// `v` sent as a call's result over `w` and read back as a client reads it.
value through(wire w, const value& v) {
  detail::response r;
  r.id = value(std::int64_t{7});
  r.result = v;
  std::string bytes;
  detail::fault error;
  detail::decode_limits limits;
  switch (w) {
    case wire::jsonrpc: {
      detail::jsonrpc::encode_response(r, bytes);
      std::vector<detail::response> out;
      EXPECT_TRUE(detail::jsonrpc::decode_responses(bytes, limits, out, error)) << bytes;
      EXPECT_EQ(out.size(), 1u);
      return out.empty() ? value() : out[0].result;
    }
    case wire::msgpack: {
      detail::msgpack::encode_response(r, bytes);
      detail::response out;
      EXPECT_TRUE(detail::msgpack::decode_response(bytes, limits, out, error));
      return out.result;
    }
    case wire::xmlrpc: {
      detail::xmlrpc::encode_response(r, bytes);
      detail::response out;
      EXPECT_TRUE(detail::xmlrpc::decode_response(bytes, limits, out, error)) << bytes;
      return out.result;
    }
  }
  return {};
}

const wire every_wire[] = {wire::jsonrpc, wire::msgpack, wire::xmlrpc};

const char* name_of(wire w) {
  return w == wire::jsonrpc ? "jsonrpc" : w == wire::msgpack ? "msgpack" : "xmlrpc";
}

/// `x` written with its codec, sent over every protocol, read back with the same codec.
template <class T>
void expect_round_trip(const T& x) {
  for (wire w : every_wire) {
    const value sent = to_value(x);
    const T back = from_value<T>(through(w, sent));
    EXPECT_TRUE(back == x) << name_of(w) << ": " << to_debug_string(sent);
  }
}

/// The message of the netcall::error(invalid_params) `fn` throws ("" when it throws none).
template <class F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::invalid_params) << e.message();
    return e.message();
  }
  return "";
}

}  // namespace

TEST(codec_round_trip, integers_of_every_width_at_their_limits) {
  expect_round_trip<std::int8_t>(-128);
  expect_round_trip<std::uint8_t>(255);
  expect_round_trip<std::int16_t>(-32768);
  expect_round_trip<std::uint16_t>(65535);
  expect_round_trip<std::int32_t>(std::numeric_limits<std::int32_t>::min());
  expect_round_trip<std::uint32_t>(std::numeric_limits<std::uint32_t>::max());
  expect_round_trip<std::int64_t>(std::numeric_limits<std::int64_t>::min());
  expect_round_trip<std::int64_t>(std::numeric_limits<std::int64_t>::max());
  expect_round_trip<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  expect_round_trip<long long>(-5);
  expect_round_trip<unsigned short>(7);
}

TEST(codec_round_trip, floating_types) {
  expect_round_trip(1.5f);
  expect_round_trip(-0.1);
  expect_round_trip(1e300);
  expect_round_trip(static_cast<long double>(0.25));
}

TEST(codec_round_trip, text_and_literals) {
  expect_round_trip(std::string("h\xc3\xa9llo\tworld"));
  // Sent forms: literals, const char*, string_view; read back as std::string.
  const char* pointer = "pointer";
  EXPECT_EQ(to_value("literal"), value("literal"));
  EXPECT_EQ(to_value(pointer), value("pointer"));
  EXPECT_EQ(to_value(std::string_view("view")), value("view"));
  const value v("viewed");
  EXPECT_EQ(from_value<std::string_view>(v).data(), v.as_string().data());  // no copy
  EXPECT_STREQ(from_value<const char*>(v), "viewed");
}

TEST(codec_round_trip, bytes_and_date_times_on_every_protocol) {
  expect_round_trip(bytes{std::string("\0\x01\xff binary", 10)});
  expect_round_trip(date_time{2026, 12, 3, 23, 59, 59});
}

TEST(codec_round_trip, containers) {
  expect_round_trip(std::vector<std::string>{"a", "", "c"});
  expect_round_trip(std::vector<bool>{true, false, true});
  expect_round_trip(std::vector<std::vector<int>>{{1}, {}, {2, 3}});
  expect_round_trip(std::array<int, 3>{1, 2, 3});
  expect_round_trip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  expect_round_trip(std::unordered_map<std::string, double>{{"x", 0.5}, {"y", -2.0}});
  expect_round_trip(std::tuple<int, std::string, bool>{1, "two", true});
  expect_round_trip(std::pair<std::string, std::int64_t>{"k", 9});
  expect_round_trip(std::optional<int>{4});
  expect_round_trip(std::vector<std::optional<int>>{1, std::nullopt, 3});
}

TEST(codec_round_trip, described_enums_travel_by_name) {
  EXPECT_EQ(to_value(shop::status::sold_out), value("sold_out"));
  expect_round_trip(shop::status::listed);
}

TEST(codec_round_trip, described_structs_are_structs_by_member_name) {
  shop::item it{"A-1", 3, {"red", "xl"}, 0.5, shop::status::listed, {1999, "EUR"}};
  const value v = to_value(it);
  ASSERT_TRUE(v.is_struct());
  EXPECT_EQ(v.as_struct()[0].first, "sku");  // members in their declared order
  EXPECT_EQ(*v.find("state"), value("listed"));
  EXPECT_EQ(v.find("price")->find("currency")->as_string(), "EUR");
  expect_round_trip(it);
  it.weight.reset();  // an empty optional member is written as nil and read back empty
  expect_round_trip(it);
  // ... and may be left out entirely.
  value without = to_value(it);
  std::erase_if(without.as_struct(), [](const member& m) { return m.first == "weight"; });
  EXPECT_EQ(from_value<shop::item>(without), it);
}

TEST(codec_errors, integers_out_of_range_are_refused_never_wrapped) {
  EXPECT_EQ(error_of([] { from_value<std::uint8_t>(value(300)); }),
            "integer 300 out of range 0..255");
  EXPECT_EQ(error_of([] { from_value<std::int8_t>(value(-129)); }),
            "integer -129 out of range -128..127");
  EXPECT_EQ(error_of([] { from_value<std::uint64_t>(value(-1)); }),
            "integer -1 out of range 0..18446744073709551615");
  EXPECT_EQ(error_of([] { from_value<int>(value(2.0)); }), "expected int, got double");
  EXPECT_EQ(error_of([] { to_value(std::numeric_limits<std::uint64_t>::max()); }),
            "integer 18446744073709551615 is beyond int64, which no protocol carries");
}

TEST(codec_errors, floating_points_out_of_range_or_inexact_are_refused) {
  EXPECT_NE(error_of([] { from_value<float>(value(1e300)); }).find("out of float range"),
            std::string::npos);
  EXPECT_EQ(from_value<double>(value(std::int64_t{1} << 53)), 9007199254740992.0);
  EXPECT_EQ(error_of([] { from_value<double>(value((std::int64_t{1} << 53) + 1)); }),
            "integer 9007199254740993 is not exactly a double");
  EXPECT_EQ(error_of([] { from_value<float>(value(16777217)); }),
            "integer 16777217 is not exactly a float");
  EXPECT_EQ(error_of([] { from_value<double>(value("1.5")); }), "expected double, got string");
}

TEST(codec_errors, containers_name_the_element) {
  EXPECT_EQ(error_of([] { from_value<std::vector<int>>(value(array{1, "x"})); }),
            "element 1: expected int, got string");
  EXPECT_EQ(error_of([] { from_value<std::array<int, 3>>(value(array{1, 2})); }),
            "expected an array of 3, got 2");
  EXPECT_EQ(error_of([] { from_value<std::tuple<int, bool>>(value(array{1})); }),
            "expected an array of 2, got 1");
  EXPECT_EQ(error_of([] { from_value<std::pair<int, bool>>(value(array{1, 2})); }),
            "element 1: expected boolean, got int");
  EXPECT_EQ(error_of([] { from_value<std::map<std::string, int>>(value(array{})); }),
            "expected struct, got array");
  EXPECT_EQ(error_of([] {
              from_value<std::map<std::string, int>>(
                  value(structure{{"a", value(1)}, {"b", value(true)}}));
            }),
            "member 'b': expected int, got boolean");
}

TEST(codec_errors, enums_list_their_names) {
  EXPECT_EQ(error_of([] { from_value<shop::status>(value("gone")); }),
            "expected one of draft, listed, sold_out, got 'gone'");
  EXPECT_EQ(error_of([] { from_value<shop::status>(value(1)); }), "expected string, got int");
  EXPECT_EQ(error_of([] { to_value(static_cast<shop::status>(9)); }), "enum value 9 has no name");
}

TEST(codec_errors, structs_name_missing_unknown_and_wrong_members) {
  const shop::item it{"A-1", 3, {"red"}, std::nullopt, shop::status::draft, {5, "EUR"}};
  const value v = to_value(it);
  value missing = v;
  std::erase_if(missing.as_struct(), [](const member& m) { return m.first == "quantity"; });
  EXPECT_EQ(error_of([&] { from_value<shop::item>(missing); }), "missing member 'quantity'");
  value extra = v;
  extra.as_struct().emplace_back("colour", value("red"));
  EXPECT_EQ(error_of([&] { from_value<shop::item>(extra); }), "unknown member 'colour'");
  value wrong = v;
  wrong.as_struct()[2].second = value(array{value("ok"), value(5)});
  EXPECT_EQ(error_of([&] { from_value<shop::item>(wrong); }),
            "member 'tags': element 1: expected string, got int");
  value nested = v;
  nested.as_struct()[5].second.as_struct()[0].second = value("5");
  EXPECT_EQ(error_of([&] { from_value<shop::item>(nested); }),
            "member 'price': member 'cents': expected int, got string");
  value big = v;
  big.as_struct()[1].second = value(std::int64_t{1} << 40);
  EXPECT_EQ(error_of([&] { from_value<shop::item>(big); }),
            "member 'quantity': integer 1099511627776 out of range -2147483648..2147483647");
  EXPECT_EQ(error_of([] { from_value<shop::item>(value(array{})); }),
            "expected struct, got array");
}

TEST(codec_string_forms, bytes_and_date_times_read_from_json_text) {
  EXPECT_EQ(from_value<bytes>(value("AAH/")), (bytes{std::string("\0\x01\xff", 3)}));
  EXPECT_EQ(from_value<date_time>(value("2026-12-03T10:15:30")),
            (date_time{2026, 12, 3, 10, 15, 30}));
  EXPECT_EQ(from_value<date_time>(value("20261203T10:15:30")),
            (date_time{2026, 12, 3, 10, 15, 30}));
  EXPECT_EQ(error_of([] { from_value<bytes>(value("not base64!")); }),
            "expected base64, got a string that is not base64");
  EXPECT_NE(error_of([] { from_value<date_time>(value("yesterday")); }).find("ISO 8601"),
            std::string::npos);
  EXPECT_EQ(error_of([] { from_value<bytes>(value(3)); }), "expected base64, got int");
}

TEST(codec_schema, json_schemas_describe_the_types) {
  EXPECT_EQ(to_json(schema_of<std::int64_t>()), R"({"type":"integer"})");
  EXPECT_EQ(to_json(schema_of<std::uint8_t>()),
            R"({"type":"integer","minimum":0,"maximum":255})");
  EXPECT_EQ(to_json(schema_of<std::vector<std::string>>()),
            R"({"type":"array","items":{"type":"string"}})");
  EXPECT_EQ(to_json(schema_of<shop::status>()),
            R"({"type":"string","enum":["draft","listed","sold_out"]})");
  EXPECT_EQ(to_json(schema_of<date_time>()), R"({"type":"string","format":"date-time"})");
  const std::string item = to_json(schema_of<shop::item>());
  EXPECT_NE(item.find(R"("required":["sku","quantity","tags","state","price"])"),
            std::string::npos)
      << item;
  EXPECT_NE(item.find(R"("additionalProperties":false)"), std::string::npos);
  EXPECT_EQ(type_name_of<shop::item>(), "struct");
  EXPECT_EQ(type_name_of<shop::status>(), "string");
  EXPECT_EQ(type_name_of<float>(), "double");
}

namespace {
/// A type of the user's own with a specialized codec: cents as an integer.
struct cents {
  std::int64_t n = 0;
  friend bool operator==(const cents&, const cents&) = default;
};
}  // namespace

template <>
struct netcall::codec<cents> {
  static value to(const cents& c) { return value(c.n); }
  static cents from(const value& v) { return cents{v.as_int()}; }
};

TEST(codec_custom, a_specialization_is_used_everywhere_a_type_goes) {
  expect_round_trip(cents{42});
  expect_round_trip(std::vector<cents>{{1}, {2}});
  EXPECT_EQ(type_name_of<cents>(), "any");  // no type_name: "any"
  EXPECT_EQ(to_json(schema_of<cents>()), "{}");
}

TEST(codec_binding, a_typed_procedure_names_the_param_and_the_path) {
  auto put = detail::make_invoker(
      [](const shop::item& it, shop::status s) { return it.quantity + static_cast<int>(s); },
      {"item", "status"});
  const shop::item it{"A-1", 3, {}, std::nullopt, shop::status::draft, {5, "EUR"}};
  array params{to_value(it), value("listed")};
  EXPECT_EQ(put(params), value(4));
  array bad{to_value(it), value("nope")};
  EXPECT_EQ(error_of([&] { put(bad); }),
            "invalid params: param 2 (status): expected one of draft, listed, sold_out, got "
            "'nope'");
  value broken = to_value(it);
  broken.as_struct()[5].second = value(structure{{"cents", value(5)}});
  array worse{broken, value("draft")};
  EXPECT_EQ(error_of([&] { put(worse); }),
            "invalid params: param 1 (item): member 'price': missing member 'currency'");
}

TEST(codec_binding, client_params_that_cannot_be_sent_are_refused_before_sending) {
  try {
    detail::pack_params(1, std::numeric_limits<std::uint64_t>::max());
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::invalid_params);
    EXPECT_EQ(e.message(),
              "param 2: integer 18446744073709551615 is beyond int64, which no protocol carries");
  }
  EXPECT_EQ(detail::pack_params("a", std::string_view("b"), shop::status::draft),
            value(array{value("a"), value("b"), value("draft")}));
}

TEST(codec_binding, a_result_the_codec_cannot_write_is_an_internal_error) {
  auto f = detail::make_invoker([] { return std::numeric_limits<std::uint64_t>::max(); },
                                std::vector<std::string>{});
  array none;
  try {
    f(none);
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), status_code::internal_error);
    EXPECT_EQ(e.message(),
              "result: integer 18446744073709551615 is beyond int64, which no protocol carries");
  }
}

TEST(codec_errors, review_findings_names_with_nul_duplicates_offsets_and_ranges) {
  // An enum name is the whole string: a NUL inside is no match.
  EXPECT_EQ(error_of([] { from_value<shop::status>(value(std::string("draft\0junk", 10))); })
                .substr(0, 30),
            "expected one of draft, listed,");
  EXPECT_NE(error_of([] { from_value<const char*>(value(std::string("a\0b", 3))); }), "");
  // A member given twice is named, for maps and described structs alike.
  EXPECT_EQ(error_of([] {
              from_value<std::map<std::string, int>>(
                  value(structure{{"a", value(1)}, {"a", value(2)}}));
            }),
            "member 'a' given twice");
  value twice = to_value(shop::money{5, "EUR"});
  twice.as_struct().emplace_back("cents", value(6));
  EXPECT_EQ(error_of([&] { from_value<shop::money>(twice); }), "member 'cents' given twice");
  // A UTC offset other than Z would shift the time if dropped: refused; UTC forms are read.
  EXPECT_NE(error_of([] { from_value<date_time>(value("2026-12-03T10:00:00+05:00")); })
                .find("UTC offset"),
            std::string::npos);
  EXPECT_EQ(from_value<date_time>(value("2026-12-03T10:00:00Z")),
            (date_time{2026, 12, 3, 10, 0, 0}));
  EXPECT_EQ(from_value<date_time>(value("2026-12-03T10:00:00.5+00:00")),
            (date_time{2026, 12, 3, 10, 0, 0, 500000}));
  // A field out of range is refused before any protocol writes it.
  EXPECT_NE(error_of([] { to_value(date_time{2026, 12, 3, 10, 0, 0, 1'500'000}); }), "");
  EXPECT_NE(error_of([] { to_value(date_time{2026, 13, 3, 10, 0, 0}); }), "");
  EXPECT_NE(error_of([] { to_value(date_time{2026, 2, 30, 10, 0, 0}); }), "");  // no 30 Feb
  EXPECT_TRUE((date_time{2024, 2, 29, 23, 59, 60, 999'999}.valid()));
  expect_round_trip(std::vector<date_time>{{2026, 12, 3, 10, 0, 0, 0}});
}

TEST(codec_round_trip, a_struct_holding_itself_travels_and_describes_itself_once) {
  const shop::category tree{"all", {{"books", {{"poetry", {}}}}, {"music", {}}}};
  expect_round_trip(tree);
  EXPECT_EQ(to_json(schema_of<shop::category>()),
            R"({"type":"object","properties":{"name":{"type":"string"},"children":)"
            R"({"type":"array","items":{"type":"object"}}},"required":["name","children"],)"
            R"("additionalProperties":false})");
}

template <>
struct netcall::codec<shop::interned> {
  static value to(const shop::interned& i) { return value(std::string(i.name)); }
  static shop::interned from(const value&) { return {"interned"}; }
};

// Results that would point into the value they were read from: client::call refuses them at
// compile time (tests/compile_fail/dangling_result.cpp); params may view the call's own value.
static_assert(detail::views_value<std::string_view>::value);
static_assert(detail::views_value<const char*>::value);
static_assert(detail::views_value<std::vector<std::string_view>>::value);
static_assert(detail::views_value<std::optional<const char*>>::value);
static_assert(detail::views_value<std::map<std::string, std::vector<std::string_view>>>::value);
static_assert(detail::views_value<std::tuple<int, std::string, shop::labelled>>::value);
static_assert(detail::views_value<std::pair<std::string_view, int>>::value);
static_assert(detail::views_value<std::array<std::string_view, 2>>::value);
static_assert(!detail::views_value<std::string>::value);
static_assert(!detail::views_value<std::vector<std::string>>::value);
static_assert(!detail::views_value<std::tuple<int, std::string, shop::item>>::value);
static_assert(!detail::views_value<shop::category>::value);
static_assert(!detail::views_value<value>::value);
static_assert(!detail::views_value<bytes>::value);
static_assert(!detail::views_value<std::optional<std::string>>::value);
// A described struct with a codec of its own is what its codec makes it (an owned string), not
// its members.
static_assert(!detail::views_value<shop::interned>::value);
static_assert(!detail::views_value<std::vector<shop::interned>>::value);
