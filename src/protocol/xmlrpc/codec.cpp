/// \file
/// XML-RPC codec (xmlrpc.com spec plus the `<nil/>`/`<i8>` extensions), over pugixml.
///
/// Reading is deliberately as lenient as Python's xmlrpc.client where that costs nothing
/// (namespaced type tags such as Apache's `<ex:i8>`, the `<i1>`/`<i2>`/`<biginteger>`/`<float>`
/// aliases Python reads, whitespace around numbers, CDATA sections inside text) and strict
/// everywhere else: any element the spec does not allow where it appears is an invalid request
/// (-32600), never silently ignored.
///
/// Reading refuses what XML 1.0 does not allow and pugixml lets through (check_characters,
/// load): characters that are not XML Chars (control characters, U+FFFE/U+FFFF, invalid UTF-8),
/// character references to them (`&#0;`, `&#xD800;`, `&#99999999999999999999;`), and text
/// before or after the root element; all -32700, like any XML that does not parse.
///
/// Writing builds a pugixml DOM and saves it raw (no indentation, no BOM) after an
/// `<?xml version="1.0"?>` declaration. Known limits of XML 1.0 itself, not of this codec:
/// - NUL, the other control characters below U+0020 except tab, LF and CR, U+FFFE and U+FFFF
///   cannot appear in an XML document, not even as character references. In strings and names
///   each is written as U+FFFD; in a fault string as `\xNN` (`\uFFFE`) so the message stays
///   whole and readable (unrepresentable). Bytes that are not UTF-8 are written the same way.
///   Send such data as bytes, which travel as `<base64>`.
/// - A CR is written raw and every XML parser reads it back as LF (end-of-line normalisation).
/// - Non-finite doubles have no XML-RPC form: they are written as the strings "inf", "-inf" and
///   "nan" so the peer still gets something readable instead of a document it must reject.

#include "protocol/xmlrpc/codec.hpp"
#include "common/utf8.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>

namespace netcall::detail::xmlrpc {
namespace {

/// pugixml's defaults (predefined entities and character references only: no DOCTYPE entity
/// expansion) plus whitespace-only text nodes, so `<string>  </string>` keeps its spaces.
/// Whitespace-only text between structural elements is skipped by the reader instead.
/// parse_fragment keeps text outside the root element as nodes (pugixml otherwise drops it
/// silently), so that `load` can refuse it: XML 1.0 §2.1 allows only comments, processing
/// instructions and whitespace around the document element.
constexpr unsigned parse_options =
    pugi::parse_default | pugi::parse_ws_pcdata | pugi::parse_fragment;

/// Appends everything pugixml writes to one std::string.
class string_writer final : public pugi::xml_writer {
 public:
  explicit string_writer(std::string& out) : out_(out) {}
  void write(const void* data, std::size_t size) override {
    out_.append(static_cast<const char*>(data), size);
  }

