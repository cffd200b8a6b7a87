// JSON text of netcall values (value/json.hpp): Boost.JSON's SAX parser reads, a direct writer
// writes.
//
// Reading: every text is parsed by boost::json::basic_parser with parse_options::max_depth (the
// reader's; strict RFC 8259, UTF-8 validated). Its handler, value_builder, builds the
// netcall::value tree directly on an explicit stack (no recursion, no intermediate
// boost::json::value). Numbers: integers that fit int64 stay int64; an integer beyond int64 is
// kept as its text when the reader is made with wide_integers::as_text (the protocols refuse the
// call); every other number (a fraction, an exponent, or an integer beyond int64 for a plain
// value) is converted from its text by
// std::from_chars, which rounds exactly to nearest (Boost 1.81's own conversion is off by an ulp
// for ~19% of doubles, so `echo` would not return its argument). A number whose magnitude is
// beyond the double range (1e400) makes the text a parse error ("number out of range"); one that
// underflows below the smallest denormal (1e-400) becomes the nearest double, a signed zero.
// Exponents of any length: Boost 1.81 fails a number whose exponent does not fit an int, so the
// text goes to the parser through an exponent_guard that holds back the digits that would
// overflow it (see there); the conversion still sees the whole text.
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

#include "common/limits.hpp"

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
/// code itself for an exponent it cannot count (see exponent_guard: only for a significand of
/// more than 10^9 digits, far beyond any message size limit in use).
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
///
/// With id_numbers::as_text, a number that is not an int64 at a JSON-RPC id's place is kept as
/// its text (json.hpp); the builder follows the two outermost levels of nesting to know the place.
class value_builder {
 public:
  // The parser's size limits; netcall's own are max_depth and the stream's byte limit.
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  using refusal = json::refusal;

  /// Sets the limits of the texts to come: the decoded-size budget (`limits.max_decoded_ratio`
  /// times the bytes fed so far, plus the allowance; 0: none) and the most items a top-level
  /// array may have (0: no limit; the JSON-RPC batch limit).
  void set_limits(const decode_limits& limits, std::size_t max_top_items) {
    ratio_ = limits.max_decoded_ratio;
    allowance_ = limits.decoded_allowance_bytes;
    max_top_items_ = max_top_items;
  }
  /// The bytes of the current text the parser has been given so far (what the budget grows
  /// with).
  void set_fed(std::size_t bytes) { fed_ = bytes; }
  /// Why the text just completed was not built (none when it was).
  refusal refused() const { return refused_; }
  /// The decoded bytes counted when the budget was passed, or the top-level array's item count.
  std::size_t refused_count() const { return refused_ == refusal::over_budget ? cost_ : top_items_; }

  value_builder(id_numbers ids, wide_integers wide) : ids_(ids), wide_(wide) {}

