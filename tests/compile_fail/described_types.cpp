// Must compile: structs and enums described with Boost.Describe need no codec of their own, as
// call arguments, results and procedure params (nested, in vectors and optionals, in a
// coroutine procedure). tests/CMakeLists.txt runs the compiler on this file (-fsyntax-only).
#include <boost/describe.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netcall/client.hpp"
#include "netcall/server.hpp"
#include "netcall/task.hpp"

enum class colour { red, green };
BOOST_DESCRIBE_ENUM(colour, red, green)

struct point {
  int x = 0;
  int y = 0;
};
BOOST_DESCRIBE_STRUCT(point, (), (x, y))

struct shape {
  std::string name;
  std::vector<point> corners;
  std::optional<colour> fill;
};
BOOST_DESCRIBE_STRUCT(shape, (), (name, corners, fill))

void bind_them(netcall::server& srv) {
  srv.bind("shape.area", [](const shape& s) { return static_cast<double>(s.corners.size()); });
  srv.bind("shape.fill", [](shape s, colour c) {
    s.fill = c;
    return s;
  });
  srv.bind("shape.later", [](netcall::call_context& ctx, shape s) -> netcall::task<shape> {
    co_await netcall::sleep_for(ctx, std::chrono::milliseconds(1));
    co_return s;
  });
  srv.bind_blocking("shape.all",
                    [](std::vector<colour> cs) { return std::vector<shape>(cs.size()); });
}

netcall::task<colour> call_them(netcall::client& c) {
  shape s{"tri", {{0, 0}, {1, 0}, {0, 1}}, colour::red};
  shape back = c.call<shape>("shape.fill", s, colour::green);
  // A named vector: gcc 12 rejects a braced temporary (std::vector{...}) inside a co_await
  // expression ("array used as initializer"), a compiler bug, not netcall's.
  const std::vector<colour> which{colour::red};
  std::vector<shape> all = co_await c.async_call<std::vector<shape>>("shape.all", which);
  co_return back.fill.value_or(all.empty() ? colour::red : colour::green);
}
