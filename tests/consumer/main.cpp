// A program that uses netcall the way a user's project does (tests/packaging/consumer.cmake):
// serves one procedure on a free loopback port, calls it with netcall::client, and exits 0 only
// when the answer is right.
#include <cstdint>
#include <cstdio>
#include <exception>

#include "netcall/client.hpp"
#include "netcall/server.hpp"
#include "netcall/version.hpp"

int main() try {
  netcall::server srv;
  srv.bind("add", [](std::int64_t a, std::int64_t b) { return a + b; }, {"a", "b"},
           "Returns a + b.");
  srv.listen("127.0.0.1:0");
  const auto endpoints = srv.start();
  if (endpoints.empty()) {
    std::fprintf(stderr, "consumer: the server has no listener\n");
    return 1;
  }
  std::int64_t sum = 0;
  {
    netcall::client c(endpoints.front());
    sum = c.call<std::int64_t>("add", 20, 22);
  }
  srv.stop();
  std::printf("consumer: netcall %s, add(20, 22) = %lld on %s\n", netcall::version,
              static_cast<long long>(sum), endpoints.front().c_str());
  return sum == 42 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "consumer: %s\n", e.what());
  return 1;
}
