#pragma once
/// \file
/// How HTTP requests carry a token and which requests a web page can send unasked (SPEC §6).

#include <string>
#include <string_view>

namespace netcall::detail {

/// The challenges a 401 answer carries (RFC 9110 §11.6.1): Bearer (RFC 6750) and Basic
/// (RFC 7617, the password being the token), as header lines.
inline constexpr std::string_view www_authenticate =
    "WWW-Authenticate: Bearer realm=\"netcall\"\r\n"
    "WWW-Authenticate: Basic realm=\"netcall\"\r\n";

/// The token of an Authorization header value: `Bearer TOKEN` (RFC 6750 §2.1), or `Basic
/// base64(USER:TOKEN)` (RFC 7617: the password is the token, the user name is ignored, so
/// `http://any:TOKEN@host/RPC2` works in Python's xmlrpc.client). Schemes are case-insensitive.
/// Empty when the header is absent, of another scheme, or malformed.
std::string bearer_or_basic_token(std::string_view authorization);
/// The same into `out`, reusing its capacity (the HTTP unit reads one per request).
void bearer_or_basic_token(std::string_view authorization, std::string& out);

/// True for the media types a browser POSTs cross-origin without a CORS preflight (Fetch
/// standard, "CORS-safelisted request-header"): text/plain, application/x-www-form-urlencoded,
/// multipart/form-data. `type` is lower case without parameters (media_type()).
inline bool browser_simple_type(std::string_view type) {
  return type == "text/plain" || type == "application/x-www-form-urlencoded" ||
         type == "multipart/form-data";
}

}  // namespace netcall::detail
