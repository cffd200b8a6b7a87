// Load balancers (SPEC §5 --lb): round_robin spreads evenly; least_outstanding avoids the
// endpoint with calls piling up.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "cluster/endpoint.hpp"
#include "cluster/load_balancer.hpp"
#include "protocol/protocols.hpp"

namespace netcall::detail {
namespace {

struct fixture : testing::Test {
  boost::asio::io_context io;
  channel_options options;
  std::vector<std::shared_ptr<endpoint>> owned;
  std::vector<endpoint*> endpoints;

  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      owned.push_back(std::make_shared<endpoint>(
          io, node_info{"n" + std::to_string(i), "127.0.0.1:" + std::to_string(1 + i), {}},
          options, client_protocol_for(protocol::msgpack)));
      endpoints.push_back(owned.back().get());
    }
  }
  // As the channel does: calls still in flight are failed, which frees what they hold.
  void TearDown() override {
    for (auto& e : owned) e->shutdown(error(status_code::unavailable, "test over"));
  }
};

TEST_F(fixture, round_robin_lands_evenly) {
  auto lb = make_load_balancer("round_robin");
  std::map<endpoint*, int> hits;
  for (int i = 0; i < 9000; ++i) ++hits[lb->pick(endpoints)];
  for (auto* e : endpoints) EXPECT_EQ(hits[e], 3000) << e->name();
}

TEST_F(fixture, least_outstanding_prefers_the_idle_and_shares_ties) {
  auto lb = make_load_balancer("least_outstanding");
  std::map<endpoint*, int> hits;
  for (int i = 0; i < 3000; ++i) ++hits[lb->pick(endpoints)];
  for (auto* e : endpoints) EXPECT_EQ(hits[e], 1000) << "ties go round";
}

TEST_F(fixture, least_outstanding_avoids_an_endpoint_with_calls_in_flight) {
  // Calls submitted and not answered (the io_context does not run): n0 has 5 in flight, n1 1.
  auto submit = [&](endpoint* e, std::uint64_t sequence) {
    auto req = std::make_shared<request>();
    req->method = "add";
    e->submit(attempt{req, sequence, steady::now() + std::chrono::seconds(5),
                      [](outcome, attempt_end) {}});
  };
  for (std::uint64_t i = 1; i <= 5; ++i) submit(endpoints[0], i);
  submit(endpoints[1], 6);
  ASSERT_EQ(endpoints[0]->outstanding(), 5u);
  auto lb = make_load_balancer("least_outstanding");
  for (int i = 0; i < 100; ++i) EXPECT_EQ(lb->pick(endpoints), endpoints[2]);
  auto rr = make_load_balancer("round_robin");
  std::map<endpoint*, int> hits;
  for (int i = 0; i < 300; ++i) ++hits[rr->pick(endpoints)];
  EXPECT_EQ(hits[endpoints[0]], 100) << "round_robin ignores load";
}

TEST(load_balancer, unknown_name_lists_the_choices) {
  try {
    make_load_balancer("random");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "unknown load balancer 'random' (choose round_robin or least_outstanding)");
  }
}

}  // namespace
}  // namespace netcall::detail
