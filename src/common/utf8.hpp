#pragma once
/// \file
/// UTF-8 validation, with Boost.Locale's header-only decoder (boost/locale/utf.hpp, no library to
/// link): for the codecs whose parsers pass bytes through unchecked (pugixml, msgpuck), for the
/// escaping of error messages that all codecs share, and for text shown to people
/// (common/text.cpp, netcall/text.hpp).

#include <boost/locale/utf.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace netcall::detail {

/// Offset of the first byte of `s` that does not begin a well-formed UTF-8 sequence (RFC 3629:
/// no overlong forms, no surrogates, nothing above U+10FFFF, nothing cut short), or npos when
/// all of `s` is well formed. NUL is well formed here; XML callers refuse it separately.
inline std::size_t find_invalid_utf8(std::string_view s) {
  namespace utf = boost::locale::utf;
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p != end) {
    if (static_cast<unsigned char>(*p) < 0x80) {  // ASCII, the common case
      ++p;
      continue;
    }
    const char* const start = p;
    const utf::code_point cp = utf::utf_traits<char>::decode(p, end);
    if (cp == utf::illegal || cp == utf::incomplete) return static_cast<std::size_t>(start - s.data());
  }
  return std::string_view::npos;
}

/// `text` with every byte that does not begin a well-formed UTF-8 sequence (find_invalid_utf8)
/// written as the four characters `\xNN` (lowercase hex, as the access log and `netcall` write
/// them). The codecs write error messages through it: a message may quote what a peer sent, and
/// must neither echo its bytes raw nor make the answer unreadable (docs/protocols.md "Error
/// codes").
inline std::string escape_invalid_utf8(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 8);
  for (;;) {
    const std::size_t bad = find_invalid_utf8(text);
    if (bad == std::string_view::npos) break;
    const auto byte = static_cast<unsigned char>(text[bad]);
    out.append(text.substr(0, bad));
    out += "\\x";
    out.push_back(hex[byte >> 4]);
    out.push_back(hex[byte & 0xF]);
    text.remove_prefix(bad + 1);
  }
  out.append(text);
  return out;
}

/// `text` itself when it is well-formed UTF-8 (the common case: nothing is copied), else
/// escape_invalid_utf8(text), kept in `scratch`.
inline std::string_view valid_utf8_text(std::string_view text, std::string& scratch) {
  if (find_invalid_utf8(text) == std::string_view::npos) return text;
  scratch = escape_invalid_utf8(text);
  return scratch;
}

}  // namespace netcall::detail
