// Must NOT compile: a type without a netcall::codec (not described with Boost.Describe, no
// specialization of its own) where a value crosses the wire. tests/CMakeLists.txt compiles this
// file once per case (-DCASE=1..4) and passes when the compiler's output holds codec.hpp's
// static_assert message ("netcall::codec<T> is not defined for this type").
#include <cstdint>

#include "netcall/client.hpp"
#include "netcall/server.hpp"

struct some_unsupported {
  int x = 0;
};

#if CASE == 1  // a call's argument
void use(netcall::client& c) { c.call<int>("f", some_unsupported{}); }
#elif CASE == 2  // a call's result
void use(netcall::client& c) { c.call<some_unsupported>("f", 1); }
#elif CASE == 3  // a procedure's param
void use(netcall::server& srv) {
  srv.bind("g", [](some_unsupported s) { return static_cast<std::int64_t>(s.x); });
}
#elif CASE == 4  // a procedure's result
void use(netcall::server& srv) {
  srv.bind("g", [](std::int64_t x) { return some_unsupported{static_cast<int>(x)}; });
}
#else
#error "compile with -DCASE=1..4"
#endif
