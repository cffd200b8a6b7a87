#pragma once
/// \file
/// How `netcall` words a failed call on stderr (SPEC §3), shared by `call` and `bench`.

#include <string>
#include <string_view>

#include "netcall/status.hpp"
#include "netcall/text.hpp"

namespace netcall_cli {

/// Text from a server with control characters and bytes that are not UTF-8 escaped (SPEC §3,
/// netcall/text.hpp): a hostile server cannot move the cursor, set the title or forge lines on
/// the user's terminal.
inline std::string escaped(std::string_view text) { return netcall::escape_text(text); }

/// True when `e` says the server could not be reached or did not answer in time (could not
/// connect, connection lost, timed out, shutting down): exit 3 in SPEC §3, not an answer.
inline bool is_unreachable(const netcall::error& e) {
  return e.code() == netcall::status_code::unavailable ||
         e.code() == netcall::status_code::deadline_exceeded;
}

/// The words after `netcall: ` for a failed call, escaped: `error -32601: method not found:
/// nope` when the server answered with an error (SPEC §3 names the code), the message alone
/// when there was no answer to name a code (unreachable, timed out, an answer that could not
/// be understood).
inline std::string error_text(const netcall::error& e) {
  if (is_unreachable(e) || e.code() == netcall::status_code::protocol_error) {
    return escaped(e.what());
  }
  return "error " + std::to_string(e.wire_code()) + ": " + escaped(e.what());
}

}  // namespace netcall_cli
