#include "server/outcome_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace netcall;
using namespace netcall::detail;

namespace {

using clock_type = std::chrono::steady_clock;

/// The cache with the clutter of its out-parameters kept here.
struct probe {
  /// `params`: of the calls begun (their fingerprint is part of a call's identity); `peer`:
  /// the address they come from.
  explicit probe(outcome_cache& c, value params_ = array{}, std::string peer_ = {})
      : cache(c), params(std::move(params_)), peer(std::move(peer_)) {}

  outcome_cache& cache;
  response stored;
  clock_type::time_point first{};
  value params;
  std::string peer;

  outcome_cache::call_identity identity(const std::string& key, const std::string& method) const {
    return {key, method, cache.fingerprint(params), peer};
  }
  outcome_cache::verdict begin(const std::string& key, const std::string& method = "m",
                               outcome_cache::waiter w = {},
                               clock_type::time_point arrival = clock_type::now()) {
    return cache.begin(identity(key, method), arrival, std::move(w), stored, first);
  }
  outcome_cache::verdict lookup(const std::string& key, const std::string& method = "m",
                                outcome_cache::waiter w = {}) {
    return cache.lookup(identity(key, method), std::move(w), stored, first);
  }
};

/// The text of `parts` in a row (built by appending: gcc 12 warns, falsely, on
/// `"literal" + std::to_string(n)`).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  ((out += parts), ...);
  return out;
}

response result(value v) {
  response r;
  r.result = std::move(v);
  return r;
}

}  // namespace

TEST(outcome_cache, first_sight_runs_then_stores) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache};
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
  probe p{cache};
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
  probe p{cache};
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
  probe p{cache};
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
  probe p{cache};
  ASSERT_EQ(p.begin("k"), outcome_cache::verdict::run);
  cache.finish("k", result(1));
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::stored);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(outcome_cache, the_size_bound_drops_the_oldest_first) {
  outcome_cache cache(std::chrono::minutes(1), 64 * 1024);
  probe p{cache};
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
  probe p{cache};
  p.begin("running");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the 1 ms ttl
  p.begin("other");
  cache.finish("other", result(1));
  EXPECT_EQ(p.begin("running", "m", [](const response&) {}), outcome_cache::verdict::wait);
}

TEST(outcome_cache, a_key_reused_for_another_method_is_a_conflict) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache};
  ASSERT_EQ(p.begin("k", "counter.increment"), outcome_cache::verdict::run);
  cache.finish("k", result(1));
  EXPECT_EQ(p.begin("k", "add"), outcome_cache::verdict::conflict);
  EXPECT_EQ(p.begin("k", "counter.increment"), outcome_cache::verdict::stored);
}

TEST(outcome_cache, lookup_never_registers_a_new_call) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache};
  EXPECT_EQ(p.lookup("k"), outcome_cache::verdict::absent);
  EXPECT_EQ(p.lookup("k"), outcome_cache::verdict::absent);
  EXPECT_EQ(p.begin("k"), outcome_cache::verdict::run);
  int woken = 0;
  EXPECT_EQ(p.lookup("k", "m", [&](const response&) { ++woken; }), outcome_cache::verdict::wait);
  cache.finish("k", result(7));
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(p.lookup("k"), outcome_cache::verdict::stored);
}

// ---- a key names one call: method and params --------------------------------------------------

TEST(outcome_cache, a_key_reused_with_other_params_is_refused_after_the_call_finished) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache, array{1, 2}};
  ASSERT_EQ(p.begin("k", "add"), outcome_cache::verdict::run);
  cache.finish("k", result(3));
  p.params = array{2, 2};
  EXPECT_EQ(p.begin("k", "add"), outcome_cache::verdict::other_params);
  EXPECT_EQ(p.lookup("k", "add"), outcome_cache::verdict::other_params);
  p.params = array{1, 2};
  EXPECT_EQ(p.begin("k", "add"), outcome_cache::verdict::stored);
  EXPECT_EQ(p.stored.result, value(3));
}

TEST(outcome_cache, a_key_reused_with_other_params_is_refused_while_the_first_attempt_runs) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  probe p{cache, array{1}};
  ASSERT_EQ(p.begin("k", "sleep"), outcome_cache::verdict::run);
  int woken = 0;
  p.params = array{2};
  EXPECT_EQ(p.begin("k", "sleep", [&](const response&) { ++woken; }),
            outcome_cache::verdict::other_params);
  p.params = array{1};
  EXPECT_EQ(p.begin("k", "sleep", [&](const response&) { ++woken; }),
            outcome_cache::verdict::wait);
  cache.finish("k", result(1));
  EXPECT_EQ(woken, 1);  // only the retry with the same params waited
}

