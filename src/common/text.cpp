// Text made safe to show (netcall/text.hpp, common/text.hpp): one escaping loop for the three
// places text from elsewhere is written, a terminal line, a JSON string and JSON text.
#include "common/text.hpp"

#include "common/utf8.hpp"

namespace netcall {
namespace {

/// Where the escaped text goes.
enum class target {
  line,         ///< one line of a terminal or a text log: `"` stays, a bad byte is `\xNN`
  json_string,  ///< the inside of a JSON string: `"` escaped, a bad byte is the text `\xNN`
  json_text,    ///< JSON text already written: its `"` and `\` stay, a bad byte is `\\xNN`
};

constexpr char hex_digits[] = "0123456789abcdef";

void append_u00(std::string& out, unsigned char c) {
  out += "\\u00";
  out += hex_digits[c >> 4];
  out += hex_digits[c & 0xf];
}

/// Appends `text` escaped for `to` (netcall/text.hpp says which characters and how).
void append_escaped(std::string& out, std::string_view text, target to) {
  namespace utf = boost::locale::utf;
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x80) {
      const char* const start = p;
      const utf::code_point cp = utf::utf_traits<char>::decode(p, end);
      if (cp == utf::illegal || cp == utf::incomplete) {
        // One byte at a time: the next one may begin a well-formed sequence.
        p = start + 1;
        out += to == target::line ? "\\x" : "\\\\x";
        out += hex_digits[c >> 4];
        out += hex_digits[c & 0xf];
      } else if (cp <= 0x9f) {
        append_u00(out, static_cast<unsigned char>(cp));  // a C1 control
      } else {
        out.append(start, p);
      }
      continue;
    }
    ++p;
    switch (c) {
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\\':
        out += to == target::json_text ? "\\" : "\\\\";
        continue;
      case '"':
        out += to == target::json_string ? "\\\"" : "\"";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      append_u00(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
}

}  // namespace

bool is_utf8(std::string_view text) noexcept {
  return detail::find_invalid_utf8(text) == std::string_view::npos;
}

std::string escape_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text, target::line);
  return out;
}

std::string escape_json_text(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  append_escaped(out, json, target::json_text);
  return out;
}

namespace detail {

std::string json_quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  append_escaped(out, text, target::json_string);
  out += '"';
  return out;
}

}  // namespace detail
}  // namespace netcall
