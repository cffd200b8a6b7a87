// A calculator served over JSON-RPC 2.0 (TCP, HTTP) and XML-RPC on one port.
// Usage: calculator_server [HOST:PORT]   (default 127.0.0.1:8000; port 0 picks a free one)
#include <cstdio>
#include <stdexcept>

#include "netcall/server.hpp"

int main(int argc, char** argv) {
  netcall::server srv;
  srv.bind("add", [](double a, double b) { return a + b; }, {"a", "b"}, "Returns a + b.");
  srv.bind("subtract", [](double a, double b) { return a - b; }, {"a", "b"}, "Returns a - b.");
  srv.bind("multiply", [](double a, double b) { return a * b; }, {"a", "b"}, "Returns a * b.");
  srv.bind("divide", [](double a, double b) {
    if (b == 0) throw std::domain_error("division by zero");  // becomes error -32000
    return a / b;
  }, {"a", "b"}, "Returns a / b.");
  srv.listen(argc > 1 ? argv[1] : "127.0.0.1:8000");
  for (const auto& ep : srv.start()) std::printf("calculator listening on %s\n", ep.c_str());
  std::fflush(stdout);
  srv.run();  // until SIGINT or SIGTERM
}
