#pragma once
/// \file
/// The value model: one type for everything that crosses the wire.
///
/// A `netcall::value` is one of nil, bool, int64, double, string, bytes, date-time, array or
/// struct: the union of what JSON, XML-RPC and MessagePack can express. How each kind is written
/// by each protocol is documented in docs/protocols.md ("Type mapping").

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace netcall {

class value;

/// The nil value (JSON `null`, XML-RPC `<nil/>`, MessagePack nil).
struct nil_t {
  friend bool operator==(nil_t, nil_t) noexcept { return true; }
};
/// The one nil value.
inline constexpr nil_t nil{};

/// Raw octets (XML-RPC `<base64>`, MessagePack `bin`, base64 text in JSON).
struct bytes {
  std::string data;  ///< the octets, any values including NUL
  friend bool operator==(const bytes&, const bytes&) = default;
};

/// A calendar date and wall-clock time without a time zone, as XML-RPC's `dateTime.iso8601`,
/// to the microsecond. An aggregate: `date_time{2026, 12, 3, 10, 0, 0, 123456}`.
///
/// How each protocol carries one (docs/protocols.md "Type mapping"): JSON as ISO 8601 text
/// (`to_iso8601`, the fraction included); MessagePack as the timestamp extension (msgpack spec
/// "Timestamp extension type", type -1), microseconds included; XML-RPC has no sub-second
/// dateTime; the fraction is dropped when written (`to_xmlrpc`).
struct date_time {
  int year = 1970;      ///< 0..9999
  int month = 1;        ///< 1..12
  int day = 1;          ///< 1..31
  int hour = 0;         ///< 0..23
  int minute = 0;       ///< 0..59
  int second = 0;       ///< 0..60 (a leap second is kept)
  int microsecond = 0;  ///< 0..999999: the fraction of the second, in microseconds
  /// Every field compared, microseconds included.
  friend bool operator==(const date_time&, const date_time&) = default;

  /// "YYYYMMDDTHH:MM:SS", the form Python's xmlrpc.client reads and writes (SPEC §2). XML-RPC
  /// has no sub-second dateTime; the fraction is dropped when written (`microsecond` is not in
  /// the text).
  std::string to_xmlrpc() const;
  /// "YYYY-MM-DDTHH:MM:SS" (ISO 8601 extended form, RFC 3339 §5.6 without an offset), used
  /// where JSON carries a date-time, followed by ".ffffff" (always 6 digits) when `microsecond`
  /// is not 0: "2026-12-03T10:00:00.123456", "2026-12-03T10:00:00.000100".
  std::string to_iso8601() const;
  /// Parses "YYYYMMDDTHH:MM:SS" (the XML-RPC form) or "YYYY-MM-DDTHH:MM:SS" (ISO 8601 extended),
  /// either optionally followed by "Z" or a "+HH:MM"/"-HH:MM" offset (the offset is ignored: the
  /// value has no time zone). The extended form may carry a fraction of a second of 1 to 9
  /// digits after the seconds ("2026-12-03T10:00:00.123456Z", RFC 3339 §5.6 time-secfrac): it
  /// is read to the microsecond, digits beyond the sixth truncated (".1234569" is 123456 µs);
  /// the XML-RPC form takes no fraction (XML-RPC has no sub-second dateTime).
  /// Returns false, leaving `out` unchanged, when `text` is none of these or a field is out of
  /// range (year 0..9999, a real day of the month, hour 0..23, minute 0..59, second 0..60).
  static bool parse(std::string_view text, date_time& out);
  /// True when every field is in its range: year 0..9999, a real day of the month, hour 0..23,
  /// minute 0..59, second 0..60, microsecond 0..999999 (what `parse` accepts and every
  /// protocol can write).
  bool valid() const noexcept;
};

/// An ordered list of values.
using array = std::vector<value>;
/// One named member of a struct.
using member = std::pair<std::string, value>;
/// A struct (JSON object, XML-RPC `<struct>`, MessagePack map with string keys). Members keep
/// the order in which they were written; lookups use the first member of a name.
using structure = std::vector<member>;

/// The kinds of value, in the order of `value::storage` alternatives.
enum class kind { nil, boolean, integer, floating, string, bytes, date_time, array, structure };

/// The name of a kind as XML-RPC introspection writes it: "nil", "boolean", "int", "double",
/// "string", "base64", "dateTime.iso8601", "array", "struct".
std::string_view to_string(kind k) noexcept;

/// One value of any kind. Cheap to move; copying copies the whole tree.
class value {
 public:
  /// The storage; alternatives are in the order of `netcall::kind`.
  using storage = std::variant<nil_t, bool, std::int64_t, double, std::string, bytes, date_time,
                               array, structure>;

  value() noexcept = default;                        ///< nil
  value(nil_t) noexcept {}                           ///< nil
  value(bool b) noexcept : v_(b) {}                  ///< boolean
  /// Any integer type that fits int64 (unsigned 64-bit values above INT64_MAX are not allowed:
  /// use a double or a string).
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char> &&
             (std::is_signed_v<I> || sizeof(I) < sizeof(std::int64_t)))
  value(I i) noexcept : v_(static_cast<std::int64_t>(i)) {}
  value(double d) noexcept : v_(d) {}                         ///< floating point
  value(std::string s) noexcept : v_(std::move(s)) {}         ///< UTF-8 text
  value(std::string_view s) : v_(std::string(s)) {}           ///< UTF-8 text
  value(const char* s) : v_(std::string(s)) {}                ///< UTF-8 text
  value(netcall::bytes b) noexcept : v_(std::move(b)) {}      ///< octets
  value(netcall::date_time t) noexcept : v_(t) {}             ///< date-time
  value(netcall::array a) noexcept : v_(std::move(a)) {}      ///< array
  value(netcall::structure s) noexcept : v_(std::move(s)) {}  ///< struct

  /// Which kind this value holds.
  netcall::kind kind() const noexcept { return static_cast<netcall::kind>(v_.index()); }

  bool is_nil() const noexcept { return kind() == kind::nil; }
  bool is_bool() const noexcept { return kind() == kind::boolean; }
  bool is_int() const noexcept { return kind() == kind::integer; }
  bool is_double() const noexcept { return kind() == kind::floating; }
  /// True for int and double.
  bool is_number() const noexcept { return is_int() || is_double(); }
  bool is_string() const noexcept { return kind() == kind::string; }
  bool is_bytes() const noexcept { return kind() == kind::bytes; }
  bool is_date_time() const noexcept { return kind() == kind::date_time; }
  bool is_array() const noexcept { return kind() == kind::array; }
  bool is_struct() const noexcept { return kind() == kind::structure; }

  /// Typed access. Each throws `netcall::error(status_code::invalid_params)` naming the expected
  /// and the actual kind when the value holds another kind.
  bool as_bool() const;
  std::int64_t as_int() const;
  /// A double, or an int converted to double.
  double as_double() const;
  const std::string& as_string() const;
  const netcall::bytes& as_bytes() const;
  const netcall::date_time& as_date_time() const;
  const netcall::array& as_array() const;
  netcall::array& as_array();
  const netcall::structure& as_struct() const;
  netcall::structure& as_struct();

  /// The first member named `key` of a struct, or nullptr (also when this is not a struct).
  const value* find(std::string_view key) const noexcept;

  /// The underlying variant, for `std::visit`.
  const storage& get() const noexcept { return v_; }
  storage& get() noexcept { return v_; }

  /// Deep equality: same kind and equal contents (an int never equals a double).
  friend bool operator==(const value& a, const value& b) { return a.v_ == b.v_; }

 private:
  storage v_;
};

