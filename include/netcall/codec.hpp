#pragma once
/// \file
/// How C++ types cross the wire: `netcall::codec<T>` converts a `T` to and from
/// `netcall::value`, which every protocol reads and writes (docs/library.md "Types").
///
/// Built in: `netcall::value` (anything), `bool`, every integer type (range-checked), `float`,
/// `double`, `long double`, `std::string`, `std::string_view` and `const char*` (a param views
/// the call's own string: valid while the procedure runs), string literals, `netcall::bytes`,
/// `netcall::date_time`, `netcall::array`, `netcall::structure`, `std::optional<T>`,
/// `std::vector<T>`, `std::array<T, N>`, `std::map`/`std::unordered_map` with `std::string`
/// keys (a struct), `std::pair`/`std::tuple` (an array of exactly their size), enums described
/// with `BOOST_DESCRIBE_ENUM` (by name) and structs described with `BOOST_DESCRIBE_STRUCT` (a
/// struct of their public members, by name).
///
/// Anything else: specialize `netcall::codec` for it:
/// ```cpp
/// template <> struct netcall::codec<money> {
///   static netcall::value to(const money& m) { return m.cents; }            // required
///   static money from(const netcall::value& v) { return {v.as_int()}; }     // required
///   static std::string type_name() { return "int"; }                        // optional
///   static netcall::value schema() { return netcall::structure{{"type", "integer"}}; }
/// };
/// ```
/// `from` throws `netcall::error(status_code::invalid_params, why)` for a value of the wrong
/// shape (the binding names the param: `invalid params: param 'total': why`); `type_name` is
/// the XML-RPC introspection name (`system.methodSignature`; default "any"); `schema` the JSON
/// Schema (draft-07) `rpc.discover` publishes (default `{}`, anything).
///
/// Errors: every `from` throws `netcall::error(status_code::invalid_params)` saying what was
/// expected and what came, with the path inside the value (`member 'x': element 2: expected
/// int, got string`); `to` throws `netcall::error(status_code::invalid_params)` for a value no
/// protocol can carry (an unsigned integer above INT64_MAX, an enum value without a name).

#include <array>
#include <boost/describe/class.hpp>  // BOOST_DESCRIBE_STRUCT, for users of this header
#include <boost/describe/enum.hpp>   // BOOST_DESCRIBE_ENUM, likewise
#include <boost/describe/enum_to_string.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall {

namespace detail {
template <class T>
inline constexpr bool always_false = false;

/// Character types are not numbers to netcall: a `char` param is almost always a mistake.
template <class T>
inline constexpr bool is_character =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

/// Runs `fn`; a netcall::error it throws gets `where` put before its message ("member 'x'",
/// "element 2"), so a nested error names its path. The code is kept.
template <class F>
decltype(auto) at_path(const std::string& where, F&& fn) {
  try {
    return fn();
  } catch (const error& e) {
    throw error(e.code(), where + ": " + e.message());
  }
}

/// `netcall::error(invalid_params, "expected WHAT, got KIND")`.
[[noreturn]] void throw_expected(std::string_view what, const value& got);
}  // namespace detail

/// The conversion of `T` to and from `netcall::value` (this file's header says which types
/// have one and how to add one). A type without one fails to compile here, with the message
/// below.
template <class T, class Enable = void>
struct codec {
  static_assert(detail::always_false<T>,
                "netcall::codec<T> is not defined for this type: describe a struct with "
                "BOOST_DESCRIBE_STRUCT or an enum with BOOST_DESCRIBE_ENUM, or specialize "
                "netcall::codec<T> (see netcall/codec.hpp and docs/library.md \"Types\")");
};

namespace detail {
template <class T, class = void>
struct has_type_name : std::false_type {};
template <class T>
struct has_type_name<T, std::void_t<decltype(codec<T>::type_name())>> : std::true_type {};
template <class T, class = void>
struct has_schema : std::false_type {};
template <class T>
struct has_schema<T, std::void_t<decltype(codec<T>::schema())>> : std::true_type {};
}  // namespace detail

