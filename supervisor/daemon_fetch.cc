// The supervisor's side of fetch() (see daemon.h): a worker's request to
// the world arrives as a `fetch` message; a user worker's goes first to the
// outbound worker of the binding it was reached through, if there is one,
// else to the FetchClient with the network policy applied (platform
// workers are exempt). Large bodies stay here as handles (HeldBody) so a
// body a worker only passes on never crosses into its heap.
#include <algorithm>
#include <cstring>

#include "ipc/log.h"
#include "ipc/messages.h"
#include "ipc/wire.h"
#include "supervisor/daemon.h"
#include "supervisor/daemon_internal.h"

namespace wfp {

// The parent is a request this child holds: in flight, or answered less
// than the waitUntil limit ago (its waitUntil work may still call out).
bool Daemon::find_caller(Child* c, uint64_t parent, Caller& out) {
  out.call_id = parent;
  auto pit = calls_.find(parent);
  if (pit != calls_.end() && pit->second->child_id == c->id) {
    Call* call = pit->second.get();
    out.worker_id = call->worker_id;
    out.depth = call->depth;
    out.public_id = call->public_id;
    out.chain = call->chain;
    out.outbound = call->outbound;
    out.subrequests_left = &call->subrequests_left;
  } else if (auto l = lingering_.find(parent); l != lingering_.end() && l->second.child_id == c->id) {
    out.worker_id = l->second.worker_id;
    out.depth = l->second.depth;
    out.chain = l->second.chain;
    out.outbound = l->second.outbound;
    out.subrequests_left = &l->second.subrequests_left;
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)l->second.public_id);
    out.public_id = hex;
  } else {
    return false;
  }
  if (!out.chain) out.chain = std::make_shared<Chain>();
  return true;
}

bool Daemon::begin_call(Child* c, const char* what, uint64_t parent, uint64_t sub, uint64_t body_handle,
                        std::string& body, Caller& caller) {
  if (!find_caller(c, parent, caller)) {
    kill_child(c, std::string(what) + " for a request it does not hold");
    return false;
  }
  if (body_handle) {
    auto held = held_body(c->id, body_handle);
    if (!held) {
      kill_child(c, std::string(what) + " with a body it does not hold");
      return false;
    }
    body = *held;
  }
  // The runner counts too; this count holds even if a sandbox's does not.
  if (*caller.subrequests_left <= 0) {
    refuse_call(c, sub, ErrorCode::subrequest_limit, error_text(ErrorCode::subrequest_limit));
    return false;
  }
  (*caller.subrequests_left)--;
  if (strcmp(what, "subrequest") != 0) count_subrequest(c, strcmp(what, "fetch") == 0 ? "fetch" : "cache");
  return true;
}

void Daemon::refuse_call(Child* c, uint64_t sub, ErrorCode code, const std::string& message) {
  c->ch->send(MsgType::subrequest_failed, sub, WireWriter().u32((uint32_t)code).str(message).data());
}

void Daemon::on_fetch(Child* c, Message& m) {
  WireReader r(m.payload);
  uint64_t parent = r.u64();
  FetchRequest req;
  req.method = r.str(64);
  req.url = r.str(64 * 1024);
  req.headers = r.pairs(1000, 256 * 1024);
  req.body = r.str();
  uint64_t body_handle = r.u64();
  uint8_t redirect = r.u8();
  if (!r.done() || redirect > 2) return kill_child(c, "malformed fetch");
  req.redirect = (RedirectMode)redirect;
  uint64_t sub = m.request_id;
  Caller caller;
  if (!begin_call(c, "fetch", parent, sub, body_handle, req.body, caller)) return;
  auto refuse = [&](ErrorCode code, const std::string& msg) { refuse_call(c, sub, code, msg); };

  // A user worker reached through a binding with an outbound worker: the
  // outbound worker gets the request first (in a dispatcher, as a platform
  // worker), with the dispatcher's parameters in its env. Its answer is
  // this fetch's answer; it counts as an invocation of the chain.
  if (c->role == Role::sandbox && caller.outbound) {
    if (caller.chain->invocations + 1 > kMaxInvocations)
      return refuse(ErrorCode::invocation_limit, error_text(ErrorCode::invocation_limit));
    if (caller.depth + 1 > kMaxDepth) {
      caller.chain->loop_hit = true;
      return refuse(ErrorCode::loop_limit, error_text(ErrorCode::loop_limit));
    }
    auto dispatchers = live_children(Role::dispatcher);
    if (dispatchers.empty()) return refuse(ErrorCode::process_died, error_text(ErrorCode::process_died));
    Child* target = dispatchers[next_dispatcher_++ % dispatchers.size()];
    caller.chain->invocations++;
    auto call = std::make_unique<Call>();
    call->id = next_call_id_++;
    call->parent_child = c->id;
    call->parent_sub = sub;
    call->parent_call = parent;
    call->public_id = caller.public_id;
    call->label = caller.outbound->worker_name.empty() ? "outbound worker" : caller.outbound->worker_name;
    call->depth = caller.depth + 1;
    call->worker_id = caller.outbound->worker_id;
    call->chain = caller.chain;
    Call* raw = call.get();
    calls_[call->id] = std::move(call);
    send_request(raw, target, (uint64_t)caller.outbound->worker_id, req.method, req.url, req.headers, req.body,
                 "", config_.cpu_ms, config_.subrequests, caller.outbound->env_json);
    return;
  }

  // The loop marker: the depth this fetch is made at, whatever the worker
  // set (a request that comes back into wfpd goes on counting from it).
  req.headers.erase(std::remove_if(req.headers.begin(), req.headers.end(),
                                   [](const auto& h) { return strcasecmp(h.first.c_str(), kLoopHeader) == 0; }),
                    req.headers.end());
  req.headers.emplace_back(kLoopHeader, std::to_string(caller.depth));
  // User workers are held to the network policy; platform workers are not.
  req.restricted = c->role == Role::sandbox;
  uint64_t child_id = c->id, call_id = parent;
  // done() never runs inside start(), so the id is known by then.
  auto fetch_id = std::make_shared<uint64_t>(0);
  *fetch_id = fetch_client_->start(std::move(req), [this, child_id, sub, call_id, fetch_id](FetchResult res) {
    try {
      fetches_.erase(*fetch_id);
      fetch_done(child_id, sub, call_id, std::move(res), *fetch_id);
    } catch (const std::exception& e) {
      logf(LogLevel::error, "fetch answer: %s", e.what());
    }
  });
  c->fetches.insert(*fetch_id);
  fetches_[*fetch_id] = {child_id, sub};
}

