// JSON text of netcall values (value/json.hpp): Boost.JSON's SAX parser reads, a direct writer
// writes.
//
// Reading: every text is parsed by boost::json::basic_parser with parse_options::max_depth (the
// reader's; strict RFC 8259, UTF-8 validated). Its handler, value_builder, builds the
// netcall::value tree directly on an explicit stack (no recursion, no intermediate
// boost::json::value). Numbers: integers that fit int64 stay int64; every other number (a
// fraction, an exponent, or an integer beyond int64) is converted from its text by
// std::from_chars, which rounds exactly to nearest (Boost 1.81's own conversion is off by an ulp
// for ~19% of doubles, so `echo` would not return its argument). A number whose magnitude is
// beyond the double range (1e400) makes the text a parse error ("number out of range"); one that
// underflows below the smallest denormal (1e-400) becomes the nearest double, a signed zero.
//
// Writing: JSON text is appended directly to the caller's string. Boost.JSON is not used because
// it prints 2.0 as `2E0`, where SPEC §2 wants a float always written as one (`2.0`).
#include "value/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace netcall::detail::json {
namespace {

namespace bj = boost::json;

// ----------------------------------------------------------------------------------------------
// Reading

bj::parse_options parse_options_for(std::size_t max_depth) {
  bj::parse_options opts;
  opts.max_depth = max_depth;
  return opts;  // strict RFC 8259: no comments, no trailing commas, invalid UTF-8 refused
}

/// The error a number beyond the double range fails the parse with. Boost.JSON raises the same
/// code itself for an exponent beyond INT_MAX, the other way a number can be out of range.
constexpr bj::error number_out_of_range = bj::error::exponent_overflow;

/// The one-line description of a parse failure.
std::string describe_parse_error(const bj::error_code& ec, std::size_t max_depth) {
  if (ec == bj::error::too_deep) {
    return "nesting deeper than " + std::to_string(max_depth);
  }
  if (ec == number_out_of_range) return "number out of range";
  return ec.message();
}

/// Members up to this count are checked for duplicate names pairwise, without allocating;
/// larger objects are sorted by name (O(n log n) whatever the names: no hash to flood).
constexpr std::size_t small_object = 32;

bool has_duplicate_names(const structure& s) {
  const std::size_t n = s.size();
  if (n <= small_object) {
    for (std::size_t i = 1; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (s[i].first == s[j].first) return true;
      }
    }
    return false;
  }
  std::vector<std::string_view> names;
  names.reserve(n);
  for (const member& m : s) names.emplace_back(m.first);
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

/// A JSON object with a repeated name keeps one member per name: at the place of the first, with
/// the value of the last (what Boost.JSON's object does, so lookups see the last value).
void keep_last_of_duplicates(structure& s) {
  if (!has_duplicate_names(s)) return;
  // Member positions grouped by name, in order within a group.
  std::vector<std::size_t> order(s.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&s](std::size_t a, std::size_t b) { return s[a].first < s[b].first; });
  std::vector<bool> dropped(s.size());
  for (std::size_t g = 0; g < order.size();) {
    std::size_t end = g + 1;
    while (end < order.size() && s[order[end]].first == s[order[g]].first) ++end;
    if (end - g > 1) {
      s[order[g]].second = std::move(s[order[end - 1]].second);
      for (std::size_t k = g + 1; k < end; ++k) dropped[order[k]] = true;
    }
    g = end;
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (dropped[i]) continue;
    if (kept != i) s[kept] = std::move(s[i]);
    ++kept;
  }
  s.erase(s.begin() + static_cast<std::ptrdiff_t>(kept), s.end());
}

/// The handler of boost::json::basic_parser (the "Handler" requirements in
/// boost/json/basic_parser.hpp): builds netcall::value from parse events.
///
/// Values of the containers being parsed wait on one flat stack (`values_`), and the names of
/// the open objects' members on another (`names_`); when a container closes, the parser says how
/// many elements it has and they are moved off the stacks into it, so each array or struct is
/// allocated once at its final size and nesting never recurses. Text that arrives in pieces (a
/// string, name or number split across writes, or a string with escapes) collects in `text_` /
/// `number_`, which keep their capacity from one text to the next: a number given whole is
/// converted where the parser holds it, and allocates nothing.
class value_builder {
 public:
  // The parser's size limits; netcall's own are max_depth and the stream's byte limit.
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  /// Numbers beyond the double range are read on (as infinity) instead of failing the parse:
  /// how parse_checked tells JSON holding one from text that is not JSON.
  void accept_out_of_range() { accept_out_of_range_ = true; }

