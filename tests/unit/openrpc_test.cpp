// netcall/openrpc.hpp (src/server/openrpc.cpp): the JSON Schemas derived from XML-RPC
// signatures, the OpenRPC method objects and document rpc.discover answers (SPEC §2), and the
// signature text `netcall list` prints from them (SPEC §3).
#include "netcall/openrpc.hpp"

#include <gtest/gtest.h>

#include "netcall/version.hpp"

using namespace netcall;

namespace {

using signatures = std::vector<std::vector<std::string>>;

value type(const char* t) { return value(structure{{"type", t}}); }
value any() { return value(structure{}); }
value any_of(array choices) { return value(structure{{"anyOf", std::move(choices)}}); }

/// The member `key` of struct `v` (fails the test when missing).
const value& at(const value& v, std::string_view key) {
  const value* m = v.find(key);
  EXPECT_NE(m, nullptr) << key;
  static const value missing;
  return m != nullptr ? *m : missing;
}

TEST(openrpc_schema, every_xmlrpc_type_name_has_its_json_schema) {
  struct row {
    const char* type;
    value schema;
  };
  const row table[] = {
      {"int", type("integer")},
      {"i4", type("integer")},
      {"i8", type("integer")},
      {"double", type("number")},
      {"boolean", type("boolean")},
      {"string", type("string")},
      {"base64", value(structure{{"type", "string"}, {"contentEncoding", "base64"}})},
      {"dateTime.iso8601", value(structure{{"type", "string"}, {"format", "date-time"}})},
      {"array", type("array")},
      {"struct", type("object")},
      {"nil", type("null")},
      {"any", any()},
      {"undef", any()},  // a name the table does not know: any value
  };
  for (const auto& r : table) EXPECT_EQ(schema_of_xmlrpc_type(r.type), r.schema) << r.type;
}

TEST(openrpc_schema, one_signature_gives_its_types_all_required) {
  auto s = schemas_from_signatures(signatures{{"boolean", "string"}});
  EXPECT_EQ(s.params, (std::vector<value>{type("string")}));
  EXPECT_EQ(s.result, type("boolean"));
  EXPECT_EQ(s.required, 1u);
}

TEST(openrpc_schema, several_signatures_give_any_of_the_distinct_types_in_order) {
  auto s =
      schemas_from_signatures(signatures{{"int", "int", "int"}, {"double", "double", "double"}});
  const value both = any_of(array{type("integer"), type("number")});
  EXPECT_EQ(s.params, (std::vector<value>{both, both}));
  EXPECT_EQ(s.result, both);
  EXPECT_EQ(s.required, 2u);
  // A position where the signatures agree keeps the one schema; repeats are dropped.
  s = schemas_from_signatures(signatures{
      {"string", "int", "string"}, {"string", "double", "string"}, {"string", "int", "string"}});
  EXPECT_EQ(s.params,
            (std::vector<value>{any_of(array{type("integer"), type("number")}), type("string")}));
  EXPECT_EQ(s.result, type("string"));
}

TEST(openrpc_schema, any_at_a_position_takes_the_others) {
  auto s = schemas_from_signatures(signatures{{"any", "any"}, {"int", "int"}});
  EXPECT_EQ(s.params, (std::vector<value>{any()}));
  EXPECT_EQ(s.result, any());
}

TEST(openrpc_schema, params_beyond_the_shortest_signature_are_not_required) {
  auto s = schemas_from_signatures(signatures{{"int", "int"}, {"int", "int", "string", "boolean"}});
  EXPECT_EQ(s.params, (std::vector<value>{type("integer"), type("string"), type("boolean")}));
  EXPECT_EQ(s.required, 1u);
}

TEST(openrpc_schema, no_signatures_say_nothing) {
  for (const auto& sigs : {signatures{}, signatures{{}}}) {
    auto s = schemas_from_signatures(sigs);
    EXPECT_TRUE(s.params.empty());
    EXPECT_EQ(s.result, any());
    EXPECT_EQ(s.required, 0u);
  }
}

TEST(openrpc_schema, own_schemas_win_over_the_signatures) {
  procedure_info info{"f", {"a", "b"}, {{"int", "int", "int"}}, ""};
  info.param_schemas = {type("integer"), value(structure{{"type", "integer"}, {"minimum", 0}})};
  info.result_schema = type("string");
  info.required_params = 1;
  auto s = schemas_of(info);
  EXPECT_EQ(s.params, info.param_schemas);
  EXPECT_EQ(s.result, type("string"));
  EXPECT_EQ(s.required, 1u);
}

TEST(openrpc_schema, empty_schemas_are_derived_from_the_signatures) {
  procedure_info info{"f", {"a", "b"}, {{"int", "int"}, {"int", "int", "double"}}, ""};
  auto s = schemas_of(info);
  EXPECT_EQ(s.params, (std::vector<value>{type("integer"), type("number")}));
  EXPECT_EQ(s.result, type("integer"));
  EXPECT_EQ(s.required, 1u);  // the shorter signature: b may be left out
  info.required_params = 0;   // fewer still when the procedure says so
  EXPECT_EQ(schemas_of(info).required, 0u);
}

TEST(openrpc_schema, explicit_signatures_type_params_whose_own_schema_says_any) {
  // A procedure taking netcall::value params with declared signatures (the math module): the
  // typed bind's `{}` says less than the signatures.
  procedure_info info{
      "add", {"a", "b"}, {{"int", "int", "int"}, {"double", "double", "double"}}, ""};
  info.param_schemas = {any(), any()};
  info.result_schema = any();
  const value both = any_of(array{type("integer"), type("number")});
  auto s = schemas_of(info);
  EXPECT_EQ(s.params, (std::vector<value>{both, both}));
  EXPECT_EQ(s.result, both);
  // With "any" signatures too, `{}` stays.
  info.signatures = {{"any", "any", "any"}};
  s = schemas_of(info);
  EXPECT_EQ(s.params, (std::vector<value>{any(), any()}));
  EXPECT_EQ(s.result, any());
}

TEST(openrpc_schema, a_nil_result_schema_is_derived_and_extra_names_get_any) {
  procedure_info info{"f", {"a", "b"}, {{"nil", "string"}}, ""};
  info.param_schemas = {type("string")};  // fewer than the names: the rest from signatures or {}
  auto s = schemas_of(info);
  EXPECT_EQ(s.params, (std::vector<value>{type("string"), any()}));
  EXPECT_EQ(s.result, type("null"));
  EXPECT_EQ(s.required, 2u);  // all_params; the signatures do not limit own schemas
}

TEST(openrpc_method, named_params_are_either_by_name_or_position) {
  procedure_info info{"subtract",
                      {"minuend", "subtrahend"},
                      {{"int", "int", "int"}, {"double", "double", "double"}},
                      "Returns minuend - subtrahend."};
  const value both = any_of(array{type("integer"), type("number")});
  const value expected = structure{
      {"name", "subtract"},
      {"description", "Returns minuend - subtrahend."},
      {"params", array{structure{{"name", "minuend"}, {"schema", both}, {"required", true}},
                       structure{{"name", "subtrahend"}, {"schema", both}, {"required", true}}}},
      {"result", structure{{"name", "result"}, {"schema", both}}},
      {"paramStructure", "either"}};
  EXPECT_EQ(openrpc_method(info), expected);
}

TEST(openrpc_method, positional_params_are_named_param1_param2_and_help_may_be_absent) {
  procedure_info info{"f", {}, {{"string", "int"}, {"string", "int", "boolean"}}, ""};
  value m = openrpc_method(info);
  EXPECT_EQ(m.find("description"), nullptr);
  EXPECT_EQ(at(m, "paramStructure"), value("by-position"));
  EXPECT_EQ(at(m, "params"),
            value(array{
                structure{{"name", "param1"}, {"schema", type("integer")}, {"required", true}},
                structure{{"name", "param2"}, {"schema", type("boolean")}, {"required", false}}}));
}

TEST(openrpc_document, lists_every_procedure_sorted_with_the_version) {
  registry r;
  r.bind(
      "zeta", [](const std::string& s) { return s; }, {"s"}, "Z.");
  r.bind("alpha", [] { return 1; });
  value doc = openrpc_document(r);
  EXPECT_EQ(at(doc, "openrpc"), value("1.2.6"));
  EXPECT_EQ(at(doc, "info"), value(structure{{"title", "netcall"}, {"version", version}}));
  const auto& methods = at(doc, "methods").as_array();
  ASSERT_EQ(methods.size(), 2u);
  EXPECT_EQ(at(methods[0], "name"), value("alpha"));
  EXPECT_EQ(at(methods[1], "name"), value("zeta"));
  EXPECT_EQ(at(at(methods[1], "result"), "schema"), type("string"));
}

TEST(openrpc_text, schemas_read_back_as_xmlrpc_type_names) {
  struct row {
    value schema;
    const char* text;
  };
  const row table[] = {
      {type("integer"), "int"},
      {type("number"), "double"},
      {type("boolean"), "boolean"},
      {type("string"), "string"},
      {schema_of_xmlrpc_type("dateTime.iso8601"), "dateTime.iso8601"},
      {schema_of_xmlrpc_type("base64"), "base64"},
      {type("array"), "array"},
      {value(structure{{"type", "array"}, {"items", type("integer")}}), "array<int>"},
      {value(structure{{"type", "array"}, {"items", structure{}}}), "array"},
      {type("object"), "struct"},
      {type("null"), "nil"},
      {any(), "any"},
      {value(true), "any"},
      {value(false), "none"},
      {any_of(array{type("integer"), type("number")}), "int|double"},
      {value(structure{{"oneOf", array{type("string"), type("null"), type("string")}}}),
       "string|nil"},
      {any_of(array{type("integer"), any()}), "any"},
      {value(structure{{"type", array{"integer", "null"}}}), "int|nil"},
      {value(structure{{"enum", array{"red", "green"}}}), "string"},
      {value(structure{{"type", "string"}, {"enum", array{"red"}}}), "string"},
      {value(structure{{"const", 3}}), "int"},
      {value(structure{{"$ref", "#/components/schemas/Point"}}), "Point"},
      {value(structure{{"properties", structure{}}}), "struct"},
      {value(structure{{"minimum", 0}}), "any"},
      {type("decimal"), "decimal"},
      {value(structure{{"type", 5}}), "?"},
      {value("integer"), "?"},
      {value(), "?"},
  };
  for (const auto& r : table) {
    EXPECT_EQ(xmlrpc_type_of_schema(r.schema), r.text) << to_json(r.schema);
  }
}

TEST(openrpc_text, every_xmlrpc_type_name_reads_back_as_itself) {
  for (const char* t : {"int", "double", "boolean", "string", "base64", "dateTime.iso8601", "array",
                        "struct", "nil", "any"}) {
    EXPECT_EQ(xmlrpc_type_of_schema(schema_of_xmlrpc_type(t)), t);
  }
}

TEST(openrpc_text, signature_lines_name_params_and_mark_optional_ones) {
  procedure_info subtract{"subtract",
                          {"minuend", "subtrahend"},
                          {{"int", "int", "int"}, {"double", "double", "double"}},
                          ""};
  EXPECT_EQ(openrpc_signature_text(openrpc_method(subtract)),
            "subtract(minuend: int|double, subtrahend: int|double) -> int|double");
  procedure_info optional{
      "greet", {"name", "shout"}, {{"string", "string"}, {"string", "string", "boolean"}}, ""};
  EXPECT_EQ(openrpc_signature_text(openrpc_method(optional)),
            "greet(name: string, shout?: boolean) -> string");
  procedure_info positional{"f", {}, {{"string", "int"}, {"string", "int", "boolean"}}, ""};
  EXPECT_EQ(openrpc_signature_text(openrpc_method(positional)), "f(int, [boolean]) -> string");
  procedure_info none{"counter.get", {}, {{"int"}}, ""};
  EXPECT_EQ(openrpc_signature_text(openrpc_method(none)), "counter.get() -> int");
}

TEST(openrpc_text, any_document_shapes_show_question_marks_not_crashes) {
  EXPECT_EQ(openrpc_signature_text(value(5)), "?");
  EXPECT_EQ(openrpc_signature_text(value(structure{})), "?(?)");
  EXPECT_EQ(openrpc_signature_text(value(structure{{"name", "m"}, {"params", array{5}}})), "m(?)");
  // OpenRPC's default for `required` is false; a result without a schema is unknown.
  EXPECT_EQ(openrpc_signature_text(value(structure{
                {"name", "m"},
                {"params", array{structure{{"name", "a"}, {"schema", type("integer")}},
                                 structure{{"schema", type("string")}, {"required", true}}}},
                {"result", structure{{"name", "r"}}}})),
            "m(a?: int, string) -> ?");
  EXPECT_EQ(
      openrpc_signature_text(value(structure{{"name", "m"}, {"params", array{}}, {"result", 7}})),
      "m() -> ?");
}

}  // namespace
