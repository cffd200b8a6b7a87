#include "cluster_commands.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "netcall/channel.hpp"
#include "netcall/cluster.hpp"
#include "report.hpp"

namespace netcall_cli {
namespace {

std::string joined(const netcall::value& list) {
  std::string out;
  if (!list.is_array()) return "?";
  for (const auto& v : list.as_array()) {
    if (!v.is_string()) continue;
    if (!out.empty()) out += ", ";
    out += escaped(v.as_string());  // the node's text (SPEC §3)
  }
  return out;
}

std::string joined(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) {
    if (!out.empty()) out += ", ";
    out += escaped(s);  // a registry record's text
  }
  return out;
}

bool transport_failure(const netcall::error& e) {
  return e.code() == netcall::status_code::unavailable ||
         e.code() == netcall::status_code::deadline_exceeded;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int cluster_apply(const std::string& file, const std::string& registry,
                  const netcall::client_options& options) {
  const netcall::cluster_config config = netcall::load_cluster_file(file);  // validated first
  const std::string text = read_text(file);
  if (!registry.empty()) {
    try {
      netcall::store_placement(registry, text);
    } catch (const netcall::error& e) {
      std::fprintf(stderr, "netcall: %s\n", escaped(e.what()).c_str());
      return exit_unreachable;
    }
    std::printf("stored the placement of %s under /netcall/placement in %s\n", file.c_str(),
                registry.c_str());
    return exit_ok;
  }
  int worst = exit_ok;
  for (const auto& node : config.nodes) {
    try {
      netcall::client c(node.address, options);
      auto result = c.call_params("system.cluster.apply",
                                  netcall::array{netcall::value(node.name), netcall::value(text)});
      const netcall::value* serves = result.find("serves");
      const std::string list = serves ? joined(*serves) : "?";
      std::printf("%s %s: %s\n", node.name.c_str(), node.address.c_str(),
                  list.empty() ? "serves nothing listed" : ("serves " + list).c_str());
    } catch (const netcall::error& e) {
      std::fprintf(stderr, "netcall: node %s at %s: %s\n", node.name.c_str(), node.address.c_str(),
                   escaped(e.what()).c_str());
      worst = std::max(worst, transport_failure(e) ? exit_unreachable : exit_remote_error);
    }
  }
  std::fflush(stdout);
  return worst;
}

int cluster_status(const std::string& file, const std::string& registry,
                   const netcall::client_options& options) {
  struct row {
    std::string name, address, reachable = "no", rtt = "-", procedures = "-";
  };
  std::vector<row> rows;
  netcall::membership members;
  if (!registry.empty()) {
    try {
      members = netcall::read_registry(registry);
    } catch (const netcall::error& e) {
      std::fprintf(stderr, "netcall: %s\n", escaped(e.what()).c_str());
      return exit_unreachable;
    }
  } else {
    members = netcall::membership_of(netcall::load_cluster_file(file));
  }
  if (members.nodes.empty()) {
    std::fprintf(stderr, "netcall: no node is registered in %s\n", registry.c_str());
    return exit_remote_error;
  }
  bool all_reachable = true;
  for (const auto& node : members.nodes) {
    row r{escaped(node.name), escaped(node.address)};  // a registry's records are others' text
    try {
      netcall::client c(node.address, options);
      const auto started = std::chrono::steady_clock::now();
      auto info = c.call_params("system.cluster.info", netcall::array{});
      const auto rtt = std::chrono::steady_clock::now() - started;
      r.reachable = "yes";
      char text[32];
      std::snprintf(text, sizeof text, "%.2fms",
                    std::chrono::duration<double, std::milli>(rtt).count());
      r.rtt = text;
      const netcall::value* serves = info.find("serves");
      r.procedures = serves ? joined(*serves) : "?";
    } catch (const netcall::error& e) {
      if (transport_failure(e)) {
        all_reachable = false;
        if (!node.procedures.empty()) r.procedures = joined(node.procedures);
      } else {
        r.reachable = "yes";  // it answered, but is not a netcall node
        r.procedures = "?";
      }
    }
    rows.push_back(std::move(r));
  }
  std::size_t w[4] = {4, 7, 9, 3};
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.address.size());
    w[3] = std::max(w[3], r.rtt.size());
  }
  auto print = [&](const std::string& a, const std::string& b, const std::string& c,
                   const std::string& d, const std::string& e) {
    std::printf("%-*s  %-*s  %-*s  %-*s  %s\n", static_cast<int>(w[0]), a.c_str(),
                static_cast<int>(w[1]), b.c_str(), static_cast<int>(w[2]), c.c_str(),
                static_cast<int>(w[3]), d.c_str(), e.c_str());
  };
  print("NODE", "ADDRESS", "REACHABLE", "RTT", "PROCEDURES");
  for (const auto& r : rows) print(r.name, r.address, r.reachable, r.rtt, r.procedures);
  std::fflush(stdout);
  return all_reachable ? exit_ok : exit_remote_error;
}

}  // namespace netcall_cli