  /// True when the text just completed held an integer beyond int64 kept as text
  /// (wide_integers::as_text).
  bool held_wide_integers() const { return held_wide_; }

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
    depth_ = 0;
    top_is_array_ = false;
    top_items_ = 0;
    cost_ = 0;  // fed_ is the caller's (set_fed), kept across the document's start
    refused_ = refusal::none;
    held_wide_ = false;
    values_.clear();
    names_.clear();
    text_.clear();
    number_.clear();
    held_.clear();
    if (values_.capacity() > retained_values) std::vector<value>().swap(values_);
    if (names_.capacity() > retained_values) std::vector<std::string>().swap(names_);
    if (text_.capacity() > retained_chars) std::string().swap(text_);
    if (number_.capacity() > retained_chars) std::string().swap(number_);
  }

  /// Exponent digits the parser does not see (exponent_guard): they belong at the end of the
  /// number being parsed, which completes after them.
  void hold_exponent_digits(std::string_view digits) { held_.append(digits); }

  /// When the parser stopped at the end of its input inside a number's exponent (it passed
  /// the number's text so far, on_number_part): how many significant digits (after leading
  /// zeros) the exponent has so far; -1 when it stopped elsewhere (a string, a significand).
  int exponent_digits() const {
    if (number_.empty()) return -1;  // not inside a number (each completed one clears it)
    std::size_t i = number_.find_last_of("eE");
    if (i == std::string::npos) return -1;
    ++i;
    if (i < number_.size() && (number_[i] == '+' || number_[i] == '-')) ++i;
    while (i < number_.size() && number_[i] == '0') ++i;
    return static_cast<int>(number_.size() - i);
  }

  bool on_document_begin(bj::error_code&) {
    clear();
    return true;
  }
  bool on_document_end(bj::error_code&) { return true; }

  bool on_array_begin(bj::error_code&) {
    enter(false);
    return true;
  }
  bool on_array_end(std::size_t n, bj::error_code&) {
    --depth_;
    if (discarding()) return item_done();
    const auto first = values_.end() - static_cast<std::ptrdiff_t>(n);
    array a(std::make_move_iterator(first), std::make_move_iterator(values_.end()));
    values_.erase(first, values_.end());
    values_.emplace_back(std::move(a));
    return item_done();
  }

  bool on_object_begin(bj::error_code&) {
    enter(true);
    return true;
  }
  bool on_object_end(std::size_t n, bj::error_code&) {
    --depth_;
    if (discarding()) return item_done();
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
    return item_done();
  }

  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    if (!discarding()) text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    if (!charge(decoded_cost(sizeof(value), text_.size() + s.size()))) return item_done();
    value::storage& v = values_.emplace_back().get();
    if (text_.empty()) {
      v.emplace<std::string>(s.data(), s.size());
    } else {
      v.emplace<std::string>(take_pieces(s));
    }
    return item_done();
  }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    if (!discarding()) text_.append(s.data(), s.size());
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
    // Paired with the value that follows (a member costs its name and its value).
    if (!charge(decoded_cost(sizeof(std::string), text_.size() + s.size()))) return true;
    if (text_.empty()) {
      names_.emplace_back(s.data(), s.size());
    } else {
      names_.emplace_back(take_pieces(s));
    }
    return true;
  }

  bool on_number_part(bj::string_view s, bj::error_code&) {
    if (!discarding()) number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view, bj::error_code&) {
    number_.clear();
    if (!charge(sizeof(value))) return item_done();
    values_.emplace_back(i);
    return item_done();
  }
  /// Only above INT64_MAX (value.hpp holds no uint64): kept as text (wide_integers::as_text)
  /// or a double, rounded from the text.
  bool on_uint64(std::uint64_t u, bj::string_view s, bj::error_code& ec) {
    if (at_id()) return push_id_text(s);
    if (wide_ == wide_integers::as_text) return push_wide_text(s);
    return push_double(static_cast<double>(u), s, ec);
  }
  /// `approx` is Boost.JSON's inexact conversion: used only to tell overflow from underflow.
  /// Boost calls this for integers beyond uint64 and below INT64_MIN too.
  bool on_double(double approx, bj::string_view s, bj::error_code& ec) {
    if (at_id()) return push_id_text(s);
    if (wide_ == wide_integers::as_text && is_integer_text(s)) return push_wide_text(s);
    return push_double(approx, s, ec);
  }

  bool on_bool(bool b, bj::error_code&) {
    if (!charge(sizeof(value))) return item_done();
    values_.emplace_back(b);
    return item_done();
  }
  bool on_null(bj::error_code&) {
    if (!charge(sizeof(value))) return item_done();
    values_.emplace_back();
    return item_done();
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

  /// The whole text of the number that ends with `s`: the pieces in `number_`, then `s`, then
  /// the exponent digits held back from the parser.
  std::string_view number_text(bj::string_view s) {
    if (number_.empty() && held_.empty()) return {s.data(), s.size()};
    number_.append(s.data(), s.size());
    number_ += held_;
    held_.clear();
    return number_;
  }

  /// An array (`object` false) or object opens one level deeper.
  void enter(bool object) {
    ++depth_;
    if (depth_ == 1) {
      top_is_array_ = !object;
    } else if (depth_ == 2) {
      inner_is_object_ = object;
    }
  }

  /// True when the value being parsed is a JSON-RPC id whose numbers are kept as text: the
  /// member "id" of the top-level object, or of an object directly inside a top-level array.
  bool at_id() const {
    if (ids_ != id_numbers::as_text) return false;
    const bool in_message = depth_ == 1 ? !top_is_array_
                                        : depth_ == 2 && top_is_array_ && inner_is_object_;
    return in_message && names_.back() == "id";
  }

  /// Keeps the number's text (number_text) as it is, in a `bytes` value (id_numbers::as_text).
  bool push_id_text(bj::string_view s) {
    if (!charge(decoded_cost(sizeof(value), number_.size() + s.size() + held_.size()))) {
      return drop_number();
    }
    values_.emplace_back(bytes{std::string(number_text(s))});
    number_.clear();
    return item_done();
  }

  /// True when the number that ends with `s` has neither a fraction nor an exponent (an
  /// integer literal; held exponent digits mean an exponent).
  bool is_integer_text(bj::string_view s) const {
    auto integral = [](std::string_view t) { return t.find_first_of(".eE") == t.npos; };
    return held_.empty() && integral(number_) && integral({s.data(), s.size()});
  }

  /// Keeps an integer literal beyond int64 (number_text) as its text in a `bytes` value
  /// (wide_integers::as_text), and notes that the text held one.
  bool push_wide_text(bj::string_view s) {
    if (!charge(decoded_cost(sizeof(value), number_.size() + s.size()))) return drop_number();
    values_.emplace_back(bytes{std::string(number_text(s))});
    number_.clear();
    held_wide_ = true;
    return item_done();
  }

  /// Drops the number being read (the text is refused: nothing is built).
  bool drop_number() {
    number_.clear();
    held_.clear();
    return item_done();
  }

  /// Converts the number's text (number_text) exactly.
  bool push_double(double approx, bj::string_view s, bj::error_code& ec) {
    if (!charge(sizeof(value))) return drop_number();
    const std::string_view text = number_text(s);
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
    return item_done();
  }

  /// True once the text is refused: events are still parsed (the framing holds), nothing is
  /// built.
  bool discarding() const { return refused_ != refusal::none; }

  /// Counts `bytes` of decoded values against the budget; false (and the text refused, what it
  /// built so far freed) once they pass it, or when the text is already refused.
  bool charge(std::size_t bytes) {
    if (discarding()) return false;
    cost_ += bytes;
    if (ratio_ == 0 || cost_ <= allowance_ + ratio_ * fed_) {
      return true;
    }
    refuse(refusal::over_budget);
    return false;
  }

  /// A value was completed: counts the items of a top-level array (a batch), refusing the
  /// text once there are more than the limit. Always true (the parser goes on).
  bool item_done() {
    if (depth_ == 1 && top_is_array_) {
      ++top_items_;
      if (max_top_items_ != 0 && top_items_ > max_top_items_ && !discarding()) {
        refuse(refusal::too_many_items);
      }
    }
    return true;
  }

  void refuse(refusal why) {
    refused_ = why;
    values_.clear();
    names_.clear();
    text_.clear();
    number_.clear();
    std::vector<value>().swap(values_);
    std::vector<std::string>().swap(names_);
  }

  std::size_t ratio_ = 0;          // decoded-size budget: bytes per byte fed (0: none)
  std::size_t allowance_ = 0;      // ... plus these bytes
  std::size_t max_top_items_ = 0;  // items of a top-level array (0: no limit)
  std::size_t fed_ = 0;            // bytes of the current text given to the parser so far
  std::size_t cost_ = 0;           // decoded bytes of the current text so far
  std::size_t top_items_ = 0;      // its items completed so far
  refusal refused_ = refusal::none;
  std::vector<value> values_;       // values of the open containers, innermost last
  std::vector<std::string> names_;  // member names of the open objects, innermost last
  std::string text_;                // pieces of the current string or name
  std::string number_;              // pieces of the current number
  std::string held_;                // exponent digits of the current number the parser skipped
  id_numbers ids_;
  wide_integers wide_;
  bool held_wide_ = false;      // the current text holds an integer kept as text (wide_)
  std::size_t depth_ = 0;       // arrays and objects open
  bool top_is_array_ = false;     // the outermost one is an array (depth_ >= 1)
  bool inner_is_object_ = false;  // the one inside it is an object (depth_ >= 2)
  bool accept_out_of_range_ = false;
};