 private:
  std::string& out_;
};

/// Why a document was refused: the wire code and a one-line reason.
struct failure {
  int code = 0;
  std::string message;
};

int parse_error_code() { return wire_code(status_code::parse_error); }
int invalid_request_code() { return wire_code(status_code::invalid_request); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (!is_space(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// Peer text quoted in a message, cut short so a fault stays one readable line.
std::string quoted(std::string_view s) {
  constexpr std::size_t max_shown = 40;
  std::string q = "\"";
  std::size_t shown = std::min(s.size(), max_shown);
  // Cut at a code point boundary: never before a UTF-8 continuation byte.
  while (shown < s.size() && shown > 0 && (static_cast<unsigned char>(s[shown]) & 0xC0u) == 0x80u) {
    --shown;
  }
  q.append(s.substr(0, shown));
  if (s.size() > shown) q += "...";
  q += '"';
  return q;
}

/// The element name without a namespace prefix (`ex:i8` -> `i8`), as Python reads type tags.
std::string_view local_name(pugi::xml_node n) {
  std::string_view name = n.name();
  const auto colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool is_text(pugi::xml_node n) {
  return n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata;
}

/// XML 1.0 §2.2 Char: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF.
bool is_xml_char(std::uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/// "U+XXXX", how a refusal names a code point.
std::string code_point_name(std::uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

/// What pugixml does not check of a document (it passes bytes through, stops at NUL, and turns
/// any character reference into some character, `&#99999999999999999999;` included), checked on
/// its text: `text` is the body in UTF-8 (`utf8` true) or in ISO-8859-1, whose every byte is the
/// character of that number. Refuses, naming the offset:
/// - a character that is not an XML 1.0 Char (§2.2): NUL and the other C0 controls but tab, LF
///   and CR, U+FFFE and U+FFFF; in UTF-8, bytes that are not well-formed UTF-8 (§4.3.3);
/// - a character reference (`&#N;`, `&#xH;`) that is malformed or names no Char (WFC: Legal
///   Character), outside comments, CDATA sections and processing instructions, where `&#` is
///   plain text. Named references are pugixml's to read.
bool check_characters(std::string_view text, bool utf8, failure& f) {
  namespace utf = boost::locale::utf;
  enum class in { markup_or_text, comment, cdata, pi };
  in where = in::markup_or_text;
  auto refuse = [&f](std::string what, std::size_t at) {
    f = {parse_error_code(), "parse error: " + std::move(what) + " at offset " + std::to_string(at)};
    return false;
  };
  auto at = [&text](std::size_t i, std::string_view s) { return text.substr(i, s.size()) == s; };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      return refuse(c == 0 ? std::string("NUL byte")
                           : "control character " + code_point_name(c) + ", which XML 1.0 "
                                                                         "cannot carry,",
                    i);
    }
    if (c >= 0x80) {
      if (utf8) {
        const char* p = text.data() + i;
        const utf::code_point cp = utf::utf_traits<char>::decode(p, text.data() + n);
        if (cp == utf::illegal || cp == utf::incomplete) return refuse("invalid UTF-8", i);
        if (!is_xml_char(cp)) {
          return refuse("character " + code_point_name(cp) + ", which XML 1.0 cannot carry,", i);
        }
        i = static_cast<std::size_t>(p - text.data());
      } else {
        ++i;  // ISO-8859-1: U+0080 to U+00FF, all Chars
      }
      continue;
    }
    switch (where) {
      case in::comment:
        if (c == '-' && at(i, "-->")) {
          where = in::markup_or_text;
          i += 3;
          continue;
        }
        break;
      case in::cdata:
        if (c == ']' && at(i, "]]>")) {
          where = in::markup_or_text;
          i += 3;
          continue;
        }
        break;
      case in::pi:
        if (c == '?' && at(i, "?>")) {
          where = in::markup_or_text;
          i += 2;
          continue;
        }
        break;
      case in::markup_or_text:
        if (c == '<') {
          if (at(i, "<!--")) {
            where = in::comment;
            i += 4;
            continue;
          }
          if (at(i, "<![CDATA[")) {
            where = in::cdata;
            i += 9;
            continue;
          }
          if (at(i, "<?")) {
            where = in::pi;
            i += 2;
            continue;
          }
        } else if (c == '&' && at(i, "&#")) {
          // CharRef ::= '&#' [0-9]+ ';' | '&#x' [0-9a-fA-F]+ ';'
          const std::size_t start = i;
          std::size_t j = i + 2;
          const bool hex = j < n && text[j] == 'x';
          if (hex) ++j;
          const std::size_t first_digit = j;
          std::uint32_t cp = 0;
          bool too_big = false;
          for (; j < n; ++j) {
            const char d = text[j];
            int digit = -1;
            if (d >= '0' && d <= '9') {
              digit = d - '0';
            } else if (hex && d >= 'a' && d <= 'f') {
              digit = d - 'a' + 10;
            } else if (hex && d >= 'A' && d <= 'F') {
              digit = d - 'A' + 10;
            }
            if (digit < 0) break;
            if (!too_big) {
              cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit);
              too_big = cp > 0x10FFFF;  // stop before the number can wrap
            }
          }
          if (j == first_digit || j == n || text[j] != ';') {
            return refuse("malformed character reference", start);
          }
          if (too_big || !is_xml_char(cp)) {
            return refuse("character reference " + quoted(text.substr(start, j + 1 - start)) +
                              " to " + (too_big ? std::string("a number above U+10FFFF")
                                                : code_point_name(cp)) +
                              ", which is not an XML 1.0 character,",
                          start);
          }
          i = j + 1;
          continue;
        }
        break;
    }
    ++i;
  }
  return true;
}

/// What one element costs once parsed: a pugixml node (pugi::xml_node_struct, eight pointers),
/// the value it may become being counted in the same allowance.
constexpr std::size_t element_cost = 48;

/// The decoded-size budget (common/limits.hpp) before pugixml builds anything: its tree takes a
/// node per element, so the start tags are counted (one pass over the bytes) and a body whose
/// elements would cost more than the budget is refused with -32001.
bool within_budget(std::string_view body, const decode_limits& limits, failure& f) {
  const std::size_t budget = limits.decoded_budget(body.size());
  if (budget == 0) return true;
  std::size_t elements = 0;
  for (std::size_t at = body.find('<'); at != std::string_view::npos; at = body.find('<', at + 1)) {
    if (at + 1 < body.size() && body[at + 1] != '/') ++elements;
  }
  if (elements * element_cost <= budget) return true;
  f = {wire_code(status_code::resource_exhausted),
       "message too large: its " + std::to_string(elements) + " elements decode to more than " +
           std::to_string(budget) + " bytes (" + std::to_string(limits.max_decoded_ratio) +
           " times its " + std::to_string(body.size()) + " bytes + " +
           std::to_string(limits.decoded_allowance_bytes) + ")"};
  return false;
}

/// Appends the UTF-8 form of `units`, a UTF-16 or UTF-32 document (`unit` 2 or 4 bytes,
/// `big_endian` or not), to `out`; false with the offset of the first unit that is not part
/// of a well-formed sequence (a lone surrogate, a number above U+10FFFF, a cut unit).
bool wide_to_utf8(std::string_view units, std::size_t unit, bool big_endian, std::string& out,
                  std::size_t& bad) {
  namespace utf = boost::locale::utf;
  auto load_unit = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < unit; ++k) {
      const auto b = static_cast<unsigned char>(units[at + (big_endian ? k : unit - 1 - k)]);
      v = (v << 8) | b;
    }
    return v;
  };
  out.reserve(units.size());
  for (std::size_t i = 0; i < units.size();) {
    bad = i;
    if (i + unit > units.size()) return false;
    std::uint32_t cp = load_unit(i);
    i += unit;
    if (unit == 2 && cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 2 > units.size()) return false;
      const std::uint32_t low = load_unit(i);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      i += 2;
    } else if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    utf::utf_traits<char>::encode(cp, std::back_inserter(out));
  }
  return true;
}

/// Parses `body` into `doc` and finds its one root element: XML 1.0 well-formedness as far as
/// pugixml checks it, and what check_characters and the top-level check below add.
bool load(std::string_view body, pugi::xml_document& doc, pugi::xml_node& root, failure& f) {
  const pugi::xml_parse_result r =
      doc.load_buffer(body.data(), body.size(), parse_options, pugi::encoding_auto);
  if (!r) {
    f = {parse_error_code(),
         std::string("parse error: ") + r.description() + " at offset " + std::to_string(r.offset)};
    return false;
  }
  // The characters, checked on the document's text in UTF-8 (or ISO-8859-1, whose bytes are
  // characters): offsets are in that text.
  std::string converted;
  std::string_view text = body;
  bool utf8 = true;
  switch (r.encoding) {
    case pugi::encoding_utf8:
      break;
    case pugi::encoding_latin1:
      utf8 = false;
      break;
    default: {  // UTF-16 or UTF-32, either byte order (XML 1.0 §4.3.3)
      const bool wide32 = r.encoding == pugi::encoding_utf32_le ||
                          r.encoding == pugi::encoding_utf32_be;
      const bool big = r.encoding == pugi::encoding_utf16_be ||
                       r.encoding == pugi::encoding_utf32_be;
      std::size_t bad = 0;
      if (!wide_to_utf8(body, wide32 ? 4 : 2, big, converted, bad)) {
        f = {parse_error_code(), std::string("parse error: invalid ") +
                                     (wide32 ? "UTF-32" : "UTF-16") + " at offset " +
                                     std::to_string(bad)};
        return false;
      }
      text = converted;
      break;
    }
  }
  if (!check_characters(text, utf8, f)) return false;

  // Outside the root element only comments, processing instructions, the declaration, a
  // DOCTYPE and whitespace may stand (XML 1.0 §2.1, §2.8).
  root = pugi::xml_node();
  for (pugi::xml_node child : doc.children()) {
    if (child.type() == pugi::node_element) {
      if (root) {
        f = {parse_error_code(), "parse error: more than one root element"};
        return false;
      }
      root = child;
    } else if (child.type() == pugi::node_cdata ||
               (child.type() == pugi::node_pcdata && !is_blank(child.value()))) {
      const std::ptrdiff_t offset = r.encoding == pugi::encoding_utf8 ? child.offset_debug() : -1;
      f = {parse_error_code(),
           std::string("parse error: text ") + (root ? "after" : "before") + " the root element" +
               (offset >= 0 ? " at offset " + std::to_string(offset) : std::string())};
      return false;
    }
  }
  if (!root) {
    f = {parse_error_code(), "parse error: no root element"};
    return false;
  }
  return true;
}

/// A `<dateTime.iso8601>` value (spaces around it trimmed): exactly `YYYYMMDDTHH:MM:SS`, the
/// form of the XML-RPC spec and of every client (Python's xmlrpc.client reads and writes only
/// it), or the ISO 8601 extended form `YYYY-MM-DDTHH:MM:SS` of the same fields; a real date and
/// time with seconds 00 to 59. Refused: a zone (`Z`, `+01:00`: the value has none, and an offset
/// dropped silently would shift the time), a fraction, a leap second (Python cannot read one
/// back). The public date_time::parse, which checks the fields here, stays more lenient for
/// library users (zones ignored, second 60 kept).
bool parse_xmlrpc_date_time(std::string_view t, date_time& out) {
  const bool extended = t.size() == 19;
  if (t.size() != 17 && !extended) return false;
  // Positions of the separators; every other character is a digit.
  const std::string_view shape = extended ? "dddd-dd-ddTdd:dd:dd" : "ddddddddTdd:dd:dd";
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i]) return false;
  }
  date_time parsed;
  if (!date_time::parse(t, parsed) || parsed.second > 59) return false;
  out = parsed;
  return true;
}

