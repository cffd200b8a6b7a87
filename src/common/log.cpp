#include "common/log.hpp"

#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <mutex>

namespace netcall {

namespace {

constexpr std::string_view level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

/// Hands each formatted line to a log_sink; the sink serialises itself (log.hpp), so no lock.
class sink_adapter final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit sink_adapter(log_sink sink) : sink_(std::move(sink)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto level = msg.level >= spdlog::level::err ? log_level::error
                                                        : static_cast<log_level>(msg.level);
    sink_(level, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  log_sink sink_;
};

}  // namespace

log_sink stderr_log_sink() {
  return [](log_level level, std::string_view message) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "netcall: %s: %.*s\n", level_names[static_cast<int>(level)].data(),
                 static_cast<int>(message.size()), message.data());
  };
}

bool parse_log_level(std::string_view name, log_level& out) {
  for (std::size_t i = 0; i < std::size(level_names); ++i) {
    if (name == level_names[i]) {
      out = static_cast<log_level>(i);
      return true;
    }
  }
  return false;
}

namespace detail {

static_assert(static_cast<int>(spdlog::level::trace) == static_cast<int>(log_level::trace) &&
              static_cast<int>(spdlog::level::warn) == static_cast<int>(log_level::warn) &&
              static_cast<int>(spdlog::level::err) == static_cast<int>(log_level::error));

logger_ptr make_logger(std::string name, log_sink sink, log_level level) {
  if (!sink) sink = stderr_log_sink();
  auto logger = std::make_shared<spdlog::logger>(
      std::move(name), std::make_shared<sink_adapter>(std::move(sink)));
  logger->set_level(level == log_level::off
                        ? spdlog::level::off
                        : static_cast<spdlog::level::level_enum>(static_cast<int>(level)));
  return logger;
}

const logger_ptr& default_logger() {
  static const logger_ptr logger = make_logger("netcall", {}, log_level::warn);
  return logger;
}

const logger_ptr& null_logger() {
  static const logger_ptr logger = [] {
    auto l = std::make_shared<spdlog::logger>("netcall-null");
    l->set_level(spdlog::level::off);
    return l;
  }();
  return logger;
}

}  // namespace detail

}  // namespace netcall
