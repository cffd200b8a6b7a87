#pragma once
/// \file
/// UTF-8 validation, with Boost.Locale's header-only decoder (boost/locale/utf.hpp, no library to
/// link): for the codecs whose parsers pass bytes through unchecked (pugixml), and for text shown
/// to people (common/text.cpp, netcall/text.hpp).

#include <boost/locale/utf.hpp>
#include <cstddef>
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

}  // namespace netcall::detail