/// The XML-RPC type name of `T` ("int", "string", "struct", ...; "any" when its codec has no
/// `type_name`), as `system.methodSignature` writes it.
template <class T>
std::string type_name_of() {
  if constexpr (detail::has_type_name<T>::value) {
    return codec<T>::type_name();
  } else {
    return "any";
  }
}

/// The JSON Schema (draft-07) of `T` as `rpc.discover` writes it (`{}` when its codec has no
/// `schema`).
template <class T>
value schema_of() {
  if constexpr (detail::has_schema<T>::value) {
    return codec<T>::schema();
  } else {
    return structure{};
  }
}

/// `T` read from `v` with `codec<T>` (throws as `codec<T>::from` does).
template <class T>
T from_value(const value& v) {
  return T(codec<T>::from(v));
}

/// `x` as a value with `codec<T>` (throws as `codec<T>::to` does).
template <class T>
value to_value(T&& x) {
  return codec<std::remove_cvref_t<T>>::to(std::forward<T>(x));
}

template <>
struct codec<value> {
  static std::string type_name() { return "any"; }
  static value schema() { return structure{}; }
  static const value& from(const value& v) { return v; }
  static value to(value v) { return v; }
};

template <>
struct codec<bool> {
  static std::string type_name() { return "boolean"; }
  static value schema() { return structure{{"type", "boolean"}}; }
  static bool from(const value& v) { return v.as_bool(); }
  static value to(bool b) { return value(b); }
};

/// Integers: every wire carries int64; a value outside `I`'s range is invalid params (never a
/// wrap), and an unsigned one above INT64_MAX cannot be sent.
template <class I>
struct codec<I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool> &&
                                 !detail::is_character<I>>> {
  static std::string type_name() { return "int"; }
  static value schema() {
    if constexpr (sizeof(I) < sizeof(std::int64_t)) {
      return structure{
          {"type", "integer"},
          {"minimum", value(static_cast<std::int64_t>(std::numeric_limits<I>::min()))},
          {"maximum", value(static_cast<std::int64_t>(std::numeric_limits<I>::max()))}};
    } else if constexpr (std::is_unsigned_v<I>) {
      return structure{{"type", "integer"}, {"minimum", value(std::int64_t{0})}};
    } else {
      return structure{{"type", "integer"}};
    }
  }
  static I from(const value& v) {
    const std::int64_t i = v.as_int();
    bool fits;
    if constexpr (std::is_unsigned_v<I>) {
      fits = i >= 0 && static_cast<std::uint64_t>(i) <= std::numeric_limits<I>::max();
    } else {
      fits = i >= std::numeric_limits<I>::min() && i <= std::numeric_limits<I>::max();
    }
    if (!fits) {
      throw error(status_code::invalid_params,
                  "integer " + std::to_string(i) + " out of range " +
                      std::to_string(+std::numeric_limits<I>::min()) + ".." +
                      std::to_string(+std::numeric_limits<I>::max()));
    }
    return static_cast<I>(i);
  }
  static value to(I i) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
      if (i > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw error(status_code::invalid_params,
                    "integer " + std::to_string(i) + " is beyond int64, which no protocol carries");
      }
    }
    return value(static_cast<std::int64_t>(i));
  }
};

/// Floating point: a double on the wire. An int is accepted when `F` holds it exactly; a
/// double outside `F`'s range is invalid params (a float param rounds to the nearest float).
template <class F>
struct codec<F, std::enable_if_t<std::is_floating_point_v<F>>> {
  static std::string type_name() { return "double"; }
  static value schema() { return structure{{"type", "number"}}; }
  static F from(const value& v) {
    if (v.is_int()) {
      const std::int64_t i = v.as_int();
      const F f = static_cast<F>(i);
      // Compared as long double: exact for every int64 and every float/double.
      if (static_cast<long double>(f) != static_cast<long double>(i) ||
          f >= static_cast<F>(9223372036854775808.0L)) {
        throw error(status_code::invalid_params,
                    "integer " + std::to_string(i) + " is not exactly a " +
                        (sizeof(F) == sizeof(float) ? "float" : "double"));
      }
      return f;
    }
    const double d = v.as_double();
    if constexpr (sizeof(F) < sizeof(double)) {
      if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<F>::max())) {
        throw error(status_code::invalid_params,
                    "number " + std::to_string(d) + " out of float range");
      }
    }
    return static_cast<F>(d);
  }
  static value to(F f) {
    if constexpr (sizeof(F) > sizeof(double)) {
      if (std::isfinite(f) && std::fabs(f) > std::numeric_limits<double>::max()) {
        throw error(status_code::invalid_params, "number out of double range");
      }
    }
    return value(static_cast<double>(f));
  }
};

