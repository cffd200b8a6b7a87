#include "protocol/msgpack/codec.hpp"

#include <msgpuck.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "common/utf8.hpp"

namespace netcall::detail::msgpack {
namespace {

// ---- scanning helpers ---------------------------------------------------------------------

std::uint64_t load_be(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// ---- writing ------------------------------------------------------------------------------

char* grow(std::string& out, std::size_t n) {
  const std::size_t old = out.size();
  out.resize(old + n);
  return out.data() + old;
}

// Headers and numbers (at most 9 bytes) are encoded on the stack and appended once: cheaper
// than growing the string first and writing into it.
void put_uint(std::string& out, std::uint64_t v) {
  char buf[9];
  out.append(buf, static_cast<std::size_t>(mp_encode_uint(buf, v) - buf));
}

void put_int(std::string& out, std::int64_t v) {
  if (v >= 0) return put_uint(out, static_cast<std::uint64_t>(v));
  char buf[9];
  out.append(buf, static_cast<std::size_t>(mp_encode_int(buf, v) - buf));
}

void put_str(std::string& out, std::string_view s) {
  const auto len = static_cast<std::uint32_t>(s.size());
  char buf[5];
  out.append(buf, static_cast<std::size_t>(mp_encode_strl(buf, len) - buf));
  out.append(s);
}

void put_array_header(std::string& out, std::uint32_t n) {
  char buf[5];
  out.append(buf, static_cast<std::size_t>(mp_encode_array(buf, n) - buf));
}

void put_map_header(std::string& out, std::uint32_t n) {
  char buf[5];
  out.append(buf, static_cast<std::size_t>(mp_encode_map(buf, n) - buf));
}

// The timestamp extension (msgpack spec "Timestamp extension type", type -1) of `t`, with
// nanoseconds = microseconds * 1000: timestamp 64 (fixext 8: nanoseconds in the upper 30 bits,
// seconds in the lower 34) when the seconds fit 0 to 2^34 - 1 (1970 to 2514), else timestamp 96
// (ext 8 of 12 bytes: nanoseconds u32, then seconds i64), as the spec's pseudo code writes them.
void put_timestamp(std::string& out, const date_time& t) {
  using namespace std::chrono;
  const sys_days day{year{t.year} / month{static_cast<unsigned>(t.month)} /
                     std::chrono::day{static_cast<unsigned>(t.day)}};
  const std::int64_t seconds =
      duration_cast<std::chrono::seconds>(day.time_since_epoch()).count() + t.hour * 3600 +
      t.minute * 60 + t.second;
  const auto nanoseconds = static_cast<std::uint32_t>(t.microsecond) * 1000u;
  if (seconds >= 0 && (static_cast<std::uint64_t>(seconds) >> 34) == 0) {
    const std::uint64_t word =
        (std::uint64_t{nanoseconds} << 34) | static_cast<std::uint64_t>(seconds);
    char* p = grow(out, 10);
    p[0] = static_cast<char>(0xd7);  // fixext 8
    p[1] = static_cast<char>(-1);
    for (int i = 0; i < 8; ++i) p[2 + i] = static_cast<char>((word >> (56 - 8 * i)) & 0xff);
    return;
  }
  char* p = grow(out, 15);
  p[0] = static_cast<char>(0xc7);  // ext 8
  p[1] = 12;
  p[2] = static_cast<char>(-1);
  for (int i = 0; i < 4; ++i) p[3 + i] = static_cast<char>((nanoseconds >> (24 - 8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i) {
    p[7 + i] = static_cast<char>((static_cast<std::uint64_t>(seconds) >> (56 - 8 * i)) & 0xff);
  }
}

// ---- reading (input already validated by frame_scanner) -----------------------------------

/// The date_time of a timestamp: `seconds` since 1970-01-01T00:00:00 UTC and `nanoseconds`
/// (0 to 999999999) within that second, kept to the microsecond (truncated: 1999 ns is 1 µs).
bool timestamp_to_date_time(std::int64_t seconds, std::uint32_t nanoseconds, date_time& out) {
  using namespace std::chrono;
  // Years 0 to 9999 only, checked before any arithmetic (which could overflow, and which
  // year_month_day would wrap at 2^32 days).
  constexpr std::int64_t first = -62'167'219'200;  // 0000-01-01T00:00:00
  constexpr std::int64_t last = 253'402'300'799;   // 9999-12-31T23:59:59
  if (seconds < first || seconds > last) return false;
  const std::int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const std::int64_t rest = seconds - days * 86400;
  const year_month_day ymd{sys_days{std::chrono::days{days}}};
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) return false;
  out = date_time{y,
                  static_cast<int>(static_cast<unsigned>(ymd.month())),
                  static_cast<int>(static_cast<unsigned>(ymd.day())),
                  static_cast<int>(rest / 3600),
                  static_cast<int>(rest % 3600 / 60),
                  static_cast<int>(rest % 60),
                  static_cast<int>(nanoseconds / 1000)};
  return true;
}

/// An integer's decimal text.
std::string decimal(std::uint64_t u) { return std::to_string(u); }

struct reader {
  const char* p;
  const char* begin;  // the message's first byte: offsets in errors count from it
  std::string error;
  /// The failure is a uint above INT64_MAX: a value well-formed in MessagePack that netcall
  /// does not hold (an int is an int64), rather than a message of the wrong shape.
  bool wide_integer = false;

  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }

  /// Reads a str (the next object is one) into `s`/`len`; false when its bytes are not
  /// well-formed UTF-8 (the msgpack spec: str holds UTF-8 text; netcall strings are UTF-8,
  /// and what is not cannot be written back as JSON-RPC, XML-RPC, or read by a client decoding
  /// str as text).
  bool read_str(const char*& s, std::uint32_t& len) {
    const char* const header = p;
    s = mp_decode_str(&p, &len);
    const std::size_t bad = find_invalid_utf8(std::string_view(s, len));
    if (bad == std::string_view::npos) return true;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(s[bad]));
    return fail("str at offset " + std::to_string(header - begin) +
                " is not valid UTF-8 (byte " + byte + " at offset " +
                std::to_string(s + bad - begin) + ")");
  }

  bool read_ext(value& out) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    std::size_t header = 0, len = 0;
    switch (u[0]) {
      case 0xd4: header = 1; len = 1; break;
      case 0xd5: header = 1; len = 2; break;
      case 0xd6: header = 1; len = 4; break;
      case 0xd7: header = 1; len = 8; break;
      case 0xd8: header = 1; len = 16; break;
      case 0xc7: header = 2; len = u[1]; break;
      case 0xc8: header = 3; len = load_be(u + 1, 2); break;
      default:   header = 5; len = load_be(u + 1, 4); break;  // 0xc9
    }
    const auto type = static_cast<std::int8_t>(u[header]);
    const unsigned char* data = u + header + 1;
    p += header + 1 + len;
    if (type != -1) return fail("unsupported MessagePack extension type " + std::to_string(type));
    // msgpack spec "Timestamp extension type": timestamp 32 (seconds u32), 64 (nanoseconds in
    // the upper 30 bits, seconds in the lower 34), 96 (nanoseconds u32, seconds i64).
    std::int64_t seconds = 0;
    std::uint64_t nanoseconds = 0;
    if (len == 4) {
      seconds = static_cast<std::int64_t>(load_be(data, 4));
    } else if (len == 8) {
      const std::uint64_t word = load_be(data, 8);
      seconds = static_cast<std::int64_t>(word & 0x3ffffffffULL);
      nanoseconds = word >> 34;
    } else if (len == 12) {
      nanoseconds = load_be(data, 4);
      seconds = static_cast<std::int64_t>(load_be(data + 4, 8));
    } else {
      return fail("malformed MessagePack timestamp");
    }
    if (nanoseconds > 999'999'999) {
      return fail("malformed MessagePack timestamp: nanoseconds " + decimal(nanoseconds) +
                  " beyond 999999999");
    }
    date_time t;
    if (!timestamp_to_date_time(seconds, static_cast<std::uint32_t>(nanoseconds), t)) {
      return fail("timestamp out of range (year 0-9999)");
    }
    out = t;
    return true;
  }

