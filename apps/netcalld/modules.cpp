#include "modules.hpp"

#include <atomic>
#include <cmath>
#include <stdexcept>

namespace netcalld {
namespace {

using netcall::error;
using netcall::status_code;
using netcall::value;

const std::vector<std::vector<std::string>> arithmetic_signatures = {{"int", "int", "int"},
                                                                     {"double", "double", "double"}};

void require_numbers(std::string_view procedure, const value& a, const value& b) {
  if (!a.is_number() || !b.is_number()) {
    throw error(status_code::invalid_params,
                "invalid params: " + std::string(procedure) + " takes two numbers, got " +
                    std::string(to_string(a.kind())) + " and " + std::string(to_string(b.kind())));
  }
}

value finite(std::string_view procedure, double d) {
  if (!std::isfinite(d)) {
    throw error(status_code::application_error,
                std::string(procedure) + ": result is not a finite number");
  }
  return value(d);
}

// Integers stay integers (overflow is an error, never wraps); any float makes a float (SPEC §2).
template <class IntOp, class FloatOp>
value arithmetic(std::string_view procedure, const value& a, const value& b, IntOp int_op,
                 FloatOp float_op) {
  require_numbers(procedure, a, b);
  if (a.is_int() && b.is_int()) {
    std::int64_t result = 0;
    if (int_op(a.as_int(), b.as_int(), &result)) {
      throw error(status_code::application_error,
                  std::string(procedure) + ": integer overflow (64-bit)");
    }
    return value(result);
  }
  return finite(procedure, float_op(a.as_double(), b.as_double()));
}

void register_math(netcall::registry& r) {
  r.bind({"add", {"a", "b"}, arithmetic_signatures, "Returns a + b."},
         [](const value& a, const value& b) {
           return arithmetic(
               "add", a, b,
               [](std::int64_t x, std::int64_t y, std::int64_t* out) {
                 return __builtin_add_overflow(x, y, out);
               },
               [](double x, double y) { return x + y; });
         });
  auto subtract = [](const value& a, const value& b) {
    return arithmetic(
        "subtract", a, b,
        [](std::int64_t x, std::int64_t y, std::int64_t* out) {
          return __builtin_sub_overflow(x, y, out);
        },
        [](double x, double y) { return x - y; });
  };
  r.bind({"subtract", {"minuend", "subtrahend"}, arithmetic_signatures,
          "Returns minuend - subtrahend."},
         subtract);
  // The name tutorials of positional JSON array calls use (SPEC §2).
  r.bind({"sub", {"minuend", "subtrahend"}, arithmetic_signatures,
          "Returns minuend - subtrahend (an alias of subtract)."},
         subtract);
  r.bind({"multiply", {"a", "b"}, arithmetic_signatures, "Returns a * b."},
         [](const value& a, const value& b) {
           return arithmetic(
               "multiply", a, b,
               [](std::int64_t x, std::int64_t y, std::int64_t* out) {
                 return __builtin_mul_overflow(x, y, out);
               },
               [](double x, double y) { return x * y; });
         });
  r.bind({"divide",
          {"dividend", "divisor"},
          {{"double", "double", "double"}},
          "Returns dividend / divisor as a float; a zero divisor is an error."},
         [](const value& a, const value& b) {
           require_numbers("divide", a, b);
           if (b.as_double() == 0.0) {
             throw error(status_code::application_error, "divide: division by zero");
           }
           return finite("divide", a.as_double() / b.as_double());
         });
}

void register_text(netcall::registry& r) {
  r.bind({"echo", {"value"}, {{"any", "any"}}, "Returns its one argument unchanged."},
         [](value v) { return v; });  // moved in and out: a large argument is never copied
  r.bind("is_alnum",
         [](const std::string& text) {
           if (text.empty()) return false;
           for (unsigned char ch : text) {
             if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z'))) {
               return false;
             }
           }
           return true;
         },
         {"text"}, "True when text is non-empty and every character is an ASCII letter or digit.");
}

std::atomic<std::int64_t> counter{0};

void register_demo(netcall::registry& r) {
  constexpr std::int64_t max_sleep_ms = 3'600'000;
  // A coroutine procedure: the wait is a timer on the call's event loop, no thread is held.
  r.bind(
      "sleep",
      [](netcall::call_context& ctx, std::int64_t ms) -> netcall::task<std::int64_t> {
        if (ms < 0 || ms > max_sleep_ms) {
          throw error(status_code::invalid_params,
                      "invalid params: sleep takes one integer ms, 0 to 3600000");
        }
        co_await netcall::sleep_for(ctx, std::chrono::milliseconds(ms));
        co_return ms;
      },
      {"ms"}, "Waits ms milliseconds (0 to 3600000) without holding a thread; returns ms.");
  r.bind("counter.increment", [] { return ++counter; }, {},
         "Adds 1 to the process-wide counter; returns the new value.");
  r.bind("counter.get", [] { return counter.load(); }, {},
         "Returns the process-wide counter.");
}

}  // namespace

const std::vector<std::string>& module_names() {
  static const std::vector<std::string> names = {"math", "text", "demo"};
  return names;
}

void register_module(netcall::registry& procedures, std::string_view name) {
  if (name == "math") return register_math(procedures);
  if (name == "text") return register_text(procedures);
  if (name == "demo") return register_demo(procedures);
  throw std::invalid_argument("unknown module '" + std::string(name) + "'");
}

}  // namespace netcalld
