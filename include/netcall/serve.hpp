#pragma once
/// \file
/// A whole server program in one call: `serve_main` gives any server binary every flag of
/// netcalld (SPEC §2, §7; docs/operations.md), its config file, logs, access log, metrics and
/// systemd readiness.
///
/// ```cpp
/// int main(int argc, char** argv) {
///   netcall::server srv;
///   srv.bind("add", [](std::int64_t a, std::int64_t b) { return a + b; }, {"a", "b"});
///   return netcall::serve_main(argc, argv, srv);  // --listen, --config, --token-file, ...
/// }
/// ```

#include <functional>
#include <string>

#include "netcall/server.hpp"

namespace netcall {

/// What a program adds to `serve_main`'s command line and help.
struct serve_info {
  /// The program's name in messages and `--help` ("netcalld").
  std::string program = "netcall-server";
  /// One paragraph for `--help`, before the flags.
  std::string description;
  /// Called after the flags and the config file were read and the logger is set, before the
  /// server starts: `modules` is the `--modules` list (comma-separated names, "all" when not
  /// given). Register procedures that depend on flags here; throw std::invalid_argument to
  /// refuse the flag (exit 2, its message on stderr). Optional.
  std::function<void(server& srv, const std::string& modules)> configure;
  /// The help text of `--modules` (the flag exists only when this is not empty).
  std::string modules_help;
};

/// Runs `srv` as netcalld runs (SPEC §2, §7): reads the flags (every flag of netcalld, each
/// overriding the value already in `srv.options()`, so a program's defaults are set in code),
/// and `--config FILE` (YAML, keys as the long flags; flags on the command line win); logs to
/// stderr (`--log-level`, `--log-format text|json`), one `--access-log` line per call; starts
/// the server, prints `PROGRAM listening on HOST:PORT` per listener on stdout, tells systemd
/// READY=1 (when started by a `Type=notify` unit); runs until SIGINT/SIGTERM (SIGHUP reloads
/// tokens and certificates), then tells systemd STOPPING=1 and shuts down gracefully.
///
/// Ignores SIGPIPE for the whole process (first thing): a write to a closed pipe (the access
/// log on a FIFO whose reader left, stdout or stderr closed) then fails with EPIPE instead of
/// killing the server. `server::start` alone changes no signal disposition.
///
/// Returns the exit status: 0 after a clean shutdown; 2 for a bad flag, config key or file
/// (one line on stderr naming it); 1 when a listener cannot be opened. `--help` and
/// `--version` print and return 0. Throws nothing.
int serve_main(int argc, char** argv, server& srv, const serve_info& info = {});

}  // namespace netcall
