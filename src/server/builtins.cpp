#include "server/builtins.hpp"

#include <memory>

#include "netcall/openrpc.hpp"
#include "protocol/access_policy.hpp"
#include "server/procedure_runner.hpp"

namespace netcall::detail {
namespace {

value signatures_value(const std::vector<std::vector<std::string>>& sigs) {
  array out;
  for (const auto& sig : sigs) {
    array one;
    for (const auto& t : sig) one.emplace_back(t);
    out.emplace_back(std::move(one));
  }
  return value(std::move(out));
}

/// The one method name that system.methodHelp and system.methodSignature take.
const registry::entry& named_procedure(const registry& procedures, std::string_view method,
                                       const array& args) {
  if (args.size() != 1 || !args[0].is_string()) {
    throw error(status_code::invalid_params,
                "invalid params: " + std::string(method) + " takes one string (a method name)");
  }
  const registry::entry* e = procedures.find(args[0].as_string());
  if (e == nullptr) {
    throw error(status_code::invalid_params,
                "invalid params: no method named " + args[0].as_string());
  }
  return *e;
}

/// system.multicall: every entry runs as a child call of the multicall's own call; the results
/// come back in order, `[result]` or `{faultCode, faultString}` each (XML-RPC convention).
void multicall(pipeline& entries, std::size_t max_batch, array params, call_context& ctx,
               completion done) {
  call& parent = static_cast<procedure_context&>(ctx).target();
  if (parent.is_child()) {
    return done({value(), error(status_code::invalid_params,
                                "system.multicall may not be nested")});
  }
  if (params.size() != 1 || !params[0].is_array()) {
    return done({value(), error(status_code::invalid_params,
                                "invalid params: system.multicall takes one array of calls")});
  }
  array calls = std::move(params[0].as_array());
  if (calls.size() > max_batch) {
    // Every entry counts like a call of a batch: a longer one runs nothing (SPEC §2 limits).
    return done({value(), error(status_code::resource_exhausted,
                                "system.multicall of " + std::to_string(calls.size()) +
                                    " calls exceeds the limit of " + std::to_string(max_batch) +
                                    "; none was run")});
  }
  struct state {
    array results;
    std::size_t remaining;
    completion done;
    void store(std::size_t i, const value& result, const std::optional<fault>& f) {
      if (f) {
        results[i] = structure{{"faultCode", f->code}, {"faultString", f->message}};
      } else {
        results[i] = array{result};
      }
      finish_one();
    }
    void finish_one() {
      if (--remaining == 0) done({value(std::move(results)), std::nullopt});
    }
  };
  auto s = std::make_shared<state>(state{array(calls.size()), calls.size() + 1, std::move(done)});
  for (std::size_t i = 0; i < calls.size(); ++i) {
    value& entry = calls[i];
    const value* name = entry.find("methodName");
    if (name == nullptr || !name->is_string()) {
      s->store(i, value(), make_fault(status_code::invalid_params,
                                      "system.multicall: each call needs a string methodName"));
      continue;
    }
    call& child = parent.make_child(
        [s, i](response& r) { s->store(i, std::move(r.result), r.error); });
    child.req.method = name->as_string();
    const value* entry_params = entry.find("params");
    child.req.params = entry_params != nullptr ? *entry_params : value(array{});
    entries.handle(child);
  }
  s->finish_one();  // every entry was started
}

}  // namespace

std::vector<registry::entry> builtin_procedures(const registry& procedures, pipeline& entries,
                                                std::size_t max_batch,
                                                const access_policy& access) {
  std::vector<registry::entry> out;
  out.push_back({{"system.authenticate", {"token"}, {{"boolean", "string"}},
                  "Authenticates this connection with a token (raw TCP protocols; HTTP sends "
                  "it in the Authorization header). Answers true; a wrong token is error "
                  "-32003 and the connection closes."},
                 [&access](const array& args) -> value {
                   if (args.size() != 1 || !args[0].is_string()) {
                     throw error(status_code::invalid_params,
                                 "invalid params: system.authenticate takes one string (a token)");
                   }
                   if (!access.token_valid(args[0].as_string())) {
                     throw error(status_code::unauthenticated,
                                 "unauthenticated: wrong token; the connection closes");
                   }
                   return value(true);
                 },
                 {}});
  out.push_back({{"system.listMethods", {}, {{"array"}},
                  "Lists the names of every method this server serves."},
                 [&procedures](const array& args) -> value {
                   if (!args.empty()) {
                     throw error(status_code::invalid_params,
                                 "invalid params: system.listMethods takes none");
                   }
                   array names;
                   for (const auto& [name, e] : procedures.entries()) names.emplace_back(name);
                   return value(std::move(names));  // the registry is ordered by name
                 },
                 {}});
  out.push_back({{"system.methodHelp", {"name"}, {{"string", "string"}},
                  "Returns the help text of a method."},
                 [&procedures](const array& args) -> value {
                   return value(named_procedure(procedures, "system.methodHelp", args).info.help);
                 },
                 {}});
  out.push_back(
      {{"system.methodSignature", {"name"}, {{"array", "string"}},
        "Returns a method's signatures: an array of [result_type, param_type...] arrays."},
       [&procedures](const array& args) -> value {
         return signatures_value(
             named_procedure(procedures, "system.methodSignature", args).info.signatures);
       },
       {}});
  out.push_back({{"system.multicall", {"calls"}, {{"array", "array"}},
                  "Runs an array of {methodName, params} calls; returns [result] or {faultCode, "
                  "faultString} for each."},
                 {},
                 [&entries, max_batch](array params, call_context& ctx, completion done) {
                   multicall(entries, max_batch, std::move(params), ctx, std::move(done));
                 }});
  out.push_back({{"rpc.discover",
                  {},
                  {{"struct"}},
                  "Returns this server's OpenRPC 1.2 document: every method with its params "
                  "(names, JSON Schemas, which are required), result and help."},
                 [&procedures](const array& args) -> value {
                   if (!args.empty()) {
                     throw error(status_code::invalid_params,
                                 "invalid params: rpc.discover takes none");
                   }
                   return openrpc_document(procedures);  // at call time: every entry is in
                 },
                 {}});
  return out;
}

}  // namespace netcall::detail
