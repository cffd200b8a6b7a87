#pragma once
/// \file
/// Cluster files (SPEC §5, docs/clusters.md): the nodes of a cluster by name and which of them
/// serve which procedures.
///
/// ```yaml
/// nodes:
///   alpha: 127.0.0.1:8181
///   beta: 127.0.0.1:8282
/// procedures:
///   add: [alpha, beta]     # replicas
///   divide: [beta]
/// ```
/// A procedure the file does not list is served by every node that has it.

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace netcall {

/// A cluster file that cannot be used: the message is one line naming the file, the place in
/// it and what is wrong (`cluster.yaml: procedures.add: unknown node 'gamma' (nodes: alpha,
/// beta)`). The CLI and netcalld print it and exit 2 (SPEC §5).
class cluster_file_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// One node of a cluster.
struct cluster_node {
  /// Its name: letters, digits, `_`, `-`, `.`; not `any` (which means "any node" to routed
  /// calls, SPEC §3).
  std::string name;
  /// Where it listens: "HOST:PORT" (or "[V6]:PORT"), port 1-65535.
  std::string address;
};

/// The contents of a cluster file: nodes and placement.
struct cluster_config {
  /// Every node, in file order; names and addresses are unique.
  std::vector<cluster_node> nodes;
  /// Placement: method name -> the names of the nodes that serve it (at least one, each a node
  /// of `nodes`, no repeats). Methods not listed are served by every node that has them.
  std::map<std::string, std::vector<std::string>, std::less<>> procedures;

  /// The node named `name`, or nullptr.
  const cluster_node* find(std::string_view name) const;
};

/// Reads and validates a cluster file. Throws cluster_file_error (one line) when the file cannot
/// be read, is not YAML, has keys other than `nodes` and `procedures`, lacks nodes, repeats a
/// node name or address, has a malformed address or name, lists a procedure with no node or an
/// unknown one, or lists a reserved `system.*` procedure (served by every node).
cluster_config load_cluster_file(const std::string& path);

/// The same checks on YAML text; `origin` names it in messages (a path, or "registry").
cluster_config parse_cluster(std::string_view yaml_text, std::string_view origin);

/// True when `name` may name a node (see cluster_node::name).
bool is_node_name(std::string_view name);

/// True when `address` is "HOST:PORT" or "[V6]:PORT" with a port 1-65535 and a non-empty host
/// of address or host name characters. Does not resolve the host.
bool is_node_address(std::string_view address);

}  // namespace netcall