  bool read(value& out) {
    switch (mp_typeof(*p)) {
      // Scalars are put in place (emplace), not assigned from a temporary value.
      case MP_NIL:
        mp_decode_nil(&p);
        out.get().emplace<nil_t>();
        return true;
      case MP_BOOL:
        out.get().emplace<bool>(mp_decode_bool(&p));
        return true;
      case MP_UINT: {
        const std::uint64_t u = mp_decode_uint(&p);
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          // Never silently a double (which would not give the integer back): refused.
          wide_integer = error.empty();
          return fail("integer " + decimal(u) + " is beyond int64");
        }
        out.get().emplace<std::int64_t>(static_cast<std::int64_t>(u));
        return true;
      }
      case MP_INT:
        out.get().emplace<std::int64_t>(static_cast<std::int64_t>(mp_decode_int(&p)));
        return true;
      case MP_FLOAT:
        out.get().emplace<double>(static_cast<double>(mp_decode_float(&p)));
        return true;
      case MP_DOUBLE:
        out.get().emplace<double>(mp_decode_double(&p));
        return true;
      case MP_STR: {
        std::uint32_t len = 0;
        const char* s = nullptr;
        if (!read_str(s, len)) return false;
        out = value(std::string(s, len));
        return true;
      }
      case MP_BIN: {
        std::uint32_t len = 0;
        const char* s = mp_decode_bin(&p, &len);
        out = value(bytes{std::string(s, len)});
        return true;
      }
      case MP_ARRAY: {
        const std::uint32_t n = mp_decode_array(&p);
        array a;
        a.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) {
          if (!read(a.emplace_back())) return false;
        }
        out = value(std::move(a));
        return true;
      }
      case MP_MAP: {
        const std::uint32_t n = mp_decode_map(&p);
        structure s;
        s.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) {
          if (mp_typeof(*p) != MP_STR) return fail("map keys must be strings");
          std::uint32_t len = 0;
          const char* k = nullptr;
          if (!read_str(k, len)) return false;
          auto& m = s.emplace_back(std::string(k, len), value());
          if (!read(m.second)) return false;
        }
        out = value(std::move(s));
        return true;
      }
      case MP_EXT:
        return read_ext(out);
    }
    return fail("invalid MessagePack type");
  }

  // Reads a uint that fits 32 bits (a msgid); false when the next object is anything else.
  bool read_msgid(std::int64_t& out) {
    if (mp_typeof(*p) != MP_UINT) return false;
    const std::uint64_t u = mp_decode_uint(&p);
    if (u > std::numeric_limits<std::uint32_t>::max()) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
};

