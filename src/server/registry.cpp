#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "netcall/server.hpp"

namespace netcall {

registry::registry(const registry& other) : entries_(other.entries_) { reindex(); }

registry& registry::operator=(const registry& other) {
  if (this != &other) {
    entries_ = other.entries_;
    reindex();
  }
  return *this;
}

void registry::reindex() {
  index_.clear();
  for (const auto& [name, e] : entries_) index_.emplace(std::string_view(name), &e);
}

void registry::check_names(const std::string& name, std::size_t names, std::size_t arity) const {
  if (names != 0 && names != arity) {
    throw std::invalid_argument("procedure " + name + ": " + std::to_string(names) +
                                " param names for " + std::to_string(arity) + " params");
  }
}

void registry::add(entry e) {
  // The server's own procedures: introspection (system.*) and service description (rpc.*,
  // the OpenRPC convention for rpc.discover).
  for (std::string_view prefix : {"system.", "rpc."}) {
    if (e.info.name.starts_with(prefix)) {
      throw std::invalid_argument("procedure " + e.info.name + ": the " + std::string(prefix) +
                                  " prefix is reserved");
    }
  }
  add_reserved(std::move(e));
}

void registry::add_reserved(entry e) {
  const auto& name = e.info.name;
  if (name.empty()) throw std::invalid_argument("procedure name is empty");
  // Named params are matched by name: each must be a distinct, non-empty name.
  const auto& names = e.info.param_names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      throw std::invalid_argument("procedure " + name + ": param " + std::to_string(i + 1) +
                                  " has an empty name");
    }
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
        names.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw std::invalid_argument("procedure " + name + ": param name '" + names[i] +
                                  "' given twice");
    }
  }
  if (entries_.contains(name)) {
    throw std::invalid_argument("procedure " + name + " is already bound");
  }
  std::string key = name;
  auto it = entries_.emplace(std::move(key), std::move(e)).first;
  index_.emplace(std::string_view(it->first), &it->second);  // map keys never move
}

void registry::add_sync(procedure_info info, sync_procedure fn) {
  add(entry{std::move(info), std::move(fn), {}});
}

void registry::add_async(procedure_info info, async_procedure fn) {
  add(entry{std::move(info), {}, std::move(fn)});
}

const registry::entry* registry::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

}  // namespace netcall
