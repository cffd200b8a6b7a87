#include "server/dispatcher.hpp"

#include <algorithm>
#include <memory>

#include "protocol/idempotency.hpp"

namespace netcall::detail {
namespace {

struct builtin {
  std::string_view name;
  std::vector<std::vector<std::string>> signatures;
  std::string_view help;
};

const std::vector<builtin>& builtins() {
  static const std::vector<builtin> table = {
      {"system.listMethods", {{"array"}}, "Lists the names of every method this server serves."},
      {"system.methodHelp", {{"string", "string"}}, "Returns the help text of a method."},
      {"system.methodSignature",
       {{"array", "string"}},
       "Returns a method's signatures: an array of [result_type, param_type...] arrays."},
      {"system.multicall",
       {{"array", "array"}},
       "Runs an array of {methodName, params} calls; returns [result] or {faultCode, "
       "faultString} for each."},
  };
  return table;
}

error method_not_found(const std::string& method) {
  return error(status_code::method_not_found, "method not found: " + method);
}

// Matches JSON-RPC named params to the procedure's declared param names, in their order.
array positional(const procedure_info& info, value params) {
  if (params.is_array()) return std::move(params.as_array());
  if (params.is_nil()) return {};
  if (!params.is_struct()) {
    throw error(status_code::invalid_params, "invalid params: params must be an array or object");
  }
  if (info.param_names.empty()) {
    throw error(status_code::invalid_params,
                "invalid params: " + info.name + " takes positional params only");
  }
  const auto& named = params.as_struct();
  for (const auto& [key, v] : named) {
    if (std::find(info.param_names.begin(), info.param_names.end(), key) ==
        info.param_names.end()) {
      throw error(status_code::invalid_params, "invalid params: unknown param '" + key + "'");
    }
  }
  array out;
  std::size_t missing = info.param_names.size();
  for (std::size_t i = 0; i < info.param_names.size(); ++i) {
    const value* v = params.find(info.param_names[i]);
    if (!v) {
      missing = std::min(missing, i);
      continue;
    }
    if (missing < i) {
      throw error(status_code::invalid_params,
                  "invalid params: missing param '" + info.param_names[missing] + "'");
    }
    out.push_back(*v);
  }
  return out;
}

outcome failure_of(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const error& e) {
    return {value(), e};
  } catch (const std::exception& e) {
    return {value(), error(status_code::application_error, e.what())};
  } catch (...) {
    return {value(), error(status_code::internal_error, "procedure threw a non-exception")};
  }
}

}  // namespace

dispatcher::dispatcher(const registry& procedures, std::chrono::milliseconds delay,
                       std::shared_ptr<outcome_cache> cache)
    : procedures_(procedures), delay_(delay), cache_(std::move(cache)) {}

response dispatcher::to_response(value id, outcome o) {
  response r;
  r.id = std::move(id);
  if (o.failure) {
    r.error = to_fault(*o.failure);
  } else {
    r.result = std::move(o.result);
  }
  return r;
}

void dispatcher::handle(request req, call_context& ctx, std::function<void(response)> done) {
  // JSON-RPC carries the idempotency key as its request id (protocol/idempotency.hpp).
  std::string key = std::move(req.idempotency_key);
  if (key.empty() && req.id.is_string() && is_idempotency_key(req.id.as_string())) {
    key = req.id.as_string();
  }
  // Answers at once; every path below calls it exactly once.
  auto answer = std::make_shared<completion>(
      [id = std::move(req.id), done = std::move(done)](outcome o) mutable {
        done(to_response(std::move(id), std::move(o)));
      });
  // The first attempt's answer is held until --delay after its arrival (SPEC §2).
  completion answer_delayed = [answer](outcome o) { (*answer)(std::move(o)); };
  if (delay_.count() > 0) {
    const auto due = std::chrono::steady_clock::now() + delay_;
    answer_delayed = [&ctx, due, answer](outcome o) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          due - std::chrono::steady_clock::now());
      if (left.count() <= 0) return (*answer)(std::move(o));
      ctx.after(left, [answer, o = std::move(o)]() mutable { (*answer)(std::move(o)); });
    };
  }

  if (key.empty() || !cache_ || req.notification) {
    return run(req.method, std::move(req.params), ctx, std::move(answer_delayed), false);
  }

  // At most once (SPEC §4): a retry gets the stored outcome, or waits for the first attempt;
  // either way as soon as the outcome exists, with no second delay.
  outcome stored;
  const auto verdict = cache_->begin(
      key, req.method,
      [&ctx, answer](const outcome& o) {
        ctx.post([answer, o]() mutable { (*answer)(std::move(o)); });
      },
      stored);
  switch (verdict) {
    case outcome_cache::verdict::stored:
      return (*answer)(std::move(stored));
    case outcome_cache::verdict::wait:
      return;
    case outcome_cache::verdict::conflict:
      return (*answer)({value(), error(status_code::invalid_request,
                                       "idempotency key " + key +
                                           " was already used for a call of another method")});
    case outcome_cache::verdict::run:
    case outcome_cache::verdict::absent:
      break;
  }
  run(req.method, std::move(req.params), ctx,
      [cache = cache_, key = std::move(key), answer_delayed = std::move(answer_delayed)](
          outcome o) mutable {
        cache->finish(key, o);
        answer_delayed(std::move(o));
      },
      false);
}