/// The fault of a message that is MessagePack but not the message expected.
fault invalid(const std::string& why) {
  return make_fault(status_code::invalid_request, "Invalid Request: " + why);
}

/// Checks that `data` is exactly one MessagePack object within `limits` (-32700 otherwise).
bool validate(std::string_view data, const decode_limits& limits, fault& error) {
  frame_scanner scanner(limits.max_depth, data.size(), limits.max_decoded_ratio,
                        limits.decoded_allowance_bytes);
  const auto st = scanner.scan(data);
  if (st == frame_scanner::status::complete && scanner.size() == data.size()) return true;
  if (st == frame_scanner::status::over_budget) {
    error = make_fault(status_code::resource_exhausted, over_budget_reason(scanner));
    return false;
  }
  error = make_fault(status_code::parse_error,
                     st == frame_scanner::status::invalid ? scanner.reason()
                                                          : "not exactly one MessagePack object");
  return false;
}

}  // namespace

// ---- frame_scanner ------------------------------------------------------------------------

frame_scanner::frame_scanner(std::size_t max_depth, std::size_t max_bytes,
                             std::size_t decoded_ratio, std::size_t decoded_allowance)
    : max_depth_(max_depth),
      max_bytes_(max_bytes),
      ratio_(decoded_ratio),
      allowance_(decoded_allowance) {
  reset();
}

std::size_t frame_scanner::decoded_budget() const {
  return allowance_ + ratio_ * offset_;
}

void frame_scanner::reset() {
  offset_ = 0;
  decoded_ = 0;
  remaining_.assign(1, 1);
  reason_ = "";
}

