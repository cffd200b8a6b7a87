#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "netcall/cluster.hpp"
#include "netcall/text.hpp"

namespace netcall {
namespace {

// Bytes from the file are quoted in messages, escaped (netcall/text.hpp), so a hostile file
// cannot put terminal escapes or a second line on the user's screen.
std::string printable(std::string_view text) { return escape_text(text); }

[[noreturn]] void refuse(std::string_view origin, std::string_view where, std::string_view what) {
  std::string message(origin);
  message += ": ";
  if (!where.empty()) {
    message += where;
    message += ": ";
  }
  message += what;
  throw cluster_file_error(printable(message));
}

std::string line_of(const YAML::Node& n) {
  return n.Mark().is_null() ? std::string() : " (line " + std::to_string(n.Mark().line + 1) + ")";
}

// A scalar's text, or a refusal naming `where`.
std::string scalar(const YAML::Node& n, std::string_view origin, std::string_view where,
                   std::string_view what) {
  if (!n.IsScalar()) refuse(origin, where, std::string(what) + " must be a string" + line_of(n));
  return n.Scalar();
}

std::string joined(const std::vector<cluster_node>& nodes) {
  std::string out;
  for (const auto& n : nodes) {
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

}  // namespace

bool is_node_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name == "any") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

bool is_node_address(std::string_view address) {
  std::string_view host, port;
  if (address.starts_with('[')) {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != host.npos) {
      return false;
    }
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.empty() || host.size() > 253 ||
        host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            host.npos) {
      return false;
    }
  }
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  return !port.empty() && ec == std::errc() && end == port.data() + port.size() && n >= 1 &&
         n <= 65535;
}

const cluster_node* cluster_config::find(std::string_view name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

cluster_config parse_cluster(std::string_view yaml_text, std::string_view origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    refuse(origin, "", "not YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (!root.IsMap()) {
    refuse(origin, "", "not a cluster file: expected a map with `nodes` and `procedures`");
  }
  cluster_config out;
  std::set<std::string, std::less<>> top;
  for (const auto& kv : root) {
    const std::string key = scalar(kv.first, origin, "", "a key");
    if (key != "nodes" && key != "procedures") {
      refuse(origin, key, "unknown key (a cluster file has `nodes` and `procedures`)" +
                              line_of(kv.first));
    }
    if (!top.insert(key).second) refuse(origin, key, "appears twice" + line_of(kv.first));
  }
  const YAML::Node nodes = root["nodes"];
  if (!nodes || nodes.IsNull() || (nodes.IsMap() && nodes.size() == 0)) {
    refuse(origin, "nodes", "missing or empty: name at least one node (`alpha: 127.0.0.1:8181`)");
  }
  if (!nodes.IsMap()) refuse(origin, "nodes", "must map node names to HOST:PORT" + line_of(nodes));
  std::set<std::string, std::less<>> addresses;
  for (const auto& kv : nodes) {
    const std::string name = scalar(kv.first, origin, "nodes", "a node name");
    const std::string where = "nodes." + name;
    if (!is_node_name(name)) {
      refuse(origin, where,
             "not a node name (letters, digits, '_', '-', '.'; not 'any')" + line_of(kv.first));
    }
    if (out.find(name) != nullptr) refuse(origin, where, "duplicate node name" + line_of(kv.first));
    const std::string address = scalar(kv.second, origin, where, "the address");
    if (!is_node_address(address)) {
      refuse(origin, where,
             "malformed address '" + address + "' (expected HOST:PORT, port 1-65535)" +
                 line_of(kv.second));
    }
    if (!addresses.insert(address).second) {
      refuse(origin, where, "address " + address + " is another node's too" + line_of(kv.second));
    }
    out.nodes.push_back({name, address});
  }
  const YAML::Node procedures = root["procedures"];
  if (procedures && !procedures.IsNull()) {
    if (!procedures.IsMap()) {
      refuse(origin, "procedures", "must map procedure names to node lists" + line_of(procedures));
    }
    for (const auto& kv : procedures) {
      const std::string method = scalar(kv.first, origin, "procedures", "a procedure name");
      const std::string where = "procedures." + method;
      if (method.empty()) refuse(origin, "procedures", "empty procedure name" + line_of(kv.first));
      if (method.starts_with("system.") || method.starts_with("rpc.")) {
        refuse(origin, where, "reserved procedures are served by every node" + line_of(kv.first));
      }
      if (out.procedures.contains(method)) {
        refuse(origin, where, "listed twice" + line_of(kv.first));
      }
      std::vector<std::string> serving;
      auto add = [&](const YAML::Node& n) {
        const std::string name = scalar(n, origin, where, "a node name");
        if (out.find(name) == nullptr) {
          refuse(origin, where,
                 "unknown node '" + name + "' (nodes: " + joined(out.nodes) + ")" + line_of(n));
        }
        if (std::find(serving.begin(), serving.end(), name) != serving.end()) {
          refuse(origin, where, "node '" + name + "' listed twice" + line_of(n));
        }
        serving.push_back(name);
      };
      if (kv.second.IsSequence()) {
        for (const auto& n : kv.second) add(n);
      } else if (kv.second.IsScalar()) {
        add(kv.second);
      }
      if (serving.empty()) {
        refuse(origin, where, "lists no node (give at least one: `[alpha]`)" + line_of(kv.first));
      }
      out.procedures.emplace(method, std::move(serving));
    }
  }
  return out;
}

cluster_config load_cluster_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw cluster_file_error(path + ": cannot read the cluster file (no such file)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cluster_file_error(path + ": cannot read the cluster file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw cluster_file_error(path + ": cannot read the cluster file");
  constexpr std::size_t max_bytes = 1u << 20;
  if (text.str().size() > max_bytes) throw cluster_file_error(path + ": larger than 1 MiB");
  return parse_cluster(text.str(), path);
}

}  // namespace netcall