template <>
struct codec<std::string> {
  static std::string type_name() { return "string"; }
  static value schema() { return structure{{"type", "string"}}; }
  static const std::string& from(const value& v) { return v.as_string(); }
  static value to(std::string s) { return value(std::move(s)); }
};

/// A `std::string_view` param views the call's own string: valid while the procedure runs
/// (a coroutine procedure's too); keep a `std::string` beyond that. Not a result type of
/// `client::call` (nothing would own the text).
template <>
struct codec<std::string_view> {
  static std::string type_name() { return "string"; }
  static value schema() { return structure{{"type", "string"}}; }
  static std::string_view from(const value& v) { return v.as_string(); }
  static value to(std::string_view s) { return value(std::string(s)); }
};

/// `const char*` as `std::string_view` above; a null pointer cannot be sent.
template <class C>
struct codec<C, std::enable_if_t<std::is_same_v<C, const char*> || std::is_same_v<C, char*>>> {
  static std::string type_name() { return "string"; }
  static value schema() { return structure{{"type", "string"}}; }
  static const char* from(const value& v) {
    const std::string& s = v.as_string();
    if (s.find('\0') != std::string::npos) {
      throw error(status_code::invalid_params, "a string holding NUL cannot be a const char*");
    }
    return s.c_str();
  }
  static value to(const char* s) {
    if (s == nullptr) throw error(status_code::invalid_params, "a null const char* cannot be sent");
    return value(std::string(s));
  }
};

/// String literals (`c.call<std::string>("echo", "text")`): the text before the first NUL.
template <std::size_t N>
struct codec<char[N]> {
  static std::string type_name() { return "string"; }
  static value schema() { return structure{{"type", "string"}}; }
  static value to(const char* s) { return value(std::string(s)); }
};

/// Octets; JSON has no bytes, so base64 text (RFC 4648, as JSON-RPC writes bytes) is accepted
/// too (docs/protocols.md "Type mapping").
template <>
struct codec<bytes> {
  static std::string type_name() { return "base64"; }
  static value schema() {
    return structure{{"type", "string"}, {"contentEncoding", "base64"}};
  }
  static bytes from(const value& v);
  static value to(bytes b) { return value(std::move(b)); }
};

/// A date-time; JSON has none, so ISO 8601 text (`2026-12-03T10:15:00.250`, as JSON-RPC writes
/// date-times) is accepted too, as is XML-RPC's `20261203T10:15:00` form. Text with a UTC
/// offset other than `Z`/`+00:00` is refused: `date_time` has no time zone, and dropping the
/// offset would shift the time.
template <>
struct codec<date_time> {
  static std::string type_name() { return "dateTime.iso8601"; }
  static value schema() { return structure{{"type", "string"}, {"format", "date-time"}}; }
  static date_time from(const value& v);
  /// Throws invalid_params for a field out of its range (month 13, microsecond 1000000, ...):
  /// no protocol could write it faithfully.
  static value to(date_time t);
};

template <>
struct codec<array> {
  static std::string type_name() { return "array"; }
  static value schema() { return structure{{"type", "array"}}; }
  static const array& from(const value& v) { return v.as_array(); }
  static value to(array a) { return value(std::move(a)); }
};

template <>
struct codec<structure> {
  static std::string type_name() { return "struct"; }
  static value schema() { return structure{{"type", "object"}}; }
  static const structure& from(const value& v) { return v.as_struct(); }
  static value to(structure s) { return value(std::move(s)); }
};

