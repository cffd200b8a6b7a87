#include "server/dispatcher.hpp"

#include <gtest/gtest.h>

using namespace netcall;
using namespace netcall::detail;

namespace {

// A call context whose timers are run by hand.
struct manual_context : call_context {
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> timers;
  void after(std::chrono::milliseconds d, std::function<void()> fn) override {
    timers.emplace_back(d, std::move(fn));
  }
  std::vector<std::function<void()>> posted;
  void post(std::function<void()> fn) override { posted.push_back(std::move(fn)); }
  void run_posted() {
    auto p = std::move(posted);
    posted.clear();
    for (auto& fn : p) fn();
  }
  void fire_all() {
    auto t = std::move(timers);
    timers.clear();
    for (auto& [d, fn] : t) fn();
  }
};

struct fixture : ::testing::Test {
  fixture() {
    procedures.bind("subtract", [](std::int64_t a, std::int64_t b) { return a - b; },
                    {"minuend", "subtrahend"}, "Subtracts.");
    procedures.bind("fail", []() -> int { throw std::runtime_error("it broke"); });
    procedures.bind("positional", [](std::int64_t a) { return a; });
    procedures.add_async({"later", {}, {{"int"}}, "Answers on a timer."},
                         [](array, call_context& ctx, completion done) {
                           ctx.after(std::chrono::milliseconds(10),
                                     [done] { done({value(7), std::nullopt}); });
                         });
  }

  std::optional<response> call(const std::string& method, value params, value id = 1) {
    request req;
    req.method = method;
    req.params = std::move(params);
    req.id = std::move(id);
    std::optional<response> out;
    d.handle(std::move(req), ctx, [&](response r) { out = std::move(r); });
    return out;
  }

  registry procedures;
  dispatcher d{procedures, std::chrono::milliseconds(0)};
  manual_context ctx;
};

}  // namespace

TEST_F(fixture, positional_and_named_params) {
  EXPECT_EQ(call("subtract", array{42, 23})->result, value(19));
  EXPECT_EQ(call("subtract", structure{{"subtrahend", 23}, {"minuend", 42}})->result, value(19));
}

TEST_F(fixture, named_param_errors_are_invalid_params) {
  EXPECT_EQ(call("subtract", structure{{"minuend", 1}, {"x", 2}})->error->code, -32602);
  EXPECT_EQ(call("subtract", structure{{"subtrahend", 2}})->error->code, -32602);
  EXPECT_EQ(call("positional", structure{{"a", 1}})->error->code, -32602);
}

TEST_F(fixture, unknown_method_and_thrown_exception) {
  auto r = call("nope", array{});
  EXPECT_EQ(r->error->code, -32601);
  EXPECT_EQ(r->error->message, "method not found: nope");
  r = call("fail", array{});
  EXPECT_EQ(r->error->code, -32000);
  EXPECT_EQ(r->error->message, "it broke");
}

TEST_F(fixture, response_keeps_the_request_id) {
  EXPECT_EQ(call("subtract", array{1, 1}, "abc")->id, value("abc"));
  EXPECT_EQ(call("nope", array{}, 1.5)->id, value(1.5));
}

TEST_F(fixture, async_procedure_answers_when_its_timer_fires) {
  auto r = call("later", array{});
  EXPECT_FALSE(r.has_value());
  ASSERT_EQ(ctx.timers.size(), 1u);
  std::optional<response> out;
  request req;
  req.method = "later";
  d.handle(std::move(req), ctx, [&](response x) { out = std::move(x); });
  ctx.fire_all();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->result, value(7));
}

TEST_F(fixture, introspection) {
  auto names = call("system.listMethods", array{})->result.as_array();
  EXPECT_NE(std::find(names.begin(), names.end(), value("subtract")), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), value("system.multicall")), names.end());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end(), [](const value& a, const value& b) {
    return a.as_string() < b.as_string();
  }));
  EXPECT_EQ(call("system.methodHelp", array{"subtract"})->result, value("Subtracts."));
  EXPECT_EQ(call("system.methodSignature", array{"subtract"})->result,
            value(array{array{"int", "int", "int"}}));
  EXPECT_EQ(call("system.methodHelp", array{"nope"})->error->code, -32602);
  EXPECT_EQ(call("system.methodHelp", array{})->error->code, -32602);
  EXPECT_EQ(call("system.nope", array{})->error->code, -32601);
}

