#pragma once
/// \file
/// MessagePack-RPC codec (github msgpack-rpc spec, SPEC §2): pure functions over bytes and
/// netcall::detail::{request,response}. Values are read and written with msgpuck.
///
/// Messages: request `[0, msgid, method, params]`, response `[1, msgid, error, result]`,
/// notification `[2, method, params]`. The error slot holds `{"code": int, "message": str}`.
/// Extension: a request may carry a fifth element, the idempotency key as a string
/// (docs/failures.md); four-element requests from any client are served as usual.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/message.hpp"

namespace netcall::detail::msgpack {

/// Finds where one MessagePack object ends in a byte stream, resumably: bytes may arrive in
/// any pieces. msgpuck's mp_check() cannot tell a truncated object from an invalid one and
/// always starts over, so this scanner keeps its place instead (O(n) per message).
class frame_scanner {
 public:
  /// `max_depth`: deepest array/map nesting accepted; `max_bytes`: largest object accepted;
  /// `decoded_ratio`: the decoded-size budget (decode_limits::max_decoded_ratio; 0: none).
  /// `decoded_allowance`: the bytes added to it.
  frame_scanner(std::size_t max_depth, std::size_t max_bytes, std::size_t decoded_ratio = 0,
                std::size_t decoded_allowance = 0);
  /// The scanner of `limits`.
  explicit frame_scanner(const decode_limits& limits)
      : frame_scanner(limits.max_depth, limits.max_message_bytes, limits.max_decoded_ratio,
                      limits.decoded_allowance_bytes) {}

  enum class status {
    need_more,  ///< everything given so far belongs to an object that is not complete yet
    complete,   ///< the object ends at `size()` bytes from its start
    invalid,    ///< a byte no MessagePack object may hold (0xc1) or nesting over max_depth
    too_large,  ///< the object is longer than max_bytes
    /// The object is whole (`size()` bytes) and well-formed, but decoding it would pass the
    /// decoded-size budget (common/limits.hpp): it must not be decoded; the stream goes on.
    over_budget,
  };

  /// Continues scanning `data` (the whole object so far, from its first byte: `data` must
  /// begin with the bytes given to earlier calls since the last reset).
  status scan(std::string_view data);
  /// The object's length once `complete`.
  std::size_t size() const { return offset_; }
  /// Starts over for the next object.
  void reset();
  /// Why the scan stopped when invalid.
  const char* reason() const { return reason_; }
  /// What decoding the object would take (bytes, as the decoded-size budget counts them), and
  /// its budget, once complete or over_budget.
  std::size_t decoded_bytes() const { return decoded_; }
  std::size_t decoded_budget() const;

 private:
  std::size_t max_depth_;
  std::size_t max_bytes_;
  std::size_t ratio_;
  std::size_t allowance_;
  std::size_t offset_ = 0;
  std::size_t decoded_ = 0;
  /// Items still to read, per open container; the bottom entry is the top-level object.
  std::vector<std::uint64_t> remaining_;
  const char* reason_ = "";
};

// Decoding functions report failure one way, like every codec's (protocol/message.hpp): they
// return false and say why in a `fault`: -32700 for bytes that are not one MessagePack object
// within the limits, -32600 for MessagePack that is not the message expected, or holds what
// netcall cannot represent: a str (a method, a string, a map key, the idempotency key) that is
// not well-formed UTF-8 is refused naming its offset in the message ("str at offset 5 is not
// valid UTF-8 (byte 0xff at offset 7)"), like JSON-RPC and XML-RPC refuse invalid UTF-8. A uint
// above INT64_MAX is never read as a double: in a request's params it is -32602 "invalid
// params: integer 18446744073709551615 is beyond int64" (docs/protocols.md "Type mapping").

/// Decodes one complete message (validated with a frame_scanner first) received by a server:
/// true when `out` holds a request or a notification. On false, `out.id` is the msgid to answer
/// `error` to, or nil when none can be addressed (no readable msgid, a notification, a
/// response sent to a server): the message is then dropped.
bool decode_request(std::string_view message, const decode_limits& limits, request& out,
                    fault& error);

/// decode_request for a message the caller framed with a frame_scanner of the same
/// `limits.max_depth` (so it is not scanned twice), reusing the storage of `req` (its method
/// string and params array keep their capacity): a steady stream of small calls decodes
/// without allocating. Passing bytes that were not framed that way is undefined behaviour.
bool decode_request_into(std::string_view message, const decode_limits& limits, request& req,
                         fault& error);

/// Client side: decodes one complete `[1, msgid, error, result]`; false with `error` when it
/// is not a response. A response whose error or result holds a uint above INT64_MAX is read as
/// a -32005 protocol_error fault to its msgid ("answer refused: integer ... is beyond int64"):
/// that call fails, the connection goes on.
bool decode_response(std::string_view message, const decode_limits& limits, response& out,
                     fault& error);

/// decode_response for a message the caller framed with a frame_scanner (not scanned again).
bool decode_framed_response(std::string_view message, response& out, fault& error);

/// Why `scanner` reported over_budget: one line naming the budget and the message's size.
std::string over_budget_reason(const frame_scanner& scanner);

/// The msgid of a request `[0, msgid, ...]` (a framed message), to answer a refusal to; false
/// for a notification or anything else.
bool request_msgid(std::string_view message, std::int64_t& msgid);

/// Appends `[1, msgid, error, result]`; the msgid is `r.id` (an int). An error message's bytes
/// that are not UTF-8 are written as `\xNN` (common/utf8.hpp escape_invalid_utf8).
void encode_response(const response& r, std::string& out);
/// Appends `[0, msgid, method, params]` (plus the idempotency key when set) or, for a
/// notification, `[2, method, params]`. Named params (a struct) are sent as a map in the
/// params slot, which netcall servers read as named params (an extension of the spec).
void encode_request(const request& r, std::string& out);
/// Appends one value: nil, bool, int, float 64, str, bin, array, map with string keys; a
/// date-time is the timestamp extension (msgpack spec "Timestamp extension type", type -1)
/// with nanoseconds = microseconds * 1000: timestamp 64 when its seconds since 1970 fit 0 to
/// 2^34 - 1 (1970 to 2514), else timestamp 96.
void encode_value(const value& v, std::string& out);
/// Decodes one complete value (validated with the scanner first). Returns false on a value
/// netcall cannot represent (a map key that is not a string, a str that is not UTF-8, a uint
/// above INT64_MAX, an extension other than the timestamp, a timestamp outside years 0 to 9999
/// or with nanoseconds above 999999999: -32600) or bytes that are not one value (-32700).
/// Timestamps 32, 64 and 96 are read; nanoseconds are kept to the microsecond (truncated).
bool decode_value(std::string_view data, const decode_limits& limits, value& out, fault& error);

}  // namespace netcall::detail::msgpack
