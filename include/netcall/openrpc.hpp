#pragma once
/// \file
/// Service description (SPEC §2 `rpc.discover`, SPEC §3 `netcall list`): the OpenRPC 1.2
/// document of a registry's procedures, the JSON Schemas of XML-RPC signature types it is made
/// of, and the one-line signature `netcall list` prints from it (docs/protocols.md "Service
/// description: rpc.discover").
///
/// ```cpp
/// netcall::value doc = netcall::openrpc_document(srv.procedures());  // what rpc.discover answers
/// for (const auto& m : doc.find("methods")->as_array())
///   std::puts(netcall::openrpc_signature_text(m).c_str());  // subtract(minuend: int, ...) -> int
/// ```

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "netcall/server.hpp"
#include "netcall/value.hpp"

namespace netcall {

/// The OpenRPC specification version `rpc.discover`'s documents declare (`"openrpc"`).
inline constexpr const char* openrpc_version = "1.2.6";

/// The JSON Schemas (draft-07 subset, as OpenRPC 1.2 uses) of one procedure's params and result.
struct procedure_schemas {
  /// One schema (a struct) per param, in positional order; `{}` (an empty struct) where any
  /// value goes.
  std::vector<value> params;
  /// The result's schema (a struct); `{}` when unknown or when any value may come back.
  value result = value(structure{});
  /// How many leading params a call must give; those after may be omitted. Never more than
  /// `params.size()`.
  std::size_t required = 0;
};

/// The JSON Schema of one XML-RPC type name as `system.methodSignature` writes them (SPEC §2,
/// docs/protocols.md "Type mapping"): "int", "i4" and "i8" → `{"type": "integer"}`, "double" →
/// `{"type": "number"}`, "boolean" → `{"type": "boolean"}`, "string" → `{"type": "string"}`,
/// "base64" → `{"type": "string", "contentEncoding": "base64"}`, "dateTime.iso8601" →
/// `{"type": "string", "format": "date-time"}`, "array" → `{"type": "array"}`, "struct" →
/// `{"type": "object"}`, "nil" → `{"type": "null"}`; "any" and every name not listed → `{}` (any
/// value). Never throws but std::bad_alloc.
value schema_of_xmlrpc_type(std::string_view type);

/// The schemas a procedure's XML-RPC signatures (`procedure_info::signatures`, each
/// `[result, param...]`) describe: at each param position, and for the result, the schema of
/// the type the signatures give there, or `{"anyOf": [...]}` of the distinct schemas when they
/// give several (in the order they first appear; `{}` alone when one of them is "any"). When the
/// signatures have different param counts there are as many params as the longest has, and
/// those beyond the shortest are not required. No signatures: no params, result `{}`, none
/// required. Empty signatures (no result type) are skipped.
///
/// `add`'s `[["int", "int", "int"], ["double", "double", "double"]]` gives two params and a
/// result of `{"anyOf": [{"type": "integer"}, {"type": "number"}]}`, both params required.
procedure_schemas schemas_from_signatures(const std::vector<std::vector<std::string>>& signatures);

/// The schemas `rpc.discover` documents for a procedure: `info.param_schemas` and
/// `info.result_schema` where set (the typed `bind` fills them), else `schemas_from_signatures(
/// info.signatures)`. An own schema that says nothing (nil, or `{}`, what a `netcall::value`
/// param gets) gives way to the signatures' type, so explicit signatures still type a procedure
/// taking `netcall::value` params; a param without either (more param names than the
/// signatures have params) gets `{}`. There are as many params as the most of param_schemas,
/// param_names and the longest signature; `required` is `info.required_params` (all when
/// `procedure_info::all_params`), further limited by the shortest signature when
/// `param_schemas` is empty.
procedure_schemas schemas_of(const procedure_info& info);

/// The OpenRPC 1.2 Method Object of a procedure (a struct): `{"name", "description" (its help;
/// left out when empty), "params": [{"name", "schema", "required": bool}...], "result": {"name":
/// "result", "schema"}, "paramStructure"}`. Params are named by `info.param_names`;
/// a procedure without param names (positional params only) gets "param1", "param2", ... and
/// `"paramStructure": "by-position"`, one with names `"either"` (JSON-RPC calls may name them).
value openrpc_method(const procedure_info& info);

/// The OpenRPC 1.2 document `rpc.discover` answers (SPEC §2): `{"openrpc": openrpc_version,
/// "info": {"title": "netcall", "version": netcall::version}, "methods": [openrpc_method of every
/// procedure of `procedures`, sorted by name, the server's own system.* and rpc.* included]}`.
/// Only strings, booleans, integers, arrays and structs: it travels unchanged on every protocol.
value openrpc_document(const registry& procedures);

/// A JSON Schema read back as the XML-RPC type name `netcall list` shows (SPEC §3), the
/// inverse of schema_of_xmlrpc_type: `{"type": "integer"}` → "int", "number" → "double",
/// "boolean" → "boolean", "string" → "string" ("dateTime.iso8601" with `"format": "date-time"`,
/// "base64" with `"contentEncoding": "base64"`), "array" → "array" (`array<int>` when it has
/// `"items"`), "object" → "struct", "null" → "nil"; `{}` or `true` → "any" (`false` → "none");
/// `anyOf`/`oneOf`, a list of types or an `enum` → the distinct names joined by `|`
/// ("int|double"; "any" when one of them is); a `$ref` → the last segment of its path; an
/// unknown type word → that word; a schema that is not a struct → "?". The text is the
/// server's: escape it before printing it (netcall/text.hpp).
std::string xmlrpc_type_of_schema(const value& schema);

/// The one-line signature of an OpenRPC Method Object, as `netcall list` prints it (SPEC §3):
/// `subtract(minuend: int|double, subtrahend: int|double) -> int|double`. A param that is not
/// required is written `name?: type`; a method whose paramStructure is "by-position" (or whose
/// params have no names) shows types only: `counter.get() -> int`, `f(int, [string])` (an
/// optional one in brackets). ` -> type` is left out when the method has no result. Fields
/// missing or of the wrong type show as "?": any server's document may be given. The text is the
/// server's: escape it before printing it.
std::string openrpc_signature_text(const value& method);

}  // namespace netcall
