#pragma once
/// \file
/// Where netcall's log lines go (SPEC §7, docs/operations.md "Logs"): a server or channel is
/// given a `log_sink`, the application's own logger or one of `serve_main`'s, and the library
/// never writes to stdout.

#include <functional>
#include <string_view>

namespace netcall {

/// Severity of a log line, lowest first (spdlog's levels, as `--log-level` names them).
enum class log_level { trace, debug, info, warn, error, off };

/// Receives each log line the library writes: its level and its text (one line, no newline,
/// no timestamp: the sink adds what it wants). Called from any of the library's threads,
/// possibly at once: the sink serialises what needs it. It must not throw.
using log_sink = std::function<void(log_level level, std::string_view message)>;

/// A sink writing `netcall: LEVEL: MESSAGE` lines to stderr, for programs that give none.
log_sink stderr_log_sink();

/// The level named `name` ("trace", "debug", "info", "warn", "error", "off"); false for any
/// other name.
bool parse_log_level(std::string_view name, log_level& out);

}  // namespace netcall
