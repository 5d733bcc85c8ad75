// The supervisor's side of the Cache API (see daemon.h): a runner's
// cache_op is checked against Cloudflare's rules (supervisor/cache_rules.h)
// and carried out in the caller's own cache file (supervisor/cache_store.h),
// off the event loop. Whose cache it is comes from the channel: a sandbox's
// tenant (its script, or its trusted namespace), or the platform's.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <ctime>
#include <fstream>

#include "ipc/log.h"
#include "ipc/messages.h"
#include "ipc/wire.h"
#include "supervisor/admin_api.h"
#include "supervisor/cache_rules.h"
#include "supervisor/daemon.h"
#include "supervisor/daemon_internal.h"

namespace wfp {

// Unix seconds. The test build (build/wfpd-test) adds the number of
// seconds written in DATA_DIR/test-clock, so tests move cache time
// without sleeping; the release build has no such file lookup.
int64_t Daemon::cache_now() const {
  int64_t now = (int64_t)time(nullptr);
#ifdef WFP_TEST_HOOKS
  std::ifstream f(config_.data_dir + "/test-clock");
  int64_t offset = 0;
  if (f >> offset) now += offset;
#endif
  return now;
}

namespace {
constexpr size_t kHotBytes = 32 << 20;
constexpr size_t kHotEntryMax = 64 << 10;
}  // namespace

void Daemon::hot_put(const std::string& owner, const std::string& id, int status, const HeaderList& headers,
                     std::shared_ptr<const std::string> body, int64_t expires_at) {
  size_t bytes = id.size() + body->size() + 64;
  for (auto& [k, v] : headers) bytes += k.size() + v.size() + 16;
  if (bytes > kHotEntryMax) return;
  hot_drop(id);
  while (hot_bytes_ + bytes > kHotBytes && !hot_lru_.empty()) hot_drop(hot_lru_.back());
  hot_lru_.push_front(id);
  hot_[id] = HotEntry{status, headers, std::move(body), expires_at, bytes, hot_lru_.begin()};
  hot_by_owner_[owner].push_back(id);
  hot_bytes_ += bytes;
}

void Daemon::hot_drop(const std::string& id) {
  auto it = hot_.find(id);
  if (it == hot_.end()) return;
  hot_bytes_ -= it->second.bytes;
  hot_lru_.erase(it->second.lru);
  hot_.erase(it);  // its owner's index keeps the id until the owner is dropped: harmless
}

void Daemon::hot_drop_owner(const std::string& owner) {
  auto it = hot_by_owner_.find(owner);
  if (it == hot_by_owner_.end()) return;
  for (const std::string& id : it->second) hot_drop(id);
  hot_by_owner_.erase(it);
}

// A hit answers as the entry's response, shaped by the request's
// conditional, ranged or HEAD asking (cache_rules.h).
void Daemon::send_cache_hit(Child* c, uint64_t sub, uint64_t parent, const std::string& method,
                            const HeaderList& request_headers, int status, const HeaderList& headers,
                            const std::string& body, const std::string& url) {
  cache::MatchAnswer a = cache::answer_match(method, request_headers, cache::Entry{status, headers, body});
  auto bytes = std::make_shared<const std::string>(std::move(a.body));
  c->ch->send(MsgType::subresponse, sub, sub_answer(c->id, parent, a.status, "", a.headers, bytes, url, false));
}

void Daemon::on_cache_op(Child* c, Message& m) {
  WireReader r(m.payload);
  uint64_t parent = r.u64();
  int op = r.u8();
  bool is_default = r.u8() != 0;
  std::string name = r.str(4096), url = r.str(64 * 1024), method = r.str(64);
  HeaderList request_headers = r.pairs(1000, 256 * 1024);
  bool ignore_method = r.u8() != 0;
  int status = 0;
  HeaderList response_headers;
  std::string body;
  uint64_t body_handle = 0;
  if (op == 1) {
    status = (int)r.u32();
    response_headers = r.pairs(1000, 256 * 1024);
    body = r.str();
    body_handle = r.u64();
  }
  if (!r.done() || op > 2) return kill_child(c, "malformed cache_op");
  uint64_t sub = m.request_id;
  Caller caller;
  if (!begin_call(c, "cache_op", parent, sub, body_handle, body, caller)) return;
  // A refusal is a TypeError for the worker (its rule's message).
  auto refuse = [&](const std::string& msg) { refuse_call(c, sub, ErrorCode::fetch_failed, msg); };
  auto result = [&](bool value) { c->ch->send(MsgType::cache_result, sub, WireWriter().u8(value ? 1 : 0).data()); };

  // Whose cache: identity from the channel, never from the message.
  std::string owner = c->role == Role::dispatcher ? "platform" : c->cache_owner;
  if (owner.empty()) return refuse("the Cache API is not available to this worker");
  if (is_default && c->role == Role::sandbox && owner.find("-s") != std::string::npos)
    return refuse("caches.default is disabled for namespaced scripts");
  std::string cache = is_default ? "d" : "n:" + name;
  auto key = cache::cache_key(url);
  if (!key) return refuse("Cache key must be an absolute http: or https: URL: " + url);

  uint64_t child_id = c->id;
  // Answers go back only if the caller is still there.
  auto child_of = [this](uint64_t id) -> Child* {
    auto it = children_.find(id);
    return it == children_.end() || it->second->dead ? nullptr : it->second.get();
  };
  bool get_like = method == "GET" || ignore_method;
  std::string id = owner + '\0' + cache + '\0' + *key;
  switch (op) {
    case 0: {  // match: never reaches an origin; a non-GET request misses
      if (!get_like) {
        cache_counters_of(c).misses++;
        return result(false);
      }
      if (auto h = hot_.find(id); h != hot_.end()) {
        if (cache_now() < h->second.expires_at) {
          hot_lru_.splice(hot_lru_.begin(), hot_lru_, h->second.lru);
          cache_counters_of(c).hits++;
          hot_hits_[owner]++;
          return send_cache_hit(c, sub, parent, method, request_headers, h->second.status, h->second.headers,
                                *h->second.body, url);
        }
        hot_drop(id);
      }
      cache_store_->match(owner, cache, *key,
                          [this, child_of, child_id, sub, parent, method, request_headers, url, owner, id](
                              std::optional<CacheEntry> hit, std::string /*error: logged by the store*/) {
                            Child* ch = child_of(child_id);
                            if (!ch) return;
                            auto& counters = cache_counters_of(ch);
                            (hit ? counters.hits : counters.misses)++;
                            if (!hit) {
                              ch->ch->send(MsgType::cache_result, sub, WireWriter().u8(0).data());
                              return;
                            }
                            hot_put(owner, id, hit->status, hit->headers,
                                    std::make_shared<const std::string>(hit->body), hit->expires_at);
                            send_cache_hit(ch, sub, parent, method, request_headers, hit->status, hit->headers,
                                           hit->body, url);
                          });
      return;
    }
    case 1: {  // put
      int64_t now = cache_now();
      cache_counters_of(c).puts++;
      hot_drop_owner(owner);  // the put replaces this key and may evict others
      cache::PutDecision d = cache::decide_put(method, status, response_headers, now);
      if (d.kind == cache::PutDecision::reject) return refuse(d.error);
      if (d.kind == cache::PutDecision::skip) return result(false);
      CacheEntry e;
      e.status = status;
      e.headers = std::move(response_headers);
      e.body = std::move(body);
      e.stored_at = now;
      e.expires_at = now + d.ttl_seconds;
      cache_store_->put(owner, cache, *key, std::move(e), [this, child_of, child_id, sub](bool stored, std::string) {
        Child* ch = child_of(child_id);
        if (ch && stored) cache_counters_of(ch).stored++;
        if (ch) ch->ch->send(MsgType::cache_result, sub, WireWriter().u8(stored ? 1 : 0).data());
      });
      return;
    }
    default: {  // delete
      if (!get_like) return result(false);
      hot_drop(id);
      cache_store_->remove(owner, cache, *key, [this, child_of, child_id, sub](bool deleted, std::string) {
        Child* ch = child_of(child_id);
        if (ch && deleted) cache_counters_of(ch).deletes++;
        if (ch) ch->ch->send(MsgType::cache_result, sub, WireWriter().u8(deleted ? 1 : 0).data());
      });
      return;
    }
  }
}

// The namespace a child's cache figures count for: its tenant's, or 0
// for platform workers.
Daemon::CacheCounters& Daemon::cache_counters_of(const Child* c) {
  return cache_counters_[c->role == Role::sandbox ? c->ns_id : 0];
}

void Daemon::cache_purge(const std::string& owner, const std::string& url,
                         std::function<void(int64_t removed, std::string error)> done) {
  std::string key;
  if (!url.empty()) {
    auto k = cache::cache_key(url);
    if (!k) {
      // Answer from the loop, never inside the call.
      auto d = std::make_shared<std::function<void(int64_t, std::string)>>(std::move(done));
      std::string msg = "url must be an absolute http: or https: URL: " + url;
      cache_store_->stats(owner, [d, msg](CacheStats, std::string) { (*d)(0, msg); });
      return;
    }
    key = *k;
  }
  hot_drop_owner(owner);
  cache_store_->purge(owner, key, std::move(done));
}

void Daemon::cache_stats(const std::string& owner, std::function<void(CacheStats, std::string error)> done) {
  // Hits answered from memory never reached the store: add them.
  cache_store_->stats(owner, [this, owner, done = std::move(done)](CacheStats st, std::string error) {
    if (auto h = hot_hits_.find(owner); h != hot_hits_.end()) st.hits += (int64_t)h->second;
    done(st, std::move(error));
  });
}

// A deleted script takes its cache along; a deleted namespace takes its
// shared cache and every script's (their files are named by owner key).
void Daemon::caches_dropped(int64_t namespace_id, int64_t script_id) {
  auto log_done = [](int64_t, std::string) {};  // the store logs its errors itself
  auto drop = [&](const std::string& owner) {
    hot_drop_owner(owner);
    hot_hits_.erase(owner);
    cache_store_->purge(owner, "", log_done);
  };
  if (script_id) return drop(cache_owner(namespace_id, false, script_id));
  drop(cache_owner(namespace_id, true, 0));
  std::string prefix = cache_owner(namespace_id, true, 0) + "-s";
  for (const std::string& owner : cache_store_->owners())
    if (owner.compare(0, prefix.size(), prefix) == 0) drop(owner);
}

}  // namespace wfp
