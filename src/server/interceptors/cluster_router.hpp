#pragma once
/// \file
/// Placement and the gateway (SPEC §5): a call for a procedure the placement lists for other
/// nodes is answered -32601 naming the nodes that serve it, or, on a gateway, forwarded to one
/// of them through the cluster channel (balanced, with failover, the caller's idempotency key
/// passed on). A gateway also forwards a method it does not have when the registry's node
/// records say another node serves it. Everything else passes. Inside dedup and the shutdown
/// gate: a retry of a forwarded call is answered from the gateway's own outcome cache.

#include "netcall/server.hpp"
#include "server/cluster_node.hpp"
#include "server/pipeline.hpp"

namespace netcall::detail {

class cluster_router final : public interceptor {
 public:
  cluster_router(cluster_node& node, const registry& procedures)
      : node_(node), procedures_(procedures) {}
  verdict on_call(call& c) override;

 private:
  verdict forward(call& c);

  cluster_node& node_;
  const registry& procedures_;
};

}  // namespace netcall::detail
