// Codec microbenchmarks: for each wire protocol (JSON-RPC, XML-RPC, MessagePack-RPC), what a
// server does per call: decode the small call `add(2, 3)` exactly as a common client sends it,
// encode its response, and encode/decode a large struct (1000 members mixing ints, doubles,
// strings and nested arrays; about 64 KiB as JSON, see the `wire_bytes` counter for each
// protocol's size). Large cases report bytes/s of wire text through SetBytesProcessed.
//
// The machine running these is usually shared: compare codecs with each other in one run rather
// than reading the absolute numbers.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/jsonrpc/codec.hpp"
#include "protocol/msgpack/codec.hpp"
#include "protocol/xmlrpc/codec.hpp"

namespace {

using netcall::array;
using netcall::structure;
using netcall::value;
using netcall::detail::decode_limits;
using netcall::detail::fault;
using netcall::detail::request;
using netcall::detail::response;
namespace jsonrpc = netcall::detail::jsonrpc;
namespace msgpack = netcall::detail::msgpack;
namespace xmlrpc = netcall::detail::xmlrpc;

// ---- inputs -----------------------------------------------------------------------------------

/// add(2, 3) as the wire carries it from a typical client of each protocol.
/// JSON-RPC: what a compact JSON-RPC 2.0 client writes.
constexpr std::string_view json_small_call =
    R"({"jsonrpc":"2.0","method":"add","params":[2,3],"id":1})";
/// XML-RPC: Python's `xmlrpc.client.dumps((2, 3), "add")`, byte for byte.
constexpr std::string_view xml_small_call =
    "<?xml version='1.0'?>\n<methodCall>\n<methodName>add</methodName>\n<params>\n<param>\n"
    "<value><int>2</int></value>\n</param>\n<param>\n<value><int>3</int></value>\n</param>\n"
    "</params>\n</methodCall>\n";
/// MessagePack-RPC: python3-msgpack's `packb([0, 1, "add", [2, 3]])`.
constexpr std::string_view msgpack_small_call{
    "\x94\x00\x01\xa3"
    "add"
    "\x92\x02\x03",
    10};

/// The answer to add(2, 3): id 1 (nil for XML-RPC, which has no ids), result 5.
response small_response(value id) {
  response r;
  r.id = std::move(id);
  r.result = 5;
  return r;
}

/// 1000 members in four shapes: an int, a double, a string and a nested array.
const value& large_struct() {
  static const value v = [] {
    structure s;
    s.reserve(1000);
    for (int i = 0; i < 1000; ++i) {
      std::string name = "struct_member_" + std::to_string(i);
      switch (i % 4) {
        case 0:
          s.emplace_back(std::move(name), std::int64_t{i} * 1000003);
          break;
        case 1:
          s.emplace_back(std::move(name), i * 0.37 + 0.125);
          break;
        case 2:
          s.emplace_back(std::move(name), "text value " + std::to_string(i) +
                                              ": the quick brown fox jumps over the lazy dog, "
                                              "then back again and over the sleepy cat, and home.");
          break;
        default:
          s.emplace_back(std::move(name),
                         array{i, i + 0.5, "item", array{1, 2, 3, i}, -i, "list end"});
          break;
      }
    }
    return value(std::move(s));
  }();
  return v;
}

/// A call carrying the large struct as its one param.
request large_request(value id) {
  request r;
  r.method = "store";
  r.params = array{large_struct()};
  r.id = std::move(id);
  return r;
}

response large_response(value id) {
  response r;
  r.id = std::move(id);
  r.result = large_struct();
  return r;
}

/// The large call as each protocol's own encoder writes it.
const std::string& json_large_call() {
  static const std::string text = [] {
    std::string out;
    jsonrpc::encode_request(large_request(1), out);
    return out;
  }();
  return text;
}

const std::string& xml_large_call() {
  static const std::string text = [] {
    std::string out;
    xmlrpc::encode_call(large_request(value()), out);
    return out;
  }();
  return text;
}

const std::string& msgpack_large_call() {
  static const std::string text = [] {
    std::string out;
    msgpack::encode_request(large_request(1), out);
    return out;
  }();
  return text;
}

const decode_limits limits{};

/// True when `r` is the decoded add(2, 3) or store(<large struct>).
bool is_call(const request& r, std::string_view method) {
  return r.method == method && r.params.is_array() && !r.params.as_array().empty();
}

bool json_decoded_call(std::string_view text, std::string_view method) {
  const jsonrpc::message m = jsonrpc::decode(text, limits);
  if (m.batch || m.entries.size() != 1) return false;
  const auto* r = std::get_if<request>(&m.entries.front());
  return r != nullptr && is_call(*r, method);
}

bool xml_decoded_call(std::string_view text, std::string_view method) {
  request r;
  fault f;
  return xmlrpc::decode_call(text, limits, r, f) && is_call(r, method);
}

bool msgpack_decoded_call(std::string_view text, std::string_view method) {
  request r;
  fault f;
  return msgpack::decode_request(text, limits, r, f) && is_call(r, method);
}

// ---- the benchmark bodies, shared by the three codecs ------------------------------------------

/// Decodes `input` every iteration with `decode` (which returns the decoded object).
template <class Decode>
void run_decode(benchmark::State& state, std::string_view input, Decode decode) {
  for (auto _ : state) {
    auto decoded = decode(input);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(input.size()));
  state.counters["wire_bytes"] = static_cast<double>(input.size());
}

/// Encodes `r` every iteration into one reused buffer, as the transports do.
template <class Encode>
void run_encode(benchmark::State& state, const response& r, Encode encode) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    encode(r, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(out.size()));
  state.counters["wire_bytes"] = static_cast<double>(out.size());
}

