// A server binary of your own with every flag of netcalld (SPEC §2, §7): --listen, --threads,
// limits, TLS, tokens, clusters, the registry, --config FILE, logs, the access log, /metrics and
// systemd readiness, from one call (docs/operations.md).
//
//   my_server --listen 127.0.0.1:0 --config my_server.yaml --access-log -
//   my_server --help
#include <cstdint>
#include <string>

#include "netcall/serve.hpp"

int main(int argc, char** argv) {
  netcall::server srv;
  // Defaults in code; flags and the config file override them.
  srv.options().max_message_bytes = 1 << 20;
  srv.bind("add", [](std::int64_t a, std::int64_t b) { return a + b; }, {"a", "b"},
           "Returns a + b.");
  srv.bind("greet", [](std::string name) { return "hello, " + name; }, {"name"},
           "Greets `name`.");
  netcall::serve_info info;
  info.program = "my_server";
  info.description = "my_server: an example netcall server (add, greet).";
  return netcall::serve_main(argc, argv, srv, info);
}
