// netcalld: the netcall server daemon (SPEC §2): the built-in modules plus serve_main, which
// gives it every flag, the config file, logs, metrics and systemd readiness (the same call a
// user's own server binary makes: examples/my_server.cpp).
#include <sstream>
#include <string>
#include <vector>

#include "modules.hpp"
#include "netcall/serve.hpp"

int main(int argc, char** argv) {
  netcall::server server;
  netcall::serve_info info;
  info.program = "netcalld";
  info.description =
      "netcalld: a netcall RPC server. Every --listen port speaks JSON-RPC 2.0 (raw TCP and HTTP\n"
      "POST), XML-RPC (HTTP POST /RPC2) and MessagePack-RPC (raw TCP); the first bytes of a\n"
      "connection pick the protocol.\n"
      "Prints 'netcalld listening on HOST:PORT' per listener once ready; logs go to stderr.";
  info.modules_help =
      "Comma-separated built-in modules to serve: math,text,demo or all (system.* "
      "introspection is always served)";
  info.configure = [](netcall::server& srv, const std::string& modules) {
    std::vector<std::string> chosen;
    std::stringstream in(modules);
    for (std::string item; std::getline(in, item, ',');) {
      if (!item.empty()) chosen.push_back(item);
    }
    if (chosen.size() == 1 && chosen[0] == "all") chosen = netcalld::module_names();
    if (chosen.empty()) {
      throw std::invalid_argument("--modules is empty (choose from math,text,demo or all)");
    }
    for (const auto& m : chosen) {
      try {
        netcalld::register_module(srv.procedures(), m);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("--modules: ") + e.what() +
                                    " (choose from math,text,demo or all)");
      }
    }
  };
  return netcall::serve_main(argc, argv, server, info);
}
