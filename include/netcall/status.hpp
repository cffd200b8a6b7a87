#pragma once
/// \file
/// netcall's one fixed set of status codes and its error type (docs/style.md "Errors").
///
/// Every failure the library reports is a `netcall::error` carrying a `status_code`. Each wire
/// protocol maps status codes to its own error shape through one table (`wire_code` below), so a
/// JSON-RPC error object, an XML-RPC `<fault>` and a MessagePack-RPC error map all carry the same
/// numbers (SPEC §2 "Errors on the wire").

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace netcall {

/// What went wrong, classified by what the caller should do about it.
///
/// | code               | wire code | produced by                                                   |
/// |--------------------|-----------|---------------------------------------------------------------|
/// | parse_error        | -32700    | server: the message is not valid JSON / XML / MessagePack     |
/// | invalid_request    | -32600    | server: valid syntax but not a request (JSON-RPC 2.0 §5.1)    |
/// | method_not_found   | -32601    | server: no procedure by that name                             |
/// | invalid_params     | -32602    | server: wrong number or type of params                        |
/// | internal_error     | -32603    | server: a bug or an unexpected exception in netcall itself    |
/// | application_error  | -32000    | server: the procedure failed (threw); message is its own      |
/// | resource_exhausted | -32001    | server: a limit was hit (e.g. a message over the size limit)   |
/// | unavailable        | -32002    | client: could not connect / connection lost; server: stopping |
/// | unauthenticated    | -32003    | server: no valid token (SPEC §6); the call was not run        |
/// | deadline_exceeded  | -32004    | client: no answer within the timeout                          |
/// | protocol_error     | -32005    | client: the server's answer could not be understood           |
///
/// A fault from a foreign server with a code outside this table keeps its number
/// (`error::wire_code`) and is classified as `application_error`.
enum class status_code {
  ok = 0,
  parse_error,
  invalid_request,
  method_not_found,
  invalid_params,
  internal_error,
  application_error,
  resource_exhausted,
  unavailable,
  deadline_exceeded,
  protocol_error,
  unauthenticated,
};

/// The number a status code is written as on every wire protocol (table above). `ok` is 0.
int wire_code(status_code code) noexcept;

/// The status code a wire number stands for; unknown numbers map to `application_error`.
status_code status_from_wire_code(int code) noexcept;

/// A short stable name for logs and the CLI: "parse_error", "invalid_params", ...
std::string_view to_string(status_code code) noexcept;

/// The one error type of netcall: a status code, the number it had on the wire and a message.
///
/// Procedures report failure by throwing: a `netcall::error` keeps its code; any other
/// `std::exception` becomes `application_error` (-32000) with its `what()` (SPEC §2).
class error : public std::runtime_error {
 public:
  /// An error whose wire code is the table's number for `code`.
  error(status_code code, const std::string& message);
  /// An error that keeps a foreign wire number (for faults read from other servers).
  error(status_code code, int wire_code, const std::string& message);
  /// Copies own their message: a copy shares no buffer with the original, so errors may be
  /// copied on one thread and read on another while the original goes (libstdc++ shares the
  /// message of copied std::runtime_errors through a reference count that ThreadSanitizer
  /// cannot see). Errors are the rare path: the allocation is not felt.
  error(const error& other);
  error& operator=(const error& other);

  /// The classified status code.
  status_code code() const noexcept { return code_; }
  /// The number as sent or received on the wire (JSON-RPC `code`, XML-RPC `faultCode`).
  int wire_code() const noexcept { return wire_code_; }
  /// The whole message, as given: what the wire carries. `what()` holds the same text but,
  /// being a C string, ends at the first NUL byte a message may hold (one quoting a client's
  /// text, say).
  const std::string& message() const noexcept { return message_; }

 private:
  status_code code_;
  int wire_code_;
  std::string message_;
};

}  // namespace netcall
