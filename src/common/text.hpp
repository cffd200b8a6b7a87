#pragma once
/// \file
/// Text shown to people, the library's side of netcall/text.hpp: the JSON-quoted form the logs
/// and the access log write (SPEC §7).

#include <string>
#include <string_view>

#include "netcall/text.hpp"

namespace netcall::detail {

/// `text` as a quoted JSON string with escape_text's escapes (quotes escaped too), so a log line
/// shows nothing raw: a byte that is not part of well-formed UTF-8 is the text `\xNN` (written
/// `\\xNN`), so the result is also valid JSON.
std::string json_quoted(std::string_view text);

}  // namespace netcall::detail
