// Must NOT compile: a call's result type that would point into the result, which is gone when
// the call returns (a std::string_view or a pointer at any depth). tests/CMakeLists.txt compiles
// this file once per case (-DCASE=1..4) and passes when the compiler's output holds
// client.hpp's static_assert message ("would point into it").
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "netcall/channel.hpp"
#include "netcall/client.hpp"
#include "netcall/codec.hpp"

struct labelled {
  std::string_view label;
  int x = 0;
};
BOOST_DESCRIBE_STRUCT(labelled, (), (label, x))

#if CASE == 1  // views in a vector
void use(netcall::client& c) { c.call<std::vector<std::string_view>>("f"); }
#elif CASE == 2  // a pointer in an optional, awaited
netcall::task<void> use(netcall::client& c) { co_await c.async_call<std::optional<const char*>>("f"); }
#elif CASE == 3  // a described struct's member, in a tuple
void use(netcall::client& c) { c.call<std::tuple<int, labelled>>("f"); }
#elif CASE == 4  // a map's values, through a channel
void use(netcall::channel& ch) { ch.call<std::map<std::string, std::string_view>>("any", "f"); }
#else
#error "compile with -DCASE=1..4"
#endif