void Daemon::fetch_done(uint64_t child_id, uint64_t sub, uint64_t call_id, FetchResult res, uint64_t fetch_id) {
  auto it = children_.find(child_id);
  if (it == children_.end() || it->second->dead) return;
  Child* c = it->second.get();
  c->fetches.erase(fetch_id);
  if (!res.ok) {
    refuse_call(c, sub, ErrorCode::fetch_failed, res.error);
    return;
  }
  auto body = std::make_shared<const std::string>(std::move(res.body));
  c->ch->send(MsgType::subresponse, sub,
              sub_answer(child_id, call_id, res.status, res.status_text, res.headers, body, res.url,
                         res.redirected));
}

std::string Daemon::sub_answer(uint64_t to_child, uint64_t call_id, int status, const std::string& status_text,
                               const HeaderList& headers, std::shared_ptr<const std::string> body,
                               const std::string& url, bool redirected) {
  WireWriter w;
  w.u32((uint32_t)status).str(status_text).pairs(headers);
  // What one request may have held here is bounded by its heap's size
  // (memory_mb): past it a body goes inline, where the heap limit applies.
  uint64_t held_for_call = 0;
  if (body && body->size() > kInlineBodyMax)
    for (const auto& [h, hb] : held_)
      if (hb.call_id == call_id) held_for_call += hb.bytes->size();
  uint64_t cap = (uint64_t)config_.memory_mb << 20;
  if (body && body->size() > kInlineBodyMax && held_for_call + body->size() <= cap) {
    uint64_t size = body->size();
    uint64_t handle = hold_body(to_child, call_id, std::move(body));
    w.str("").u64(handle).u64(size);
  } else {
    w.str(body ? *body : std::string()).u64(0).u64(body ? body->size() : 0);
  }
  w.str(url).u8(redirected ? 1 : 0);
  return w.take();
}

void Daemon::on_body_read(Child* c, Message& m) {
  WireReader r(m.payload);
  uint64_t parent = r.u64(), handle = r.u64();
  if (!r.done()) return kill_child(c, "malformed body_read");
  auto body = held_body(c->id, handle);
  if (!body) return kill_child(c, "body_read of a body it does not hold");
  (void)parent;
  c->ch->send(MsgType::body_data, m.request_id, WireWriter().u32((uint32_t)ErrorCode::ok).str(*body).data());
}

uint64_t Daemon::hold_body(uint64_t child_id, uint64_t call_id, std::shared_ptr<const std::string> bytes) {
  uint64_t handle = next_held_++;
  held_[handle] = HeldBody{child_id, call_id, std::move(bytes)};
  return handle;
}

// A handle names a body only for the child it was given to.
std::shared_ptr<const std::string> Daemon::held_body(uint64_t child_id, uint64_t handle) {
  auto it = held_.find(handle);
  if (it == held_.end() || it->second.child_id != child_id) return nullptr;
  return it->second.bytes;
}

void Daemon::release_held(uint64_t call_id) {
  for (auto it = held_.begin(); it != held_.end();)
    it = it->second.call_id == call_id ? held_.erase(it) : std::next(it);
}

// A child that is gone: its fetches are cancelled, its bodies dropped.
void Daemon::release_child(Child* c) {
  for (uint64_t id : c->fetches) {
    fetch_client_->cancel(id);
    fetches_.erase(id);
  }
  c->fetches.clear();
  for (auto it = held_.begin(); it != held_.end();)
    it = it->second.child_id == c->id ? held_.erase(it) : std::next(it);
}

}  // namespace wfp
