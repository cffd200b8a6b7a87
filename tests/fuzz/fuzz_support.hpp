#pragma once
/// \file
/// What every fuzz target shares: a check that aborts in any build (assert() is compiled out
/// under NDEBUG, and libFuzzer only notices crashes), and predicates over netcall::value that
/// say which round trips a protocol can promise.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "common/limits.hpp"
#include "netcall/value.hpp"
#include "common/utf8.hpp"

namespace netcall::fuzz {

/// Reports a broken invariant and aborts, which libFuzzer records as a crash with its input.
[[noreturn]] inline void check_failed(const char* file, int line, const char* what,
                                      const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n%s\n", file, line, what, detail.c_str());
  std::abort();
}

#define NETCALL_FUZZ_CHECK(cond, detail)                                                \
  do {                                                                                  \
    if (!(cond)) ::netcall::fuzz::check_failed(__FILE__, __LINE__, #cond, (detail));  \
  } while (false)

/// A stable number derived from the input, so that targets choose split points without taking
/// bytes away from the input itself (seed files stay plain protocol messages).
inline std::uint64_t input_hash(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  return h;
}

/// The server's default limits, with the decoded-size budget's allowance cut to 64 bytes for
/// half of the inputs (by their hash), so that inputs of fuzzing size reach the budget
/// (common/limits.hpp: 6 times a message's size plus the allowance).
inline netcall::detail::decode_limits budget_limits(std::string_view data) {
  netcall::detail::decode_limits limits;
  if (input_hash(data) & 0x100) limits.decoded_allowance_bytes = 64;
  return limits;
}

/// True when `s` is well-formed UTF-8 (RFC 3629; the codecs' own check, common/utf8.hpp).
/// NUL counts as valid here: JSON may carry it (`\u0000`).
inline bool is_utf8(std::string_view s) {
  return netcall::detail::find_invalid_utf8(s) == std::string_view::npos;
}

/// Calls `f(text)` for every string in `v`: string values and struct member names.
template <class F>
void for_each_text(const value& v, F&& f) {
  if (v.is_string()) f(std::string_view(v.as_string()));
  if (v.is_array()) {
    for (const value& e : v.as_array()) for_each_text(e, f);
  }
  if (v.is_struct()) {
    for (const member& m : v.as_struct()) {
      f(std::string_view(m.first));
      for_each_text(m.second, f);
    }
  }
}

/// True when every string in `v` is well-formed UTF-8 (what a decoder promises to hand out).
inline bool texts_are_utf8(const value& v) {
  bool ok = true;
  for_each_text(v, [&](std::string_view s) { ok = ok && is_utf8(s); });
  return ok;
}

/// True when `v` holds a NaN or an infinity (JSON and XML-RPC have no form for them).
inline bool has_non_finite(const value& v) {
  if (v.is_double()) return !std::isfinite(v.as_double());
  bool found = false;
  if (v.is_array()) {
    for (const value& e : v.as_array()) found = found || has_non_finite(e);
  }
  if (v.is_struct()) {
    for (const member& m : v.as_struct()) found = found || has_non_finite(m.second);
  }
  return found;
}

/// True when `s` survives an XML 1.0 document unchanged: no NUL (cannot appear at all), no CR
/// (read back as LF, XML 1.0 §2.11), no other control character below U+0020 but tab and LF,
/// no U+FFFE or U+FFFF (not XML 1.0 characters: the encoder writes U+FFFD or an escape for
/// them, see src/protocol/xmlrpc/codec.cpp), and well-formed UTF-8.
inline bool is_xml_text(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t' && c != '\n') return false;
  }
  return is_utf8(s) && s.find("\xEF\xBF\xBE") == std::string_view::npos &&
         s.find("\xEF\xBF\xBF") == std::string_view::npos;
}

/// True when every string of `v` (values and member names) is XML text as above.
inline bool texts_are_xml(const value& v) {
  bool ok = true;
  for_each_text(v, [&](std::string_view s) { ok = ok && is_xml_text(s); });
  return ok;
}

/// Deep equality where NaN equals NaN (bit patterns aside): value's operator== follows IEEE,
/// so a NaN anywhere would make a value unequal to its own copy.
inline bool same(const value& a, const value& b) {
  if (a.kind() != b.kind()) return false;
  if (a.is_double()) {
    const double x = a.as_double();
    const double y = b.as_double();
    return (std::isnan(x) && std::isnan(y)) || x == y;
  }
  if (a.is_array()) {
    const array& x = a.as_array();
    const array& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_struct()) {
    const structure& x = a.as_struct();
    const structure& y = b.as_struct();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i].first != y[i].first || !same(x[i].second, y[i].second)) return false;
    }
    return true;
  }
  return a == b;
}

/// A one-line rendering for failure messages.
inline std::string show(const value& v) {
  std::string s = to_debug_string(v);
  if (s.size() > 2000) s = s.substr(0, 2000) + "...";
  return s;
}

}  // namespace netcall::fuzz
