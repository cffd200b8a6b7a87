#include "server/outcome_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace netcall;
using namespace netcall::detail;

TEST(outcome_cache, first_sight_runs_then_stores) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  outcome stored;
  EXPECT_EQ(cache.begin("k", "m", {}, stored), outcome_cache::verdict::run);
  int woken = 0;
  EXPECT_EQ(cache.begin("k", "m", [&](const outcome& o) { woken += o.result.as_int(); }, stored),
            outcome_cache::verdict::wait);
  cache.finish("k", {value(41), std::nullopt});
  EXPECT_EQ(woken, 41);
  EXPECT_EQ(cache.begin("k", "m", {}, stored), outcome_cache::verdict::stored);
  EXPECT_EQ(stored.result, value(41));
}

TEST(outcome_cache, entries_expire_by_age) {
  outcome_cache cache(std::chrono::milliseconds(50), 1u << 20);
  outcome stored;
  cache.begin("k", "m", {}, stored);
  cache.finish("k", {value(1), std::nullopt});
  EXPECT_EQ(cache.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(cache.begin("k", "m", {}, stored), outcome_cache::verdict::run);
}

TEST(outcome_cache, the_size_bound_drops_the_oldest_first) {
  outcome_cache cache(std::chrono::minutes(1), 64 * 1024);
  outcome stored;
  const std::string big(4096, 'x');
  for (int i = 0; i < 100; ++i) {
    std::string key = "k";
    key += std::to_string(i);
    ASSERT_EQ(cache.begin(key, "m", {}, stored), outcome_cache::verdict::run);
    cache.finish(key, {value(big), std::nullopt});
  }
  EXPECT_LE(cache.bytes(), 64u * 1024);
  EXPECT_LT(cache.size(), 20u);
  EXPECT_EQ(cache.begin("k99", "m", {}, stored), outcome_cache::verdict::stored);  // newest kept
  EXPECT_EQ(cache.begin("k0", "m", {}, stored), outcome_cache::verdict::run);      // oldest gone
}

TEST(outcome_cache, running_entries_are_never_evicted) {
  outcome_cache cache(std::chrono::milliseconds(1), 1);
  outcome stored;
  cache.begin("running", "m", {}, stored);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  cache.begin("other", "m", {}, stored);
  cache.finish("other", {value(1), std::nullopt});
  EXPECT_EQ(cache.begin("running", "m", {}, stored), outcome_cache::verdict::wait);
}

TEST(outcome_cache, a_key_reused_for_another_method_is_a_conflict) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  outcome stored;
  ASSERT_EQ(cache.begin("k", "counter.increment", {}, stored), outcome_cache::verdict::run);
  cache.finish("k", {value(1), std::nullopt});
  EXPECT_EQ(cache.begin("k", "add", {}, stored), outcome_cache::verdict::conflict);
  EXPECT_EQ(cache.begin("k", "counter.increment", {}, stored), outcome_cache::verdict::stored);
}

TEST(outcome_cache, lookup_never_registers_a_new_call) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  outcome stored;
  EXPECT_EQ(cache.lookup("k", "m", {}, stored), outcome_cache::verdict::absent);
  EXPECT_EQ(cache.lookup("k", "m", {}, stored), outcome_cache::verdict::absent);
  EXPECT_EQ(cache.begin("k", "m", {}, stored), outcome_cache::verdict::run);
  int woken = 0;
  EXPECT_EQ(cache.lookup("k", "m", [&](const outcome&) { ++woken; }, stored),
            outcome_cache::verdict::wait);
  cache.finish("k", {value(7), std::nullopt});
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(cache.lookup("k", "m", {}, stored), outcome_cache::verdict::stored);
}
