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
#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <mutex>

#include "server/interceptors/metrics.hpp"
#include "server/pipeline.hpp"

namespace netcall::detail {

class cluster_router final : public interceptor {
 public:
  /// With a gateway, forwarded calls are counted in `metrics` (`netcall_forwarded_calls_total
  /// {node, code}`, SPEC §7); `log` gets a procedure_context's warnings.
  cluster_router(cluster_node& node, const registry& procedures, prometheus::Registry& metrics,
                 logger_ptr log);
  ~cluster_router() override;
  verdict on_call(call& c) override;

 private:
  verdict forward(call& c);

  /// netcall_forwarded_calls_total's counters, shared with the channel's completions (which
  /// may run on the channel's thread until the gateway's channel is gone).
  struct forwarded_counts {
    explicit forwarded_counts(prometheus::Family<prometheus::Counter>& f) : family(f) {}
    /// Counts a forwarded call that ended on `node` with `code` (0: success).
    void count(const std::string& node, int code);
    prometheus::Family<prometheus::Counter>& family;
    std::mutex mutex;
    std::map<std::string, std::unique_ptr<code_counters>, std::less<>> by_node;
  };

  cluster_node& node_;
  const registry& procedures_;
  logger_ptr log_;
  std::shared_ptr<forwarded_counts> forwarded_;  // with a gateway only
};

}  // namespace netcall::detail
