// Fuzz target: the XML-RPC codec (src/protocol/xmlrpc), server and client side.
//
// The input is an HTTP body: a <methodCall> for the server, a <methodResponse> for the client.
// Beyond "never crash, never leak, never hang", it checks what the codec promises (codec.hpp):
// - decode_call() either fails with -32700 or -32600 and a reason, or yields a non-empty method
//   name and array params whose strings are well-formed UTF-8;
// - a decoded call written again by a client (encode_call) decodes to the same call, and the
//   server's answer (encode_response) with those params as result, or with a fault, decodes on
//   the client side (decode_response) to the same result or fault;
// - decode_response() output re-encodes to the same response.
// Round trips skip strings that XML 1.0 cannot carry unchanged (NUL, CR, other control
// characters: fuzz_support.hpp is_xml_text and the comment of src/protocol/xmlrpc/codec.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "protocol/xmlrpc/codec.hpp"

namespace {

using namespace netcall;
using namespace netcall::detail;
using netcall::fuzz::same;
using netcall::fuzz::show;
using netcall::fuzz::texts_are_xml;

bool same_response(const response& a, const response& b) {
  return same(a.result, b.result) && a.error == b.error;
}

std::string show(const response& r) {
  return "result=" + show(r.result) +
         (r.error ? " fault=" + std::to_string(r.error->code) + " " + r.error->message : "");
}

/// The client reads `r` back as the server writes it.
void check_response_round_trip(const response& r) {
  std::string text;
  xmlrpc::encode_response(r, text);
  response back;
  fault why;
  const bool carried = texts_are_xml(r.result) && (!r.error || fuzz::is_xml_text(r.error->message));
  const bool ok = xmlrpc::decode_response(text, decode_limits{}, back, why);
  if (!carried) return;
  NETCALL_FUZZ_CHECK(ok, "our own answer is not readable: " + why.message + "\n" + text);
  NETCALL_FUZZ_CHECK(same_response(back, r), "written " + show(r) + "\nread back " + show(back) +
                                                 "\n" + text);
}

void fuzz_call(std::string_view body) {
  request call;
  fault failure;
  // Half the inputs meet a decoded-size budget they can reach (-32001).
  if (!xmlrpc::decode_call(body, fuzz::budget_limits(body), call, failure)) {
    NETCALL_FUZZ_CHECK(failure.code == wire_code(status_code::parse_error) ||
                           failure.code == wire_code(status_code::invalid_request) ||
                           failure.code == wire_code(status_code::resource_exhausted),
                       std::to_string(failure.code));
    NETCALL_FUZZ_CHECK(!failure.message.empty(), "a refusal always says why");
    check_response_round_trip(response{value{}, value{}, failure});
    return;
  }
  NETCALL_FUZZ_CHECK(!call.method.empty(), "empty method name accepted");
  NETCALL_FUZZ_CHECK(fuzz::is_utf8(call.method), "method name is not UTF-8: " + call.method);
  NETCALL_FUZZ_CHECK(call.params.is_array(), show(call.params));
  NETCALL_FUZZ_CHECK(fuzz::texts_are_utf8(call.params), "not UTF-8: " + show(call.params));
  NETCALL_FUZZ_CHECK(!fuzz::has_non_finite(call.params), show(call.params));

  // A client sending the same call (Python's xmlrpc.client, or netcall's own).
  std::string again;
  xmlrpc::encode_call(call, again);
  request back;
  fault why;
  const bool ok = xmlrpc::decode_call(again, decode_limits{}, back, why);
  if (texts_are_xml(call.params) && fuzz::is_xml_text(call.method)) {
    NETCALL_FUZZ_CHECK(ok, "re-encoded call refused: " + why.message + "\n" + again);
    NETCALL_FUZZ_CHECK(back.method == call.method, call.method + " became " + back.method);
    NETCALL_FUZZ_CHECK(same(back.params, call.params),
                       "written " + show(call.params) + "\nread back " + show(back.params));
  }

  // The answers the server would write: an echo of the params, and a fault.
  check_response_round_trip(response{value{}, call.params, std::nullopt});
  check_response_round_trip(response{value{}, value{}, fault{-32000, call.method}});
  std::string scratch;
  xmlrpc::encode_value(call.params, scratch);
}

void fuzz_response(std::string_view body) {
  response r;
  fault why;
  if (!xmlrpc::decode_response(body, decode_limits{}, r, why)) {
    NETCALL_FUZZ_CHECK(!why.message.empty(), "a refusal always says why");
    return;
  }
  NETCALL_FUZZ_CHECK(fuzz::texts_are_utf8(r.result), "not UTF-8: " + show(r.result));
  NETCALL_FUZZ_CHECK(!r.error || r.result.is_nil(), show(r));
  NETCALL_FUZZ_CHECK(!r.error || fuzz::is_utf8(r.error->message), show(r));
  check_response_round_trip(r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  fuzz_call(body);
  fuzz_response(body);
  return 0;
}