/// Reads XML-RPC values, bounding nesting by `limits.max_depth` (checked before descending, so
/// recursion depth is bounded too).
class reader {
 public:
  explicit reader(const decode_limits& limits) : limits_(limits) {}

  /// The failure of the last call that returned false.
  const failure& error() const { return error_; }

  bool fail(int code, std::string message) {
    error_ = {code, std::move(message)};
    return false;
  }
  bool invalid(std::string message) { return fail(invalid_request_code(), std::move(message)); }

  /// The element children of a structural element (`<params>`, `<struct>`, ...): whitespace
  /// between them is fine, other text is not.
  template <class F>
  bool for_each_element(pugi::xml_node parent, F&& f) {
    for (pugi::xml_node child : parent.children()) {
      if (is_text(child)) {
        if (!is_blank(child.value())) {
          return invalid("unexpected text " + quoted(trim(child.value())) + " in <" +
                         parent.name() + ">");
        }
        continue;
      }
      if (child.type() != pugi::node_element) continue;
      if (!f(child)) return false;
    }
    return true;
  }

  /// The one element child named `name` of `parent`, which may hold nothing else.
  bool only_child(pugi::xml_node parent, std::string_view name, pugi::xml_node& out) {
    out = pugi::xml_node();
    const std::string where = " in <" + std::string(parent.name()) + ">";
    const bool shape_ok = for_each_element(parent, [&](pugi::xml_node child) {
      if (child.name() != name) {
        return invalid("unexpected <" + std::string(child.name()) + ">" + where);
      }
      if (out) return invalid("more than one <" + std::string(name) + ">" + where);
      out = child;
      return true;
    });
    if (!shape_ok) return false;
    if (!out) return invalid("missing <" + std::string(name) + ">" + where);
    return true;
  }

