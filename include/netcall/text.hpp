#pragma once
/// \file
/// Text another party chose (a server's error message, a method name, a config file's bytes),
/// checked or made safe to show on a terminal or in a log line (SPEC §3: text from the server is
/// printed with control characters escaped; SPEC §7: log lines).

#include <string>
#include <string_view>

namespace netcall {

/// True when all of `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
/// nothing above U+10FFFF, nothing cut short). NUL is well formed.
bool is_utf8(std::string_view text) noexcept;

/// `text` as one line that cannot act on a terminal: every C0 control is written as its JSON
/// escape (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u001b` and so on), DEL as `\u007f`, a C1 control
/// (U+0080 to U+009F, e.g. the one-character CSI U+009B) as `\u0080` to `\u009f`, a backslash as
/// `\\` (so an escape in the output is always one), and every byte that is not part of well-formed
/// UTF-8 as `\xNN` (two lower-case hex digits). Everything else is kept as it is. The result is
/// well-formed UTF-8 without control characters.
std::string escape_text(std::string_view text);

/// JSON text (as to_json writes it) made as safe to print as escape_text makes text, meaning the
/// same JSON: inside strings, DEL and the C1 controls become `\u007f` and `\u0080` to `\u009f`,
/// and a byte that is not part of well-formed UTF-8 (a MessagePack string may hold one) becomes
/// the text `\xNN` (written `\\xNN`); a raw C0 control, which to_json never writes, becomes its
/// JSON escape. The result is well-formed UTF-8 without control characters.
std::string escape_json_text(std::string_view json);

}  // namespace netcall