TEST_F(fixture, multicall_returns_results_and_faults_in_order) {
  value calls = array{array{
      structure{{"methodName", "subtract"}, {"params", array{5, 3}}},
      structure{{"methodName", "fail"}, {"params", array{}}},
      structure{{"methodName", "system.multicall"}, {"params", array{array{}}}},
      structure{{"params", array{}}},
  }};
  auto r = call("system.multicall", calls);
  ASSERT_FALSE(r->error) << r->error->message;
  const auto& out = r->result.as_array();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], value(array{2}));
  EXPECT_EQ(*out[1].find("faultCode"), value(-32000));
  EXPECT_EQ(*out[1].find("faultString"), value("it broke"));
  EXPECT_EQ(*out[2].find("faultCode"), value(-32602));  // no nesting
  EXPECT_EQ(*out[3].find("faultCode"), value(-32602));  // no methodName
  EXPECT_EQ(call("system.multicall", array{1})->error->code, -32602);
}

TEST_F(fixture, multicall_waits_for_async_members) {
  std::optional<response> out;
  request req;
  req.method = "system.multicall";
  req.params = array{array{structure{{"methodName", "later"}},
                           structure{{"methodName", "subtract"}, {"params", array{1, 1}}}}};
  d.handle(std::move(req), ctx, [&](response x) { out = std::move(x); });
  EXPECT_FALSE(out.has_value());
  ctx.fire_all();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->result, value(array{array{7}, array{0}}));
}

TEST(dispatcher_delay, holds_the_answer_until_the_delay_passed) {
  registry procedures;
  procedures.bind("one", [] { return 1; });
  dispatcher d(procedures, std::chrono::milliseconds(200));
  manual_context ctx;
  std::optional<response> out;
  request req;
  req.method = "one";
  d.handle(std::move(req), ctx, [&](response r) { out = std::move(r); });
  EXPECT_FALSE(out.has_value());
  ASSERT_EQ(ctx.timers.size(), 1u);
  EXPECT_GT(ctx.timers[0].first.count(), 150);
  ctx.fire_all();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->result, value(1));
}

// ---- at most once (SPEC §4) ----------------------------------------------------------------

namespace {

struct dedup : ::testing::Test {
  dedup() {
    procedures.bind("counter.increment", [this] { return ++counter; });
    procedures.add_async({"slow.increment", {}, {}, ""},
                         [this](array, call_context& ctx, completion done) {
                           ctx.after(std::chrono::milliseconds(10), [this, done] {
                             done({value(++counter), std::nullopt});
                           });
                         });
  }
  std::optional<response> send(dispatcher& d, const std::string& method, value id,
                               std::string key = {}) {
    request req;
    req.method = method;
    req.id = std::move(id);
    req.idempotency_key = std::move(key);
    std::optional<response> out;
    d.handle(std::move(req), ctx, [&out](response r) { out = std::move(r); });
    // Keep the slot alive for answers that come later (waiters, timers).
    last = std::make_shared<std::optional<response>>();
    return out;
  }
  registry procedures;
  std::int64_t counter = 0;
  manual_context ctx;
  std::shared_ptr<std::optional<response>> last;
  std::shared_ptr<outcome_cache> cache =
      std::make_shared<outcome_cache>(std::chrono::minutes(5), 1u << 20);
};

const std::string key1 = "nc1:0123456789abcdef:1";

}  // namespace

TEST_F(dedup, a_retry_with_the_same_key_gets_the_stored_outcome_and_runs_nothing) {
  dispatcher d(procedures, std::chrono::milliseconds(0), cache);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto r = send(d, "counter.increment", attempt, key1);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->result, value(1));
    EXPECT_EQ(r->id, value(attempt));  // each attempt keeps its own request id
  }
  EXPECT_EQ(counter, 1);
  EXPECT_EQ(send(d, "counter.increment", 9, "nc1:0123456789abcdef:2")->result, value(2));
}