  /// The character data of a leaf element (text and CDATA sections joined); no child elements.
  bool text_of(pugi::xml_node n, std::string& out) {
    out.clear();
    for (pugi::xml_node child : n.children()) {
      if (is_text(child)) {
        out += child.value();
      } else if (child.type() == pugi::node_element) {
        return invalid("unexpected <" + std::string(child.name()) + "> in <" + n.name() + ">");
      }
    }
    return true;
  }

  /// One `<value>` element; `depth` is the number of arrays/structs around it.
  bool read_value(pugi::xml_node node, std::size_t depth, value& out) {
    pugi::xml_node typed;
    bool has_text = false;
    for (pugi::xml_node child : node.children()) {
      if (is_text(child)) {
        has_text = has_text || !is_blank(child.value());
      } else if (child.type() == pugi::node_element) {
        if (typed) return invalid("more than one type element in <value>");
        typed = child;
      }
    }
    if (!typed) {
      // No type element: the text, spaces included, is a string (XML-RPC spec).
      std::string s;
      if (!text_of(node, s)) return false;
      out = std::move(s);
      return true;
    }
    if (has_text) return invalid("text beside <" + std::string(typed.name()) + "> in <value>");
    return read_typed(typed, depth, out);
  }

 private:
  bool read_typed(pugi::xml_node node, std::size_t depth, value& out) {
    const std::string_view tag = local_name(node);
    if (tag == "array") return read_array(node, depth, out);
    if (tag == "struct") return read_struct(node, depth, out);
    std::string text;
    if (!text_of(node, text)) return false;
    if (tag == "string") {
      out = std::move(text);
      return true;
    }
    if (tag == "int" || tag == "i4" || tag == "i8" || tag == "i1" || tag == "i2" ||
        tag == "biginteger") {
      return read_int(trim(text), out);
    }
    if (tag == "boolean") {
      const std::string_view t = trim(text);
      if (t != "0" && t != "1")
        return invalid("invalid boolean " + quoted(t) + ", expected 0 or 1");
      out = t == "1";
      return true;
    }
    if (tag == "double" || tag == "float") return read_double(trim(text), out);
    if (tag == "dateTime.iso8601") {
      date_time t;
      if (!parse_xmlrpc_date_time(trim(text), t))
        return invalid("invalid dateTime.iso8601 " + quoted(trim(text)));
      out = t;
      return true;
    }
    if (tag == "base64") {
      bytes b;
      if (!base64_decode(text, b.data)) return invalid("invalid base64");
      out = std::move(b);
      return true;
    }
    if (tag == "nil") {
      if (!is_blank(text)) return invalid("<nil> must be empty");
      out = nil;
      return true;
    }
    return invalid("unknown type <" + std::string(node.name()) + ">");
  }

