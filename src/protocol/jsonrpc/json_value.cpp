// The public JSON helpers of value.hpp, served by the JSON-RPC codec's reader and writer.
#include "netcall/value.hpp"
#include "protocol/jsonrpc/codec.hpp"

namespace netcall {

std::string to_json(const value& v) {
  std::string out;
  detail::jsonrpc::encode_value(v, out);
  return out;
}

bool from_json(std::string_view text, value& out, std::size_t max_depth) {
  detail::decode_limits limits;
  limits.max_depth = max_depth;
  return detail::jsonrpc::decode_value(text, limits, out);
}

}  // namespace netcall