  /// The value of the text just completed (the parser is done()); leaves the builder empty.
  value take_result() {
    value v = std::move(values_.back());
    values_.clear();
    return v;
  }

  /// Drops what a failed or finished text left behind, and memory a large text made the buffers
  /// grow to (a builder is long-lived: one per thread or per connection).
  void clear() {
    values_.clear();
    names_.clear();
    text_.clear();
    number_.clear();
    if (values_.capacity() > retained_values) std::vector<value>().swap(values_);
    if (names_.capacity() > retained_values) std::vector<std::string>().swap(names_);
    if (text_.capacity() > retained_chars) std::string().swap(text_);
    if (number_.capacity() > retained_chars) std::string().swap(number_);
  }

  bool on_document_begin(bj::error_code&) {
    clear();
    return true;
  }
  bool on_document_end(bj::error_code&) { return true; }

  bool on_array_begin(bj::error_code&) { return true; }
  bool on_array_end(std::size_t n, bj::error_code&) {
    const auto first = values_.end() - static_cast<std::ptrdiff_t>(n);
    array a(std::make_move_iterator(first), std::make_move_iterator(values_.end()));
    values_.erase(first, values_.end());
    values_.emplace_back(std::move(a));
    return true;
  }

  bool on_object_begin(bj::error_code&) { return true; }
  bool on_object_end(std::size_t n, bj::error_code&) {
    const auto first_value = values_.end() - static_cast<std::ptrdiff_t>(n);
    const auto first_name = names_.end() - static_cast<std::ptrdiff_t>(n);
    structure s;
    s.reserve(n);
    auto name = first_name;
    for (auto it = first_value; it != values_.end(); ++it, ++name) {
      s.emplace_back(std::move(*name), std::move(*it));
    }
    values_.erase(first_value, values_.end());
    names_.erase(first_name, names_.end());
    keep_last_of_duplicates(s);
    values_.emplace_back(std::move(s));
    return true;
  }

  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    value::storage& v = values_.emplace_back().get();
    if (text_.empty()) {
      v.emplace<std::string>(s.data(), s.size());
    } else {
      v.emplace<std::string>(take_pieces(s));
    }
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
    // Paired with the value that follows.
    if (text_.empty()) {
      names_.emplace_back(s.data(), s.size());
    } else {
      names_.emplace_back(take_pieces(s));
    }
    return true;
  }

  bool on_number_part(bj::string_view s, bj::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view, bj::error_code&) {
    number_.clear();
    values_.emplace_back(i);
    return true;
  }
  /// Only above INT64_MAX (value.hpp holds no uint64): a double, rounded from the text.
  bool on_uint64(std::uint64_t u, bj::string_view s, bj::error_code& ec) {
    return push_double(static_cast<double>(u), s, ec);
  }
  /// `approx` is Boost.JSON's inexact conversion: used only to tell overflow from underflow.
  bool on_double(double approx, bj::string_view s, bj::error_code& ec) {
    return push_double(approx, s, ec);
  }

  bool on_bool(bool b, bj::error_code&) {
    values_.emplace_back(b);
    return true;
  }
  bool on_null(bj::error_code&) {
    values_.emplace_back();
    return true;
  }
  // Comments are refused by the parse options; these are never called.
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }

 private:
  static constexpr std::size_t retained_values = 1024;
  static constexpr std::size_t retained_chars = 4096;

  /// The whole of a string that came in pieces: those collected in `text_`, then `s`.
  std::string take_pieces(bj::string_view s) {
    text_.append(s.data(), s.size());
    std::string whole = std::move(text_);
    text_.clear();
    return whole;
  }

  /// Converts the number's text (the pieces in `number_`, then `s`) exactly.
  bool push_double(double approx, bj::string_view s, bj::error_code& ec) {
    std::string_view text(s.data(), s.size());
    if (!number_.empty()) {
      number_.append(s.data(), s.size());
      text = number_;
    }
    double d = 0.0;
    const auto [end, errc] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (errc == std::errc::result_out_of_range) {
      // libstdc++ reports both ways out of the double range. An overflowing number (at least
      // DBL_MAX + half an ulp) would be infinity, which JSON cannot carry back: refused. One that
      // underflows (below half the smallest denormal) rounds to zero, which is kept. Boost's
      // approximation is far from the boundary between the two, so it tells them apart.
      if (!(std::fabs(approx) < 1.0)) {
        if (!accept_out_of_range_) {
          ec = number_out_of_range;
          return false;
        }
        d = approx;  // only to read on (parse_checked): such a value is never used
      } else {
        d = text.front() == '-' ? -0.0 : 0.0;
      }
    } else if (errc != std::errc() || end != text.data() + text.size()) {
      ec = bj::error::syntax;  // not expected: the parser has checked the JSON number syntax
      return false;
    }
    number_.clear();
    values_.emplace_back(d);
    return true;
  }

  std::vector<value> values_;       // values of the open containers, innermost last
  std::vector<std::string> names_;  // member names of the open objects, innermost last
  std::string text_;                // pieces of the current string or name
  std::string number_;              // pieces of the current number
  bool accept_out_of_range_ = false;
};


