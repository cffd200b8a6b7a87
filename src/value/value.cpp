#include "netcall/value.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <cstdio>

#include "netcall/status.hpp"

namespace netcall {
namespace {

[[noreturn]] void throw_kind(kind expected, kind actual) {
  throw error(status_code::invalid_params, "expected " + std::string(to_string(expected)) +
                                               ", got " + std::string(to_string(actual)));
}

// Reads exactly `n` digits at `pos` of `text` into `out`.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  auto first = text.data() + pos;
  for (std::size_t i = 0; i < n; ++i) {
    if (first[i] < '0' || first[i] > '9') return false;
  }
  std::from_chars(first, first + n, out);
  pos += n;
  return true;
}

bool expect_char(std::string_view text, std::size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

void debug_string(const value& v, std::string& out);

}  // namespace

std::string_view to_string(kind k) noexcept {
  switch (k) {
    case kind::nil: return "nil";
    case kind::boolean: return "boolean";
    case kind::integer: return "int";
    case kind::floating: return "double";
    case kind::string: return "string";
    case kind::bytes: return "base64";
    case kind::date_time: return "dateTime.iso8601";
    case kind::array: return "array";
    case kind::structure: return "struct";
  }
  return "unknown";
}

std::string date_time::to_xmlrpc() const {
  // XML-RPC has no sub-second dateTime: the microseconds are not written.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d:%02d:%02d", year, month, day, hour, minute,
                second);
  return buf;
}

std::string date_time::to_iso8601() const {
  char buf[48];
  if (microsecond != 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d", year, month, day, hour,
                  minute, second, microsecond);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute,
                  second);
  }
  return buf;
}

bool date_time::parse(std::string_view text, date_time& out) {
  date_time t;
  std::size_t pos = 0;
  if (!read_digits(text, pos, 4, t.year)) return false;
  const bool extended = expect_char(text, pos, '-');
  if (!read_digits(text, pos, 2, t.month)) return false;
  if (extended && !expect_char(text, pos, '-')) return false;
  if (!read_digits(text, pos, 2, t.day)) return false;
  if (!expect_char(text, pos, 'T')) return false;
  if (!read_digits(text, pos, 2, t.hour) || !expect_char(text, pos, ':') ||
      !read_digits(text, pos, 2, t.minute) || !expect_char(text, pos, ':') ||
      !read_digits(text, pos, 2, t.second)) {
    return false;
  }
  // A fraction of a second (RFC 3339 §5.6 time-secfrac), in the extended form only: 1 to 9
  // digits (nanoseconds at most), kept to the microsecond, the digits beyond it truncated.
  if (expect_char(text, pos, '.')) {
    if (!extended) return false;  // the XML-RPC form has no fraction
    const auto start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    const std::size_t digits = pos - start;
    if (digits == 0 || digits > 9) return false;
    int micro = 0;
    for (std::size_t i = 0; i < 6; ++i) {
      micro = micro * 10 + (i < digits ? text[start + i] - '0' : 0);
    }
    t.microsecond = micro;
  }
  if (pos < text.size()) {
    if (text[pos] == 'Z' && pos + 1 == text.size()) {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      ++pos;
      int oh = 0, om = 0;
      if (!read_digits(text, pos, 2, oh)) return false;
      expect_char(text, pos, ':');
      if (!read_digits(text, pos, 2, om) || oh > 23 || om > 59) return false;
    }
  }
  if (pos != text.size() || !t.valid()) return false;
  out = t;
  return true;
}

bool date_time::valid() const noexcept {
  return year >= 0 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
         day <= days_in_month(year, month) && hour >= 0 && hour <= 23 && minute >= 0 &&
         minute <= 59 && second >= 0 && second <= 60 && microsecond >= 0 &&
         microsecond <= 999'999;
}

bool value::as_bool() const {
  if (auto p = std::get_if<bool>(&v_)) return *p;
  throw_kind(kind::boolean, kind());
}

std::int64_t value::as_int() const {
  if (auto p = std::get_if<std::int64_t>(&v_)) return *p;
  throw_kind(kind::integer, kind());
}

double value::as_double() const {
  if (auto p = std::get_if<double>(&v_)) return *p;
  if (auto p = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*p);
  throw_kind(kind::floating, kind());
}

const std::string& value::as_string() const {
  if (auto p = std::get_if<std::string>(&v_)) return *p;
  throw_kind(kind::string, kind());
}

const netcall::bytes& value::as_bytes() const {
  if (auto p = std::get_if<netcall::bytes>(&v_)) return *p;
  throw_kind(kind::bytes, kind());
}

const netcall::date_time& value::as_date_time() const {
  if (auto p = std::get_if<netcall::date_time>(&v_)) return *p;
  throw_kind(kind::date_time, kind());
}

const netcall::array& value::as_array() const {
  if (auto p = std::get_if<netcall::array>(&v_)) return *p;
  throw_kind(kind::array, kind());
}

netcall::array& value::as_array() {
  if (auto p = std::get_if<netcall::array>(&v_)) return *p;
  throw_kind(kind::array, kind());
}

const netcall::structure& value::as_struct() const {
  if (auto p = std::get_if<netcall::structure>(&v_)) return *p;
  throw_kind(kind::structure, kind());
}

netcall::structure& value::as_struct() {
  if (auto p = std::get_if<netcall::structure>(&v_)) return *p;
  throw_kind(kind::structure, kind());
}

const value* value::find(std::string_view key) const noexcept {
  auto s = std::get_if<netcall::structure>(&v_);
  if (!s) return nullptr;
  for (const auto& [name, v] : *s) {
    if (name == key) return &v;
  }
  return nullptr;
}

namespace {

void debug_string(const value& v, std::string& out) {
  struct visitor {
    std::string& out;
    void operator()(nil_t) { out += "null"; }
    void operator()(bool b) { out += b ? "true" : "false"; }
    void operator()(std::int64_t i) { out += std::to_string(i); }
    void operator()(double d) {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      if (std::string_view(buf, r.ptr).find_first_of(".en") == std::string_view::npos) {
        out += ".0";
      }
    }
    void operator()(const std::string& s) { out += '"' + s + '"'; }
    void operator()(const bytes& b) { out += "b\"" + base64_encode(b.data) + '"'; }
    void operator()(const date_time& t) {
      out += "dt\"" + t.to_xmlrpc();
      if (t.microsecond != 0) {
        char fraction[16];
        std::snprintf(fraction, sizeof fraction, ".%06d", t.microsecond);
        out += fraction;
      }
      out += '"';
    }
    void operator()(const array& a) {
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        debug_string(a[i], out);
      }
      out += ']';
    }
    void operator()(const structure& s) {
      out += '{';
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (i) out += ',';
        out += '"' + s[i].first + "\":";
        debug_string(s[i].second, out);
      }
      out += '}';
    }
  };
  std::visit(visitor{out}, v.get());
}

}  // namespace

std::string to_debug_string(const value& v) {
  std::string out;
  debug_string(v, out);
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') continue;
    clean += c;
  }
  if (clean.size() % 4 != 0) return false;
  std::size_t padding = 0;
  if (!clean.empty() && clean.back() == '=') ++padding;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++padding;
  std::string decoded(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes; '=' elsewhere than the end is invalid.
  if (clean.find('=') < clean.size() - padding) return false;
  decoded.resize(static_cast<std::size_t>(n) - padding);
  out = std::move(decoded);
  return true;
}

}  // namespace netcall
