#include "cluster/registry_keys.hpp"

#include "netcall/value.hpp"

namespace netcall::detail {

std::string node_record(std::string_view address, const std::vector<std::string>& procedures) {
  array list;
  for (const auto& p : procedures) list.emplace_back(p);
  structure record;
  record.emplace_back("address", value(std::string(address)));
  record.emplace_back("procedures", value(std::move(list)));
  return to_json(value(std::move(record)));
}

membership membership_of_records(const std::map<std::string, std::string>& records) {
  membership m;
  for (const auto& [key, json] : records) {
    if (!key.starts_with(node_prefix)) continue;
    node_info n;
    n.name = key.substr(node_prefix.size());
    value v;
    if (!is_node_name(n.name) || !from_json(json, v) || !v.is_struct()) continue;
    const value* address = v.find("address");
    if (address == nullptr || !address->is_string() || !is_node_address(address->as_string())) {
      continue;
    }
    n.address = address->as_string();
    if (const value* procedures = v.find("procedures"); procedures && procedures->is_array()) {
      for (const auto& p : procedures->as_array()) {
        if (p.is_string()) n.procedures.push_back(p.as_string());
      }
    }
    m.nodes.push_back(std::move(n));
  }
  return m;
}

}  // namespace netcall::detail