/// An array of `T` (any length).
template <class T, class A>
struct codec<std::vector<T, A>, std::enable_if_t<!std::is_same_v<std::vector<T, A>, array>>> {
  static std::string type_name() { return "array"; }
  static value schema() { return structure{{"type", "array"}, {"items", schema_of<T>()}}; }
  static std::vector<T, A> from(const value& v) {
    const array& in = v.as_array();
    std::vector<T, A> out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      out.push_back(detail::at_path("element " + std::to_string(i),
                                    [&] { return from_value<T>(in[i]); }));
    }
    return out;
  }
  static value to(const std::vector<T, A>& xs) {
    array out;
    out.reserve(xs.size());
    for (const auto& x : xs) out.push_back(codec<T>::to(static_cast<const T&>(x)));
    return value(std::move(out));
  }
  static value to(std::vector<T, A>&& xs) {
    array out;
    out.reserve(xs.size());
    for (auto&& x : xs) out.push_back(codec<T>::to(std::move(x)));
    return value(std::move(out));
  }
};

/// An array of exactly `N` `T`s.
template <class T, std::size_t N>
struct codec<std::array<T, N>> {
  static std::string type_name() { return "array"; }
  static value schema() {
    return structure{{"type", "array"},
                     {"items", schema_of<T>()},
                     {"minItems", static_cast<std::int64_t>(N)},
                     {"maxItems", static_cast<std::int64_t>(N)}};
  }
  static std::array<T, N> from(const value& v) {
    const array& in = v.as_array();
    if (in.size() != N) {
      throw error(status_code::invalid_params, "expected an array of " + std::to_string(N) +
                                                   ", got " + std::to_string(in.size()));
    }
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<T, N>{detail::at_path("element " + std::to_string(I),
                                              [&] { return from_value<T>(in[I]); })...};
    }(std::make_index_sequence<N>{});
  }
  static value to(const std::array<T, N>& xs) {
    array out;
    out.reserve(N);
    for (const auto& x : xs) out.push_back(codec<T>::to(x));
    return value(std::move(out));
  }
};

/// nil (or an omitted trailing param) is empty.
template <class T>
struct codec<std::optional<T>> {
  static std::string type_name() { return type_name_of<T>(); }
  static value schema() {
    return structure{{"anyOf", array{schema_of<T>(), structure{{"type", "null"}}}}};
  }
  static std::optional<T> from(const value& v) {
    if (v.is_nil()) return std::nullopt;
    return from_value<T>(v);
  }
  static value to(const std::optional<T>& o) { return o ? codec<T>::to(*o) : value(); }
  static value to(std::optional<T>&& o) { return o ? codec<T>::to(std::move(*o)) : value(); }
};

namespace detail {
/// A struct whose every member is a `T`, for maps with string keys.
template <class Map>
struct string_map_codec {
  using mapped = typename Map::mapped_type;
  static std::string type_name() { return "struct"; }
  static value schema() {
    return structure{{"type", "object"}, {"additionalProperties", schema_of<mapped>()}};
  }
  static Map from(const value& v) {
    Map out;
    for (const member& entry : v.as_struct()) {  // (clang 14 cannot capture a structured binding)
      const std::string& key = entry.first;
      const bool added =
          out.emplace(key, at_path("member '" + key + "'",
                                   [&] { return from_value<mapped>(entry.second); }))
              .second;
      if (!added) throw error(status_code::invalid_params, "member '" + key + "' given twice");
    }
    return out;
  }
  static value to(const Map& m) {
    structure out;
    out.reserve(m.size());
    for (const auto& [key, x] : m) out.emplace_back(key, codec<mapped>::to(x));
    return value(std::move(out));
  }
};

/// An array of exactly the tuple's size, element i read as its i-th type.
template <class Tuple>
struct tuple_codec {
  static constexpr std::size_t size = std::tuple_size_v<Tuple>;
  static std::string type_name() { return "array"; }
  static value schema() {
    array items;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (items.push_back(schema_of<std::tuple_element_t<I, Tuple>>()), ...);
    }(std::make_index_sequence<size>{});
    return structure{{"type", "array"},
                     {"items", std::move(items)},
                     {"minItems", static_cast<std::int64_t>(size)},
                     {"maxItems", static_cast<std::int64_t>(size)}};
  }
  static Tuple from(const value& v) {
    const array& in = v.as_array();
    if (in.size() != size) {
      throw error(status_code::invalid_params, "expected an array of " + std::to_string(size) +
                                                   ", got " + std::to_string(in.size()));
    }
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return Tuple(at_path("element " + std::to_string(I), [&] {
        return from_value<std::tuple_element_t<I, Tuple>>(in[I]);
      })...);
    }(std::make_index_sequence<size>{});
  }
  static value to(const Tuple& t) {
    array out;
    out.reserve(size);
    std::apply([&](const auto&... x) { (out.push_back(to_value(x)), ...); }, t);
    return value(std::move(out));
  }
};

