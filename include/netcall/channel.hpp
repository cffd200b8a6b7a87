#pragma once
/// \file
/// Calling a cluster (SPEC §5, docs/clusters.md): a channel reaches every node of a cluster by
/// name, or `any` node that serves a method, balancing over the replicas and failing over
/// without ever running a call twice.
///
/// ```cpp
/// netcall::channel ch(netcall::load_cluster_file("cluster.yaml"));
/// std::int64_t sum = ch.call<std::int64_t>("any", "add", 2, 3);   // a replica that serves add
/// ch.call<std::int64_t>("alpha", "subtract", 5, 3);                // node alpha itself
/// ```
/// Built as gRPC's and brpc's clients are: a *resolver* says which nodes exist (a cluster file,
/// a static list, or etcd, pushing changes); each node is an *endpoint* (its connections, calls
/// outstanding and health); a *load balancer* picks an endpoint per attempt (not per call)
/// among the healthy replicas that serve the method. One channel owns one I/O thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netcall/client.hpp"
#include "netcall/cluster.hpp"

namespace netcall {

/// One node as a resolver reports it.
struct node_info {
  std::string name;     ///< unique in the cluster
  std::string address;  ///< "HOST:PORT"
  /// The procedures it serves, when the resolver knows them (etcd records, SPEC §5); empty
  /// when it does not (then the placement, or failing that every node, is asked).
  std::vector<std::string> procedures;
};

/// What a resolver knows of the cluster at one moment.
struct membership {
  std::vector<node_info> nodes;
  /// Placement: method -> serving node names (a cluster file's `procedures`). A method listed
  /// here goes only to these nodes.
  std::map<std::string, std::vector<std::string>, std::less<>> placement;
};

/// Tells a channel which nodes exist and pushes every change (gRPC's name resolver).
class resolver {
 public:
  /// Receives the whole membership after each change; called on any thread, never
  /// concurrently with itself.
  using listener = std::function<void(membership)>;
  virtual ~resolver() = default;
  /// Starts resolving; `on_change` gets the first membership as soon as it is known.
  virtual void start(listener on_change) = 0;
  /// Stops resolving: `on_change` is not called after this returns.
  virtual void stop() = 0;
};

/// A resolver of a fixed membership: a cluster file, or a list of nodes.
std::unique_ptr<resolver> make_static_resolver(membership m);
/// The membership a cluster file describes (its nodes, and its procedures as placement).
membership membership_of(const cluster_config& config);
/// A resolver that watches etcd (SPEC §5 `--registry etcd://HOST:PORT`): the node records under
/// `/netcall/nodes/`. While etcd is unreachable it keeps the last membership it saw. Throws
/// std::invalid_argument for a malformed URL.
std::unique_ptr<resolver> make_etcd_resolver(std::string_view url);

/// Stores the YAML text of a cluster file as the placement in etcd (`/netcall/placement`,
/// `netcall cluster apply FILE --registry URL`); registered nodes watch it and apply it. Throws
/// std::invalid_argument for a malformed URL, netcall::error(unavailable) when etcd does not
/// answer within 2 s.
void store_placement(std::string_view registry_url, std::string_view cluster_yaml);

/// The node records registered in etcd now (`netcall cluster status --registry URL`). Same
/// errors as `store_placement`.
membership read_registry(std::string_view registry_url);

/// Channel settings.
struct channel_options {
  /// Per-connection settings: protocol, per-attempt timeout, deadline, retries (each retry is
  /// one more attempt; failover of an attempt that did not run costs none), idempotency keys,
  /// connections per endpoint.
  client_options client;
  /// "round_robin" (default) or "least_outstanding" (the endpoint with the fewest calls in
  /// flight); std::invalid_argument names the choices otherwise.
  std::string load_balancer = "round_robin";
  /// Passive health: an endpoint whose attempt failed at the transport is skipped for this
  /// long, doubling at each further failure up to `max_ejection` (ms) ...
  std::chrono::milliseconds base_ejection{200};
  std::chrono::milliseconds max_ejection{5'000};
  /// ... and comes back when an active health check (a `system.listMethods` call) succeeds,
  /// tried when its ejection ends.
  std::chrono::milliseconds health_check_timeout{1'000};
};

/// Per-call settings of a routed call.
struct route_options {
  /// The call may run twice (a read, or an operation safe to repeat): an attempt whose outcome
  /// is unknown may move to another replica (SPEC §5). Otherwise it is retried only on the
  /// node it went to, with the same idempotency key.
  bool idempotent = false;
  /// Forward this idempotency key instead of making one (a gateway passing a client's key on).
  /// Carried by MessagePack-RPC and XML-RPC only: std::invalid_argument over JSON-RPC, whose
  /// request id carries the channel's own keys.
  std::string idempotency_key;
  /// With `any`: only nodes that the placement or their registry record say serve the method,
  /// never a node whose procedures are unknown (a gateway's forwarding: no loops between
  /// gateways).
  bool known_servers_only = false;
  /// Called once as the call completes, before its completion: the name of the node its last
  /// attempt went to ("" when no attempt was made) and the outcome's code (0 for success,
  /// else the wire code). A gateway counts forwarded calls with it (SPEC §7
  /// `netcall_forwarded_calls_total{node, code}`). Runs on the channel's thread; must not throw.
  std::function<void(const std::string& node, int code)> on_finish;
};

/// The state of one endpoint, for `cluster status` and tests.
struct endpoint_status {
  std::string name;
  std::string address;
  bool healthy = true;           ///< not ejected by passive health
  std::size_t outstanding = 0;   ///< calls in flight on it
  std::uint64_t failures = 0;    ///< consecutive transport failures
};

/// A client of a whole cluster. Thread-safe.
///
/// `target` is a node name (that node only: retried there, never moved) or `any` (a node that
/// serves the method, chosen by the load balancer per attempt, SPEC §5).
///
/// Errors (netcall::error, as `client`'s, always those of the last attempt): `unavailable` when
/// no node can be reached, no node is known, or `target` names no node of the cluster;
/// `method_not_found` when no node serves the method; `deadline_exceeded`; and the server's own
/// errors.
/// An attempt that certainly did not run (no connection, a connection closed before sending,
/// -32002 shutting down, -32601 from a node the placement said serves it) moves to another
/// replica at once; one whose outcome is unknown is retried on the same node with the same
/// idempotency key, or moves when the call is idempotent.
class channel {
 public:
  /// A channel over any resolver; starts the I/O thread and the resolver. Throws
  /// std::invalid_argument for an unknown load balancer.
  explicit channel(std::unique_ptr<resolver> r, channel_options options = {});
  /// A channel over the nodes of a cluster file.
  explicit channel(const cluster_config& config, channel_options options = {});
  /// Fails the calls in flight with `unavailable` and joins the I/O thread.
  ~channel();
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  /// Blocks until the resolver reported a first membership, at most `timeout`; false if not.
  bool wait_for_membership(std::chrono::milliseconds timeout);

  /// Calls `method` on `target`, blocking until the outcome; throws netcall::error. Must not be
  /// called from a completion callback (std::logic_error).
  value call_params(std::string_view target, std::string_view method, value params,
                    route_options options = {});

  /// Calls `method` with positional `args` and converts the result to `R`.
  template <class R = value, class... A>
  R call(std::string_view target, std::string_view method, A&&... args) {
    return client::convert<R>(method, call_params(target, method,
                                                  detail::pack_params(std::forward<A>(args)...)));
  }

  /// Starts a call; `done` runs once with its outcome on the channel's I/O thread (must not
  /// block).
  void async_call_params(std::string_view target, std::string_view method, value params,
                         std::function<void(outcome)> done, route_options options = {});

  /// The endpoints as the channel sees them now, in membership order.
  std::vector<endpoint_status> status();

  /// The node names that serve `method` according to the current membership (placement, node
  /// records, or every node).
  std::vector<std::string> serving(std::string_view method);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace netcall