  bool read_int(std::string_view t, value& out) {
    std::string_view digits = t;
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-'))
      digits.remove_prefix(1);
    bool ok = !digits.empty();
    for (char c : digits) ok = ok && c >= '0' && c <= '9';
    if (ok) {
      if (t.front() == '+') t.remove_prefix(1);
      std::int64_t i = 0;
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
      if (ec == std::errc() && end == t.data() + t.size()) {
        out = i;
        return true;
      }
      if (ec == std::errc::result_out_of_range)
        return invalid("invalid int " + quoted(t) + ": out of 64-bit range");
    }
    return invalid("invalid int " + quoted(t));
  }

  bool read_double(std::string_view t, value& out) {
    std::string_view n = t;
    // from_chars takes no '+'; the XML-RPC spec allows one.
    if (n.size() > 1 && n.front() == '+' && n[1] != '-' && n[1] != '+') n.remove_prefix(1);
    double d = 0;
    const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), d);
    if (n.empty() || ec != std::errc() || end != n.data() + n.size() || !std::isfinite(d)) {
      return invalid("invalid double " + quoted(t));
    }
    out = d;
    return true;
  }

  bool enter(std::size_t depth) {
    if (depth >= limits_.max_depth) {
      return fail(parse_error_code(), "parse error: arrays/structs nest deeper than " +
                                          std::to_string(limits_.max_depth) + " levels");
    }
    return true;
  }

  bool read_array(pugi::xml_node node, std::size_t depth, value& out) {
    if (!enter(depth)) return false;
    pugi::xml_node data;
    if (!only_child(node, "data", data)) return false;
    array items;
    if (!for_each_element(data, [&](pugi::xml_node child) {
          if (child.name() != std::string_view("value")) {
            return invalid("unexpected <" + std::string(child.name()) + "> in <data>");
          }
          value v;
          if (!read_value(child, depth + 1, v)) return false;
          items.push_back(std::move(v));
          return true;
        })) {
      return false;
    }
    out = std::move(items);
    return true;
  }

  bool read_struct(pugi::xml_node node, std::size_t depth, value& out) {
    if (!enter(depth)) return false;
    structure members;
    if (!for_each_element(node, [&](pugi::xml_node m) {
          if (m.name() != std::string_view("member")) {
            return invalid("unexpected <" + std::string(m.name()) + "> in <struct>");
          }
          pugi::xml_node name_node;
          pugi::xml_node value_node;
          if (!for_each_element(m, [&](pugi::xml_node child) {
                const std::string_view n = child.name();
                pugi::xml_node& slot = n == "name" ? name_node : value_node;
                if (n != "name" && n != "value") {
                  return invalid("unexpected <" + std::string(n) + "> in <member>");
                }
                if (slot) return invalid("more than one <" + std::string(n) + "> in <member>");
                slot = child;
                return true;
              })) {
            return false;
          }
          if (!name_node || !value_node)
            return invalid("<member> needs one <name> and one <value>");
          std::string name;
          if (!text_of(name_node, name)) return false;
          value v;
          if (!read_value(value_node, depth + 1, v)) return false;
          members.emplace_back(std::move(name), std::move(v));
          return true;
        })) {
      return false;
    }
    out = std::move(members);
    return true;
  }

  const decode_limits& limits_;
  failure error_;
};