using sax_parser = bj::basic_parser<value_builder>;

/// Boost.JSON 1.81 refuses a number whose exponent does not fit an int ("exponent overflow",
/// basic_parser::parse_number), although RFC 8259's grammar allows any number of exponent digits
/// and the value may be an ordinary one: `0e99999999999999999999` is 0, and
/// `1e-99999999999999999999` rounds to 0 like `1e-400`. The guard stands between the text and
/// the parser, across any pieces, and holds back the exponent digits after the ninth significant
/// one; they go to the builder, which converts, or keeps, the number's whole text. The parser
/// then sees an exponent of at least 10^8, which gives the same verdict as the whole one for any
/// significand shorter than 10^8 digits: zero stays zero, anything else is out of range or
/// rounds to zero.
///
/// Cheap on ordinary text: an exponent that could overflow has ten digits in a row, and a run
/// of ten digits always covers one of every ten positions, so the guard looks at one byte in
/// ten (and around digits it finds there). Only at the tenth digit of a run does it stop the
/// parser there and ask the builder where it stopped (exponent_digits): in a string or a
/// significand the run goes on as it is; in an exponent, the digits up to the ninth
/// significant one go on and the rest of the run is held back.
class exponent_guard {
 public:
  /// Ready for a new text.
  void reset() {
    run_ = 0;
    holding_ = false;
  }