frame_scanner::status frame_scanner::scan(std::string_view data) {
  const auto* u = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t size = data.size();
  // Worked on in a local (the stack's writes could alias the member) and stored on every exit.
  std::size_t offset = offset_;
  std::size_t decoded = decoded_;
  auto stop = [&](status s) {
    offset_ = offset;
    decoded_ = decoded;
    return s;
  };
  while (!remaining_.empty()) {
    std::uint64_t& left = remaining_.back();
    if (left == 0) {
      remaining_.pop_back();
      continue;
    }
    if (offset >= size) return stop(offset > max_bytes_ ? status::too_large : status::need_more);
    const unsigned char b = u[offset];
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      // A one-byte object (fixint, nil, bool): the common case of params and ids.
      if (offset + 1 > max_bytes_) return stop(status::too_large);
      ++offset;
      --left;
      decoded += sizeof(value);
      continue;
    }
    std::size_t header = 1;     // bytes of the type byte and length fields
    std::uint64_t payload = 0;  // bytes after the header
    std::uint64_t children = 0;  // items inside (maps count keys and values)
    std::size_t length_bytes = 0;
    bool container = false, map = false;
    if (b <= 0x8f) {
      container = map = true;
      children = b & 0x0f;
    } else if (b <= 0x9f) {
      container = true;
      children = b & 0x0f;
    } else if (b <= 0xbf) {
      payload = b & 0x1f;
    } else {
      switch (b) {
        case 0xc4: case 0xd9: length_bytes = 1; break;
        case 0xc5: case 0xda: length_bytes = 2; break;
        case 0xc6: case 0xdb: length_bytes = 4; break;
        case 0xc7: length_bytes = 1; payload = 1; break;  // + ext type byte
        case 0xc8: length_bytes = 2; payload = 1; break;
        case 0xc9: length_bytes = 4; payload = 1; break;
        case 0xca: payload = 4; break;
        case 0xcb: payload = 8; break;
        case 0xcc: case 0xd0: payload = 1; break;
        case 0xcd: case 0xd1: payload = 2; break;
        case 0xce: case 0xd2: payload = 4; break;
        case 0xcf: case 0xd3: payload = 8; break;
        case 0xd4: payload = 2; break;
        case 0xd5: payload = 3; break;
        case 0xd6: payload = 5; break;
        case 0xd7: payload = 9; break;
        case 0xd8: payload = 17; break;
        case 0xdc: container = true; length_bytes = 2; break;
        case 0xdd: container = true; length_bytes = 4; break;
        case 0xde: container = map = true; length_bytes = 2; break;
        case 0xdf: container = map = true; length_bytes = 4; break;
        default:
          reason_ = "0xc1 is never used in MessagePack";
          return stop(status::invalid);
      }
      header += length_bytes;
      if (offset + header > size) {
        return stop(offset + header > max_bytes_ ? status::too_large : status::need_more);
      }
      const std::uint64_t n = load_be(u + offset + 1, length_bytes);
      if (container) {
        children = n;
      } else {
        payload += n;
      }
    }
    if (map) children *= 2;
    const std::uint64_t end = offset + header + payload;
    if (end > max_bytes_) return stop(status::too_large);
    if (end > size) return stop(status::need_more);
    // The object is whole: count it done in its container and descend into it if it has items.
    offset = static_cast<std::size_t>(end);
    --left;
    // A map key is counted as a value too: a member (name and value) is about two values.
    decoded += decoded_cost(sizeof(value), container ? 0 : static_cast<std::size_t>(payload));
    if (container) {
      // remaining_.size() is this container's nesting level (the top level is 1), empty or not:
      // the same count JSON-RPC and XML-RPC apply.
      if (remaining_.size() > max_depth_) {
        reason_ = "nesting deeper than the limit";
        return stop(status::invalid);
      }
      // Every item takes at least one byte: a count beyond the size limit cannot be honest.
      if (children > max_bytes_) return stop(status::too_large);
      if (children > 0) remaining_.push_back(children);
    }
  }
  if (ratio_ != 0 && decoded > allowance_ + ratio_ * offset) {
    return stop(status::over_budget);
  }
  return stop(status::complete);
}

std::string over_budget_reason(const frame_scanner& scanner) {
  return "message too large: it decodes to more than " +
         std::to_string(scanner.decoded_budget()) + " bytes (" +
         std::to_string(scanner.decoded_bytes()) + " for its " + std::to_string(scanner.size()) +
         " bytes)";
}

bool request_msgid(std::string_view message, std::int64_t& msgid) {
  const char* p = message.data();
  if (message.empty() || mp_typeof(*p) != MP_ARRAY || mp_decode_array(&p) < 2) return false;
  if (mp_typeof(*p) != MP_UINT || mp_decode_uint(&p) != 0 || mp_typeof(*p) != MP_UINT) {
    return false;
  }
  const std::uint64_t id = mp_decode_uint(&p);
  if (id > std::numeric_limits<std::uint32_t>::max()) return false;
  msgid = static_cast<std::int64_t>(id);
  return true;
}