// ---- writing ----

void write_value(pugi::xml_node value_node, const value& v);

void set_text(pugi::xml_node n, std::string_view text) {
  if (!text.empty()) n.text().set(text.data(), text.size());
}

/// How text is written where XML 1.0 cannot carry it (docs/protocols.md "XML-RPC"): NUL, the
/// other C0 controls but tab, LF and CR, U+FFFE, U+FFFF, and bytes that are not well-formed
/// UTF-8. No escape of XML can carry them (not even a character reference: `&#1;` is not
/// well-formed, and Python's xmlrpc.client refuses the whole answer), and pugixml would cut a
/// string at its first NUL.
enum class unrepresentable {
  /// U+FFFD REPLACEMENT CHARACTER, one per character or byte (as Go's encoding/xml does):
  /// strings, member names and method names, which are data; an escape written into them would
  /// read as text the value really held.
  replace,
  /// `\xNN` for a control character or a byte, `\uFFFE`/`\uFFFF`: fault strings, which are
  /// diagnostics for people, and keep which character it was.
  escape,
};

/// Where `text` holds something XML 1.0 cannot carry, from `from` on: its offset and length
/// (1 for a control character or a stray byte, 3 for U+FFFE/U+FFFF), or npos.
std::pair<std::size_t, std::size_t> find_unrepresentable(std::string_view text, std::size_t from) {
  namespace utf = boost::locale::utf;
  for (std::size_t i = from; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return {i, 1};
      ++i;
      continue;
    }
    const char* p = text.data() + i;
    const utf::code_point cp = utf::utf_traits<char>::decode(p, text.data() + text.size());
    if (cp == utf::illegal || cp == utf::incomplete) return {i, 1};
    if (cp == 0xFFFE || cp == 0xFFFF) return {i, 3};
    i = static_cast<std::size_t>(p - text.data());
  }
  return {std::string_view::npos, 0};
}

/// `text` as XML 1.0 can carry it: `text` itself when it can as it is (the common case: nothing
/// is copied), else a copy made in `scratch` with what it cannot carry written `how`.
std::string_view xml_text(std::string_view text, std::string& scratch, unrepresentable how) {
  auto [bad, length] = find_unrepresentable(text, 0);
  if (bad == std::string_view::npos) return text;
  scratch.clear();
  std::size_t done = 0;
  while (bad != std::string_view::npos) {
    scratch.append(text.substr(done, bad - done));
    if (how == unrepresentable::replace) {
      scratch += "\xEF\xBF\xBD";  // U+FFFD
    } else if (length == 3) {
      scratch += text[bad + 2] == '\xBE' ? "\\uFFFE" : "\\uFFFF";
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(text[bad]));
      scratch += hex;
    }
    done = bad + length;
    std::tie(bad, length) = find_unrepresentable(text, done);
  }
  scratch.append(text.substr(done));
  return scratch;
}

/// Sets the text of `n` to `text` as XML 1.0 can carry it (xml_text).
void set_xml_text(pugi::xml_node n, std::string_view text, unrepresentable how) {
  std::string scratch;
  set_text(n, xml_text(text, scratch, how));
}