using sax_parser = bj::basic_parser<value_builder>;

// ----------------------------------------------------------------------------------------------
// Writing

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;  // bytes >= 0x80 pass through (UTF-8)
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_int(std::string& out, std::int64_t i) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, res.ptr);
}

/// Shortest round-trip form, always marked as a float (SPEC §2: `2.0`, never `2`); JSON has no
/// NaN or infinity, so those are written as null.
void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  const std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_key(std::string& out, std::string_view key) {
  append_quoted(out, key);
  out.push_back(':');
}


}  // namespace

// ----------------------------------------------------------------------------------------------
// reader

struct reader::impl {
  explicit impl(std::size_t depth) : max_depth(depth), parser(parse_options_for(depth)) {}
  std::size_t max_depth;
  sax_parser parser;
};

reader::reader(std::size_t max_depth) : impl_(std::make_unique<impl>(max_depth)) {}
reader::~reader() = default;

bool reader::parse(std::string_view text, value& out, std::string* why, json_error* kind) {
  sax_parser& p = impl_->parser;
  p.reset();  // also after a handler threw (bad_alloc) last time
  bj::error_code ec;
  const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = bj::error::extra_data;
  const bool ok = !ec;
  if (ok) {
    out = p.handler().take_result();
  } else {
    if (why != nullptr) *why = describe_parse_error(ec, impl_->max_depth);
    if (kind != nullptr) {
      *kind = json_error::syntax;
      if (ec == bj::error::too_deep) *kind = json_error::too_deep;
      if (ec == number_out_of_range) *kind = json_error::out_of_range;
    }
  }
  p.handler().clear();
  return ok;
}

bool parse_checked(std::string_view text, value& out, std::size_t max_depth, json_error& why) {
  reader first(max_depth);
  if (first.parse(text, out, nullptr, &why)) return true;
  if (why == json_error::syntax) return false;
  // Deeper than allowed, or a number out of range: the parse stopped there. Is all of the text
  // JSON? Read it again with neither limit (the parser keeps its own stack: no recursion).
  sax_parser p(parse_options_for(std::numeric_limits<std::size_t>::max()));
  p.handler().accept_out_of_range();
  bj::error_code ec;
  const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (ec || n < text.size()) why = json_error::syntax;
  return false;
}

// ----------------------------------------------------------------------------------------------
// stream_reader
//
// basic_parser::write_some(more = true, ...) stops at the end of one complete text and also
// consumes the whitespace that directly follows it in the same buffer; bytes after that are left
// for the next text. A number is complete only once a delimiter follows it, so `5` waits for more
// input. Size accounting: whitespace before a text is skipped here and not counted; the bytes the
// parser consumes for the text (including the whitespace it eats after it) are counted.

struct stream_reader::impl {
  impl(std::size_t depth, std::size_t max_bytes)
      : max_depth(depth), max_text_bytes(max_bytes), parser(parse_options_for(depth)) {}

