// The public JSON helpers of value.hpp, over the value layer's JSON reader and writer.
#include "netcall/value.hpp"
#include "value/json.hpp"

namespace netcall {

std::string to_json(const value& v) {
  std::string out;
  detail::json::write(v, out);
  return out;
}

bool from_json(std::string_view text, value& out, std::size_t max_depth) {
  detail::json::reader reader(max_depth);
  return reader.parse(text, out);
}

bool from_json(std::string_view text, value& out, json_error& why, std::size_t max_depth) {
  return detail::json::parse_checked(text, out, max_depth, why);
}

}  // namespace netcall