void write_int(pugi::xml_node parent, std::int64_t i) {
  const bool fits32 = i >= std::numeric_limits<std::int32_t>::min() &&
                      i <= std::numeric_limits<std::int32_t>::max();
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, i);
  (void)ec;  // 24 bytes hold any int64
  set_text(parent.append_child(fits32 ? "int" : "i8"),
           std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

void write_double(pugi::xml_node parent, double d) {
  if (!std::isfinite(d)) {
    // XML-RPC's <double> has no non-finite form (Python writes repr(), "inf", which other
    // implementations and our own reader refuse): send a readable string. See the file comment.
    set_text(parent.append_child("string"), std::isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
    return;
  }
  char buf[40];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);  // shortest round trip
  (void)ec;  // 40 bytes hold any shortest double
  std::string text(buf, end);
  // Like Python's repr: a float always looks like one ("2.0", not "2").
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  set_text(parent.append_child("double"), text);
}

struct value_writer {
  pugi::xml_node parent;

  void operator()(nil_t) { parent.append_child("nil"); }
  void operator()(bool b) { set_text(parent.append_child("boolean"), b ? "1" : "0"); }
  void operator()(std::int64_t i) { write_int(parent, i); }
  void operator()(double d) { write_double(parent, d); }
  void operator()(const std::string& s) {
    set_xml_text(parent.append_child("string"), s, unrepresentable::replace);
  }
  void operator()(const bytes& b) {
    set_text(parent.append_child("base64"), base64_encode(b.data));
  }
  void operator()(const date_time& t) {
    set_text(parent.append_child("dateTime.iso8601"), t.to_xmlrpc());
  }
  void operator()(const array& a) {
    pugi::xml_node data = parent.append_child("array").append_child("data");
    for (const value& item : a) write_value(data.append_child("value"), item);
  }
  void operator()(const structure& s) {
    pugi::xml_node st = parent.append_child("struct");
    for (const auto& [name, item] : s) {
      pugi::xml_node m = st.append_child("member");
      set_xml_text(m.append_child("name"), name, unrepresentable::replace);
      write_value(m.append_child("value"), item);
    }
  }
};

void write_value(pugi::xml_node value_node, const value& v) {
  std::visit(value_writer{value_node}, v.get());
}

/// A document holding only the `<?xml version="1.0"?>` declaration.
void start_document(pugi::xml_document& doc) {
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
}

void save(const pugi::xml_document& doc, std::string& out) {
  string_writer w(out);
  doc.save(w, "", pugi::format_raw, pugi::encoding_utf8);
}

}  // namespace

bool decode_call(std::string_view body, const decode_limits& limits, request& out, fault& error) {
  pugi::xml_document doc;
  pugi::xml_node root;
  failure f;
  if (!within_budget(body, limits, f) || !load(body, doc, root, f)) {
    error = fault{f.code, std::move(f.message)};
    return false;
  }
  reader rd(limits);
  auto refuse = [&] {
    error = fault{rd.error().code, rd.error().message};
    return false;
  };
  if (std::string_view(root.name()) != "methodCall") {
    rd.invalid("root element is <" + std::string(root.name()) + ">, expected <methodCall>");
    return refuse();
  }
  pugi::xml_node name_node;
  pugi::xml_node params_node;
  if (!rd.for_each_element(root, [&](pugi::xml_node child) {
        const std::string_view n = child.name();
        if (n != "methodName" && n != "params") {
          return rd.invalid("unexpected <" + std::string(n) + "> in <methodCall>");
        }
        pugi::xml_node& slot = n == "methodName" ? name_node : params_node;
        if (slot) return rd.invalid("more than one <" + std::string(n) + "> in <methodCall>");
        slot = child;
        return true;
      })) {
    return refuse();
  }
  if (!name_node) {
    rd.invalid("missing <methodName> in <methodCall>");
    return refuse();
  }
  std::string method;
  if (!rd.text_of(name_node, method)) return refuse();
  // Method names are identifiers (spec: letters, digits, '_', '.', ':', '/'): surrounding
  // whitespace from a pretty-printer is not part of the name.
  method = std::string(trim(method));
  if (method.empty()) {
    rd.invalid("empty <methodName>");
    return refuse();
  }
  array params;
  if (params_node && !rd.for_each_element(params_node, [&](pugi::xml_node param) {
        if (param.name() != std::string_view("param")) {
          return rd.invalid("unexpected <" + std::string(param.name()) + "> in <params>");
        }
        pugi::xml_node v;
        if (!rd.only_child(param, "value", v)) return false;
        value item;
        if (!rd.read_value(v, 0, item)) return false;
        params.push_back(std::move(item));
        return true;
      })) {
    return refuse();
  }
  out.method = std::move(method);
  out.params = std::move(params);
  out.id = nil;
  out.notification = false;
  return true;
}

