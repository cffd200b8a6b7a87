#pragma once
/// \file
/// What netcall keeps in etcd (SPEC §5 "Dynamic membership", docs/clusters.md):
///
///   /netcall/nodes/NAME   {"address": "HOST:PORT", "procedures": ["add", ...]}   (a lease's)
///   /netcall/placement    the YAML text of the applied cluster file (`cluster apply --registry`)

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netcall/channel.hpp"

namespace netcall::detail {

inline constexpr std::string_view node_prefix = "/netcall/nodes/";
inline constexpr std::string_view placement_key = "/netcall/placement";

/// The placement stored in the registry at `registry_url` now (the YAML text), or nullopt when
/// none is. Blocks at most about 2 s; throws netcall::error(unavailable) when etcd does not
/// answer, std::invalid_argument for a malformed URL.
std::optional<std::string> read_placement(std::string_view registry_url);

/// A node record's JSON value.
std::string node_record(std::string_view address, const std::vector<std::string>& procedures);

/// The membership the records under `node_prefix` describe (full key -> JSON value). Records
/// that are not JSON objects with a valid address are skipped; names come from the keys.
membership membership_of_records(const std::map<std::string, std::string>& records);

}  // namespace netcall::detail