void dispatcher::handle_while_stopping(request req, call_context& ctx,
                                       std::function<void(response)> done) {
  std::string key = req.idempotency_key;
  if (key.empty() && req.id.is_string() && is_idempotency_key(req.id.as_string())) {
    key = req.id.as_string();
  }
  auto answer = std::make_shared<std::function<void(response)>>(std::move(done));
  auto id = std::make_shared<value>(std::move(req.id));
  if (!key.empty() && cache_) {
    outcome stored;
    const auto verdict = cache_->lookup(
        key, req.method,
        [&ctx, answer, id](const outcome& o) {
          ctx.post([answer, id, o] { (*answer)(to_response(*id, o)); });
        },
        stored);
    if (verdict == outcome_cache::verdict::stored) return (*answer)(to_response(*id, stored));
    if (verdict == outcome_cache::verdict::wait) return;
  }
  (*answer)(to_response(*id, {value(), error(status_code::unavailable,
                                             "server is shutting down; the call was not run")}));
}

bool dispatcher::try_handle_now(const request& req, response& out) {
  if (delay_.count() > 0 || !req.idempotency_key.empty() ||
      (req.id.is_string() && is_idempotency_key(req.id.as_string())) ||
      req.method.starts_with("system.")) {
    return false;
  }
  const registry::entry* e = procedures_.find(req.method);
  if (e && !e->sync) return false;
  out.id = req.id;
  out.error.reset();
  if (!e) {
    out.result = value();
    out.error = to_fault(method_not_found(req.method));
    return true;
  }
  try {
    // Positional params are read in place; named ones are matched to a fresh array.
    out.result = req.params.is_array() ? e->sync(req.params.as_array())
                                       : e->sync(positional(e->info, req.params));
  } catch (...) {
    out.result = value();
    out.error = to_fault(*failure_of(std::current_exception()).failure);
  }
  return true;
}

void dispatcher::run(const std::string& method, value params, call_context& ctx,
                     completion done, bool nested) {
  if (method.starts_with("system.")) {
    if (method == "system.multicall") {
      if (nested) {
        return done({value(), error(status_code::invalid_params,
                                    "system.multicall may not be nested")});
      }
      return multicall(std::move(params), ctx, std::move(done));
    }
    return done(introspect(method, params));
  }
  const registry::entry* e = procedures_.find(method);
  if (!e) return done({value(), method_not_found(method)});
  try {
    array args = positional(e->info, std::move(params));
    if (e->sync) {
      done({e->sync(args), std::nullopt});
    } else {
      e->async(std::move(args), ctx, std::move(done));
    }
  } catch (...) {
    // Only reached when the procedure failed before answering (a sync procedure always has).
    if (done) done(failure_of(std::current_exception()));
  }
}

void dispatcher::multicall(value params, call_context& ctx, completion done) {
  if (!params.is_array() || params.as_array().size() != 1 || !params.as_array()[0].is_array()) {
    return done({value(), error(status_code::invalid_params,
                                "invalid params: system.multicall takes one array of calls")});
  }
  array calls = std::move(params.as_array()[0].as_array());
  if (calls.empty()) return done({value(array{}), std::nullopt});

  struct state {
    array results;
    std::size_t remaining;
    completion done;
  };
  auto s = std::make_shared<state>(state{array(calls.size()), calls.size(), std::move(done)});
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto store = [s, i](outcome o) {
      if (o.failure) {
        s->results[i] = structure{{"faultCode", o.failure->wire_code()},
                                  {"faultString", std::string(o.failure->what())}};
      } else {
        s->results[i] = array{std::move(o.result)};
      }
      if (--s->remaining == 0) s->done({value(std::move(s->results)), std::nullopt});
    };
    value& call = calls[i];
    const value* name = call.find("methodName");
    if (!name || !name->is_string()) {
      store({value(), error(status_code::invalid_params,
                            "system.multicall: each call needs a string methodName")});
      continue;
    }
    const value* call_params = call.find("params");
    run(name->as_string(), call_params ? *call_params : value(array{}), ctx, store, true);
  }
}

outcome dispatcher::introspect(const std::string& method, const value& params) const {
  const array* args = params.is_array() ? &params.as_array() : nullptr;
  auto one_name = [&]() -> std::string {
    const value* name = nullptr;
    if (args && args->size() == 1) name = &(*args)[0];
    if (!args && params.is_struct()) name = params.find("name");
    if (!name || !name->is_string()) {
      throw error(status_code::invalid_params,
                  "invalid params: " + method + " takes one string (a method name)");
    }
    return name->as_string();
  };
  auto signatures_value = [](const std::vector<std::vector<std::string>>& sigs) {
    array out;
    for (const auto& sig : sigs) {
      array one;
      for (const auto& t : sig) one.emplace_back(t);
      out.emplace_back(std::move(one));
    }
    return value(std::move(out));
  };
  try {
    if (method == "system.listMethods") {
      if (args && !args->empty()) {
        throw error(status_code::invalid_params, "invalid params: system.listMethods takes none");
      }
      array names;
      for (const auto& [name, e] : procedures_.entries()) names.emplace_back(name);
      for (const auto& b : builtins()) names.emplace_back(b.name);
      std::sort(names.begin(), names.end(), [](const value& a, const value& b) {
        return a.as_string() < b.as_string();
      });
      return {value(std::move(names)), std::nullopt};
    }
    if (method == "system.methodHelp" || method == "system.methodSignature") {
      const std::string name = one_name();
      const bool help = method == "system.methodHelp";
      if (const registry::entry* e = procedures_.find(name)) {
        return {help ? value(e->info.help) : signatures_value(e->info.signatures), std::nullopt};
      }
      for (const auto& b : builtins()) {
        if (b.name == name) {
          return {help ? value(std::string(b.help)) : signatures_value(b.signatures),
                  std::nullopt};
        }
      }
      throw error(status_code::invalid_params, "invalid params: no method named " + name);
    }
  } catch (const error& e) {
    return {value(), e};
  }
  return {value(), method_not_found(method)};
}

}  // namespace netcall::detail
