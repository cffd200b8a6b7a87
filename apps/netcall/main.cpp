// netcall: the command-line client (SPEC §3): `call` and `list`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "netcall/client.hpp"
#include "netcall/server.hpp"
#include "netcall/value.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_remote_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

struct common_options {
  std::string protocol = "jsonrpc";
  std::string timeout = "5s";
  int retries = 0;
};

void add_common(CLI::App& cmd, common_options& o) {
  cmd.add_option("--protocol", o.protocol, "Wire protocol: jsonrpc, jsonrpc-http, xmlrpc or msgpack")
      ->capture_default_str();
  cmd.add_option("--timeout", o.timeout,
                 "Per-call timeout, a DURATION: a number with a unit (250ms, 2s, 1m)")
      ->capture_default_str();
  cmd.add_option("--retries", o.retries,
                 "Attempts after the first when a call times out or cannot connect; every call "
                 "carries an idempotency key, so a netcall server runs it at most once")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
}

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

netcall::client_options client_options_from(const common_options& o) {
  netcall::client_options out;
  if (!netcall::parse_protocol(o.protocol, out.protocol)) {
    throw usage_error("unknown --protocol '" + o.protocol +
                      "' (choose jsonrpc, jsonrpc-http, xmlrpc or msgpack)");
  }
  auto timeout = netcall::parse_duration(o.timeout);
  if (!timeout || timeout->count() == 0) {
    throw usage_error("--timeout '" + o.timeout +
                      "' is not a positive DURATION (a number with a unit: 250ms, 2s, 1m)");
  }
  out.timeout = *timeout;
  out.retry.max_attempts = o.retries + 1;
  return out;
}

// A PARAM is a JSON literal; a word that is not valid JSON is a string; name=JSON is named.
netcall::value parse_param_value(const std::string& text);

netcall::value params_from(const std::vector<std::string>& words) {
  netcall::array positional;
  netcall::structure named;
  for (const auto& w : words) {
    const auto eq = w.find('=');
    const bool is_named = eq != std::string::npos && eq > 0 &&
                          w.find_first_of("\"[{ ") > eq &&
                          w.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                              eq;
    if (is_named) {
      named.emplace_back(w.substr(0, eq), parse_param_value(w.substr(eq + 1)));
    } else {
      positional.push_back(parse_param_value(w));
    }
  }
  if (!named.empty() && !positional.empty()) {
    throw usage_error("mix of positional and name=JSON params: use one style per call");
  }
  if (!named.empty()) return netcall::value(std::move(named));
  return netcall::value(std::move(positional));
}

int report(const netcall::error& e) {
  std::fprintf(stderr, "netcall: %s\n", e.what());
  switch (e.code()) {
    case netcall::status_code::unavailable:
    case netcall::status_code::deadline_exceeded:
      return exit_unreachable;
    default:
      return exit_remote_error;
  }
}

int run_call(const common_options& o, const std::vector<std::string>& args) {
  if (args.size() < 2) throw usage_error("call needs TARGET and METHOD (see netcall call --help)");
  auto options = client_options_from(o);
  netcall::value params = params_from({args.begin() + 2, args.end()});
  netcall::client client(args[0], options);
  auto result = client.call_params(args[1], std::move(params));
  std::printf("%s\n", netcall::to_json(result).c_str());
  return exit_ok;
}

std::string signature_text(const netcall::value& signatures) {
  if (!signatures.is_array()) return "?";
  std::string out;
  for (const auto& sig : signatures.as_array()) {
    if (!sig.is_array() || sig.as_array().empty()) continue;
    const auto& types = sig.as_array();
    if (!out.empty()) out += " | ";
    out += '(';
    for (std::size_t i = 1; i < types.size(); ++i) {
      if (i > 1) out += ", ";
      out += types[i].is_string() ? types[i].as_string() : "?";
    }
    out += ") -> ";
    out += types[0].is_string() ? types[0].as_string() : "?";
  }
  return out.empty() ? "?" : out;
}

int run_list(const common_options& o, const std::vector<std::string>& args) {
  if (args.size() != 1) throw usage_error("list takes exactly one TARGET (see netcall list --help)");
  auto options = client_options_from(o);
  netcall::client client(args[0], options);
  auto names = client.call_params("system.listMethods", netcall::array{});
  if (!names.is_array()) throw netcall::error(netcall::status_code::protocol_error,
                                              "system.listMethods did not return an array");
  for (const auto& name : names.as_array()) {
    if (!name.is_string()) continue;
    const auto& n = name.as_string();
    std::string sig = "?", help;
    try {
      sig = signature_text(client.call_params("system.methodSignature", netcall::array{n}));
    } catch (const netcall::error& e) {
      if (e.code() == netcall::status_code::unavailable ||
          e.code() == netcall::status_code::deadline_exceeded) {
        throw;
      }
    }
    try {
      auto h = client.call_params("system.methodHelp", netcall::array{n});
      if (h.is_string()) help = h.as_string().substr(0, h.as_string().find('\n'));
    } catch (const netcall::error& e) {
      if (e.code() == netcall::status_code::unavailable ||
          e.code() == netcall::status_code::deadline_exceeded) {
        throw;
      }
    }
    std::printf("%s\t%s\t%s\n", n.c_str(), sig.c_str(), help.c_str());
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "netcall: call procedures on a netcall (or any JSON-RPC 2.0 / XML-RPC) server.\n"
      "Exit codes: 0 success, 1 the server answered with an error, 2 usage error,\n"
      "3 could not connect or timed out.",
      "netcall"};
  app.require_subcommand(1);

  common_options call_opts, list_opts;
  auto* call = app.add_subcommand(
      "call",
      "Call METHOD on TARGET (HOST:PORT) and print the result as one line of JSON.\n"
      "  netcall call [OPTIONS] TARGET METHOD [PARAM]...\n"
      "PARAM is a JSON literal (2, 2.5, null, '\"x\"', '[1,2]', '{\"k\":1}'); a word that is not\n"
      "JSON is a string; name=JSON makes named params. Options come before TARGET; a PARAM\n"
      "starting with - goes after --.");
  add_common(*call, call_opts);
  call->prefix_command();

  auto* list = app.add_subcommand(
      "list", "List TARGET's methods, one a line: name, signatures, help.\n"
              "  netcall list [OPTIONS] TARGET");
  add_common(*list, list_opts);
  list->prefix_command();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "netcall: %s (see netcall --help)\n", e.what());
    return exit_usage;
  }

  try {
    auto* chosen = call->parsed() ? call : list;
    std::vector<std::string> args = chosen->remaining();
    // `--` ends the options; everything after it is a PARAM, even when it starts with `-`.
    for (auto it = args.begin(); it != args.end(); ++it) {
      if (*it == "--") {
        args.erase(it);
        break;
      }
    }
    if (!args.empty() && args[0].starts_with("-")) {
      throw usage_error("unknown option '" + args[0] + "'");
    }
    return chosen == call ? run_call(call_opts, args) : run_list(list_opts, args);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "netcall: %s\n", e.what());
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "netcall: %s\n", e.what());
    return exit_usage;
  } catch (const netcall::error& e) {
    return report(e);
  }
}

namespace {

netcall::value parse_param_value(const std::string& text) {
  netcall::value v;
  if (netcall::from_json(text, v)) return v;
  return netcall::value(text);
}

}  // namespace