  /// basic_parser::write_some of `in`, through the guard: returns how many bytes of `in` were
  /// consumed (held digits included), as write_some does.
  std::size_t write(sax_parser& parser, bool more, std::string_view in, bj::error_code& ec) {
    value_builder& builder = parser.handler();
    std::size_t done = 0;
    for (;;) {
      if (holding_) {
        const std::size_t end = digits_from(in, done);
        builder.hold_exponent_digits(in.substr(done, end - done));
        done = end;
        if (done == in.size()) {
          // The exponent may go on in the next piece; at the very end the number completes.
          return more ? done : done + parser.write_some(false, in.data() + done, 0, ec);
        }
        holding_ = false;  // a non-digit: the number ends here, for the parser to see
        run_ = 0;
      }
      const std::size_t risky = tenth_digit(in, done);
      if (risky == npos) return done + give(parser, more, in.substr(done), ec);
      if (risky > done) {
        const std::size_t n = give(parser, true, in.substr(done, risky - done), ec);
        done += n;
        // Failed, or a text ended before the run (it belongs to a later text).
        if (ec || done < risky) return done;
      }
      // The parser stopped inside a run of nine digits and more.
      const std::size_t end = digits_from(in, risky);
      int significant = builder.exponent_digits();
      std::size_t pass = end;  // the run's digits that go to the parser as they are
      if (significant >= 0) {
        pass = risky;
        while (pass < end && significant < max_exponent_digits) {
          if (significant > 0 || in[pass] != '0') ++significant;  // leading zeros count nothing
          ++pass;
        }
        holding_ = significant >= max_exponent_digits;
      }
      const bool last = pass == in.size() && !holding_;
      const std::size_t n =
          pass > risky ? give(parser, last ? more : true, in.substr(risky, pass - risky), ec) : 0;
      done = risky + n;
      if (ec || done < pass || last) return done;
    }
  }

 private:
  static constexpr std::size_t npos = std::string_view::npos;
  /// Significant exponent digits the parser gets: 10^8 <= exponent < 10^9 fits its int.
  static constexpr int max_exponent_digits = 9;
  /// A run this long (or longer) is where an exponent could overflow.
  static constexpr std::size_t long_run = 10;

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  /// The end of the run of digits that starts at `from` (`from` when there is none).
  static std::size_t digits_from(std::string_view in, std::size_t from) {
    while (from < in.size() && is_digit(in[from])) ++from;
    return from;
  }

  /// write_some of `part`, keeping count of the digits in a row at its end (run_).
  std::size_t give(sax_parser& parser, bool more, std::string_view part, bj::error_code& ec) {
    const std::size_t n = parser.write_some(more, part.data(), part.size(), ec);
    std::size_t trailing = 0;
    while (trailing < n && trailing < long_run && is_digit(part[n - 1 - trailing])) ++trailing;
    run_ = trailing == n ? std::min(run_ + n, long_run) : trailing;
    return n;
  }

