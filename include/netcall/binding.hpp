#pragma once
/// \file
/// Typed binding: converts wire values to C++ arguments and results back (issue 2 item 2).
///
/// Supported parameter and result types: `bool`, any integer type (range-checked), `double`
/// (also accepts an int), `std::string`, `netcall::bytes`, `netcall::date_time`,
/// `netcall::value` (anything), `netcall::array`, `netcall::structure`, `std::vector<T>` and
/// `std::optional<T>` of those (a trailing optional param may be omitted; nil reads as empty).
/// Results may also be `void` (written as nil). A wrong count or type of params raises
/// `netcall::error(status_code::invalid_params)` naming the param.

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "netcall/status.hpp"
#include "netcall/value.hpp"

namespace netcall::detail {

/// Raises invalid_params for param `index` (0-based), naming it when `name` is not empty.
[[noreturn]] void throw_bad_param(std::size_t index, const std::string& name,
                                  const std::string& why);

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Conversion of one C++ type to and from `value`, and its XML-RPC introspection type name.
template <class T, class = void>
struct codec_traits;

template <>
struct codec_traits<value> {
  static std::string type_name() { return "any"; }
  static const value& from(const value& v) { return v; }
  static value to(value v) { return v; }
};

template <>
struct codec_traits<bool> {
  static std::string type_name() { return "boolean"; }
  static bool from(const value& v) { return v.as_bool(); }
  static value to(bool b) { return value(b); }
};

template <class I>
struct codec_traits<I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>> {
  static std::string type_name() { return "int"; }
  static I from(const value& v) {
    const std::int64_t i = v.as_int();
    if constexpr (std::is_unsigned_v<I>) {
      if (i < 0 || static_cast<std::uint64_t>(i) > std::numeric_limits<I>::max()) {
        throw error(status_code::invalid_params, "integer out of range");
      }
    } else {
      if (i < std::numeric_limits<I>::min() || i > std::numeric_limits<I>::max()) {
        throw error(status_code::invalid_params, "integer out of range");
      }
    }
    return static_cast<I>(i);
  }
  static value to(I i) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
      if (i > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw error(status_code::internal_error, "result does not fit int64");
      }
    }
    return value(static_cast<std::int64_t>(i));
  }
};

template <>
struct codec_traits<double> {
  static std::string type_name() { return "double"; }
  static double from(const value& v) { return v.as_double(); }
  static value to(double d) { return value(d); }
};

template <>
struct codec_traits<std::string> {
  static std::string type_name() { return "string"; }
  static const std::string& from(const value& v) { return v.as_string(); }
  static value to(std::string s) { return value(std::move(s)); }
};

template <>
struct codec_traits<bytes> {
  static std::string type_name() { return "base64"; }
  static const bytes& from(const value& v) { return v.as_bytes(); }
  static value to(bytes b) { return value(std::move(b)); }
};

template <>
struct codec_traits<date_time> {
  static std::string type_name() { return "dateTime.iso8601"; }
  static const date_time& from(const value& v) { return v.as_date_time(); }
  static value to(date_time t) { return value(t); }
};

template <>
struct codec_traits<array> {
  static std::string type_name() { return "array"; }
  static const array& from(const value& v) { return v.as_array(); }
  static value to(array a) { return value(std::move(a)); }
};

template <>
struct codec_traits<structure> {
  static std::string type_name() { return "struct"; }
  static const structure& from(const value& v) { return v.as_struct(); }
  static value to(structure s) { return value(std::move(s)); }
};

template <class T>
struct codec_traits<std::vector<T>, std::enable_if_t<!std::is_same_v<T, value>>> {
  static std::string type_name() { return "array"; }
  static std::vector<T> from(const value& v) {
    std::vector<T> out;
    out.reserve(v.as_array().size());
    for (const auto& e : v.as_array()) out.push_back(T(codec_traits<T>::from(e)));
    return out;
  }
  static value to(std::vector<T> xs) {
    array out;
    out.reserve(xs.size());
    for (auto& x : xs) out.push_back(codec_traits<T>::to(std::move(x)));
    return value(std::move(out));
  }
};

