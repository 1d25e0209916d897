#include "http/session_env.hpp"

namespace hlscache {

void log_access(const SessionEnv& env, const RequestContext& req, const Response& resp, std::uint64_t body_bytes) {
  if (!env.access_log || !env.access_log->enabled()) return;
  const std::string remote = req.remote.is_unspecified() ? std::string("-") : req.remote.to_string();
  AccessEntry e;
  e.remote = remote;
  e.method = req.method_text;
  e.target = req.target;
  e.protocol = req.protocol;
  e.status = resp.status;
  e.bytes = body_bytes;
  e.referer = req.header("Referer");
  e.user_agent = req.header("User-Agent");
  e.cache = resp.cache;
  // The upstream's part: how long a MISS (leader) or COALESCED (follower) waited for the head.
  const bool went_upstream = resp.cache == CacheResult::miss || resp.cache == CacheResult::coalesced;
  e.upstream_ms = went_upstream ? resp.waited_ms : -1;
  e.total_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - req.received).count();
  e.received = req.received_wall;
  env.access_log->write(e);
}

}  // namespace hlscache