// ---- decoding -----------------------------------------------------------------------------

bool decode_request_into(std::string_view message, const decode_limits&, request& req,
                         fault& error) {
  reader r{message.data(), message.data(), {}};
  auto drop = [&](const char* what) {
    error = invalid(what);
    req.id = value();  // no msgid: the failure cannot be answered
    return false;
  };
  if (mp_typeof(*r.p) != MP_ARRAY) return drop("a message is an array");
  const std::uint32_t n = mp_decode_array(&r.p);
  if (n == 0 || mp_typeof(*r.p) != MP_UINT) return drop("a message begins with its type");
  const std::uint64_t type = mp_decode_uint(&r.p);
  std::int64_t msgid = 0;
  bool answerable = false;
  auto refuse = [&](const std::string& what) {
    error = invalid(what);
    req.id = answerable ? value(msgid) : value();
    return false;
  };
  // A value of the params that could not be read: an integer beyond int64 is invalid params
  // (-32602: the request is well-formed, one of its params cannot be taken), anything else an
  // invalid request.
  auto refuse_params = [&] {
    if (!r.wide_integer) return refuse(r.error);
    error = make_fault(status_code::invalid_params, "invalid params: " + r.error);
    req.id = answerable ? value(msgid) : value();
    return false;
  };
  if (type == 0) {
    if (n < 2 || !r.read_msgid(msgid)) return drop("a request's msgid is a 32-bit unsigned int");
    answerable = true;
    if (n != 4 && n != 5) return refuse("a request is [0, msgid, method, params]");
  } else if (type != 2 || n != 3) {
    return drop("not a request or a notification");  // a response, or an unknown type
  }
  const bool notification = type == 2;
  if (mp_typeof(*r.p) != MP_STR) return refuse("method must be a string");
  std::uint32_t len = 0;
  const char* m = nullptr;
  if (!r.read_str(m, len)) return refuse(r.error);
  req.method.assign(m, len);
  const auto params_type = mp_typeof(*r.p);
  if (params_type == MP_ARRAY) {
    // Reuse the params array's capacity (the fast path of a server's event loop).
    if (!req.params.is_array()) req.params = array{};
    array& params = req.params.as_array();
    params.clear();
    const std::uint32_t count = mp_decode_array(&r.p);
    for (std::uint32_t i = 0; i < count; ++i) {
      if (!r.read(params.emplace_back())) return refuse_params();
    }
  } else if (params_type == MP_MAP) {
    if (!r.read(req.params)) return refuse_params();
  } else {
    return refuse("params must be an array");
  }
  req.meta.idempotency_key.clear();
  if (n == 5) {
    if (mp_typeof(*r.p) != MP_STR) return refuse("the idempotency key must be a string");
    const char* k = nullptr;
    if (!r.read_str(k, len)) return refuse(r.error);
    req.meta.idempotency_key.assign(k, len);
  }
  req.id = notification ? value() : value(msgid);
  req.notification = notification;
  return true;
}

bool decode_request(std::string_view message, const decode_limits& limits, request& out,
                    fault& error) {
  out.id = value();
  if (!validate(message, limits, error)) return false;
  return decode_request_into(message, limits, out, error);
}

bool decode_response(std::string_view message, const decode_limits& limits, response& out,
                     fault& error) {
  if (!validate(message, limits, error)) return false;
  return decode_framed_response(message, out, error);
}

