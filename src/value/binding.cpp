// Out-of-line support of the typed binding (netcall/binding.hpp).
#include "netcall/binding.hpp"

namespace netcall::detail {

void throw_bad_param(std::size_t index, const std::string& name, const std::string& why) {
  std::string which = "param " + std::to_string(index + 1);
  if (!name.empty()) which += " (" + name + ")";
  throw error(status_code::invalid_params, "invalid params: " + which + ": " + why);
}

void check_param_count(std::size_t given, std::size_t required, std::size_t arity) {
  if (given >= required && given <= arity) return;
  throw error(status_code::invalid_params,
              "invalid params: expected " +
                  (required == arity ? std::to_string(arity)
                                     : std::to_string(required) + " to " + std::to_string(arity)) +
                  " params, got " + std::to_string(given));
}

void throw_expected(std::string_view what, const value& got) {
  throw error(status_code::invalid_params, "expected " + std::string(what) + ", got " +
                                               std::string(to_string(got.kind())));
}

}  // namespace netcall::detail

namespace netcall {

bytes codec<bytes>::from(const value& v) {
  if (v.is_bytes()) return v.as_bytes();
  if (!v.is_string()) detail::throw_expected("base64", v);
  bytes out;
  if (!base64_decode(v.as_string(), out.data)) {
    throw error(status_code::invalid_params, "expected base64, got a string that is not base64");
  }
  return out;
}

date_time codec<date_time>::from(const value& v) {
  if (v.is_date_time()) return v.as_date_time();
  if (!v.is_string()) detail::throw_expected("dateTime.iso8601", v);
  date_time out;
  if (!date_time::parse(v.as_string(), out)) {
    throw error(status_code::invalid_params,
                "expected dateTime.iso8601, got a string that is not an ISO 8601 date-time "
                "(YYYY-MM-DDTHH:MM:SS)");
  }
  return out;
}

}  // namespace netcall