  /// The first position at or after `from` that holds the tenth (or a later) digit in a row,
  /// counting the run_ digits the parser got just before `from`; npos when there is none.
  std::size_t tenth_digit(std::string_view in, std::size_t from) const {
    const std::size_t n = in.size();
    std::size_t start = from;  // runs that begin at or after it are found by the stride below
    if (run_ > 0) {
      std::size_t length = run_;
      for (; start < n && is_digit(in[start]); ++start) {
        if (++length >= long_run) return start;
      }
      ++start;  // past the non-digit that ends the carried run
    }
    // A run of ten digits that begins at or after `start` covers one of the positions
    // start + 9, start + 19, ...: look only there, and around a digit found there.
    for (std::size_t p = start + long_run - 1; p < n;) {
      if (!is_digit(in[p])) {
        p += long_run;
        continue;
      }
      std::size_t first = p;
      while (first > start && is_digit(in[first - 1])) --first;
      if (p - first + 1 >= long_run) return first + long_run - 1;
      std::size_t end = p + 1;
      for (; end < n && is_digit(in[end]); ++end) {
        if (end - first + 1 >= long_run) return end;
      }
      start = end + 1;  // the next run begins after the non-digit that ends this one
      p = start + long_run - 1;
    }
    return npos;
  }

  std::size_t run_ = 0;   // digits in a row at the end of what the parser got (capped at 10)
  bool holding_ = false;  // in an exponent that has its nine significant digits: hold the rest
};

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

/// The one-line reason of a refusal, naming the limit.
std::string describe_refusal(const value_builder& b, std::size_t max_top_items,
                             std::size_t text_bytes, const decode_limits& limits) {
  if (b.refused() == refusal::too_many_items) {
    return "batch of " + std::to_string(b.refused_count()) + " entries exceeds the limit of " +
           std::to_string(max_top_items);
  }
  return "it decodes to more than " + std::to_string(limits.decoded_budget(text_bytes)) +
         " bytes (" + std::to_string(limits.max_decoded_ratio) + " times its " +
         std::to_string(text_bytes) + " bytes + " +
         std::to_string(limits.decoded_allowance_bytes) + ")";
}

struct reader::impl {
  impl(std::size_t depth, id_numbers ids, wide_integers wide)
      : max_depth(depth), parser(parse_options_for(depth), ids, wide) {
    limits.max_decoded_ratio = 0;  // no budget until set_limits
  }
  std::size_t max_depth;
  decode_limits limits;  // the budget's
  std::size_t max_top_items = 0;
  refusal last = refusal::none;
  bool held_wide = false;  // the last text parsed held an integer kept as text
  sax_parser parser;
  exponent_guard guard;
};

void reader::set_limits(const decode_limits& limits, std::size_t max_top_items) {
  impl_->limits = limits;
  impl_->max_top_items = max_top_items;
}

refusal reader::last_refusal() const { return impl_->last; }

reader::reader(std::size_t max_depth, id_numbers ids, wide_integers wide)
    : impl_(std::make_unique<impl>(max_depth, ids, wide)) {}
reader::~reader() = default;

bool reader::held_wide_integers() const { return impl_->held_wide; }

