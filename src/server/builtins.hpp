#pragma once
/// \file
/// The server's built-in procedures (SPEC §2 "system" module): XML-RPC introspection,
/// `system.multicall` and the OpenRPC service description `rpc.discover`, on every protocol. They
/// are ordinary registry entries: the registry lists, describes and runs them like any other; they
/// see the server's state they need (the registry, the pipeline for multicall entries, the limits)
/// because they are made with it.

#include <cstddef>

#include "netcall/server.hpp"
#include "server/pipeline.hpp"

namespace netcall::detail {

class access_policy;

/// The entries `system.listMethods`, `system.methodHelp`, `system.methodSignature` (answering
/// from `procedures`) and `system.multicall` (running each entry as a child call through
/// `entries`, the pipeline of calls inside a call: at most `max_batch` entries, each counted
/// against the connection's calls in flight).
/// and `system.authenticate(token)` (answers true when `access` accepts the token, else fails
/// with -32003: SPEC §6; the auth interceptor authenticates the connection by its answer),
/// and `rpc.discover()` (the OpenRPC document of every entry of `procedures` at the time of the
/// call, itself included: netcall/openrpc.hpp; a param is -32602).
std::vector<registry::entry> builtin_procedures(const registry& procedures, pipeline& entries,
                                                std::size_t max_batch,
                                                const access_policy& access);

}  // namespace netcall::detail
