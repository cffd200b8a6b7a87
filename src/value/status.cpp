#include "netcall/status.hpp"

namespace netcall {
namespace {

struct status_row {
  status_code code;
  int wire;
  std::string_view name;
};

// The one mapping table from status codes to wire numbers (status.hpp documents it).
constexpr status_row status_table[] = {
    {status_code::ok, 0, "ok"},
    {status_code::parse_error, -32700, "parse_error"},
    {status_code::invalid_request, -32600, "invalid_request"},
    {status_code::method_not_found, -32601, "method_not_found"},
    {status_code::invalid_params, -32602, "invalid_params"},
    {status_code::internal_error, -32603, "internal_error"},
    {status_code::application_error, -32000, "application_error"},
    {status_code::resource_exhausted, -32001, "resource_exhausted"},
    {status_code::unavailable, -32002, "unavailable"},
    {status_code::unauthenticated, -32003, "unauthenticated"},
    {status_code::deadline_exceeded, -32004, "deadline_exceeded"},
    {status_code::protocol_error, -32005, "protocol_error"},
};

}  // namespace

int wire_code(status_code code) noexcept {
  for (const auto& row : status_table) {
    if (row.code == code) return row.wire;
  }
  return -32603;
}

status_code status_from_wire_code(int code) noexcept {
  for (const auto& row : status_table) {
    if (row.wire == code) return row.code;
  }
  return status_code::application_error;
}

std::string_view to_string(status_code code) noexcept {
  for (const auto& row : status_table) {
    if (row.code == code) return row.name;
  }
  return "unknown";
}

error::error(status_code code, const std::string& message)
    : std::runtime_error(message),
      code_(code),
      wire_code_(netcall::wire_code(code)),
      message_(message) {}

error::error(status_code code, int wire_code, const std::string& message)
    : std::runtime_error(message), code_(code), wire_code_(wire_code), message_(message) {}

error::error(const error& other)
    : std::runtime_error(other.message_),
      code_(other.code_),
      wire_code_(other.wire_code_),
      message_(other.message_) {}

error& error::operator=(const error& other) {
  if (this != &other) {
    std::runtime_error::operator=(std::runtime_error(other.message_));
    code_ = other.code_;
    wire_code_ = other.wire_code_;
    message_ = other.message_;
  }
  return *this;
}

}  // namespace netcall
