// Cluster files (SPEC §5): what is accepted, and the one-line refusal of everything else.
#include <gtest/gtest.h>

#include "netcall/cluster.hpp"

namespace {

using netcall::cluster_file_error;
using netcall::parse_cluster;

TEST(cluster_file, reads_nodes_in_order_and_placement) {
  auto c = parse_cluster(
      "nodes:\n  alpha: 127.0.0.1:8181\n  beta: localhost:8282\n  gamma: '[::1]:9000'\n"
      "procedures:\n  add: [alpha, beta]\n  divide: beta\n",
      "c.yaml");
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.nodes[0].name, "alpha");
  EXPECT_EQ(c.nodes[1].address, "localhost:8282");
  EXPECT_EQ(c.nodes[2].address, "[::1]:9000");
  EXPECT_EQ(c.procedures.at("add"), (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(c.procedures.at("divide"), (std::vector<std::string>{"beta"}));
  EXPECT_NE(c.find("beta"), nullptr);
  EXPECT_EQ(c.find("delta"), nullptr);
}

TEST(cluster_file, procedures_are_optional) {
  auto c = parse_cluster("nodes: {a: 127.0.0.1:1}", "c.yaml");
  EXPECT_TRUE(c.procedures.empty());
}

struct bad_case {
  const char* name;
  const char* text;
  const char* says;  // a part of the one-line message
};

class refused : public testing::TestWithParam<bad_case> {};

TEST_P(refused, with_one_line_naming_the_problem) {
  try {
    parse_cluster(GetParam().text, "c.yaml");
    FAIL() << "accepted";
  } catch (const cluster_file_error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_TRUE(m.starts_with("c.yaml: ")) << m;
    EXPECT_NE(m.find(GetParam().says), std::string::npos) << m;
  }
}

INSTANTIATE_TEST_SUITE_P(
    cluster_files, refused,
    testing::Values(
        bad_case{"unknown_node", "nodes: {a: h:1}\nprocedures: {add: [a, b]}", "unknown node 'b'"},
        bad_case{"duplicate_name", "nodes:\n  a: h:1\n  a: h:2\n", "duplicate node name"},
        bad_case{"duplicate_address", "nodes:\n  a: h:1\n  b: h:1\n", "another node's"},
        bad_case{"no_port", "nodes: {a: 127.0.0.1}", "malformed address"},
        bad_case{"port_too_big", "nodes: {a: '127.0.0.1:99999'}", "malformed address"},
        bad_case{"port_zero", "nodes: {a: '127.0.0.1:0'}", "malformed address"},
        bad_case{"no_host", "nodes: {a: ':80'}", "malformed address"},
        bad_case{"not_yaml", "nodes: [a, b", "not YAML"},
        bad_case{"scalar", "hello world", "not a cluster file"},
        bad_case{"no_nodes", "procedures: {add: [a]}", "nodes: missing"},
        bad_case{"empty_nodes", "nodes: {}", "nodes: missing"},
        bad_case{"unknown_key", "nodes: {a: h:1}\nextra: 1", "unknown key"},
        bad_case{"reserved_name", "nodes: {any: h:1}", "not a node name"},
        bad_case{"bad_name", "nodes: {'a b': h:1}", "not a node name"},
        bad_case{"empty_list", "nodes: {a: h:1}\nprocedures: {add: []}", "lists no node"},
        bad_case{"repeated_node", "nodes: {a: h:1}\nprocedures: {add: [a, a]}", "listed twice"},
        bad_case{"system", "nodes: {a: h:1}\nprocedures: {system.listMethods: [a]}", "reserved"},
        bad_case{"nodes_list", "nodes: [a, b]", "must map node names"}),
    [](const testing::TestParamInfo<bad_case>& i) { return std::string(i.param.name); });

TEST(cluster_file, missing_file_is_one_line) {
  try {
    netcall::load_cluster_file("/nonexistent/cluster.yaml");
    FAIL();
  } catch (const cluster_file_error& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/cluster.yaml: cannot read the cluster file (no such file)");
  }
  EXPECT_THROW(netcall::load_cluster_file("/tmp"), cluster_file_error);
}

TEST(cluster_file, addresses) {
  EXPECT_TRUE(netcall::is_node_address("127.0.0.1:1"));
  EXPECT_TRUE(netcall::is_node_address("node-1.example:65535"));
  EXPECT_TRUE(netcall::is_node_address("[::1]:80"));
  EXPECT_FALSE(netcall::is_node_address("[::1]80"));
  EXPECT_FALSE(netcall::is_node_address("h:65536"));
  EXPECT_FALSE(netcall::is_node_address("h:+1"));
  EXPECT_FALSE(netcall::is_node_address("h :1"));
}

}  // namespace