TEST_F(dedup, json_rpc_ids_shaped_like_keys_are_keys) {
  dispatcher d(procedures, std::chrono::milliseconds(0), cache);
  EXPECT_EQ(send(d, "counter.increment", key1)->result, value(1));
  EXPECT_EQ(send(d, "counter.increment", key1)->result, value(1));
  EXPECT_EQ(send(d, "counter.increment", "nc1:xyz:1")->result, value(2));  // not a key
  EXPECT_EQ(send(d, "counter.increment", "nc1:xyz:1")->result, value(3));
}

TEST_F(dedup, without_a_key_every_call_runs) {
  dispatcher d(procedures, std::chrono::milliseconds(0), cache);
  send(d, "counter.increment", 1);
  send(d, "counter.increment", 1);
  EXPECT_EQ(counter, 2);
}

TEST_F(dedup, a_retry_of_a_running_call_waits_for_it) {
  dispatcher d(procedures, std::chrono::milliseconds(0), cache);
  std::optional<response> first, second;
  request a;
  a.method = "slow.increment";
  a.idempotency_key = key1;
  a.id = 1;
  d.handle(a, ctx, [&](response r) { first = std::move(r); });
  a.id = 2;
  d.handle(a, ctx, [&](response r) { second = std::move(r); });
  EXPECT_FALSE(first || second);
  ctx.fire_all();  // the procedure finishes once
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(second.has_value());  // waiters are posted to their own loop
  ctx.run_posted();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->result, value(1));
  EXPECT_EQ(second->result, value(1));
  EXPECT_EQ(second->id, value(2));
  EXPECT_EQ(counter, 1);
}

TEST_F(dedup, the_delay_holds_the_first_attempt_but_not_a_retry) {
  dispatcher d(procedures, std::chrono::milliseconds(700), cache);
  EXPECT_FALSE(send(d, "counter.increment", 1, key1).has_value());  // held by --delay
  EXPECT_EQ(counter, 1);                                            // but it ran at once
  auto retry = send(d, "counter.increment", 2, key1);
  ASSERT_TRUE(retry.has_value());  // the stored outcome, with no second delay
  EXPECT_EQ(retry->result, value(1));
  EXPECT_EQ(counter, 1);
}

TEST_F(dedup, failures_are_remembered_too) {
  procedures.bind("fail", []() -> int { throw std::runtime_error("no"); });
  dispatcher d(procedures, std::chrono::milliseconds(0), cache);
  EXPECT_EQ(send(d, "fail", 1, key1)->error->message, "no");
  EXPECT_EQ(send(d, "fail", 2, key1)->error->message, "no");
  EXPECT_EQ(cache->size(), 1u);
}

TEST_F(dedup, a_key_reused_for_another_method_is_refused) {
  procedures.bind("add", [](std::int64_t a, std::int64_t b) { return a + b; });
  dispatcher d(procedures, std::chrono::milliseconds(0), cache);
  EXPECT_EQ(send(d, "counter.increment", 1, key1)->result, value(1));
  auto r = send(d, "add", 2, key1);
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->code, -32600);
}

TEST_F(dedup, while_stopping_known_outcomes_are_answered_and_new_calls_refused) {
  dispatcher d(procedures, std::chrono::milliseconds(0), cache);
  EXPECT_EQ(send(d, "counter.increment", 1, key1)->result, value(1));
  auto stopping = [&](const std::string& key) {
    request req;
    req.method = "counter.increment";
    req.id = 5;
    req.idempotency_key = key;
    std::optional<response> out;
    d.handle_while_stopping(std::move(req), ctx, [&](response r) { out = std::move(r); });
    return out;
  };
  EXPECT_EQ(stopping(key1)->result, value(1));  // ran before: its outcome, not "not run"
  auto fresh = stopping("nc1:0123456789abcdef:99");
  ASSERT_TRUE(fresh->error.has_value());
  EXPECT_EQ(fresh->error->code, -32002);
  EXPECT_EQ(stopping({})->error->code, -32002);
  EXPECT_EQ(counter, 1);
}
