// OpenRPC documents of a registry (SPEC §2 `rpc.discover`) and their signature text (SPEC §3
// `netcall list`): netcall/openrpc.hpp.
#include "netcall/openrpc.hpp"

#include <algorithm>
#include <limits>

#include "netcall/version.hpp"

namespace netcall {
namespace {

value type_schema(std::string_view type) { return value(structure{{"type", type}}); }

bool is_any_schema(const value& schema) { return schema.is_struct() && schema.as_struct().empty(); }

/// The schema at `position` (0: the result, i + 1: param i) of every signature long enough:
/// the one schema they agree on, else `anyOf` of the distinct ones; `{}` when one is "any".
value merged_schema(const std::vector<std::vector<std::string>>& signatures, std::size_t position) {
  array distinct;
  for (const auto& sig : signatures) {
    if (sig.size() <= position) continue;
    value schema = schema_of_xmlrpc_type(sig[position]);
    if (is_any_schema(schema)) return schema;
    if (std::find(distinct.begin(), distinct.end(), schema) == distinct.end()) {
      distinct.push_back(std::move(schema));
    }
  }
  if (distinct.empty()) return value(structure{});
  if (distinct.size() == 1) return std::move(distinct.front());
  return value(structure{{"anyOf", std::move(distinct)}});
}

/// The XML-RPC type name of a JSON value's kind (an `enum` or `const` member).
std::string type_of_kind(const value& v) {
  switch (v.kind()) {
    case kind::nil:
      return "nil";
    case kind::boolean:
      return "boolean";
    case kind::integer:
      return "int";
    case kind::floating:
      return "double";
    case kind::string:
      return "string";
    case kind::bytes:
      return "base64";
    case kind::date_time:
      return "dateTime.iso8601";
    case kind::array:
      return "array";
    case kind::structure:
      return "struct";
  }
  return "?";
}

/// `names` without repeats, joined by `|`; "any" when one of them is "any" (it takes the rest).
std::string union_text(const std::vector<std::string>& names) {
  std::vector<std::string> distinct;
  for (const auto& n : names) {
    if (n == "any") return n;
    if (std::find(distinct.begin(), distinct.end(), n) == distinct.end()) distinct.push_back(n);
  }
  if (distinct.empty()) return "?";
  std::string out;
  for (const auto& n : distinct) {
    if (!out.empty()) out += '|';
    out += n;
  }
  return out;
}

bool has_string(const value& schema, std::string_view key, std::string_view expected) {
  const value* v = schema.find(key);
  return v != nullptr && v->is_string() && v->as_string() == expected;
}

/// The name of one JSON Schema `type` word, read with the rest of its schema (format,
/// contentEncoding, items).
std::string type_word_text(std::string_view word, const value& schema) {
  if (word == "integer") return "int";
  if (word == "number") return "double";
  if (word == "boolean") return "boolean";
  if (word == "null") return "nil";
  if (word == "object") return "struct";
  if (word == "string") {
    if (has_string(schema, "format", "date-time")) return "dateTime.iso8601";
    if (has_string(schema, "contentEncoding", "base64")) return "base64";
    return "string";
  }
  if (word == "array") {
    const value* items = schema.find("items");
    if (items != nullptr && !is_any_schema(*items) && items->is_struct()) {
      return "array<" + xmlrpc_type_of_schema(*items) + ">";
    }
    return "array";
  }
  return std::string(word);
}

}  // namespace

value schema_of_xmlrpc_type(std::string_view type) {
  if (type == "int" || type == "i4" || type == "i8") return type_schema("integer");
  if (type == "double") return type_schema("number");
  if (type == "boolean") return type_schema("boolean");
  if (type == "string") return type_schema("string");
  if (type == "base64") {
    return value(structure{{"type", "string"}, {"contentEncoding", "base64"}});
  }
  if (type == "dateTime.iso8601") {
    return value(structure{{"type", "string"}, {"format", "date-time"}});
  }
  if (type == "array") return type_schema("array");
  if (type == "struct") return type_schema("object");
  if (type == "nil") return type_schema("null");
  return value(structure{});  // "any", and names this table does not know
}

procedure_schemas schemas_from_signatures(const std::vector<std::vector<std::string>>& signatures) {
  procedure_schemas out;
  std::size_t longest = 0;
  std::size_t shortest = std::numeric_limits<std::size_t>::max();
  for (const auto& sig : signatures) {
    if (sig.empty()) continue;  // not even a result type: says nothing
    longest = std::max(longest, sig.size() - 1);
    shortest = std::min(shortest, sig.size() - 1);
  }
  if (shortest == std::numeric_limits<std::size_t>::max()) return out;
  out.result = merged_schema(signatures, 0);
  out.params.reserve(longest);
  for (std::size_t i = 0; i < longest; ++i) out.params.push_back(merged_schema(signatures, i + 1));
  out.required = shortest;
  return out;
}

procedure_schemas schemas_of(const procedure_info& info) {
  procedure_schemas derived = schemas_from_signatures(info.signatures);
  const bool own_params = !info.param_schemas.empty();
  const std::size_t count =
      std::max({info.param_schemas.size(), info.param_names.size(), derived.params.size()});
  // An own schema that says nothing (nil, or `{}`: what a `netcall::value` param gets) gives
  // way to the signatures' type, which is `{}` too unless explicit signatures say more (the
  // math procedures take `value` params and declare int and double).
  const auto says_something = [](const value& schema) {
    return !schema.is_nil() && !is_any_schema(schema);
  };
  procedure_schemas out;
  out.params.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (i < info.param_schemas.size() && says_something(info.param_schemas[i])) {
      out.params.push_back(info.param_schemas[i]);
    } else if (i < derived.params.size()) {
      out.params.push_back(std::move(derived.params[i]));
    } else {
      out.params.push_back(value(structure{}));
    }
  }
  out.result = says_something(info.result_schema) ? info.result_schema : std::move(derived.result);
  out.required = std::min(info.required_params, count);
  const bool signed_params = std::any_of(info.signatures.begin(), info.signatures.end(),
                                         [](const auto& sig) { return !sig.empty(); });
  if (!own_params && signed_params) out.required = std::min(out.required, derived.required);
  return out;
}

