#pragma once
/// \file
/// `netcall cluster apply` and `netcall cluster status` (SPEC §3, §5).

#include <string>

#include "netcall/client.hpp"

namespace netcall_cli {

/// Exit codes (SPEC §3).
inline constexpr int exit_ok = 0;
inline constexpr int exit_remote_error = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_unreachable = 3;

/// `cluster apply FILE [--registry URL]`: sends the file's placement to every node it names
/// (system.cluster.apply) and prints `NAME ADDRESS: serves P, Q` per node; with a registry,
/// stores it under /netcall/placement instead. 0 every node confirmed, 1 a node refused it,
/// 3 a node (or etcd) could not be reached. Throws netcall::cluster_file_error (exit 2).
int cluster_apply(const std::string& file, const std::string& registry,
                  const netcall::client_options& options);

/// `cluster status FILE | --registry URL`: a table of NODE ADDRESS REACHABLE RTT PROCEDURES;
/// 0 when every node is reachable, 1 otherwise (3 when etcd is unreachable).
int cluster_status(const std::string& file, const std::string& registry,
                   const netcall::client_options& options);

}  // namespace netcall_cli