bool reader::parse(std::string_view text, value& out, std::string* why, json_error* kind) {
  sax_parser& p = impl_->parser;
  p.reset();  // also after a handler threw (bad_alloc) last time
  p.handler().clear();
  p.handler().set_limits(impl_->limits, impl_->max_top_items);
  p.handler().set_fed(text.size());
  impl_->guard.reset();
  bj::error_code ec;
  const std::size_t n = impl_->guard.write(p, false, text, ec);
  if (!ec && n < text.size()) ec = bj::error::extra_data;
  impl_->last = ec ? refusal::none : p.handler().refused();
  const bool ok = !ec && impl_->last == refusal::none;
  impl_->held_wide = ok && p.handler().held_wide_integers();
  if (ok) {
    out = p.handler().take_result();
  } else {
    if (why != nullptr) {
      *why = ec ? describe_parse_error(ec, impl_->max_depth)
                : describe_refusal(p.handler(), impl_->max_top_items, text.size(), impl_->limits);
    }
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
  reader first(max_depth, id_numbers::as_values, wide_integers::as_text);
  if (first.parse(text, out, nullptr, &why)) {
    if (!first.held_wide_integers()) return true;
    out = value();
    why = json_error::integer_out_of_range;
    return false;
  }
  if (why == json_error::syntax) return false;
  // Deeper than allowed, or a number out of range: the parse stopped there. Is all of the text
  // JSON? Read it again with neither limit (the parser keeps its own stack: no recursion).
  sax_parser p(parse_options_for(std::numeric_limits<std::size_t>::max()), id_numbers::as_values,
               wide_integers::as_doubles);
  p.handler().accept_out_of_range();
  exponent_guard guard;  // exponents of any length, as the first reading
  bj::error_code ec;
  const std::size_t n = guard.write(p, false, text, ec);
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
  impl(std::size_t depth, std::size_t max_bytes, id_numbers ids, wide_integers wide)
      : max_depth(depth), max_text_bytes(max_bytes), parser(parse_options_for(depth), ids, wide) {}

  /// Ready for the next text: the parser is reset (it keeps its buffers) and so is the builder.
  void start_text() {
    parser.reset();
    parser.handler().clear();
    guard.reset();
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
  decode_limits limits;  // the budget's
  std::size_t max_top_items = 0;
  refusal last = refusal::none;
  sax_parser parser;
  exponent_guard guard;           // follows the current text (reset with the parser)
  std::size_t consumed = 0;       // bytes of the current text so far
  std::size_t last_text_bytes = 0;  // bytes of the text completed last
  bool held_wide = false;           // the text completed last held an integer kept as text
  bool in_text = false;           // a text has started (a non-whitespace byte was fed)
  status failure = status::need_more;  // failed or too_large once the stream is lost
  std::string error;
};

stream_reader::stream_reader(std::size_t max_depth, std::size_t max_text_bytes, id_numbers ids,
                             wide_integers wide)
    : impl_(std::make_unique<impl>(max_depth, max_text_bytes, ids, wide)) {}
stream_reader::~stream_reader() = default;

bool stream_reader::held_wide_integers() const { return impl_->held_wide; }

const std::string& stream_reader::error() const { return impl_->error; }

void stream_reader::set_limits(const decode_limits& limits, std::size_t max_top_items) {
  impl_->limits = limits;
  impl_->max_top_items = max_top_items;
  impl_->parser.handler().set_limits(limits, max_top_items);
}

refusal stream_reader::last_refusal() const { return impl_->last; }

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
  d.parser.handler().set_fed(d.consumed + chunk);
  const std::size_t n =
      chunk == 0 ? 0 : d.guard.write(d.parser, true, input.substr(0, chunk), ec);
  d.consumed += n;
  input.remove_prefix(n);
  if (ec) return d.fail(status::failed, describe_parse_error(ec, d.max_depth), input);
  if (d.parser.done()) {
    d.last_text_bytes = d.consumed;
    d.last = d.parser.handler().refused();
    if (d.last != refusal::none) {
      // Well-formed, so the stream goes on; nothing of it was kept.
      d.error = describe_refusal(d.parser.handler(), d.max_top_items, d.consumed, d.limits);
      d.held_wide = false;
      d.start_text();
      return status::refused;
    }
    d.held_wide = d.parser.handler().held_wide_integers();
    out = d.parser.handler().take_result();
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

void write_id(const value& id, std::string& out) {
  if (const bytes* text = std::get_if<bytes>(&id.get())) {
    out += text->data;  // a number's JSON text, as a reader with id_numbers::as_text kept it
    return;
  }
  write(id, out);
}

const std::string* find_wide_integer(const value& v) {
  // Depth first, on an explicit stack: a value may nest as deep as its reader allowed.
  std::vector<const value*> pending{&v};
  while (!pending.empty()) {
    const value* at = pending.back();
    pending.pop_back();
    switch (at->kind()) {
      case kind::bytes:
        return &std::get<bytes>(at->get()).data;
      case kind::array: {
        const array& a = std::get<array>(at->get());
        for (auto it = a.rbegin(); it != a.rend(); ++it) pending.push_back(&*it);
        break;
      }
      case kind::structure: {
        const structure& o = std::get<structure>(at->get());
        for (auto it = o.rbegin(); it != o.rend(); ++it) pending.push_back(&it->second);
        break;
      }
      default:
        break;
    }
  }
  return nullptr;
}

std::string describe_wide_integer(std::string_view text) {
  constexpr std::size_t shown = 40;
  std::string out = "integer ";
  if (text.size() <= shown + 20) {
    out += text;
  } else {
    out += text.substr(0, shown);
    out += "... (" + std::to_string(text.size()) + " characters)";
  }
  out += " is beyond int64";
  return out;
}

void write_string(std::string_view s, std::string& out) { append_quoted(out, s); }

void write_int(std::int64_t i, std::string& out) { append_int(out, i); }

}  // namespace netcall::detail::json