auto json_decode = [](std::string_view text) { return jsonrpc::decode(text, limits); };

auto xml_decode = [](std::string_view text) {
  request r;
  fault f;
  const bool ok = xmlrpc::decode_call(text, limits, r, f);
  benchmark::DoNotOptimize(ok);
  return r;
};

auto msgpack_decode = [](std::string_view text) {
  request r;
  fault f;
  const bool ok = msgpack::decode_request(text, limits, r, f);
  benchmark::DoNotOptimize(ok);
  return r;
};

auto json_encode = [](const response& r, std::string& out) { jsonrpc::encode_response(r, out); };
auto xml_encode = [](const response& r, std::string& out) { xmlrpc::encode_response(r, out); };
auto msgpack_encode = [](const response& r, std::string& out) { msgpack::encode_response(r, out); };

// ---- JSON-RPC ---------------------------------------------------------------------------------

void BM_jsonrpc_decode_small_call(benchmark::State& state) {
  if (!json_decoded_call(json_small_call, "add")) return state.SkipWithError("bad input");
  run_decode(state, json_small_call, json_decode);
}
BENCHMARK(BM_jsonrpc_decode_small_call);

void BM_jsonrpc_encode_small_response(benchmark::State& state) {
  run_encode(state, small_response(1), json_encode);
}
BENCHMARK(BM_jsonrpc_encode_small_response);

void BM_jsonrpc_encode_large_struct(benchmark::State& state) {
  run_encode(state, large_response(1), json_encode);
}
BENCHMARK(BM_jsonrpc_encode_large_struct);

void BM_jsonrpc_decode_large_struct(benchmark::State& state) {
  if (!json_decoded_call(json_large_call(), "store")) return state.SkipWithError("bad input");
  run_decode(state, json_large_call(), json_decode);
}
BENCHMARK(BM_jsonrpc_decode_large_struct);

// ---- XML-RPC ----------------------------------------------------------------------------------

void BM_xmlrpc_decode_small_call(benchmark::State& state) {
  if (!xml_decoded_call(xml_small_call, "add")) return state.SkipWithError("bad input");
  run_decode(state, xml_small_call, xml_decode);
}
BENCHMARK(BM_xmlrpc_decode_small_call);

void BM_xmlrpc_encode_small_response(benchmark::State& state) {
  run_encode(state, small_response(value()), xml_encode);
}
BENCHMARK(BM_xmlrpc_encode_small_response);

void BM_xmlrpc_encode_large_struct(benchmark::State& state) {
  run_encode(state, large_response(value()), xml_encode);
}
BENCHMARK(BM_xmlrpc_encode_large_struct);

void BM_xmlrpc_decode_large_struct(benchmark::State& state) {
  if (!xml_decoded_call(xml_large_call(), "store")) return state.SkipWithError("bad input");
  run_decode(state, xml_large_call(), xml_decode);
}
BENCHMARK(BM_xmlrpc_decode_large_struct);

// ---- MessagePack-RPC --------------------------------------------------------------------------

void BM_msgpack_decode_small_call(benchmark::State& state) {
  if (!msgpack_decoded_call(msgpack_small_call, "add")) return state.SkipWithError("bad input");
  run_decode(state, msgpack_small_call, msgpack_decode);
}
BENCHMARK(BM_msgpack_decode_small_call);

void BM_msgpack_encode_small_response(benchmark::State& state) {
  run_encode(state, small_response(1), msgpack_encode);
}
BENCHMARK(BM_msgpack_encode_small_response);

void BM_msgpack_encode_large_struct(benchmark::State& state) {
  run_encode(state, large_response(1), msgpack_encode);
}
BENCHMARK(BM_msgpack_encode_large_struct);

void BM_msgpack_decode_large_struct(benchmark::State& state) {
  if (!msgpack_decoded_call(msgpack_large_call(), "store")) {
    return state.SkipWithError("bad input");
  }
  run_decode(state, msgpack_large_call(), msgpack_decode);
}
BENCHMARK(BM_msgpack_decode_large_struct);

/// The server's steady-state path (transport/msgpack_stream.cpp): one frame_scanner reused per
/// connection frames the message, then decode_request_into fills a reused request without a
/// second scan. Compare with the one-shot decode_request above.
void run_msgpack_decode_reused(benchmark::State& state, std::string_view input) {
  msgpack::frame_scanner scanner(limits.max_depth, 16u << 20);
  request req;
  fault error;
  for (auto _ : state) {
    scanner.reset();
    if (scanner.scan(input) != msgpack::frame_scanner::status::complete) {
      return state.SkipWithError("not one complete message");
    }
    const auto what =
        msgpack::decode_request_into(input.substr(0, scanner.size()), limits, req, error);
    benchmark::DoNotOptimize(what);
    benchmark::DoNotOptimize(req);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(input.size()));
  state.counters["wire_bytes"] = static_cast<double>(input.size());
}

void BM_msgpack_decode_small_call_reused(benchmark::State& state) {
  run_msgpack_decode_reused(state, msgpack_small_call);
}
BENCHMARK(BM_msgpack_decode_small_call_reused);

void BM_msgpack_decode_large_struct_reused(benchmark::State& state) {
  run_msgpack_decode_reused(state, msgpack_large_call());
}
BENCHMARK(BM_msgpack_decode_large_struct_reused);

}  // namespace