template <class T>
struct codec_traits<std::optional<T>> {
  static std::string type_name() { return codec_traits<T>::type_name(); }
  static std::optional<T> from(const value& v) {
    if (v.is_nil()) return std::nullopt;
    return T(codec_traits<T>::from(v));
  }
  static value to(std::optional<T> o) {
    return o ? codec_traits<T>::to(std::move(*o)) : value();
  }
};

/// The call signature of a callable: result type and decayed argument types.
template <class F>
struct callable_traits : callable_traits<decltype(&F::operator())> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::remove_cvref_t<A>...>;
  /// The parameter types as declared (references kept).
  using declared_args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_traits<R(A...)> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R (*)(A...)> {};

/// How many leading params are required: trailing std::optional params may be omitted.
template <class Tuple, std::size_t... I>
constexpr std::size_t required_params(std::index_sequence<I...>) {
  std::size_t required = 0;
  ((required = is_optional<std::tuple_element_t<I, Tuple>>::value ? required : I + 1), ...);
  return required;
}

/// The value given for param `index`, or nil when it was omitted.
inline const value& param_at(const array& args, std::size_t index) {
  static const value absent;
  return index < args.size() ? args[index] : absent;
}

template <class T>
T convert_param(const array& args, std::size_t index, const std::vector<std::string>& names) {
  const value& v = param_at(args, index);
  try {
    return T(codec_traits<T>::from(v));
  } catch (const error& e) {
    throw_bad_param(index, index < names.size() ? names[index] : std::string(), e.what());
  }
}

/// Param `index` as the callable declares it: a `const value&` param is the value itself (no
/// copy), a `value` param is moved out of the call's params (they are not used after the
/// procedure); any other type is converted (convert_param).
template <class Declared>
decltype(auto) pass_param(array& args, std::size_t index,
                          const std::vector<std::string>& names) {
  if constexpr (std::is_same_v<Declared, const value&>) {
    return param_at(args, index);
  } else if constexpr (std::is_same_v<Declared, value>) {
    return index < args.size() ? std::move(args[index]) : value();
  } else {
    return convert_param<std::remove_cvref_t<Declared>>(args, index, names);
  }
}

/// Wraps a typed callable as `value(array&)` (registry's sync_procedure): checks the count,
/// converts each param and the result. Exceptions thrown by `fn` pass through (the server's
/// procedure runner maps them, SPEC §2).
template <class F>
std::function<value(array&)> make_invoker(F fn, std::vector<std::string> names) {
  using traits = callable_traits<std::decay_t<F>>;
  using args = typename traits::args;
  using declared = typename traits::declared_args;
  using result = typename traits::result;
  constexpr std::size_t arity = std::tuple_size_v<args>;
  return [fn = std::move(fn), names = std::move(names)](array& params) mutable -> value {
    constexpr std::size_t required = required_params<args>(std::make_index_sequence<arity>{});
    if (params.size() < required || params.size() > arity) {
      throw error(status_code::invalid_params,
                  "invalid params: expected " +
                      (required == arity ? std::to_string(arity)
                                         : std::to_string(required) + " to " +
                                               std::to_string(arity)) +
                      " params, got " + std::to_string(params.size()));
    }
    return [&]<std::size_t... I>(std::index_sequence<I...>) -> value {
      if constexpr (std::is_void_v<result>) {
        fn(pass_param<std::tuple_element_t<I, declared>>(params, I, names)...);
        return value();
      } else {
        return codec_traits<std::remove_cvref_t<result>>::to(
            fn(pass_param<std::tuple_element_t<I, declared>>(params, I, names)...));
      }
    }(std::make_index_sequence<arity>{});
  };
}

/// The XML-RPC signature `[result, param...]` of a typed callable.
template <class F>
std::vector<std::string> signature_of() {
  using traits = callable_traits<std::decay_t<F>>;
  using args = typename traits::args;
  using result = typename traits::result;
  std::vector<std::string> sig;
  if constexpr (std::is_void_v<result>) {
    sig.push_back("nil");
  } else {
    sig.push_back(codec_traits<std::remove_cvref_t<result>>::type_name());
  }
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (sig.push_back(codec_traits<std::tuple_element_t<I, args>>::type_name()), ...);
  }(std::make_index_sequence<std::tuple_size_v<args>>{});
  return sig;
}

}  // namespace netcall::detail
