#include <charconv>
#include <stdexcept>

#include "netcall/server.hpp"

namespace netcall {

namespace detail {

void throw_bad_param(std::size_t index, const std::string& name, const std::string& why) {
  std::string which = "param " + std::to_string(index + 1);
  if (!name.empty()) which += " (" + name + ")";
  throw error(status_code::invalid_params, "invalid params: " + which + ": " + why);
}

}  // namespace detail

void registry::check_names(const std::string& name, std::size_t names, std::size_t arity) const {
  if (names != 0 && names != arity) {
    throw std::invalid_argument("procedure " + name + ": " + std::to_string(names) +
                                " param names for " + std::to_string(arity) + " params");
  }
}

void registry::add(entry e) {
  const auto& name = e.info.name;
  if (name.empty()) throw std::invalid_argument("procedure name is empty");
  if (name.starts_with("system.")) {
    throw std::invalid_argument("procedure " + name + ": the system. prefix is reserved");
  }
  if (entries_.contains(name)) {
    throw std::invalid_argument("procedure " + name + " is already bound");
  }
  std::string key = name;
  entries_.emplace(std::move(key), std::move(e));
}

void registry::add_sync(procedure_info info, sync_procedure fn) {
  add(entry{std::move(info), std::move(fn), {}});
}

void registry::add_async(procedure_info info, async_procedure fn) {
  add(entry{std::move(info), {}, std::move(fn)});
}

const registry::entry* registry::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n < 0) return std::nullopt;
  const std::string_view unit(end, text.data() + text.size() - end);
  std::int64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else {
    return std::nullopt;
  }
  if (n > std::numeric_limits<std::int64_t>::max() / factor / 1000) return std::nullopt;
  return std::chrono::milliseconds(n * factor);
}

}  // namespace netcall