TEST(outcome_cache, fingerprints_tell_params_apart_by_kind_order_and_shape) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  const std::vector<value> distinct = {
      array{},
      array{value()},
      array{1},
      array{1.0},
      array{"1"},
      array{true},
      array{bytes{"1"}},
      array{1, 2},
      array{2, 1},
      array{array{1, 2}},
      array{array{1}, 2},
      array{"ab", "c"},
      array{"a", "bc"},
      array{date_time{2024, 1, 2, 3, 4, 5}},
      array{date_time{2024, 1, 2, 3, 4, 6}},
      structure{{"a", 1}},
      structure{{"a", 2}},
      structure{{"b", 1}},
      structure{{"a", 1}, {"b", 2}},
      array{structure{{"a", 1}}},
      value(0.0),
      value(-0.0),
  };
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    for (std::size_t j = 0; j < distinct.size(); ++j) {
      EXPECT_EQ(cache.fingerprint(distinct[i]) == cache.fingerprint(distinct[j]), i == j)
          << i << " vs " << j;
    }
  }
}

TEST(outcome_cache, named_params_are_one_call_in_any_member_order_but_not_positional_ones) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  const value ab = structure{{"minuend", 5}, {"subtrahend", 3}};
  const value ba = structure{{"subtrahend", 3}, {"minuend", 5}};
  EXPECT_EQ(cache.fingerprint(ab), cache.fingerprint(ba));
  // What was received is compared: the same call sent positionally is another encoding, and a
  // retry sends what its first attempt sent.
  EXPECT_NE(cache.fingerprint(ab), cache.fingerprint(array{5, 3}));
  // Members of one name keep their order (the first is the one a procedure reads).
  EXPECT_NE(cache.fingerprint(structure{{"a", 1}, {"a", 2}}),
            cache.fingerprint(structure{{"a", 2}, {"a", 1}}));
  // Large structs too (sorted off the stack).
  structure many, reversed;
  for (int i = 0; i < 40; ++i) many.emplace_back(cat("m", std::to_string(i)), i);
  reversed.assign(many.rbegin(), many.rend());
  EXPECT_EQ(cache.fingerprint(many), cache.fingerprint(reversed));
  many[7].second = -1;
  EXPECT_NE(cache.fingerprint(many), cache.fingerprint(reversed));
}

TEST(siphash, matches_the_reference_vectors) {
  // Key 00 01 .. 0f; message 00 01 .. (n-1): the vectors of the SipHash paper's reference code.
  const std::uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
  std::string message;
  for (char i = 0; i < 15; ++i) message.push_back(i);
  siphash128 empty64(k0, k1, false);
  EXPECT_EQ(empty64.finish64(), 0x726fdb47dd0e0e31ULL);
  siphash128 fifteen64(k0, k1, false);
  fifteen64.update(message.substr(0, 4));  // in pieces, across the 8-byte blocks
  fifteen64.update(message.substr(4, 7));
  fifteen64.update(message.substr(11));
  EXPECT_EQ(fifteen64.finish64(), 0xa129ca6149be45e5ULL);
  siphash128 empty128(k0, k1);
  const params_fingerprint e = empty128.finish();
  EXPECT_EQ(e.low, 0xe6a825ba047f81a3ULL);   // a3 81 7f 04 ba 25 a8 e6
  EXPECT_EQ(e.high, 0x930255c71472f66dULL);  // 6d f6 72 14 c7 55 02 93
  siphash128 one128(k0, k1);
  one128.update(std::string(1, '\0'));
  const params_fingerprint o = one128.finish();
  EXPECT_EQ(o.low, 0x44af996bd8c187daULL);   // da 87 c1 d8 6b 99 af 44
  EXPECT_EQ(o.high, 0x45fc229b11597634ULL);  // 34 76 59 11 9b 22 fc 45
}

// ---- each peer's share of the memory ----------------------------------------------------------

namespace {

/// Stores `count` outcomes of `size` bytes for `peer`, keys `prefix`0.. .
void store(outcome_cache& cache, const std::string& peer, const std::string& prefix, int count,
           std::size_t size) {
  probe p{cache, array{}, peer};
  for (int i = 0; i < count; ++i) {
    const std::string key = cat(prefix, std::to_string(i));
    ASSERT_EQ(p.begin(key), outcome_cache::verdict::run) << key;
    cache.finish(key, result(std::string(size, 'x')));
  }
}

}  // namespace