value openrpc_method(const procedure_info& info) {
  procedure_schemas schemas = schemas_of(info);
  array params;
  params.reserve(schemas.params.size());
  for (std::size_t i = 0; i < schemas.params.size(); ++i) {
    // Positional-only procedures have no names; OpenRPC requires one: param1, param2, ...
    std::string name =
        i < info.param_names.size() ? info.param_names[i] : "param" + std::to_string(i + 1);
    params.emplace_back(structure{{"name", std::move(name)},
                                  {"schema", std::move(schemas.params[i])},
                                  {"required", i < schemas.required}});
  }
  structure method{{"name", info.name}};
  if (!info.help.empty()) method.emplace_back("description", info.help);
  method.emplace_back("params", std::move(params));
  method.emplace_back("result",
                      structure{{"name", "result"}, {"schema", std::move(schemas.result)}});
  method.emplace_back("paramStructure", info.param_names.empty() ? "by-position" : "either");
  return value(std::move(method));
}

value openrpc_document(const registry& procedures) {
  array methods;
  methods.reserve(procedures.entries().size());
  for (const auto& [name, e] : procedures.entries()) methods.push_back(openrpc_method(e.info));
  return value(structure{{"openrpc", openrpc_version},
                         {"info", structure{{"title", "netcall"}, {"version", version}}},
                         {"methods", std::move(methods)}});
}

std::string xmlrpc_type_of_schema(const value& schema) {
  if (schema.is_bool()) return schema.as_bool() ? "any" : "none";  // JSON Schema's true, false
  if (!schema.is_struct()) return "?";
  if (schema.as_struct().empty()) return "any";
  if (const value* ref = schema.find("$ref"); ref != nullptr && ref->is_string()) {
    const std::string& path = ref->as_string();
    return path.substr(path.rfind('/') + 1);  // "#/components/schemas/Point" → "Point"
  }
  for (std::string_view key : {"anyOf", "oneOf"}) {
    const value* choices = schema.find(key);
    if (choices == nullptr || !choices->is_array()) continue;
    std::vector<std::string> names;
    for (const auto& c : choices->as_array()) names.push_back(xmlrpc_type_of_schema(c));
    return union_text(names);
  }
  if (const value* type = schema.find("type")) {
    if (type->is_string()) return type_word_text(type->as_string(), schema);
    if (type->is_array()) {
      std::vector<std::string> names;
      for (const auto& t : type->as_array()) {
        names.push_back(t.is_string() ? type_word_text(t.as_string(), schema) : "?");
      }
      return union_text(names);
    }
    return "?";
  }
  if (const value* choices = schema.find("enum"); choices != nullptr && choices->is_array()) {
    std::vector<std::string> names;
    for (const auto& c : choices->as_array()) names.push_back(type_of_kind(c));
    return union_text(names);
  }
  if (const value* constant = schema.find("const")) return type_of_kind(*constant);
  if (schema.find("properties") != nullptr) return "struct";
  if (schema.find("items") != nullptr) return type_word_text("array", schema);
  return "any";  // only annotations or constraints that no type name says
}

std::string openrpc_signature_text(const value& method) {
  if (!method.is_struct()) return "?";
  const value* name = method.find("name");
  std::string out = name != nullptr && name->is_string() ? name->as_string() : "?";
  const bool by_position = has_string(method, "paramStructure", "by-position");
  out += '(';
  const value* params = method.find("params");
  if (params == nullptr || !params->is_array()) {
    out += '?';
  } else {
    bool first = true;
    for (const auto& p : params->as_array()) {
      if (!first) out += ", ";
      first = false;
      if (!p.is_struct()) {
        out += '?';
        continue;
      }
      const value* schema = p.find("schema");
      const std::string type = schema != nullptr ? xmlrpc_type_of_schema(*schema) : "?";
      const value* required = p.find("required");
      const bool is_required = required != nullptr && required->is_bool() && required->as_bool();
      const value* param_name = p.find("name");
      if (by_position || param_name == nullptr || !param_name->is_string() ||
          param_name->as_string().empty()) {
        out += is_required ? type : "[" + type + "]";
      } else {
        out += param_name->as_string() + (is_required ? ": " : "?: ") + type;
      }
    }
  }
  out += ')';
  if (const value* result = method.find("result"); result != nullptr) {
    const value* schema = result->is_struct() ? result->find("schema") : nullptr;
    out += " -> " + (schema != nullptr ? xmlrpc_type_of_schema(*schema) : std::string("?"));
  }
  return out;
}

}  // namespace netcall
