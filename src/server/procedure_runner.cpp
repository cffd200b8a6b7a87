#include "server/procedure_runner.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>

#include "common/duration.hpp"
#include "transport/event_loop.hpp"

namespace netcall::detail {
namespace {

// Matches JSON-RPC named params to the procedure's declared param names, in their order.
array positional(const procedure_info& info, value params) {
  if (params.is_array()) return std::move(params.as_array());
  if (params.is_nil()) return {};
  if (!params.is_struct()) {
    throw error(status_code::invalid_params, "invalid params: params must be an array or object");
  }
  if (info.param_names.empty()) {
    if (params.as_struct().empty()) return {};  // `{}`: no params at all
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
  // A typed procedure knows which params it requires: one of those left out is named, an
  // optional one left out before a given one is nil (its std::optional empty). An untyped
  // procedure (every param "required") gets the params up to the first one left out, and
  // decides about a short list itself; a param given after one left out is an error.
  const bool knows_required = info.required_params != procedure_info::all_params;
  array out;
  std::size_t given_end = 0;  // one past the last param given
  std::size_t missing = info.param_names.size();
  for (std::size_t i = 0; i < info.param_names.size(); ++i) {
    const value* v = params.find(info.param_names[i]);
    if (!v) {
      if (knows_required && i < info.required_params) {
        throw error(status_code::invalid_params,
                    "invalid params: missing param '" + info.param_names[i] + "'");
      }
      missing = std::min(missing, i);
      out.emplace_back();
      continue;
    }
    if (!knows_required && missing < i) {
      throw error(status_code::invalid_params,
                  "invalid params: missing param '" + info.param_names[missing] + "'");
    }
    out.push_back(*v);
    given_end = i + 1;
  }
  out.resize(given_end);
  return out;
}

}  // namespace

fault fault_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const error& err) {
    return to_fault(err);
  } catch (const std::exception& ex) {
    return make_fault(status_code::application_error, ex.what());
  } catch (...) {
    return make_fault(status_code::internal_error, "procedure threw a non-exception");
  }
}

error error_of(std::exception_ptr e) { return to_error(fault_of(e)); }

/// True when an XML-RPC call gives one struct to a procedure that needs two or more params:
/// a client sent named params, which XML-RPC cannot carry (its params are positional only).
static bool named_params_over_xmlrpc(const call& c, const procedure_info& info) {
  if (c.req.meta.protocol != protocol_names::xmlrpc) return false;
  if (!c.req.params.is_array() || c.req.params.as_array().size() != 1 ||
      !c.req.params.as_array()[0].is_struct()) {
    return false;
  }
  return std::min(info.required_params, info.param_names.size()) >= 2;
}

verdict procedure_runner::on_call(call& c) {
  const registry::entry* e = procedures_.find(c.req.method);
  if (e == nullptr) {
    c.fail(make_fault(status_code::method_not_found, "method not found: " + c.req.method));
    return verdict::answered;
  }
  if (named_params_over_xmlrpc(c, e->info)) {
    std::string names;
    for (const auto& n : e->info.param_names) names += (names.empty() ? "" : ", ") + n;
    c.fail(make_fault(status_code::invalid_params,
                      "invalid params: expected " + std::to_string(e->info.param_names.size()) +
                          " params (" + names + "), got 1 struct: XML-RPC has no named params; "
                          "pass them positionally"));
    return verdict::answered;
  }
  if (e->sync) {
    try {
      // Positional params are read in place; named ones are matched to a fresh array.
      if (c.req.params.is_array()) {
        c.answer.result = e->sync(c.req.params.as_array());
      } else {
        array named = positional(e->info, std::move(c.req.params));
        c.answer.result = e->sync(named);
      }
      c.answer.error.reset();
    } catch (...) {
      c.fail(fault_of(std::current_exception()));
    }
    return verdict::answered;
  }
  array args;
  try {
    args = positional(e->info, std::move(c.req.params));
  } catch (...) {
    c.fail(fault_of(std::current_exception()));
    return verdict::answered;
  }
  auto context = std::make_shared<procedure_context>(c, &blocking_, log_);
  try {
    e->async(std::move(args), *context, [context](outcome o) { context->complete(std::move(o)); });
  } catch (...) {
    // Failed before answering; after answering, the exception has nobody to go to.
    outcome failure{value(), to_error(fault_of(std::current_exception()))};
    context->complete(std::move(failure));
  }
  return verdict::held;
}

procedure_context::procedure_context(call& c, blocking_pool* blocking, logger_ptr log)
    : log_(std::move(log)),
      blocking_(blocking),
      target_(c), anchor_(c.anchor()), executor_(c.executor()), metadata_(c.req.meta) {}

procedure_context::~procedure_context() {
  if (done_.load()) return;
  // The procedure dropped its completion without calling it: answer rather than hang.
  anchor_->post([target = &target_] {
    deliver(*target, outcome{value(), error(status_code::internal_error,
                                            "the procedure never completed the call")});
  });
}

void procedure_context::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto start = [executor = executor_, due = saturating_add(std::chrono::steady_clock::now(), delay),
                fn = std::move(fn)]() mutable {
    auto timer = std::make_shared<boost::asio::steady_timer>(executor, due);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
  };
  // From another thread the timer is made on the loop, and not at all once the loop is gone.
  if (anchor_->in_loop_thread()) return start();
  anchor_->post(std::move(start));
}

void procedure_context::post(std::function<void()> fn) { anchor_->post(std::move(fn)); }

void procedure_context::complete(outcome o) {
  if (done_.exchange(true)) {
    log_->warn("a procedure completed its call twice (or threw after completing it); the "
                 "second outcome is dropped");
    return;
  }
  if (anchor_->in_loop_thread()) return deliver(target_, std::move(o));
  anchor_->post([target = &target_, o = std::move(o)]() mutable { deliver(*target, std::move(o)); });
}

void procedure_context::deliver(call& c, outcome o) {
  if (o.failure) {
    c.fail(to_fault(*o.failure));
  } else {
    c.answer.result = std::move(o.result);
    c.answer.error.reset();
  }
  pipeline::resume(c, verdict::answered);
}

}  // namespace netcall::detail