TEST(outcome_cache, a_peer_flooding_large_outcomes_evicts_only_its_own) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);  // 1 MiB: a share of 128 KiB
  ASSERT_EQ(cache.share_bytes(), 128u * 1024);
  store(cache, "127.0.0.1:40000", "a", 10, 100);
  const std::size_t a_bytes = cache.peer_bytes("127.0.0.1:1");
  ASSERT_GT(a_bytes, 0u);
  // Ten times the whole budget, from another address (and from many of its ports).
  for (int port = 0; port < 10; ++port) {
    store(cache, cat("127.0.0.2:", std::to_string(50000 + port)),
          cat("b", std::to_string(port), "-"), 100, 10 * 1024);
  }
  EXPECT_LE(cache.peer_bytes("127.0.0.2:9"), cache.share_bytes());
  EXPECT_LE(cache.bytes(), 1u << 20);
  EXPECT_EQ(cache.peer_bytes("127.0.0.1:2"), a_bytes);  // nothing of A's was dropped
  probe a{cache, array{}, "127.0.0.1:40001"};
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(a.begin(cat("a", std::to_string(i))), outcome_cache::verdict::stored) << i;
  }
  probe b{cache, array{}, "127.0.0.2:50000"};
  EXPECT_EQ(b.begin("b9-99"), outcome_cache::verdict::stored);  // B's newest are kept
  EXPECT_EQ(b.begin("b0-0"), outcome_cache::verdict::run);      // its oldest went
}

TEST(outcome_cache, a_peer_keeps_its_newest_outcome_even_over_its_share) {
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  store(cache, "10.0.0.1:1", "small", 3, 100);
  store(cache, "10.0.0.2:1", "big", 1, 300 * 1024);  // over a 128 KiB share, within the budget
  probe b{cache, array{}, "10.0.0.2:1"};
  EXPECT_EQ(b.begin("big0"), outcome_cache::verdict::stored);
  store(cache, "10.0.0.2:1", "big-next", 1, 300 * 1024);
  EXPECT_EQ(b.begin("big-next0"), outcome_cache::verdict::stored);
  EXPECT_EQ(b.begin("big0"), outcome_cache::verdict::run);  // its older one made room
  probe a{cache, array{}, "10.0.0.1:1"};
  EXPECT_EQ(a.begin("small0"), outcome_cache::verdict::stored);
}

TEST(outcome_cache, over_the_whole_budget_the_largest_holder_loses_first) {
  // 1 MiB, shares of 128 KiB: twelve peers near their share overflow it. The peer holding
  // least keeps everything.
  outcome_cache cache(std::chrono::minutes(1), 1u << 20);
  store(cache, "10.0.1.1:1", "small", 5, 100);
  for (int peer = 0; peer < 12; ++peer) {
    store(cache, cat("10.0.2.", std::to_string(peer), ":1"), cat("p", std::to_string(peer), "-"),
          12, 10 * 1024);
  }
  EXPECT_LE(cache.bytes(), 1u << 20);
  probe a{cache, array{}, "10.0.1.1:1"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.begin(cat("small", std::to_string(i))), outcome_cache::verdict::stored) << i;
  }
}

TEST(outcome_cache, peers_are_told_apart_by_host_not_port) {
  EXPECT_EQ(peer_host("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(peer_host("[::1]:5000"), "::1");
  EXPECT_EQ(peer_host("[fe80::1%eth0]:80"), "fe80::1%eth0");
  EXPECT_EQ(peer_host(""), "");
}

TEST(outcome_cache, small_budgets_give_a_peer_at_least_64_KiB_or_the_whole) {
  EXPECT_EQ(outcome_cache(std::chrono::minutes(1), 64u << 20).share_bytes(), 8u << 20);
  EXPECT_EQ(outcome_cache(std::chrono::minutes(1), 256u << 10).share_bytes(), 64u << 10);
  EXPECT_EQ(outcome_cache(std::chrono::minutes(1), 2000).share_bytes(), 2000u);
}

TEST(outcome_cache, expiry_and_eviction_forget_peers_that_hold_nothing) {
  outcome_cache cache(std::chrono::milliseconds(20), 1u << 20);
  store(cache, "10.0.0.1:1", "k", 3, 100);
  EXPECT_GT(cache.peer_bytes("10.0.0.1:1"), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));  // the clock itself is tested
  probe p{cache, array{}, "10.0.0.1:1"};
  EXPECT_EQ(p.lookup("k0"), outcome_cache::verdict::absent);
  EXPECT_EQ(cache.peer_bytes("10.0.0.1:1"), 0u);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}
