#pragma once
/// \file
/// A server as a node of a cluster (SPEC §5, docs/clusters.md): its name, the placement it
/// follows, the admin procedures behind `netcall cluster apply` and `cluster status`, the
/// channel a gateway forwards through, and its etcd registration.
///
/// The placement is swapped atomically: a call sees the old table or the new one, never a mix.
/// A node with no placement and no gateway costs each call one relaxed atomic load.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/log.hpp"
#include "netcall/channel.hpp"
#include "netcall/server.hpp"

namespace netcall::detail {

/// What the placement says of each listed method, as this node sees it.
struct placement_table {
  /// Transparent FNV-1a hash: looked up with the call's method name on every call.
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      std::uint64_t h = 14695981039346656037ull;
      for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
      return static_cast<std::size_t>(h);
    }
  };
  struct route {
    bool here = false;    ///< this node serves it
    std::string serving;  ///< the serving node names, "alpha, beta" (for -32601 messages)
  };
  std::unordered_map<std::string, route, name_hash, std::equal_to<>> methods;
};

class registration_keeper;

class cluster_node {
 public:
  /// Applies `options.cluster` when set. Throws std::invalid_argument when `options.name` is
  /// not a node of it (and the node is no gateway), when `gateway` has neither a cluster nor a
  /// registry, or when `registry_url` is set without a name or is malformed.
  /// `log` gets the registry's warnings.
  cluster_node(const server_options& options, const registry& procedures, logger_ptr log);
  ~cluster_node();

  /// True when calls go through the cluster router: a placement is applied or this is a
  /// gateway.
  bool active() const { return active_.load(std::memory_order_relaxed); }
  /// The current placement; null when none was applied.
  std::shared_ptr<const placement_table> table() const {
    return table_.load(std::memory_order_acquire);
  }
  /// The channel a gateway forwards through; null for a node that is no gateway.
  channel* gateway() const { return gateway_.get(); }

  /// The admin procedures `system.cluster.apply(node, cluster)` (the YAML text of a cluster
  /// file; loopback peers only, SPEC §5) and `system.cluster.info()`.
  std::vector<registry::entry> admin_procedures();

  /// The server listens at `bound` ("HOST:PORT" each): registers in etcd when configured.
  void started(const std::vector<std::string>& bound);
  /// The server is stopping: revokes the registration (at most 2 s).
  void stopping();

  /// Applies a placement for node `node` (SPEC §5 `cluster apply`); returns the listed
  /// procedures this node serves. Throws netcall::error(invalid_params) when `node` is not in
  /// `config` or contradicts this node's name.
  std::vector<std::string> apply(const std::string& node, const cluster_config& config);

  /// The procedures this node serves now (its registry minus what the placement sends
  /// elsewhere, `system.*` excluded), sorted.
  std::vector<std::string> serving() const;

  /// This node's name (empty until it has one).
  std::string name() const;

 private:
  void publish();

  const server_options& options_;
  const registry& procedures_;
  logger_ptr log_;
  mutable std::mutex mutex_;  // name_ and the registration
  std::string name_;
  std::string advertised_;  // the address in the registry record
  std::atomic<bool> active_{false};
  std::atomic<std::shared_ptr<const placement_table>> table_;
  std::unique_ptr<channel> gateway_;
  std::unique_ptr<registration_keeper> registration_;
};

/// True when `address` ("HOST:PORT", "[V6]:PORT") is a loopback address: 127.0.0.0/8, ::1, or
/// ::ffff:127.x.y.z.
bool is_loopback_peer(std::string_view address);

/// True when an admin procedure may run for a call with `meta` (SPEC §5, §6): it came from a
/// loopback peer, or it carried a valid token (the server has tokens and the call passed them).
bool admin_allowed(const call_metadata& meta);

}  // namespace netcall::detail
