#include "protocol/http/auth.hpp"

#include <cctype>

#include "netcall/value.hpp"

namespace netcall::detail {

namespace {

/// `value` without `scheme` and the spaces after it, when it starts with `scheme` (any case)
/// followed by a space; else nullopt-like empty with `ok` false.
bool strip_scheme(std::string_view& value, std::string_view scheme) {
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return false;
  }
  value.remove_prefix(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return !value.empty();
}

}  // namespace

std::string bearer_or_basic_token(std::string_view authorization) {
  std::string out;
  bearer_or_basic_token(authorization, out);
  return out;
}

void bearer_or_basic_token(std::string_view authorization, std::string& out) {
  out.clear();
  std::string_view v = authorization;
  if (strip_scheme(v, "bearer")) {
    out.assign(v);
    return;
  }
  v = authorization;
  if (!strip_scheme(v, "basic")) return;
  std::string decoded;
  if (v.size() > 4096 || !base64_decode(v, decoded)) return;
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return;
  out.assign(decoded, colon + 1);
}

}  // namespace netcall::detail
