#include "server/outcome_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace netcall;
using namespace netcall::detail;

namespace {

using clock_type = std::chrono::steady_clock;

/// The cache with the clutter of its out-parameters kept here.
struct probe {
  outcome_cache& cache;
  response stored;
  clock_type::time_point first{};

  outcome_cache::verdict begin(const std::string& key, const std::string& method = "m",
                               outcome_cache::waiter w = {},
                               clock_type::time_point arrival = clock_type::now()) {
    return cache.begin(key, method, arrival, std::move(w), stored, first);
  }
  outcome_cache::verdict lookup(const std::string& key, const std::string& method = "m",
                                outcome_cache::waiter w = {}) {
    return cache.lookup(key, method, std::move(w), stored, first);
  }
};

response result(value v) {
  response r;
  r.result = std::move(v);
  return r;
}

}  // namespace

TEST(outcome_cache, first_sight_runs_then_stores) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache, {}, {}};
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::run);
  int woken = 0;
  EXPECT_EQ(p.begin("k", "m", [&](const response& o) { woken += o.result.as_int(); }),
            outcome_cache::verdict::wait);
  cache.finish("k", result(41));
  EXPECT_EQ(woken, 41);
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::stored);
  EXPECT_EQ(p.stored.result, value(41));
}

TEST(outcome_cache, retries_learn_when_the_first_attempt_arrived) {
  // --delay counts from the first arrival (SPEC §2): every retry is told it.
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache, {}, {}};
  const auto first = clock_type::now() - std::chrono::milliseconds(300);
  ASSERT_EQ(p.begin("k", "m", {}, first), outcome_cache::verdict::run);
  EXPECT_EQ(p.begin("k", "m", [](const response&) {}), outcome_cache::verdict::wait);
  EXPECT_EQ(p.first, first);
  cache.finish("k", result(1));
  p.first = {};
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::stored);
  EXPECT_EQ(p.first, first);
}

TEST(outcome_cache, failures_are_stored_too) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache, {}, {}};
  ASSERT_EQ(p.begin("k"), outcome_cache::verdict::run);
  response failure;
  failure.error = make_fault(status_code::application_error, "it broke");
  cache.finish("k", failure);
  ASSERT_EQ(p.begin("k"), outcome_cache::verdict::stored);
  ASSERT_TRUE(p.stored.error);
  EXPECT_EQ(p.stored.error->code, -32000);
  EXPECT_EQ(p.stored.error->message, "it broke");
}

TEST(outcome_cache, entries_expire_by_age) {
  outcome_cache cache(std::chrono::milliseconds(50), 1u << 20);
  probe p{cache, {}, {}};
  p.begin("k");
  cache.finish("k", result(1));
  EXPECT_EQ(cache.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));  // the clock itself is tested
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::run);
}

TEST(outcome_cache, a_ttl_beyond_the_clock_range_keeps_outcomes_instead_of_wrapping) {
  // 10000000000 s added to the clock overflowed: every key then expired at once and a retry ran
  // the call again. The addition saturates now.
  outcome_cache cache(std::chrono::milliseconds::max(), 1u << 20);
  probe p{cache, {}, {}};
  ASSERT_EQ(p.begin("k"), outcome_cache::verdict::run);
  cache.finish("k", result(1));
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::stored);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(outcome_cache, the_size_bound_drops_the_oldest_first) {
  outcome_cache cache(std::chrono::minutes(1), 64 * 1024);
  probe p{cache, {}, {}};
  const std::string big(4096, 'x');
  for (int i = 0; i < 100; ++i) {
    std::string key = "k";
    key += std::to_string(i);
    ASSERT_EQ(p.begin(key), outcome_cache::verdict::run);
    cache.finish(key, result(big));
  }
  EXPECT_LE(cache.bytes(), 64u * 1024);
  EXPECT_LT(cache.size(), 20u);
  EXPECT_EQ(p.begin("k99"), outcome_cache::verdict::stored);  // newest kept
  EXPECT_EQ(p.begin("k0"), outcome_cache::verdict::run);      // oldest gone
}

TEST(outcome_cache, running_entries_are_never_evicted) {
  outcome_cache cache(std::chrono::milliseconds(1), 1);
  probe p{cache, {}, {}};
  p.begin("running");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the 1 ms ttl
  p.begin("other");
  cache.finish("other", result(1));
  EXPECT_EQ(p.begin("running", "m", [](const response&) {}), outcome_cache::verdict::wait);
}

TEST(outcome_cache, a_key_reused_for_another_method_is_a_conflict) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache, {}, {}};
  ASSERT_EQ(p.begin("k", "counter.increment"), outcome_cache::verdict::run);
  cache.finish("k", result(1));
  EXPECT_EQ(p.begin("k", "add"), outcome_cache::verdict::conflict);
  EXPECT_EQ(p.begin("k", "counter.increment"), outcome_cache::verdict::stored);
}

TEST(outcome_cache, lookup_never_registers_a_new_call) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache, {}, {}};
  EXPECT_EQ(p.lookup("k"), outcome_cache::verdict::absent);
  EXPECT_EQ(p.lookup("k"), outcome_cache::verdict::absent);
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::run);
  int woken = 0;
  EXPECT_EQ(p.lookup("k", "m", [&](const response&) { ++woken; }), outcome_cache::verdict::wait);
  cache.finish("k", result(7));
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(p.lookup("k"), outcome_cache::verdict::stored);
}
