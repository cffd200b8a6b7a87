#pragma once
/// \file
/// The library's side of netcall/log.hpp: an spdlog logger that formats a line only when its
/// level is enabled and hands the text to a `log_sink`. Every layer logs through one of these,
/// never through spdlog's default logger (which writes to the host program's stdout).

#include <spdlog/logger.h>

#include <memory>

#include "netcall/log.hpp"

namespace netcall::detail {

using logger_ptr = std::shared_ptr<spdlog::logger>;

/// A logger named `name` that sends lines of `level` and above to `sink` (stderr_log_sink()
/// when empty).
logger_ptr make_logger(std::string name, log_sink sink, log_level level);

/// The logger of parts given none (a client's etcd resolver): warnings and errors to stderr.
const logger_ptr& default_logger();

/// A logger that drops everything (for parts made without one, e.g. in unit tests).
const logger_ptr& null_logger();

}  // namespace netcall::detail
