#include "netcall/duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace netcall {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else {
    return std::nullopt;
  }
  if (n > max_duration.count() / factor) return std::nullopt;
  return std::chrono::milliseconds(n * factor);
}

}  // namespace netcall
