#pragma once
/// \file
/// DURATION values as SPEC §2 writes them on the command line: "250ms", "2s", "1m".

#include <chrono>
#include <optional>
#include <string_view>

namespace netcall {

/// The longest DURATION accepted: 365 days (`525600m`). Longer is refused rather than risk
/// arithmetic past the clock's range; the library saturates any longer option it is given.
inline constexpr std::chrono::milliseconds max_duration{365LL * 24 * 60 * 60 * 1000};

/// Parses a DURATION: a non-negative integer with a unit `ms`, `s` or `m` ("250ms", "2s", "1m"),
/// at most `max_duration`. Returns nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace netcall
