#pragma once
/// \file
/// Typed binding: converts wire values to a callable's C++ params and its result back
/// (docs/library.md "Types"). Param and result types are those of netcall/codec.hpp (a
/// trailing `std::optional` param may be omitted); results may also be `void` (written as
/// nil) or `netcall::task<R>` (a coroutine procedure). A first param of type
/// `netcall::call_context&` is not a wire param: the server passes the call's context there.
/// A wrong count or type of params raises `netcall::error(status_code::invalid_params)`
/// naming the param; a result its codec cannot write is internal_error (-32603).

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "netcall/codec.hpp"
#include "netcall/status.hpp"
#include "netcall/task.hpp"
#include "netcall/value.hpp"

namespace netcall {
class call_context;
}  // namespace netcall

namespace netcall::detail {

/// Raises invalid_params for param `index` (0-based), naming it when `name` is not empty.
[[noreturn]] void throw_bad_param(std::size_t index, const std::string& name,
                                  const std::string& why);

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};
/// What a procedure returning `R` answers: `T` for `task<T>`, else `R`.
template <class R>
struct task_result {
  using type = R;
};
template <class T>
struct task_result<task<T>> {
  using type = T;
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
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R (*)(A...)> {};

template <class Tuple>
struct drop_first {
  using type = std::tuple<>;  // only used when the tuple is not empty
};
template <class First, class... Rest>
struct drop_first<std::tuple<First, Rest...>> {
  using type = std::tuple<Rest...>;
};

/// What the binding needs to know of a procedure callable `F`.
template <class F>
struct procedure_traits {
  using traits = callable_traits<std::decay_t<F>>;
  using declared_all = typename traits::declared_args;
  /// True when the first param is `call_context&` (the server's, not a wire param).
  static constexpr bool takes_context = [] {
    if constexpr (std::tuple_size_v<declared_all> == 0) {
      return false;
    } else {
      return std::is_same_v<std::tuple_element_t<0, declared_all>, call_context&>;
    }
  }();
  /// The wire params as declared, and decayed.
  using declared = std::conditional_t<takes_context, typename drop_first<declared_all>::type,
                                      declared_all>;
  using args = std::conditional_t<takes_context,
                                  typename drop_first<typename traits::args>::type,
                                  typename traits::args>;
  static constexpr std::size_t arity = std::tuple_size_v<args>;
  using returned = typename traits::result;
  /// True for a coroutine procedure (returns netcall::task<R>).
  static constexpr bool coroutine = is_task<std::remove_cvref_t<returned>>::value;
  /// The result as the client sees it: R of task<R>, else the returned type.
  using result = typename task_result<std::remove_cvref_t<returned>>::type;
};

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
    return T(codec<T>::from(v));
  } catch (const error& e) {
    throw_bad_param(index, index < names.size() ? names[index] : std::string(), e.message());
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

/// Raises invalid_params unless `given` params fit a procedure of `arity` params whose first
/// `required` are required.
void check_param_count(std::size_t given, std::size_t required, std::size_t arity);

/// The result `r` of a procedure as a value; a codec's refusal is internal_error (-32603).
template <class R>
value result_value(R&& r) {
  try {
    return codec<std::remove_cvref_t<R>>::to(std::forward<R>(r));
  } catch (const error& e) {
    throw error(status_code::internal_error, "result: " + e.message());
  }
}

/// Calls `fn` with the converted params of `params` (and `ctx` first when it takes one);
/// returns what `fn` returns.
template <class F>
decltype(auto) invoke_with(F& fn, array& params, const std::vector<std::string>& names,
                           call_context* ctx) {
  using pt = procedure_traits<F>;
  check_param_count(params.size(),
                    required_params<typename pt::args>(std::make_index_sequence<pt::arity>{}),
                    pt::arity);
  return [&]<std::size_t... I>(std::index_sequence<I...>) -> decltype(auto) {
    if constexpr (pt::takes_context) {
      return fn(*ctx, pass_param<std::tuple_element_t<I, typename pt::declared>>(params, I,
                                                                                 names)...);
    } else {
      (void)ctx;
      return fn(pass_param<std::tuple_element_t<I, typename pt::declared>>(params, I, names)...);
    }
  }(std::make_index_sequence<pt::arity>{});
}

/// Calls `fn` as above and converts its result (void: nil).
template <class F>
value invoke_to_value(F& fn, array& params, const std::vector<std::string>& names,
                      call_context* ctx) {
  using returned = typename procedure_traits<F>::returned;
  if constexpr (std::is_void_v<returned>) {
    invoke_with(fn, params, names, ctx);
    return value();
  } else {
    return result_value(invoke_with(fn, params, names, ctx));
  }
}

/// Wraps a typed callable as `value(array&)` (registry's sync_procedure): checks the count,
/// converts each param and the result. Exceptions thrown by `fn` pass through (the server's
/// procedure runner maps them, SPEC §2).
template <class F>
std::function<value(array&)> make_invoker(F fn, std::vector<std::string> names) {
  return [fn = std::move(fn), names = std::move(names)](array& params) mutable -> value {
    return invoke_to_value(fn, params, names, nullptr);
  };
}

/// Positional params of a client call: each argument through its codec. An argument its codec
/// cannot write raises invalid_params naming it ("param 2: ..."), before anything is sent.
template <class... A>
value pack_params(A&&... args) {
  array params;
  params.reserve(sizeof...(A));
  std::size_t index = 0;
  ((++index, params.push_back(at_path("param " + std::to_string(index),
                                      [&] { return to_value(std::forward<A>(args)); }))),
   ...);
  return value(std::move(params));
}

/// The XML-RPC signature `[result, param...]` of a typed callable.
template <class F>
std::vector<std::string> signature_of() {
  using pt = procedure_traits<F>;
  using result = typename pt::result;
  std::vector<std::string> sig;
  if constexpr (std::is_void_v<result>) {
    sig.push_back("nil");
  } else {
    sig.push_back(type_name_of<std::remove_cvref_t<result>>());
  }
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (sig.push_back(type_name_of<std::tuple_element_t<I, typename pt::args>>()), ...);
  }(std::make_index_sequence<pt::arity>{});
  return sig;
}

/// The JSON Schemas of a typed callable's params, in order (rpc.discover).
template <class F>
std::vector<value> param_schemas_of() {
  using pt = procedure_traits<F>;
  std::vector<value> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (out.push_back(schema_of<std::tuple_element_t<I, typename pt::args>>()), ...);
  }(std::make_index_sequence<pt::arity>{});
  return out;
}

/// The JSON Schema of a typed callable's result (`{"type": "null"}` for void).
template <class F>
value result_schema_of() {
  using result = typename procedure_traits<F>::result;
  if constexpr (std::is_void_v<result>) {
    return structure{{"type", "null"}};
  } else {
    return schema_of<std::remove_cvref_t<result>>();
  }
}

}  // namespace netcall::detail
