// Tests for src/protocol/xmlrpc/codec.cpp: decoding calls and responses (spec examples, what
// Python's xmlrpc.client writes, malformed input), and the exact XML the encoders write.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.hpp"
#include "protocol/xmlrpc/codec.hpp"

namespace {

using netcall::array;
using netcall::bytes;
using netcall::date_time;
using netcall::structure;
using netcall::value;
using netcall::detail::decode_limits;
using netcall::detail::fault;
using netcall::detail::request;
using netcall::detail::response;
namespace xmlrpc = netcall::detail::xmlrpc;

constexpr int parse_error = -32700;
constexpr int invalid_request = -32600;

request decode_call_ok(std::string_view xml, const decode_limits& limits = {}) {
  request r;
  fault f;
  EXPECT_TRUE(xmlrpc::decode_call(xml, limits, r, f)) << f.code << " " << f.message;
  return r;
}

fault decode_call_error(std::string_view xml, const decode_limits& limits = {}) {
  request r;
  fault f;
  EXPECT_FALSE(xmlrpc::decode_call(xml, limits, r, f)) << "accepted: " << xml.substr(0, 200);
  return f;
}

std::string call_with(std::string_view value_xml) {
  return "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param><value>" +
         std::string(value_xml) + "</value></param></params></methodCall>";
}

/// The one param of a call whose `<value>` holds `value_xml`.
value decode_param(std::string_view value_xml) {
  const request r = decode_call_ok(call_with(value_xml));
  if (!r.params.is_array() || r.params.as_array().size() != 1) {
    ADD_FAILURE() << "expected one param for " << value_xml;
    return {};
  }
  return r.params.as_array()[0];
}

std::string encode_result(const value& v) {
  std::string out;
  xmlrpc::encode_response(response{{}, v, {}}, out);
  return out;
}

std::string value_xml(const value& v) {
  std::string out;
  xmlrpc::encode_value(v, out);
  return out;
}

value round_trip_response(const value& v) {
  response back;
  fault error_text;
  const std::string xml = encode_result(v);
  EXPECT_TRUE(xmlrpc::decode_response(xml, {}, back, error_text)) << error_text << "\n" << xml;
  EXPECT_FALSE(back.error.has_value());
  return back.result;
}

value round_trip_call(const value& v) {
  std::string xml;
  xmlrpc::encode_call(request{"echo", array{v}, {}, false, {}}, xml);
  const request back = decode_call_ok(xml);
  EXPECT_EQ(back.method, "echo");
  if (!back.params.is_array() || back.params.as_array().size() != 1) {
    ADD_FAILURE() << "expected one param in " << xml;
    return {};
  }
  return back.params.as_array()[0];
}

std::string nested_arrays(std::size_t depth, std::string_view leaf = "<int>1</int>") {
  std::string xml;
  for (std::size_t i = 0; i < depth; ++i) xml += "<array><data><value>";
  xml += leaf;
  for (std::size_t i = 0; i < depth; ++i) xml += "</value></data></array>";
  return xml;
}

// ---------------------------------------------------------------- decoding calls

TEST(xmlrpc_decode_call, spec_example) {
  const request r = decode_call_ok(
      "<?xml version=\"1.0\"?>\n"
      "<methodCall>\n"
      "   <methodName>examples.getStateName</methodName>\n"
      "   <params>\n"
      "      <param>\n"
      "         <value><i4>41</i4></value>\n"
      "         </param>\n"
      "      </params>\n"
      "   </methodCall>\n");
  EXPECT_EQ(r.method, "examples.getStateName");
  EXPECT_EQ(r.params, value(array{41}));
  EXPECT_TRUE(r.id.is_nil());
  EXPECT_FALSE(r.notification);
}

TEST(xmlrpc_decode_call, exactly_what_python_dumps_writes) {
  // xmlrpc.client.dumps((1, 2.5, "x", True, None, {"k": [1]}), "m", allow_none=True), Python 3.11.
  const request r = decode_call_ok(
      "<?xml version='1.0'?>\n<methodCall>\n<methodName>m</methodName>\n<params>\n<param>\n"
      "<value><int>1</int></value>\n</param>\n<param>\n<value><double>2.5</double></value>\n"
      "</param>\n<param>\n<value><string>x</string></value>\n</param>\n<param>\n"
      "<value><boolean>1</boolean></value>\n</param>\n<param>\n<value><nil/></value></param>\n"
      "<param>\n<value><struct>\n<member>\n<name>k</name>\n<value><array><data>\n"
      "<value><int>1</int></value>\n</data></array></value>\n</member>\n</struct></value>\n"
      "</param>\n</params>\n</methodCall>\n");
  EXPECT_EQ(r.method, "m");
  const value expected = array{1, 2.5, "x", true, netcall::nil, structure{{"k", array{1}}}};
  EXPECT_EQ(r.params, expected) << netcall::to_debug_string(r.params);
}

TEST(xmlrpc_decode_call, every_scalar_type) {
  EXPECT_EQ(decode_param("<int>-7</int>"), value(-7));
  EXPECT_EQ(decode_param("<i4>+12</i4>"), value(12));
  EXPECT_EQ(decode_param("<i8>1099511627776</i8>"), value(std::int64_t{1} << 40));
  EXPECT_EQ(decode_param("<i8>-9223372036854775808</i8>"),
            value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(decode_param("<boolean>0</boolean>"), value(false));
  EXPECT_EQ(decode_param("<boolean>1</boolean>"), value(true));
  EXPECT_EQ(decode_param("<string>hello</string>"), value("hello"));
  EXPECT_EQ(decode_param("<double>-0.5</double>"), value(-0.5));
  EXPECT_EQ(decode_param("<double>1e+100</double>"), value(1e100));
  EXPECT_EQ(decode_param("<double>2.0</double>"), value(2.0));
  EXPECT_EQ(decode_param("<double>+3.25</double>"), value(3.25));
  EXPECT_EQ(decode_param("<double>7</double>"), value(7.0));
  EXPECT_EQ(decode_param("<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>"),
            value(date_time{1998, 7, 17, 14, 8, 55}));
  EXPECT_EQ(decode_param("<base64>eW91IGNhbid0IHJlYWQgdGhpcyE=</base64>"),
            value(bytes{"you can't read this!"}));
  EXPECT_EQ(decode_param("<nil/>"), value());
  EXPECT_EQ(decode_param("<nil></nil>"), value());
}

TEST(xmlrpc_decode_call, double_is_a_double_even_when_integral) {
  const value v = decode_param("<double>2.0</double>");
  EXPECT_TRUE(v.is_double());
}

TEST(xmlrpc_decode_call, namespaced_extension_tags) {
  // Apache XML-RPC's extensions, as Python reads them (the prefix is ignored).
  EXPECT_EQ(decode_param("<ex:i8 xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\">"
                         "1099511627776</ex:i8>"),
            value(std::int64_t{1} << 40));
  EXPECT_EQ(decode_param("<ex:nil/>"), value());
}

TEST(xmlrpc_decode_call, untyped_value_is_a_string_with_its_spaces) {
  EXPECT_EQ(decode_param("plain text"), value("plain text"));
  EXPECT_EQ(decode_param("  padded  "), value("  padded  "));
  EXPECT_EQ(decode_param(""), value(""));
  EXPECT_EQ(decode_param("<string>  a </string>"), value("  a "));
  EXPECT_EQ(decode_param("<string>   </string>"), value("   "));
  EXPECT_EQ(decode_param("<string/>"), value(""));
  EXPECT_EQ(decode_param("<string>line1\nline2</string>"), value("line1\nline2"));
}

TEST(xmlrpc_decode_call, value_element_self_closed_is_empty_string) {
  const request r = decode_call_ok(
      "<methodCall><methodName>m</methodName><params><param><value/></param></params>"
      "</methodCall>");
  EXPECT_EQ(r.params, value(array{""}));
}

TEST(xmlrpc_decode_call, entities_and_cdata) {
  EXPECT_EQ(
      decode_param("<string>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#233;&#x263A;</string>"),
      value("a <b> & \"c\" 'd' \xC3\xA9\xE2\x98\xBA"));
  EXPECT_EQ(decode_param("<string>x<![CDATA[<raw & stuff>]]>y</string>"), value("x<raw & stuff>y"));
}

TEST(xmlrpc_decode_call, unicode_text) {
  EXPECT_EQ(decode_param("<string>h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80</string>"),
            value("h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80"));
}

TEST(xmlrpc_decode_call, whitespace_around_scalars_is_ignored) {
  EXPECT_EQ(decode_param("<int> 42\n</int>"), value(42));
  EXPECT_EQ(decode_param("<boolean>\n1 </boolean>"), value(true));
  EXPECT_EQ(decode_param("<double> 0.25 </double>"), value(0.25));
  EXPECT_EQ(decode_param("<dateTime.iso8601>\n  20240229T23:59:59\n</dateTime.iso8601>"),
            value(date_time{2024, 2, 29, 23, 59, 59}));
}

TEST(xmlrpc_decode_call, base64_with_embedded_newlines) {
  EXPECT_EQ(decode_param("<base64>\n  AAEC\n  /w==\n</base64>"),
            value(bytes{std::string("\x00\x01\x02\xFF", 4)}));
  EXPECT_EQ(decode_param("<base64></base64>"), value(bytes{}));
}

TEST(xmlrpc_decode_call, indentation_between_elements_does_not_matter) {
  const request r = decode_call_ok(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<methodCall>\n"
      "  <methodName>\n    math.add\n  </methodName>\n"
      "  <params>\n"
      "    <param>\n      <value>\n        <int>1</int>\n      </value>\n    </param>\n"
      "    <param>\n      <value>\n        <struct>\n"
      "          <member>\n            <name>a</name>\n"
      "            <value>\n              <array>\n                <data>\n"
      "                  <value><string>x</string></value>\n"
      "                  <value>\n                    <nil/>\n                  </value>\n"
      "                </data>\n              </array>\n            </value>\n"
      "          </member>\n"
      "        </struct>\n      </value>\n    </param>\n"
      "  </params>\n"
      "</methodCall>\n");
  EXPECT_EQ(r.method, "math.add");
  EXPECT_EQ(r.params, value(array{1, structure{{"a", array{"x", netcall::nil}}}}));
}

TEST(xmlrpc_decode_call, comments_and_processing_instructions_are_skipped) {
  const request r = decode_call_ok(
      "<?xml version=\"1.0\"?><!-- a call --><methodCall><methodName>m</methodName>"
      "<!-- no params yet --><params><param><value><int>1<!-- one --></int></value></param>"
      "</params></methodCall>");
  EXPECT_EQ(r.params, value(array{1}));
}

TEST(xmlrpc_decode_call, nested_structs_and_arrays_keep_order) {
  const value v = decode_param(
      "<struct>"
      "<member><name>z</name><value><i4>1</i4></value></member>"
      "<member><name>a</name><value><struct>"
      "  <member><name>inner</name><value><array><data>"
      "    <value><array><data><value><boolean>0</boolean></value></data></array></value>"
      "    <value><struct></struct></value>"
      "    <value><array><data></data></array></value>"
      "  </data></array></value></member>"
      "</struct></value></member>"
      "<member><value><string>v</string></value><name>m</name></member>"
      "</struct>");
  const value expected = structure{
      {"z", 1},
      {"a", structure{{"inner", array{array{false}, structure{}, array{}}}}},
      {"m", "v"},
  };
  EXPECT_EQ(v, expected) << netcall::to_debug_string(v);
  ASSERT_TRUE(v.is_struct());
  EXPECT_EQ(v.as_struct()[0].first, "z");
  EXPECT_EQ(v.as_struct()[1].first, "a");
}

TEST(xmlrpc_decode_call, struct_member_names_keep_spaces_and_duplicates) {
  const value v = decode_param(
      "<struct><member><name> sp </name><value>1</value></member>"
      "<member><name>d</name><value><int>1</int></value></member>"
      "<member><name>d</name><value><int>2</int></value></member></struct>");
  EXPECT_EQ(v, value(structure{{" sp ", "1"}, {"d", 1}, {"d", 2}}));
}

TEST(xmlrpc_decode_call, without_params_or_with_empty_params) {
  EXPECT_EQ(
      decode_call_ok("<methodCall><methodName>system.listMethods</methodName></methodCall>").params,
      value(array{}));
  EXPECT_EQ(decode_call_ok("<methodCall><methodName>m</methodName><params/></methodCall>").params,
            value(array{}));
  EXPECT_EQ(decode_call_ok("<methodCall><methodName>m</methodName><params>\n</params></methodCall>")
                .params,
            value(array{}));
}

TEST(xmlrpc_decode_call, utf8_bom_and_latin1_declaration) {
  EXPECT_EQ(
      decode_call_ok("\xEF\xBB\xBF<methodCall><methodName>m</methodName></methodCall>").method,
      "m");
  // pugixml converts ISO-8859-1 documents (PHP's default) to UTF-8.
  const request r = decode_call_ok(
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName>"
      "<params><param><value><string>caf\xE9</string></value></param></params></methodCall>");
  EXPECT_EQ(r.params, value(array{"caf\xC3\xA9"}));
}

TEST(xmlrpc_decode_call, nesting_up_to_the_limit_is_accepted) {
  decode_limits limits;
  limits.max_depth = 3;
  const request r = decode_call_ok(call_with(nested_arrays(3)), limits);
  EXPECT_EQ(r.params, value(array{array{array{array{1}}}}));
}

TEST(xmlrpc_decode_call, nesting_past_the_limit_is_a_parse_error) {
  decode_limits limits;
  limits.max_depth = 3;
  const fault f = decode_call_error(call_with(nested_arrays(4)), limits);
  EXPECT_EQ(f.code, parse_error);
  EXPECT_NE(f.message.find("nest"), std::string::npos) << f.message;

  const fault s = decode_call_error(
      call_with("<struct><member><name>a</name><value><struct><member><name>b</name><value>"
                "<array><data><value><struct></struct></value></data></array>"
                "</value></member></struct></value></member></struct>"),
      limits);
  EXPECT_EQ(s.code, parse_error);
}

TEST(xmlrpc_decode_call, one_hundred_thousand_nested_arrays_is_a_fault_not_a_crash) {
  const fault f = decode_call_error(call_with(nested_arrays(100000)));
  EXPECT_EQ(f.code, parse_error);
  EXPECT_NE(f.message.find("nest"), std::string::npos) << f.message;

  // Unclosed, the same depth is malformed XML, still without a crash. Its 300,000 elements
  // (7 times its size at 48 bytes each) are over the decoded-size budget, refused before
  // pugixml builds a node; without a budget, pugixml reads it and finds it malformed.
  std::string open = "<methodCall><methodName>m</methodName><params><param><value>";
  for (int i = 0; i < 100000; ++i) open += "<array><data><value>";
  const fault over = decode_call_error(open);
  EXPECT_EQ(over.code, netcall::wire_code(netcall::status_code::resource_exhausted));
  EXPECT_NE(over.message.find("300005 elements"), std::string::npos) << over.message;
  decode_limits unbudgeted;
  unbudgeted.max_decoded_ratio = 0;
  EXPECT_EQ(decode_call_error(open, unbudgeted).code, parse_error);
}

// ---------------------------------------------------------------- refusing calls

TEST(xmlrpc_decode_call, malformed_xml_is_a_parse_error_with_offset) {
  for (std::string_view xml : {
           std::string_view("this is not xml"),
           std::string_view(""),
           std::string_view("<methodCall><methodName>m</methodName><params><param><value><int>1"),
           std::string_view("<methodCall><methodName>m</methodName></methodcall>"),
           std::string_view("<methodCall><methodName>m</methodName></methodCall><methodCall/>"),
           std::string_view("<methodCall attr=></methodCall>"),
           std::string_view("{\"jsonrpc\":\"2.0\",\"method\":\"m\"}"),
       }) {
    const fault f = decode_call_error(xml);
    EXPECT_EQ(f.code, parse_error) << xml;
    EXPECT_EQ(f.message.rfind("parse error: ", 0), 0u) << f.message;
  }
  const fault f = decode_call_error("<methodCall><methodName>m</methodName></methodcall>");
  EXPECT_NE(f.message.find(" at offset "), std::string::npos) << f.message;
}

TEST(xmlrpc_decode_call, truncated_document_is_a_parse_error) {
  std::string xml;
  xmlrpc::encode_call(request{"m", array{1, "two", structure{{"k", array{3.5}}}}, {}, false, {}}, xml);
  for (std::size_t cut = 1; cut < xml.size(); ++cut) {
    request r;
    fault f;
    // Cutting off only the final ">" of a document still leaves pugixml an element to close;
    // every proper prefix must be refused one way or another and never crash.
    EXPECT_FALSE(xmlrpc::decode_call(std::string_view(xml).substr(0, cut), {}, r, f)) << cut;
  }
  EXPECT_EQ(decode_call_error(std::string_view(xml).substr(0, xml.size() / 2)).code, parse_error);
}

TEST(xmlrpc_decode_call, garbage_bytes_with_nul_are_refused) {
  const std::string garbage("\x00\x01\xFF\xFE<\x00>\x7F\x80\x81 <<>>&&;\x00", 18);
  EXPECT_EQ(decode_call_error(garbage).code, parse_error);
  const std::string nul_inside("<methodCall><methodName>m\0x</methodName></methodCall>", 53);
  EXPECT_EQ(decode_call_error(nul_inside).code, parse_error);
  const std::string nul_after("<methodCall><methodName>m</methodName></methodCall>\0<junk", 56);
  EXPECT_EQ(decode_call_error(nul_after).code, parse_error);
  EXPECT_EQ(decode_call_error(call_with("<string>bad \xC3\x28 utf8</string>")).code, parse_error);
  EXPECT_EQ(decode_call_error(call_with("<string>overlong \xC0\xAF</string>")).code, parse_error);
}

// Found by fuzz_xmlrpc (corpus regress-char-ref-*): pugixml encodes any numeric character
// reference, even to a code point UTF-8 cannot hold.
TEST(xmlrpc_decode_call, character_reference_to_a_non_scalar_value_is_a_parse_error) {
  for (std::string_view ref : {"&#xD800;", "&#xDFFF;", "&#x110000;", "&#55296;"}) {
    const fault f = decode_call_error(call_with("<string>a" + std::string(ref) + "b</string>"));
    EXPECT_EQ(f.code, parse_error) << ref;
    EXPECT_NE(f.message.find("character reference"), std::string::npos) << f.message;
  }
  EXPECT_EQ(decode_param("<string>&#x10FFFF;&#xD7FF;&#xE000;</string>"),
            value("\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80"));
}

// XML 1.0 §2.2: a document holds only Chars (tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD,
// U+10000-U+10FFFF). pugixml let every C0 control through (Python's expat refuses them all).
TEST(xmlrpc_decode_call, control_characters_are_a_parse_error_with_offset) {
  for (char c = 1; c < 0x20; ++c) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    SCOPED_TRACE(static_cast<int>(c));
    const std::string xml = call_with(std::string("<string>a") + c + "b</string>");
    const fault f = decode_call_error(xml);
    EXPECT_EQ(f.code, parse_error);
    EXPECT_NE(f.message.find("control character U+00"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("at offset " + std::to_string(xml.find(c))), std::string::npos)
        << f.message;
  }
  // In names, comments, CDATA and attributes too; U+FFFE and U+FFFF are no Chars either.
  for (std::string_view xml : {
           "<methodCall><methodName>m\x1b[31m</methodName></methodCall>",
           "<methodCall><methodName>m</methodName><!-- \x01 --></methodCall>",
           "<methodCall><methodName><![CDATA[m\x02]]></methodName></methodCall>",
           "<methodCall a=\"\x7f\x03\"><methodName>m</methodName></methodCall>",
           "<methodCall><methodName>m\xEF\xBF\xBE</methodName></methodCall>",
           "<methodCall><methodName>m\xEF\xBF\xBF</methodName></methodCall>",
       }) {
    EXPECT_EQ(decode_call_error(xml).code, parse_error) << xml;
  }
  // Tab, LF, CR, DEL and C1 controls are Chars.
  EXPECT_EQ(decode_param("<string>\t\n\x7f\xC2\x85\xEF\xBF\xBD</string>"),
            value("\t\n\x7f\xC2\x85\xEF\xBF\xBD"));
}

// XML 1.0 WFC: Legal Character: a character reference names a Char. pugixml turned
// &#99999999999999999999; into U+FFFFF, &#0; into a NUL that cut the string, &#1; into U+0001.
TEST(xmlrpc_decode_call, character_reference_to_no_xml_character_is_a_parse_error) {
  for (std::string_view ref :
       {"&#99999999999999999999;", "&#0;", "&#x0;", "&#1;", "&#x1F;", "&#xD800;", "&#xDFFF;",
        "&#x110000;", "&#xFFFE;", "&#65535;", "&#x100000000000000000000009;",
        "&#00000000000000000000000000;"}) {
    SCOPED_TRACE(ref);
    const std::string xml = call_with("<string>a" + std::string(ref) + "b</string>");
    const fault f = decode_call_error(xml);
    EXPECT_EQ(f.code, parse_error);
    EXPECT_NE(f.message.find("character reference"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("at offset " + std::to_string(xml.find("&#"))), std::string::npos)
        << f.message;
  }
  for (std::string_view ref : {"&#;", "&#x;", "&#12", "&#1a;", "&#x1g;", "&# 65;"}) {
    const fault f = decode_call_error(call_with("<string>a" + std::string(ref) + "b</string>"));
    EXPECT_EQ(f.code, parse_error) << ref;
    EXPECT_NE(f.message.find("malformed character reference"), std::string::npos) << f.message;
  }
  // In a method name and an attribute as well.
  EXPECT_EQ(decode_call_error("<methodCall><methodName>ab&#0;c</methodName></methodCall>").code,
            parse_error);
  EXPECT_EQ(decode_call_error("<methodCall x='&#0;'><methodName>m</methodName></methodCall>").code,
            parse_error);
  // Legal ones, with leading zeros, at the edges of the ranges.
  EXPECT_EQ(decode_param("<string>&#9;&#x0A;&#13;&#0000065;&#x20;&#xd7ff;&#xE000;&#xFFFD;"
                         "&#x10000;&#1114111;</string>"),
            value("\t\n\rA \xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBD\xF0\x90\x80\x80"
                  "\xF4\x8F\xBF\xBF"));
  // In comments, CDATA and processing instructions `&#0;` is plain text, not a reference.
  EXPECT_EQ(decode_param("<string><!-- &#0; --><![CDATA[&#0;]]><?pi &#0;?></string>"),
            value("&#0;"));
}

// XML 1.0 §2.1: document ::= prolog element Misc*. pugixml dropped text around the root.
TEST(xmlrpc_decode_call, text_outside_the_root_element_is_a_parse_error) {
  const std::string call = "<methodCall><methodName>m</methodName></methodCall>";
  for (const std::string& xml : {call + "junk", call + "\n<![CDATA[x]]>", "junk" + call,
                                 "<?xml version=\"1.0\"?>x" + call, call + " &amp; "}) {
    SCOPED_TRACE(xml);
    const fault f = decode_call_error(xml);
    EXPECT_EQ(f.code, parse_error);
    EXPECT_NE(f.message.find("the root element"), std::string::npos) << f.message;
  }
  EXPECT_NE(decode_call_error(call + "junk").message.find("at offset " +
                                                          std::to_string(call.size())),
            std::string::npos);
  // Comments, processing instructions and whitespace may stand around it.
  EXPECT_EQ(decode_call_ok("\n<?xml version=\"1.0\"?>\n<!-- a -->\n" + call +
                           "\n<!-- b --><?pi x?>\r\n\t ")
                .method,
            "m");
  EXPECT_EQ(decode_call_error("<!-- only a comment -->").code, parse_error);
  EXPECT_EQ(decode_call_error("   ").code, parse_error);
}

// XML 1.0 §4.3.3: UTF-16 documents are read, and checked like UTF-8 ones.
TEST(xmlrpc_decode_call, utf16_documents_are_read_and_checked) {
  auto utf16le = [](std::string_view ascii) {
    std::string out = "\xFF\xFE";  // BOM
    for (char c : ascii) {
      out.push_back(c);
      out.push_back('\0');
    }
    return out;
  };
  EXPECT_EQ(decode_call_ok(utf16le(call_with("<string>x</string>"))).params, value(array{"x"}));
  EXPECT_EQ(decode_call_error(utf16le(call_with("<string>&#0;</string>"))).code, parse_error);
  EXPECT_EQ(decode_call_error(utf16le(call_with("<string>\x01</string>"))).code, parse_error);
  std::string lone_surrogate = utf16le(call_with("<string>x</string>"));
  const std::size_t x = lone_surrogate.find(utf16le("x</string>").substr(2));
  ASSERT_NE(x, std::string::npos);
  lone_surrogate.replace(x, 2, std::string("\x00\xD8", 2));  // U+D800 alone
  EXPECT_EQ(decode_call_error(lone_surrogate).code, parse_error);
}

// Found by fuzz_xmlrpc (corpus regress-fault-text-cut-inside-utf8): the quoted text in a fault
// is cut short, and must not be cut inside a multi-byte character.
TEST(xmlrpc_decode_call, fault_quoting_long_text_cuts_at_a_character_boundary) {
  std::string text = "a";
  for (int i = 0; i < 30; ++i) text += "\xC3\xA9";
  const fault f = decode_call_error("<methodCall>" + text + "</methodCall>");
  EXPECT_EQ(f.code, invalid_request);
  EXPECT_NE(f.message.find("..."), std::string::npos) << f.message;
  std::size_t i = 0;
  while (i < f.message.size()) {  // every multi-byte sequence whole
    const auto c = static_cast<unsigned char>(f.message[i]);
    const std::size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    ASSERT_NE(c & 0xC0u, 0x80u) << "continuation byte at " << i << ": " << f.message;
    ASSERT_LE(i + len, f.message.size()) << f.message;
    i += len;
  }
}

TEST(xmlrpc_decode_call, wrong_root_is_an_invalid_request) {
  const fault f = decode_call_error(
      "<methodResponse><params><param><value>1</value></param></params></methodResponse>");
  EXPECT_EQ(f.code, invalid_request);
  EXPECT_NE(f.message.find("methodCall"), std::string::npos) << f.message;
  EXPECT_EQ(decode_call_error("<html><body>hi</body></html>").code, invalid_request);
}

TEST(xmlrpc_decode_call, missing_or_empty_method_name_is_an_invalid_request) {
  EXPECT_EQ(decode_call_error("<methodCall><params/></methodCall>").code, invalid_request);
  EXPECT_EQ(decode_call_error("<methodCall/>").code, invalid_request);
  EXPECT_EQ(decode_call_error("<methodCall><methodName></methodName></methodCall>").code,
            invalid_request);
  EXPECT_EQ(decode_call_error("<methodCall><methodName> \n </methodName></methodCall>").code,
            invalid_request);
  EXPECT_EQ(decode_call_error("<methodCall><methodName>a</methodName><methodName>b</methodName>"
                              "</methodCall>")
                .code,
            invalid_request);
  EXPECT_EQ(decode_call_error("<methodCall><methodName><b>m</b></methodName></methodCall>").code,
            invalid_request);
}

TEST(xmlrpc_decode_call, wrong_shape_is_an_invalid_request) {
  for (std::string_view xml : {
           "<methodCall><methodName>m</methodName><extra/></methodCall>",
           "<methodCall>text<methodName>m</methodName></methodCall>",
           "<methodCall><methodName>m</methodName><params><value>1</value></params></methodCall>",
           "<methodCall><methodName>m</methodName><params><param/></params></methodCall>",
           "<methodCall><methodName>m</methodName><params><param><value>1</value><value>2</value>"
           "</param></params></methodCall>",
       }) {
    EXPECT_EQ(decode_call_error(xml).code, invalid_request) << xml;
  }
  for (std::string_view v : {
           "<int>1</int><int>2</int>",
           "text<int>1</int>",
           "<array><value>1</value></array>",
           "<array></array>",
           "<array><data><int>1</int></data></array>",
           "<array><data/><data/></array>",
           "<struct><value>1</value></struct>",
           "<struct><member><name>a</name></member></struct>",
           "<struct><member><value>1</value></member></struct>",
           "<struct><member><name>a</name><name>b</name><value>1</value></member></struct>",
           "<struct><member><name><b>a</b></name><value>1</value></member></struct>",
           "<int><i4>1</i4></int>",
           "<nil>x</nil>",
       }) {
    EXPECT_EQ(decode_call_error(call_with(v)).code, invalid_request) << v;
  }
}

TEST(xmlrpc_decode_call, unknown_type_tag_is_an_invalid_request) {
  const fault f = decode_call_error(call_with("<foo>1</foo>"));
  EXPECT_EQ(f.code, invalid_request);
  EXPECT_NE(f.message.find("foo"), std::string::npos) << f.message;
}

TEST(xmlrpc_decode_call, bad_ints_are_invalid_requests) {
  for (std::string_view v :
       {"<int>abc</int>", "<int>99999999999999999999</int>", "<i8>9223372036854775808</i8>",
        "<i8>18446744073709551615</i8>", "<i8>-9223372036854775809</i8>",
        "<biginteger>18446744073709551616</biginteger>", "<i4></i4>", "<int>1.5</int>",
        "<int>-</int>", "<int>+-1</int>", "<int>1 2</int>", "<int>0x10</int>"}) {
    const fault f = decode_call_error(call_with(v));
    EXPECT_EQ(f.code, invalid_request) << v;
    EXPECT_NE(f.message.find("invalid int"), std::string::npos) << f.message;
  }
}

TEST(xmlrpc_decode_call, bad_scalars_are_invalid_requests) {
  for (std::string_view v : {
           "<boolean>true</boolean>",
           "<boolean>2</boolean>",
           "<boolean></boolean>",
           "<double>abc</double>",
           "<double>nan</double>",
           "<double>inf</double>",
           "<double>-inf</double>",
           "<double>1e999</double>",
           "<double></double>",
           "<double>1.5x</double>",
           "<base64>not base64!</base64>",
           "<base64>AAE</base64>",
           "<dateTime.iso8601>yesterday</dateTime.iso8601>",
           "<dateTime.iso8601>19981317T14:08:55</dateTime.iso8601>",
           "<dateTime.iso8601>19980717T25:08:55</dateTime.iso8601>",
       }) {
    EXPECT_EQ(decode_call_error(call_with(v)).code, invalid_request) << v;
  }
  EXPECT_NE(decode_call_error(call_with("<base64>@@@@</base64>")).message.find("base64"),
            std::string::npos);
  EXPECT_NE(decode_call_error(call_with("<dateTime.iso8601>x</dateTime.iso8601>"))
                .message.find("dateTime"),
            std::string::npos);
}

// The XML-RPC spec's form is exactly YYYYMMDDTHH:MM:SS (Python's xmlrpc.client reads and
// writes only it); the extended ISO 8601 form of the same fields is read too. A zone, a fraction
// or a leap second used to be accepted (the zone dropped silently).
TEST(xmlrpc_decode_call, date_time_is_exactly_the_xmlrpc_form) {
  EXPECT_EQ(decode_param("<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>"),
            value(date_time{1998, 7, 17, 14, 8, 55}));
  EXPECT_EQ(decode_param("<dateTime.iso8601>1998-07-17T14:08:55</dateTime.iso8601>"),
            value(date_time{1998, 7, 17, 14, 8, 55}));
  EXPECT_EQ(decode_param("<dateTime.iso8601>20240229T23:59:59</dateTime.iso8601>"),
            value(date_time{2024, 2, 29, 23, 59, 59}));
  for (std::string_view t :
       {"19980717T14:08:55Z", "19980717T14:08:55+01:00", "19980717T14:08:55-0500",
        "1998-07-17T14:08:55Z", "19980717T14:08:55.5", "1998-07-17T14:08:55.5",
        "1998-07-17T14:08:55.123456", "19980717T14:08:55.123456Z", "20161231T23:59:60",
        "2016-12-31T23:59:60", "1998-0717T14:08:55", "199807-17T14:08:55", "19980717T140855",
        "19980717 14:08:55", "19980717t14:08:55", "+1998-07-17T14:08:55", "19980717T14:08:5",
        "20230229T00:00:00", "1998071714:08:55"}) {
    SCOPED_TRACE(t);
    const fault f =
        decode_call_error(call_with("<dateTime.iso8601>" + std::string(t) + "</dateTime.iso8601>"));
    EXPECT_EQ(f.code, invalid_request);
    EXPECT_NE(f.message.find("invalid dateTime.iso8601"), std::string::npos) << f.message;
  }
}

TEST(xmlrpc_decode_call, doctype_entities_are_not_expanded) {
  // pugixml knows only the predefined entities: a DOCTYPE cannot inflate the document.
  const request r = decode_call_ok(
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
      "<methodCall><methodName>m</methodName><params><param><value><string>&lol2;</string>"
      "</value></param></params></methodCall>");
  EXPECT_EQ(r.params, value(array{"&lol2;"}));
}

// ---------------------------------------------------------------- exact encodings

TEST(xmlrpc_encode, response_with_an_int) {
  EXPECT_EQ(encode_result(42),
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><int>42</int></value>"
            "</param></params></methodResponse>");
}

TEST(xmlrpc_encode, response_with_a_struct) {
  EXPECT_EQ(encode_result(structure{{"a", array{1, "x"}}, {"b", netcall::nil}}),
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
            "<member><name>a</name><value><array><data><value><int>1</int></value>"
            "<value><string>x</string></value></data></array></value></member>"
            "<member><name>b</name><value><nil/></value></member>"
            "</struct></value></param></params></methodResponse>");
}

TEST(xmlrpc_encode, fault_response) {
  std::string out;
  xmlrpc::encode_response(response{{}, {}, fault{-32601, "method not found: nope"}}, out);
  EXPECT_EQ(out,
            "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>"
            "<member><name>faultCode</name><value><int>-32601</int></value></member>"
            "<member><name>faultString</name><value><string>method not found: nope</string>"
            "</value></member></struct></value></fault></methodResponse>");
}

TEST(xmlrpc_encode, call) {
  std::string out;
  xmlrpc::encode_call(request{"math.add", array{1, 2.5}, {}, false, {}}, out);
  EXPECT_EQ(out,
            "<?xml version=\"1.0\"?><methodCall><methodName>math.add</methodName><params>"
            "<param><value><int>1</int></value></param>"
            "<param><value><double>2.5</double></value></param></params></methodCall>");
}

TEST(xmlrpc_encode, call_with_named_params_sends_one_struct) {
  std::string out;
  xmlrpc::encode_call(request{"m", structure{{"a", 1}}, {}, false, {}}, out);
  EXPECT_EQ(out,
            "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param><value>"
            "<struct><member><name>a</name><value><int>1</int></value></member></struct>"
            "</value></param></params></methodCall>");
  const request back = decode_call_ok(out);
  EXPECT_EQ(back.params, value(array{structure{{"a", 1}}}));
}

TEST(xmlrpc_encode, call_without_params) {
  std::string out;
  xmlrpc::encode_call(request{"system.listMethods", array{}, {}, false, {}}, out);
  EXPECT_EQ(out,
            "<?xml version=\"1.0\"?><methodCall><methodName>system.listMethods</methodName>"
            "<params/></methodCall>");
}

TEST(xmlrpc_encode, appends_to_the_output) {
  std::string out = "HEAD";
  xmlrpc::encode_value(1, out);
  EXPECT_EQ(out, "HEAD<int>1</int>");
}

TEST(xmlrpc_encode, every_value_kind) {
  EXPECT_EQ(value_xml(netcall::nil), "<nil/>");
  EXPECT_EQ(value_xml(true), "<boolean>1</boolean>");
  EXPECT_EQ(value_xml(false), "<boolean>0</boolean>");
  EXPECT_EQ(value_xml(0), "<int>0</int>");
  EXPECT_EQ(value_xml("a<b & c>d"), "<string>a&lt;b &amp; c&gt;d</string>");
  EXPECT_EQ(value_xml(""), "<string/>");
  EXPECT_EQ(value_xml(bytes{std::string("\x00\xFF", 2)}), "<base64>AP8=</base64>");
  EXPECT_EQ(value_xml(bytes{}), "<base64/>");
  EXPECT_EQ(value_xml(date_time{1998, 7, 17, 14, 8, 55}),
            "<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>");
  // XML-RPC has no sub-second dateTime: the fraction is dropped when written.
  EXPECT_EQ(value_xml(date_time{1998, 7, 17, 14, 8, 55, 123456}),
            "<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>");
  EXPECT_EQ(value_xml(array{}), "<array><data/></array>");
  EXPECT_EQ(value_xml(structure{}), "<struct/>");
}

TEST(xmlrpc_encode, ints_that_fit_32_bits_are_int_others_i8) {
  EXPECT_EQ(value_xml(2147483647), "<int>2147483647</int>");
  EXPECT_EQ(value_xml(-2147483648LL), "<int>-2147483648</int>");
  EXPECT_EQ(value_xml(2147483648LL), "<i8>2147483648</i8>");
  EXPECT_EQ(value_xml(-2147483649LL), "<i8>-2147483649</i8>");
  EXPECT_EQ(value_xml(std::numeric_limits<std::int64_t>::max()), "<i8>9223372036854775807</i8>");
}

TEST(xmlrpc_encode, doubles_are_shortest_round_trip_and_look_like_floats) {
  EXPECT_EQ(value_xml(2.0), "<double>2.0</double>");
  EXPECT_EQ(value_xml(0.1), "<double>0.1</double>");
  EXPECT_EQ(value_xml(-0.5), "<double>-0.5</double>");
  EXPECT_EQ(value_xml(1e100), "<double>1e+100</double>");
  EXPECT_EQ(value_xml(-0.0), "<double>-0.0</double>");
  EXPECT_EQ(value_xml(1.0 / 3.0), "<double>0.3333333333333333</double>");
}

TEST(xmlrpc_encode, non_finite_doubles_become_strings) {
  EXPECT_EQ(value_xml(std::numeric_limits<double>::infinity()), "<string>inf</string>");
  EXPECT_EQ(value_xml(-std::numeric_limits<double>::infinity()), "<string>-inf</string>");
  EXPECT_EQ(value_xml(std::nan("")), "<string>nan</string>");
}

// XML 1.0 cannot carry NUL, the other C0 controls but tab/LF/CR, U+FFFE or U+FFFF, even as a
// character reference. A fault string was cut at its first NUL and `&#01;` made the whole answer
// unreadable to Python's xmlrpc.client (expat).
TEST(xmlrpc_encode, text_xml_cannot_carry_is_replaced_in_values_and_escaped_in_faults) {
  const std::string odd("a\0b\x01" "c\x1b[0m\xEF\xBF\xBE\xFF\t\n", 15);
  const std::string shown_as_value =
      "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD" "[0m\xEF\xBF\xBD\xEF\xBF\xBD\t\n";
  EXPECT_EQ(value_xml(odd), "<string>" + shown_as_value + "</string>");
  EXPECT_EQ(value_xml(structure{{odd, 1}}),
            "<struct><member><name>" + shown_as_value +
                "</name><value><int>1</int></value></member></struct>");
  EXPECT_EQ(round_trip_response(odd), value(shown_as_value));
  EXPECT_EQ(round_trip_call(array{odd}), value(array{shown_as_value}));

  std::string out;
  xmlrpc::encode_response(response{{}, {}, fault{-32601, "method not found: " + odd}}, out);
  EXPECT_NE(out.find("<string>method not found: a\\x00b\\x01c\\x1b[0m\\uFFFE\\xff\t\n</string>"),
            std::string::npos)
      << out;
  response back;
  fault why;
  ASSERT_TRUE(xmlrpc::decode_response(out, {}, back, why)) << why;
  ASSERT_TRUE(back.error);
  EXPECT_EQ(back.error->message, "method not found: a\\x00b\\x01c\\x1b[0m\\uFFFE\\xff\t\n");

  out.clear();
  xmlrpc::encode_call(request{std::string("m\0x", 3), array{}, {}, false, {}}, out);
  EXPECT_NE(out.find("<methodName>m\xEF\xBF\xBDx</methodName>"), std::string::npos) << out;
  // What XML carries is written as it is.
  EXPECT_EQ(value_xml("tab\tlf\n\xC2\x85\x7f\xEF\xBF\xBD"),
            "<string>tab\tlf\n\xC2\x85\x7f\xEF\xBF\xBD</string>");
}

// ---------------------------------------------------------------- round trips

std::vector<value> every_kind() {
  return {
      netcall::nil,
      true,
      false,
      0,
      -1,
      2147483647,
      -2147483648LL,
      2147483648LL,
      -2147483649LL,
      std::numeric_limits<std::int64_t>::max(),
      std::numeric_limits<std::int64_t>::min(),
      2.0,
      0.1,
      -0.0,
      1e-300,
      1.7976931348623157e308,
      5e-324,
      "",
      "plain",
      "  spaces kept  ",
      "line\nbreak\ttab",
      "a < b && c > d; ]]> \"q\" 'a'",
      "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80",
      bytes{},
      bytes{std::string("\x00\x01\xFF\xFE\x00", 5)},
      bytes{std::string(1000, '\xAB')},
      date_time{1998, 7, 17, 14, 8, 55},
      date_time{9999, 12, 31, 23, 59, 59},
      array{},
      structure{},
      array{1, "two", 3.0, array{netcall::nil, structure{}}},
      structure{{"z", 1}, {"a", structure{{"b", array{true, bytes{"x"}}}}}, {"", "empty name"}},
  };
}

TEST(xmlrpc_round_trip, date_times_come_back_without_their_microseconds) {
  const date_time t{2026, 12, 3, 10, 0, 0, 123456};
  const date_time whole_seconds{2026, 12, 3, 10, 0, 0};
  EXPECT_EQ(round_trip_response(t), value(whole_seconds));
  EXPECT_EQ(round_trip_call(t), value(whole_seconds));
}

TEST(xmlrpc_decode_response, an_int_beyond_int64_is_an_unreadable_answer) {
  response back;
  fault why;
  EXPECT_FALSE(xmlrpc::decode_response(
      "<methodResponse><params><param><value><i8>18446744073709551615</i8></value></param>"
      "</params></methodResponse>",
      {}, back, why));
  EXPECT_EQ(why.code, invalid_request);
  EXPECT_NE(why.message.find("18446744073709551615"), std::string::npos) << why;
}

TEST(xmlrpc_round_trip, response_every_kind) {
  for (const value& v : every_kind()) {
    const value back = round_trip_response(v);
    EXPECT_EQ(back, v) << netcall::to_debug_string(v) << " came back as "
                       << netcall::to_debug_string(back);
  }
}

TEST(xmlrpc_round_trip, call_every_kind) {
  for (const value& v : every_kind()) {
    const value back = round_trip_call(v);
    EXPECT_EQ(back, v) << netcall::to_debug_string(v) << " came back as "
                       << netcall::to_debug_string(back);
  }
}

TEST(xmlrpc_round_trip, call_with_many_params) {
  const array params = every_kind();
  std::string xml;
  xmlrpc::encode_call(request{"system.multicall", params, {}, false, {}}, xml);
  const request back = decode_call_ok(xml);
  EXPECT_EQ(back.method, "system.multicall");
  EXPECT_EQ(back.params, value(params));
}

TEST(xmlrpc_round_trip, doubles_stay_doubles) {
  const value back = round_trip_response(2.0);
  EXPECT_TRUE(back.is_double());
  EXPECT_EQ(round_trip_call(0.1), value(0.1));
}

TEST(xmlrpc_round_trip, deep_value_within_the_limit) {
  value v = 1;
  for (int i = 0; i < 128; ++i) v = array{std::move(v)};
  EXPECT_EQ(round_trip_response(v), v);
  v = array{std::move(v)};
  response back;
  fault error_text;
  EXPECT_FALSE(xmlrpc::decode_response(encode_result(v), {}, back, error_text));
  EXPECT_NE(error_text.message.find("nest"), std::string::npos) << error_text;
}

// ---------------------------------------------------------------- decoding responses

TEST(xmlrpc_decode_response, fault_round_trip) {
  std::string xml;
  xmlrpc::encode_response(response{{}, {}, fault{-32000, "division by zero & <more>"}}, xml);
  response back;
  back.result = 5;
  fault error_text;
  ASSERT_TRUE(xmlrpc::decode_response(xml, {}, back, error_text)) << error_text;
  ASSERT_TRUE(back.error.has_value());
  EXPECT_EQ(*back.error, (fault{-32000, "division by zero & <more>"}));
  EXPECT_TRUE(back.result.is_nil());
}

TEST(xmlrpc_decode_response, python_style_fault) {
  // What Python's SimpleXMLRPCServer sends (xmlrpc.client.dumps(Fault(1, "...")), indented).
  const std::string xml =
      "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n"
      "<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n<member>\n"
      "<name>faultString</name>\n<value><string>&lt;class 'Exception'&gt;:boom</string></value>\n"
      "</member>\n</struct></value>\n</fault>\n</methodResponse>\n";
  response back;
  fault error_text;
  ASSERT_TRUE(xmlrpc::decode_response(xml, {}, back, error_text)) << error_text;
  ASSERT_TRUE(back.error.has_value());
  EXPECT_EQ(*back.error, (fault{1, "<class 'Exception'>:boom"}));
}

TEST(xmlrpc_decode_response, python_style_result) {
  // xmlrpc.client.dumps(({"sum": 3, "big": 2**40},), methodresponse=True)
  const std::string xml =
      "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n"
      "<name>sum</name>\n<value><int>3</int></value>\n</member>\n<member>\n<name>big</name>\n"
      "<value><int>1099511627776</int></value>\n</member>\n</struct></value>\n</param>\n"
      "</params>\n</methodResponse>\n";
  response back;
  fault error_text;
  ASSERT_TRUE(xmlrpc::decode_response(xml, {}, back, error_text)) << error_text;
  EXPECT_FALSE(back.error.has_value());
  EXPECT_EQ(back.result, value(structure{{"sum", 3}, {"big", std::int64_t{1} << 40}}));
}

TEST(xmlrpc_decode_response, success_clears_a_previous_fault) {
  response back;
  back.error = fault{1, "old"};
  fault error_text;
  ASSERT_TRUE(xmlrpc::decode_response(encode_result("ok"), {}, back, error_text));
  EXPECT_FALSE(back.error.has_value());
  EXPECT_EQ(back.result, value("ok"));
}

TEST(xmlrpc_decode_response, empty_params_is_nil) {
  response back;
  fault error_text;
  ASSERT_TRUE(
      xmlrpc::decode_response("<methodResponse><params/></methodResponse>", {}, back, error_text))
      << error_text;
  EXPECT_TRUE(back.result.is_nil());
}

TEST(xmlrpc_decode_response, not_a_response_is_refused_with_a_reason) {
  for (std::string_view xml : {
           "",
           "garbage",
           "<methodResponse><params><param><value><int>1</int></value></param></params>",
           "<methodCall><methodName>m</methodName></methodCall>",
           "<methodResponse/>",
           "<methodResponse><params><param><value>1</value></param><param><value>2</value>"
           "</param></params></methodResponse>",
           "<methodResponse><params/><fault/></methodResponse>",
           "<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
           "<methodResponse><fault><value><struct><member><name>faultCode</name><value>"
           "<string>1</string></value></member><member><name>faultString</name><value>x"
           "</value></member></struct></value></fault></methodResponse>",
           "<methodResponse><fault><value><struct><member><name>faultCode</name><value>"
           "<int>1</int></value></member></struct></value></fault></methodResponse>",
           "<methodResponse><fault><value><struct><member><name>faultCode</name><value>"
           "<i8>99999999999</i8></value></member><member><name>faultString</name><value>x"
           "</value></member></struct></value></fault></methodResponse>",
           "<methodResponse><params><param><value><foo/></value></param></params>"
           "</methodResponse>",
       }) {
    response back;
    fault error_text;
    EXPECT_FALSE(xmlrpc::decode_response(xml, {}, back, error_text)) << xml;
    EXPECT_FALSE(error_text.message.empty()) << xml;
    EXPECT_EQ(error_text.message.find('\n'), std::string::npos) << error_text;
  }
}

}  // namespace

// common/utf8.hpp: the check behind XML-RPC's "invalid UTF-8" parse errors.
TEST(find_invalid_utf8, offset_of_the_first_bad_sequence) {
  using netcall::detail::find_invalid_utf8;
  constexpr auto npos = std::string_view::npos;
  EXPECT_EQ(find_invalid_utf8(""), npos);
  EXPECT_EQ(find_invalid_utf8("plain ascii"), npos);
  EXPECT_EQ(find_invalid_utf8(std::string_view("a\0b", 3)), npos);  // NUL: the caller's call
  EXPECT_EQ(find_invalid_utf8("h\xC3\xA9 \xE2\x98\xBA \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"), npos);
  EXPECT_EQ(find_invalid_utf8("ab\xC0\xAF"), 2u);               // overlong '/'
  EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);            // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);         // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ok\xE2\x82"), 2u);               // cut short
  EXPECT_EQ(find_invalid_utf8("\xC3\x28"), 0u);                 // bad continuation
  EXPECT_EQ(find_invalid_utf8("\x80"), 0u);                     // lone continuation
  EXPECT_EQ(find_invalid_utf8("\xFF"), 0u);
}