/// An enum described with BOOST_DESCRIBE_ENUM: its enumerator's name as a string.
template <class E>
struct described_enum_codec {
  static std::string type_name() { return "string"; }
  static value schema() {
    array names;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>(
        [&](auto d) { names.push_back(value(d.name)); });
    return structure{{"type", "string"}, {"enum", std::move(names)}};
  }
  static E from(const value& v) {
    const std::string& name = v.as_string();
    E out{};
    bool found = false;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
      if (!found && name == d.name) {  // the whole string: a NUL inside is no match
        out = d.value;
        found = true;
      }
    });
    if (!found) {
      std::string names;
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
        names += names.empty() ? "" : ", ";
        names += d.name;
      });
      throw error(status_code::invalid_params,
                  "expected one of " + names + ", got '" + name + "'");
    }
    return out;
  }
  static value to(E e) {
    const char* name = boost::describe::enum_to_string(e, nullptr);
    if (name == nullptr) {
      throw error(status_code::invalid_params,
                  "enum value " +
                      std::to_string(static_cast<std::underlying_type_t<E>>(e)) + " has no name");
    }
    return value(name);
  }
};

template <class T>
struct is_optional_type : std::false_type {};
template <class T>
struct is_optional_type<std::optional<T>> : std::true_type {};

/// A struct described with BOOST_DESCRIBE_STRUCT: a struct of its public members by name. A
/// missing member is an error unless it is a `std::optional`; an unknown one is an error.
template <class T>
struct described_struct_codec {
  using members = boost::describe::describe_members<T, boost::describe::mod_public |
                                                           boost::describe::mod_inherited>;
  static std::string type_name() { return "struct"; }
  /// A struct that holds itself (a tree's node, in a vector member) is described once: inside
  /// itself it is `{"type": "object"}`.
  static value schema() {
    static thread_local bool describing = false;
    if (describing) return structure{{"type", "object"}};
    describing = true;
    struct done_describing {
      ~done_describing() { describing = false; }
    } done;
    structure properties;
    array required;
    boost::mp11::mp_for_each<members>([&](auto d) {
      using M = std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>;
      properties.emplace_back(d.name, schema_of<M>());
      if (!is_optional_type<M>::value) required.push_back(value(d.name));
    });
    return structure{{"type", "object"},
                     {"properties", std::move(properties)},
                     {"required", std::move(required)},
                     {"additionalProperties", false}};
  }
  static T from(const value& v) {
    if (!v.is_struct()) throw_expected("struct", v);
    T out{};
    std::size_t found = 0;
    boost::mp11::mp_for_each<members>([&](auto d) {
      using M = std::remove_cvref_t<decltype(out.*d.pointer)>;
      const value* m = v.find(d.name);
      if (m == nullptr) {
        if constexpr (!is_optional_type<M>::value) {
          throw error(status_code::invalid_params,
                      std::string("missing member '") + d.name + "'");
        }
        return;
      }
      ++found;
      out.*d.pointer = at_path(std::string("member '") + d.name + "'",
                               [&] { return from_value<M>(*m); });
    });
    if (found != v.as_struct().size()) {
      for (const member& entry : v.as_struct()) {
        const std::string& key = entry.first;
        bool known = false;
        boost::mp11::mp_for_each<members>([&](auto d) { known = known || key == d.name; });
        if (!known) throw error(status_code::invalid_params, "unknown member '" + key + "'");
      }
      for (std::size_t i = 0; i < v.as_struct().size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (v.as_struct()[i].first == v.as_struct()[j].first) {
            throw error(status_code::invalid_params,
                        "member '" + v.as_struct()[i].first + "' given twice");
          }
        }
      }
    }
    return out;
  }
  static value to(const T& t) {
    structure out;
    out.reserve(boost::mp11::mp_size<members>::value);
    boost::mp11::mp_for_each<members>(
        [&](auto d) { out.emplace_back(d.name, to_value(t.*d.pointer)); });
    return value(std::move(out));
  }
};