void encode_response(const response& r, std::string& out) {
  pugi::xml_document doc;
  start_document(doc);
  pugi::xml_node root = doc.append_child("methodResponse");
  if (r.error) {
    pugi::xml_node st = root.append_child("fault").append_child("value").append_child("struct");
    pugi::xml_node code = st.append_child("member");
    set_text(code.append_child("name"), "faultCode");
    write_int(code.append_child("value"), r.error->code);
    pugi::xml_node text = st.append_child("member");
    set_text(text.append_child("name"), "faultString");
    set_xml_text(text.append_child("value").append_child("string"), r.error->message,
                 unrepresentable::escape);
  } else {
    write_value(root.append_child("params").append_child("param").append_child("value"), r.result);
  }
  save(doc, out);
}

void encode_call(const request& r, std::string& out) {
  pugi::xml_document doc;
  start_document(doc);
  pugi::xml_node root = doc.append_child("methodCall");
  set_xml_text(root.append_child("methodName"), r.method, unrepresentable::replace);
  pugi::xml_node params = root.append_child("params");
  auto add = [&](const value& v) {
    write_value(params.append_child("param").append_child("value"), v);
  };
  // XML-RPC params are positional: an array is the param list; a struct (named params) and any
  // other single value go as one param; nil means no params.
  if (r.params.is_array()) {
    for (const value& v : r.params.as_array()) add(v);
  } else if (!r.params.is_nil()) {
    add(r.params);
  }
  save(doc, out);
}

bool decode_response(std::string_view body, const decode_limits& limits, response& out,
                     fault& error) {
  pugi::xml_document doc;
  pugi::xml_node root;
  failure f;
  if (!within_budget(body, limits, f) || !load(body, doc, root, f)) {
    error = fault{f.code, std::move(f.message)};
    return false;
  }
  reader rd(limits);
  auto refuse = [&] {
    error = fault{rd.error().code, rd.error().message};
    return false;
  };
  if (std::string_view(root.name()) != "methodResponse") {
    rd.invalid("root element is <" + std::string(root.name()) + ">, expected <methodResponse>");
    return refuse();
  }
  pugi::xml_node body_node;
  if (!rd.for_each_element(root, [&](pugi::xml_node child) {
        const std::string_view n = child.name();
        if (n != "params" && n != "fault") {
          return rd.invalid("unexpected <" + std::string(n) + "> in <methodResponse>");
        }
        if (body_node)
          return rd.invalid("<methodResponse> holds more than one of <params>/<fault>");
        body_node = child;
        return true;
      })) {
    return refuse();
  }
  if (!body_node) {
    rd.invalid("<methodResponse> holds neither <params> nor <fault>");
    return refuse();
  }
  if (std::string_view(body_node.name()) == "fault") {
    pugi::xml_node v;
    value fv;
    if (!rd.only_child(body_node, "value", v) || !rd.read_value(v, 0, fv)) return refuse();
    const value* code = fv.find("faultCode");
    const value* message = fv.find("faultString");
    if (!fv.is_struct() || !code || !code->is_int() || !message || !message->is_string()) {
      rd.invalid("<fault> is not a struct of faultCode (int) and faultString (string)");
      return refuse();
    }
    if (code->as_int() < std::numeric_limits<int>::min() ||
        code->as_int() > std::numeric_limits<int>::max()) {
      rd.invalid("faultCode " + std::to_string(code->as_int()) + " out of range");
      return refuse();
    }
    out.result = nil;
    out.error = fault{static_cast<int>(code->as_int()), message->as_string()};
    return true;
  }
  // A response carries exactly one param; an empty <params/> (some servers' "void") is nil.
  value result;
  std::size_t count = 0;
  if (!rd.for_each_element(body_node, [&](pugi::xml_node param) {
        if (param.name() != std::string_view("param")) {
          return rd.invalid("unexpected <" + std::string(param.name()) + "> in <params>");
        }
        if (++count > 1) return rd.invalid("<methodResponse> holds more than one <param>");
        pugi::xml_node v;
        return rd.only_child(param, "value", v) && rd.read_value(v, 0, result);
      })) {
    return refuse();
  }
  out.result = std::move(result);
  out.error.reset();
  return true;
}

void encode_value(const value& v, std::string& out) {
  pugi::xml_document doc;
  pugi::xml_node holder = doc.append_child("value");
  write_value(holder, v);
  string_writer w(out);
  for (pugi::xml_node child : holder.children()) child.print(w, "", pugi::format_raw);
}

}  // namespace netcall::detail::xmlrpc