  /// Ready for the next text: the parser is reset (it keeps its buffers) and so is the builder.
  void start_text() {
    parser.reset();
    parser.handler().clear();
    in_text = false;
    consumed = 0;
  }

  /// Remembers the verdict; the rest of the input cannot be framed and is swallowed.
  status fail(status s, std::string why, std::string_view& input) {
    failure = s;
    error = std::move(why);
    input.remove_prefix(input.size());
    parser.handler().clear();  // the partial tree is of no further use
    return s;
  }

  std::size_t max_depth;
  std::size_t max_text_bytes;
  sax_parser parser;
  std::size_t consumed = 0;       // bytes of the current text so far
  std::size_t last_text_bytes = 0;  // bytes of the text completed last
  bool in_text = false;           // a text has started (a non-whitespace byte was fed)
  status failure = status::need_more;  // failed or too_large once the stream is lost
  std::string error;
};

stream_reader::stream_reader(std::size_t max_depth, std::size_t max_text_bytes)
    : impl_(std::make_unique<impl>(max_depth, max_text_bytes)) {}
stream_reader::~stream_reader() = default;

const std::string& stream_reader::error() const { return impl_->error; }

std::size_t stream_reader::last_text_bytes() const { return impl_->last_text_bytes; }

stream_reader::status stream_reader::feed(std::string_view& input, value& out) {
  impl& d = *impl_;
  if (d.failure != status::need_more) {
    // Nothing after a failure can be framed: swallow the input and repeat the verdict.
    input.remove_prefix(input.size());
    return d.failure;
  }
  if (!d.in_text) {
    const std::size_t start = input.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) {
      input.remove_prefix(input.size());
      return status::need_more;
    }
    input.remove_prefix(start);
    d.in_text = true;
    d.consumed = 0;
  }

  const std::size_t allowance = d.max_text_bytes - d.consumed;
  const std::size_t chunk = std::min(input.size(), allowance);
  bj::error_code ec;
  const std::size_t n = chunk == 0 ? 0 : d.parser.write_some(true, input.data(), chunk, ec);
  d.consumed += n;
  input.remove_prefix(n);
  if (ec) return d.fail(status::failed, describe_parse_error(ec, d.max_depth), input);
  if (d.parser.done()) {
    out = d.parser.handler().take_result();
    d.last_text_bytes = d.consumed;
    d.start_text();
    return status::complete;
  }
  if (input.empty()) return status::need_more;
  // Not complete, and the text already took every byte it may have.
  return d.fail(status::too_large,
                "a JSON text may hold at most " + std::to_string(d.max_text_bytes) + " bytes",
                input);
}

// ----------------------------------------------------------------------------------------------
// Writing

void write(const value& v, std::string& out) {
  switch (v.kind()) {
    case kind::nil:
      out += "null";
      return;
    case kind::boolean:
      out += std::get<bool>(v.get()) ? "true" : "false";
      return;
    case kind::integer:
      append_int(out, std::get<std::int64_t>(v.get()));
      return;
    case kind::floating:
      append_double(out, std::get<double>(v.get()));
      return;
    case kind::string:
      append_quoted(out, std::get<std::string>(v.get()));
      return;
    case kind::bytes:
      append_quoted(out, base64_encode(std::get<bytes>(v.get()).data));
      return;
    case kind::date_time:
      append_quoted(out, std::get<date_time>(v.get()).to_iso8601());
      return;
    case kind::array: {
      out.push_back('[');
      bool first = true;
      for (const value& e : std::get<array>(v.get())) {
        if (!first) out.push_back(',');
        first = false;
        write(e, out);
      }
      out.push_back(']');
      return;
    }
    case kind::structure: {
      out.push_back('{');
      bool first = true;
      for (const member& m : std::get<structure>(v.get())) {
        if (!first) out.push_back(',');
        first = false;
        append_key(out, m.first);
        write(m.second, out);
      }
      out.push_back('}');
      return;
    }
  }
}

void write_string(std::string_view s, std::string& out) { append_quoted(out, s); }

void write_int(std::int64_t i, std::string& out) { append_int(out, i); }

}  // namespace netcall::detail::json
