// Out-of-line support of the typed binding (netcall/binding.hpp).
#include "netcall/binding.hpp"

namespace netcall::detail {

void throw_bad_param(std::size_t index, const std::string& name, const std::string& why) {
  std::string which = "param " + std::to_string(index + 1);
  if (!name.empty()) which += " (" + name + ")";
  throw error(status_code::invalid_params, "invalid params: " + which + ": " + why);
}

}  // namespace netcall::detail