bool decode_framed_response(std::string_view message, response& out, fault& error) {
  reader r{message.data(), message.data(), {}};
  if (mp_typeof(*r.p) != MP_ARRAY || mp_decode_array(&r.p) != 4 || mp_typeof(*r.p) != MP_UINT ||
      mp_decode_uint(&r.p) != 1) {
    error = invalid("not a MessagePack-RPC response [1, msgid, error, result]");
    return false;
  }
  std::int64_t msgid = 0;
  if (!r.read_msgid(msgid)) {
    error = invalid("response msgid is not a 32-bit unsigned integer");
    return false;
  }
  response res;
  res.id = msgid;
  value error_slot;
  if (!r.read(error_slot) || !r.read(res.result)) {
    if (!r.wide_integer) {
      error = invalid(r.error);
      return false;
    }
    // An integer beyond int64 in the answer: this call fails (protocol_error, naming it), the
    // connection goes on (the message was framed whole, the msgid is known).
    res.result = value();
    res.error = make_fault(status_code::protocol_error, "answer refused: " + r.error);
    out = std::move(res);
    return true;
  }
  if (!error_slot.is_nil()) {
    // SPEC §2: {"code": int, "message": str}; other servers send any object: keep its text.
    const value* code = error_slot.find("code");
    const value* text = error_slot.find("message");
    fault f{wire_code(status_code::application_error), to_debug_string(error_slot)};
    if (code && code->is_int() && code->as_int() >= std::numeric_limits<int>::min() &&
        code->as_int() <= std::numeric_limits<int>::max()) {
      f.code = static_cast<int>(code->as_int());
    }
    if (text && text->is_string()) f.message = text->as_string();
    if (error_slot.is_string()) f.message = error_slot.as_string();
    res.error = std::move(f);
    res.result = value();
  }
  out = std::move(res);
  return true;
}

bool decode_value(std::string_view data, const decode_limits& limits, value& out, fault& error) {
  if (!validate(data, limits, error)) return false;
  reader r{data.data(), data.data(), {}};
  if (!r.read(out)) {
    error = invalid(r.error);
    return false;
  }
  return true;
}

// ---- encoding -----------------------------------------------------------------------------

void encode_value(const value& v, std::string& out) {
  switch (v.kind()) {
    case kind::nil:
      out.push_back(static_cast<char>(0xc0));  // nil
      return;
    case kind::boolean:
      out.push_back(static_cast<char>(v.as_bool() ? 0xc3 : 0xc2));
      return;
    case kind::integer:
      put_int(out, v.as_int());
      return;
    case kind::floating:
      mp_encode_double(grow(out, mp_sizeof_double(v.as_double())), v.as_double());
      return;
    case kind::string:
      put_str(out, v.as_string());
      return;
    case kind::bytes: {
      const auto& b = v.as_bytes().data;
      const auto len = static_cast<std::uint32_t>(b.size());
      mp_encode_bin(grow(out, mp_sizeof_bin(len)), b.data(), len);
      return;
    }
    case kind::date_time:
      put_timestamp(out, v.as_date_time());
      return;
    case kind::array:
      put_array_header(out, static_cast<std::uint32_t>(v.as_array().size()));
      for (const auto& e : v.as_array()) encode_value(e, out);
      return;
    case kind::structure:
      put_map_header(out, static_cast<std::uint32_t>(v.as_struct().size()));
      for (const auto& [k, e] : v.as_struct()) {
        put_str(out, k);
        encode_value(e, out);
      }
      return;
  }
}

void encode_response(const response& r, std::string& out) {
  put_array_header(out, 4);
  put_uint(out, 1);
  put_int(out, r.id.is_int() ? r.id.as_int() : 0);
  if (r.error) {
    put_map_header(out, 2);
    put_str(out, "code");
    put_int(out, r.error->code);
    put_str(out, "message");
    std::string escaped;
    put_str(out, valid_utf8_text(r.error->message, escaped));
    out.push_back(static_cast<char>(0xc0));  // nil
  } else {
    out.push_back(static_cast<char>(0xc0));  // nil
    encode_value(r.result, out);
  }
}

void encode_request(const request& r, std::string& out) {
  const bool with_key = !r.notification && !r.meta.idempotency_key.empty();
  if (r.notification) {
    put_array_header(out, 3);
    put_uint(out, 2);
  } else {
    put_array_header(out, with_key ? 5 : 4);
    put_uint(out, 0);
    put_int(out, r.id.is_int() ? r.id.as_int() : 0);
  }
  put_str(out, r.method);
  if (r.params.is_array() || r.params.is_struct()) {
    // A map is named params (a netcall extension; the msgpack-rpc spec has arrays only).
    encode_value(r.params, out);
  } else if (r.params.is_nil()) {
    put_array_header(out, 0);
  } else {
    put_array_header(out, 1);
    encode_value(r.params, out);
  }
  if (with_key) put_str(out, r.meta.idempotency_key);
}

}  // namespace netcall::detail::msgpack
