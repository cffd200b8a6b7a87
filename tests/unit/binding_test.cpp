#include "netcall/binding.hpp"

#include <gtest/gtest.h>

#include "netcall/server.hpp"

using namespace netcall;

namespace {

status_code code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const error& e) {
    return e.code();
  }
  return status_code::ok;
}

/// The invoker of `fn`, callable with a temporary params array (the runner passes the call's
/// own array, which the invoker may move from).
template <class F>
auto invoker(F fn, std::vector<std::string> names) {
  return [inv = detail::make_invoker(std::move(fn), std::move(names))](array params) mutable {
    return inv(params);
  };
}

}  // namespace

TEST(binding, a_value_param_is_moved_out_of_the_params_never_copied) {
  auto echo = detail::make_invoker([](value v) { return v; }, {});
  array params{value(std::string(1000, 'x'))};
  const char* storage = params[0].as_string().data();
  const value result = echo(params);
  EXPECT_EQ(result.as_string().data(), storage);  // the same buffer: moved in and out
  EXPECT_EQ(result.as_string().size(), 1000u);
  // A `const value&` param is read in place and leaves the params as they were.
  auto peek = detail::make_invoker([](const value& v) { return v.as_string().size(); }, {});
  array kept{value("abc")};
  EXPECT_EQ(peek(kept), value(3));
  EXPECT_EQ(kept[0], value("abc"));
}

TEST(binding, converts_params_and_result) {
  auto add = invoker([](std::int64_t a, std::int64_t b) { return a + b; }, {});
  EXPECT_EQ(add(array{2, 3}), value(5));
  auto concat = invoker(
      [](const std::string& a, std::vector<std::int64_t> xs) {
        return a + std::to_string(xs.size());
      },
      {});
  EXPECT_EQ(concat(array{"n", array{1, 2, 3}}), value("n3"));
}

TEST(binding, double_params_accept_ints) {
  auto half = invoker([](double x) { return x / 2; }, {});
  EXPECT_EQ(half(array{3}), value(1.5));
}

TEST(binding, wrong_count_or_type_is_invalid_params) {
  auto add = invoker([](std::int64_t a, std::int64_t b) { return a + b; },
                                  {"a", "b"});
  EXPECT_EQ(code_of([&] { add(array{1}); }), status_code::invalid_params);
  EXPECT_EQ(code_of([&] { add(array{1, 2, 3}); }), status_code::invalid_params);
  EXPECT_EQ(code_of([&] { add(array{1, "2"}); }), status_code::invalid_params);
  try {
    add(array{1, 2.5});
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "invalid params: param 2 (b): expected int, got double");
  }
}

TEST(binding, narrow_integers_are_range_checked) {
  auto f = invoker([](std::uint8_t x) { return x; }, {});
  EXPECT_EQ(f(array{255}), value(255));
  EXPECT_EQ(code_of([&] { f(array{256}); }), status_code::invalid_params);
  EXPECT_EQ(code_of([&] { f(array{-1}); }), status_code::invalid_params);
}

TEST(binding, trailing_optional_params_may_be_omitted) {
  auto f = invoker(
      [](std::int64_t a, std::optional<std::int64_t> b) { return a + b.value_or(100); }, {});
  EXPECT_EQ(f(array{1}), value(101));
  EXPECT_EQ(f(array{1, 2}), value(3));
  EXPECT_EQ(f(array{1, nil}), value(101));
  EXPECT_EQ(code_of([&] { f(array{}); }), status_code::invalid_params);
}

TEST(binding, void_result_is_nil_and_exceptions_pass_through) {
  int calls = 0;
  auto f = invoker([&calls]() { ++calls; }, {});
  EXPECT_EQ(f(array{}), value());
  EXPECT_EQ(calls, 1);
  auto g = invoker([]() -> int { throw std::runtime_error("boom"); }, {});
  EXPECT_THROW(g(array{}), std::runtime_error);
}

TEST(binding, signature_uses_xmlrpc_type_names) {
  auto sig = detail::signature_of<bool (*)(const std::string&, double, bytes, date_time,
                                           array, structure, value)>();
  EXPECT_EQ(sig, (std::vector<std::string>{"boolean", "string", "double", "base64",
                                           "dateTime.iso8601", "array", "struct", "any"}));
}

TEST(registry, rejects_bad_registrations) {
  registry r;
  r.bind("add", [](std::int64_t a, std::int64_t b) { return a + b; }, {"a", "b"}, "Adds.");
  EXPECT_THROW(r.bind("add", [] { return 1; }), std::invalid_argument);
  EXPECT_THROW(r.bind("", [] { return 1; }), std::invalid_argument);
  EXPECT_THROW(r.bind("system.x", [] { return 1; }), std::invalid_argument);
  EXPECT_THROW(r.bind("rpc.x", [] { return 1; }), std::invalid_argument);
  EXPECT_THROW(r.bind("f", [](int) { return 1; }, {"a", "b"}), std::invalid_argument);
  const auto* e = r.find("add");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->info.help, "Adds.");
  EXPECT_EQ(e->info.signatures, (std::vector<std::vector<std::string>>{{"int", "int", "int"}}));
}

TEST(duration, parses_spec_units_only) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("2s"), std::chrono::milliseconds(2000));
  EXPECT_EQ(parse_duration("1m"), std::chrono::milliseconds(60000));
  EXPECT_EQ(parse_duration("0ms"), std::chrono::milliseconds(0));
  for (const char* bad : {"", "5", "ms", "-1s", "1.5s", "1h", "2 s", "1sx", "99999999999999999m"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}
