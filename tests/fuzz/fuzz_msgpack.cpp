// Fuzz target: the MessagePack-RPC codec (src/protocol/msgpack), server and client side.
//
// The input is a byte stream as MessagePack-RPC over raw TCP carries it. Beyond "never crash,
// never leak, never hang", it checks what the codec promises (codec.hpp):
// - frame_scanner frames the stream the same way whatever pieces it arrives in (fed as the
//   MessagePack session, protocol/msgpack/tcp.cpp, is fed) as when it is scanned in one piece;
// - decode_request_into, reusing one request for every message as the server does, decodes
//   each message as decode_request does;
// - a request or notification decoded from a frame, written again by a client
//   (encode_request), decodes to the same request; the answers a server writes for it (an echo
//   of its params, a fault, the -32600/-32602 answers decode_request makes) decode on the client side
//   (decode_response) to the same response;
// - decode_response() and decode_value() output re-encodes to the same response or value.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_support.hpp"
#include "protocol/msgpack/codec.hpp"

namespace {

using namespace netcall;
using namespace netcall::detail;
using netcall::fuzz::same;
using netcall::fuzz::show;

using scan_status = msgpack::frame_scanner::status;

/// The frames of a stream and how scanning ended.
struct framing {
  std::vector<std::string> frames;
  std::vector<std::string> over_budget;  // framed, too costly to decode: refused unread
  scan_status end = scan_status::need_more;
};

/// Frames `pieces` as the MessagePack session does with the reads of a connection (the same
/// pending-bytes bookkeeping), stopping at the first invalid or oversized object.
framing frame(const std::vector<std::string_view>& pieces, const decode_limits& limits) {
  msgpack::frame_scanner scanner(limits);
  framing out;
  std::string pending;
  for (std::string_view input : pieces) {
    std::string_view data = input;
    if (!pending.empty()) {
      pending.append(input);
      data = pending;
    }
    std::size_t consumed = 0;
    while (consumed < data.size()) {
      const auto status = scanner.scan(data.substr(consumed));
      if (status == scan_status::need_more) break;
      if (status == scan_status::over_budget) {
        // Decided on the whole frame: the same whatever pieces it came in; the stream goes on.
        NETCALL_FUZZ_CHECK(scanner.decoded_bytes() > scanner.decoded_budget(), "not over");
        std::int64_t msgid = 0;
        msgpack::request_msgid(data.substr(consumed, scanner.size()), msgid);
        out.over_budget.emplace_back(data.substr(consumed, scanner.size()));
        consumed += scanner.size();
        scanner.reset();
        continue;
      }
      if (status != scan_status::complete) {
        out.end = status;
        return out;
      }
      NETCALL_FUZZ_CHECK(scanner.size() > 0, "an empty frame");
      NETCALL_FUZZ_CHECK(scanner.size() <= data.size() - consumed, "a frame past the data");
      out.frames.emplace_back(data.substr(consumed, scanner.size()));
      consumed += scanner.size();
      scanner.reset();
    }
    if (pending.empty()) {
      pending.assign(data.substr(consumed));
    } else {
      pending.erase(0, consumed);
    }
  }
  out.end = pending.empty() ? scan_status::complete : scan_status::need_more;
  return out;
}

bool same_request(const request& a, const request& b) {
  return a.method == b.method && same(a.params, b.params) && same(a.id, b.id) &&
         a.notification == b.notification && a.meta.idempotency_key == b.meta.idempotency_key;
}

bool same_response(const response& a, const response& b) {
  return same(a.id, b.id) && same(a.result, b.result) && a.error == b.error;
}

std::string show(const response& r) {
  return "id=" + show(r.id) + " result=" + show(r.result) +
         (r.error ? " error=" + std::to_string(r.error->code) + " " + r.error->message : "");
}

/// The client reads `r` back as the server writes it.
void check_response_round_trip(const response& r) {
  std::string bytes;
  msgpack::encode_response(r, bytes);
  response back;
  fault why;
  NETCALL_FUZZ_CHECK(msgpack::decode_response(bytes, decode_limits{}, back, why),
                     "our own answer is not readable: " + why.message);
  NETCALL_FUZZ_CHECK(same_response(back, r), "written " + show(r) + "\nread back " + show(back));
}

void check_request(const request& r) {
  NETCALL_FUZZ_CHECK(r.params.is_array() || r.params.is_struct(), show(r.params));
  NETCALL_FUZZ_CHECK(r.notification ? r.id.is_nil() : r.id.is_int(), show(r.id));

  // A client writing the same request reads back as it. (Named params, a map, are written as
  // the map itself; a client that wraps them as one map param is read back as such.)
  std::string bytes;
  msgpack::encode_request(r, bytes);
  request again;
  fault why;
  NETCALL_FUZZ_CHECK(msgpack::decode_request(bytes, decode_limits{}, again, why),
                     "re-encoded request refused: " + why.message);
  const request* back = &again;
  request wrapped = r;
  if (wrapped.params.is_struct()) wrapped.params = array{r.params};
  NETCALL_FUZZ_CHECK(same_request(*back, r) || same_request(*back, wrapped),
                     "method " + back->method + " params " + show(back->params) + " key " +
                         back->meta.idempotency_key);

  if (!r.notification) {
    check_response_round_trip(response{r.id, r.params, std::nullopt});
    check_response_round_trip(response{r.id, value{}, fault{-32000, r.method}});
  }
}

void fuzz_frames(std::string_view input) {
  const std::size_t split = static_cast<std::size_t>(fuzz::input_hash(input) % (input.size() + 1));
  const decode_limits limits = fuzz::budget_limits(input);
  const framing whole = frame({input}, limits);
  const framing pieces = frame({input.substr(0, split), input.substr(split)}, limits);
  NETCALL_FUZZ_CHECK(whole.over_budget == pieces.over_budget,
                     "the budget refuses other frames when split");
  NETCALL_FUZZ_CHECK(whole.frames == pieces.frames,
                     std::to_string(whole.frames.size()) + " frames in one piece, " +
                         std::to_string(pieces.frames.size()) + " when split at " +
                         std::to_string(split));
  NETCALL_FUZZ_CHECK(whole.end == pieces.end, "the stream ends differently when split");

  // The MessagePack session decodes every message into a reused request (a pooled call's; no
  // allocation per call): what is left from earlier messages must never leak into a later one.
  request reused;
  fault reused_error;
  for (const std::string& f : whole.frames) {
    request fresh;
    fault error;
    const bool decoded = msgpack::decode_request(f, decode_limits{}, fresh, error);
    const bool into = msgpack::decode_request_into(f, decode_limits{}, reused, reused_error);
    NETCALL_FUZZ_CHECK(decoded == into, "decode_request_into differs");
    if (decoded) {
      NETCALL_FUZZ_CHECK(same_request(reused, fresh),
                         "reused request differs: " + reused.method + " " + show(reused.params) +
                             " id " + show(reused.id) + " key " + reused.meta.idempotency_key);
      check_request(fresh);
    } else {
      NETCALL_FUZZ_CHECK(error == reused_error, error.message + " / " + reused_error.message);
      NETCALL_FUZZ_CHECK(fresh.id == reused.id, show(fresh.id) + " / " + show(reused.id));
      NETCALL_FUZZ_CHECK(!error.message.empty(), "a refusal always says why");
      if (!fresh.id.is_nil()) {  // an error answer to a readable msgid
        NETCALL_FUZZ_CHECK(fresh.id.is_int(), show(fresh.id));
        check_response_round_trip(response{fresh.id, value(), error});
      }
    }
  }
}

void fuzz_response(std::string_view input) {
  response r;
  fault why;
  if (!msgpack::decode_response(input, decode_limits{}, r, why)) {
    NETCALL_FUZZ_CHECK(!why.message.empty(), "a refusal always says why");
    return;
  }
  NETCALL_FUZZ_CHECK(r.id.is_int(), show(r));
  NETCALL_FUZZ_CHECK(!r.error || r.result.is_nil(), show(r));
  check_response_round_trip(r);
}

void fuzz_value(std::string_view input) {
  value v;
  fault why;
  if (!msgpack::decode_value(input, decode_limits{}, v, why)) return;
  if (v.is_date_time()) {
    const date_time& t = v.as_date_time();
    NETCALL_FUZZ_CHECK(t.year >= 0 && t.year <= 9999 && t.month >= 1 && t.month <= 12 &&
                           t.day >= 1 && t.day <= 31 && t.hour >= 0 && t.hour <= 23 &&
                           t.minute >= 0 && t.minute <= 59 && t.second >= 0 && t.second <= 60 &&
                           t.microsecond >= 0 && t.microsecond <= 999999,
                       show(v));
  }
  std::string bytes;
  msgpack::encode_value(v, bytes);
  value back;
  NETCALL_FUZZ_CHECK(msgpack::decode_value(bytes, decode_limits{}, back, why),
                     "re-encoded value refused: " + why.message);
  NETCALL_FUZZ_CHECK(same(back, v), "written " + show(v) + "\nread back " + show(back));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_frames(input);
  fuzz_response(input);
  fuzz_value(input);
  return 0;
}