/// A compact human-readable rendering (JSON-like; bytes as `b"<base64>"`, date-times as
/// `dt"YYYYMMDDTHH:MM:SS"`, or `dt"YYYYMMDDTHH:MM:SS.ffffff"` with microseconds), for test
/// messages and logs. Not a wire format.
std::string to_debug_string(const value& v);

/// Compact JSON text of `v`, as JSON-RPC writes it (docs/protocols.md "Type mapping": bytes as
/// base64 text, date-times as ISO 8601 text, doubles always with a fraction: `2.0`).
std::string to_json(const value& v);
/// Parses exactly one JSON text into `out` (ints stay int64, objects keep member order).
/// Returns false when `text` is not one JSON text or nests deeper than `max_depth`.
bool from_json(std::string_view text, value& out, std::size_t max_depth = 128);

/// Why `from_json` refused a text.
enum class json_error {
  syntax,        ///< not one JSON text (RFC 8259), invalid UTF-8 included
  too_deep,      ///< JSON that nests deeper than the `max_depth` given
  out_of_range,  ///< JSON with a number beyond the double range (`1e400`): no value holds it
  /// JSON with an integer literal (no fraction, no exponent) beyond int64
  /// (`18446744073709551615`): no value holds it exactly, and netcall never rounds one to a
  /// double (docs/protocols.md "Type mapping")
  integer_out_of_range,
};

/// Like `from_json` above, and on failure sets `why`: a caller can tell a word that is not JSON
/// at all (syntax) from JSON that netcall cannot carry, which `netcall call` refuses in a PARAM
/// (docs/cli.md). Costs a second parse of `text` when it is too deep or has such a number.
bool from_json(std::string_view text, value& out, json_error& why, std::size_t max_depth = 128);

/// Base64 (RFC 4648, with padding) of `data`; used by XML-RPC `<base64>` and JSON bytes.
std::string base64_encode(std::string_view data);
/// Decodes base64, ignoring ASCII whitespace; returns false on any other invalid character or
/// a bad length.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace netcall