template <class T, int Depth>
struct views_at;

/// Whether a `T` read from a value points into that value: a `std::string_view` or a pointer,
/// at any depth of vectors, arrays, optionals, maps, tuples, pairs and described structs. Such a
/// `T` is fine as a param (the call's params live while the procedure runs) but not as a call's
/// result, which is gone when the call returns.
template <class T, int Depth = 0, class = void>
struct views_value
    : std::bool_constant<std::is_same_v<std::remove_cv_t<T>, std::string_view> ||
                         std::is_pointer_v<T>> {};
template <class T, class A, int D>
struct views_value<std::vector<T, A>, D> : views_at<T, D + 1> {};
template <class T, std::size_t N, int D>
struct views_value<std::array<T, N>, D> : views_at<T, D + 1> {};
template <class T, int D>
struct views_value<std::optional<T>, D> : views_at<T, D + 1> {};
template <class K, class T, class C, class A, int D>
struct views_value<std::map<K, T, C, A>, D> : views_at<T, D + 1> {};
template <class K, class T, class H, class E, class A, int D>
struct views_value<std::unordered_map<K, T, H, E, A>, D> : views_at<T, D + 1> {};
template <class A, class B, int D>
struct views_value<std::pair<A, B>, D>
    : std::bool_constant<views_at<A, D + 1>::value || views_at<B, D + 1>::value> {};
template <int D, class... T>
struct views_value<std::tuple<T...>, D> : std::bool_constant<(views_at<T, D + 1>::value || ...)> {};
/// A described struct read by the struct codec below (not one with a codec of its own): any
/// member that views.
template <class T, int D>
struct views_value<T, D,
                   std::enable_if_t<std::is_class_v<T> &&
                                    boost::describe::has_describe_members<T>::value &&
                                    std::is_base_of_v<described_struct_codec<T>, codec<T>>>> {
  static constexpr bool value = [] {
    bool any = false;
    boost::mp11::mp_for_each<typename described_struct_codec<T>::members>([&](auto d) {
      using M = std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>;
      any = any || views_at<M, D + 1>::value;
    });
    return any;
  }();
};
/// views_value at nesting depth `Depth`; deeper than 16 counts as not viewing (so a described
/// struct holding a vector of itself ends).
template <class T, int Depth>
struct views_at
    : std::conditional_t<(Depth > 16), std::false_type, views_value<T, Depth>> {};
}  // namespace detail

/// `std::map` with `std::string` keys: a struct.
template <class T, class C, class A>
struct codec<std::map<std::string, T, C, A>>
    : detail::string_map_codec<std::map<std::string, T, C, A>> {};
/// `std::unordered_map` with `std::string` keys: a struct (members in the map's order).
template <class T, class H, class E, class A>
struct codec<std::unordered_map<std::string, T, H, E, A>>
    : detail::string_map_codec<std::unordered_map<std::string, T, H, E, A>> {};
/// `std::tuple`: an array of exactly its size.
template <class... T>
struct codec<std::tuple<T...>> : detail::tuple_codec<std::tuple<T...>> {};
/// `std::pair`: an array of two.
template <class A, class B>
struct codec<std::pair<A, B>> : detail::tuple_codec<std::pair<A, B>> {};
/// Enums described with `BOOST_DESCRIBE_ENUM(E, a, b)`: by enumerator name.
template <class E>
struct codec<E, std::enable_if_t<std::is_enum_v<E> &&
                                 boost::describe::has_describe_enumerators<E>::value>>
    : detail::described_enum_codec<E> {};
/// Structs described with `BOOST_DESCRIBE_STRUCT(T, (), (a, b))`: a struct of their members.
template <class T>
struct codec<T, std::enable_if_t<std::is_class_v<T> &&
                                 boost::describe::has_describe_members<T>::value>>
    : detail::described_struct_codec<T> {};

}  // namespace netcall
