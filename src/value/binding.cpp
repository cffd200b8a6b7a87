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
  const std::string& text = v.as_string();
  // An offset (after the time's 'T'): only UTC may be dropped without shifting the time.
  const auto t = text.find('T');
  const auto sign = t == std::string::npos ? t : text.find_first_of("+-", t);
  if (sign != std::string::npos && text.compare(sign + 1, std::string::npos, "00:00") != 0) {
    throw error(status_code::invalid_params,
                "a date-time with a UTC offset other than Z or +00:00 (" + text.substr(sign) +
                    "): netcall::date_time has no time zone; send it in UTC");
  }
  date_time out;
  if (!date_time::parse(v.as_string(), out)) {
    throw error(status_code::invalid_params,
                "expected dateTime.iso8601, got a string that is not an ISO 8601 date-time "
                "(YYYY-MM-DDTHH:MM:SS)");
  }
  return out;
}

value codec<date_time>::to(date_time t) {
  if (!t.valid()) {
    throw error(status_code::invalid_params,
                "date-time field out of range: " + to_debug_string(value(t)) +
                    " (microsecond " + std::to_string(t.microsecond) + ")");
  }
  return value(t);
}

}  // namespace netcall
