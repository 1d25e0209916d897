// OriginTier's routing: groups and their membership snapshots (the ring of each
// group), a request's candidate hosts in ring order, route() and the "stream" hash key.
#include "source/origin_tier_impl.hpp"

#include <boost/asio/ssl.hpp>
#include <spdlog/spdlog.h>

#include "source/tls_client.hpp"

namespace hlscache {

using namespace detail;

std::vector<UpstreamHost> detail::resolve_members(const UpstreamGroup& g, const std::vector<tcp::endpoint>& resolved) {
  std::vector<UpstreamHost> out = g.hosts;
  for (const auto& ep : resolved) out.push_back(UpstreamHost{HostPort{ep.address().to_string(), ep.port()}, 1});
  return out;
}

// --- membership -------------------------------------------------------------

std::shared_ptr<const Routing> OriginTier::Impl::build_routing(const ConfigPtr& config, const Routing* previous) {
  auto r = std::make_shared<Routing>();
  r->config = config;
  if (config->upstream.protocol == UpstreamProtocol::https) {
    const auto& t = config->upstream.tls;
    auto ctx = make_tls_client_context(t.verify, t.ca_file, std::string_view("\x08http/1.1", 9));
    if (ctx) r->https = std::move(*ctx);
    else spdlog::error("{}", (r->https_error = ctx.error().message));
  }
  for (const auto& gc : config->upstream.groups) {
    auto g = std::make_shared<GroupRuntime>();
    g->config = gc;
    // Host state survives a reload for a group of the same name.
    if (previous)
      for (const auto& old : previous->groups)
        if (old->config.name == gc.name) {
          std::lock_guard lock(old->states_mutex);
          g->states = old->states;
        }
    std::vector<tcp::endpoint> resolved;
    if (gc.dns) resolved = resolve_now(*gc.dns);
    g->members.store(g->build(resolve_members(gc, resolved), instance));
    r->groups.push_back(std::move(g));
  }
  for (const auto& route : config->upstream.routes)
    for (const auto& g : r->groups)
      if (g->config.name == route.group) r->routes.emplace_back(route.prefix, g);
  return r;
}

// Candidate hosts for a request: ring order, hosts that are not ejected first.
// When every candidate is ejected they are all tried anyway, in ring order: a
// request is better sent to a host that may have recovered than failed unsent.
void OriginTier::Impl::candidates(const Membership& m, std::uint64_t key_hash, TimePoint now,
                                  std::vector<HostState*>& out) {
  thread_local std::vector<std::uint32_t> order;
  m.ring.walk(key_hash, m.ring.size(), order);
  out.clear();
  for (auto i : order)
    if (!m.hosts[i]->ejected(now)) out.push_back(m.hosts[i].get());
  for (auto i : order)
    if (m.hosts[i]->ejected(now)) out.push_back(m.hosts[i].get());
}

std::uint64_t OriginTier::Impl::key_hash(const GroupRuntime& g, std::string_view prefix, const std::string& target,
                                          const std::string& key) {
  if (g.config.hash == HashKey::stream) {
    std::string_view path = std::string_view(target).substr(0, target.find('?'));
    return HashRing::hash_key(OriginTier::stream_key(path, prefix));
  }
  return HashRing::hash_key(key);
}

std::string OriginTier::stream_key(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return std::string(path);
  std::string_view rest = path.substr(prefix.size());
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const auto slash = rest.find('/');
  std::string out(prefix);
  if (!out.empty() && out.back() != '/') out += '/';
  out += rest.substr(0, slash);
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

RouteChoice OriginTier::route(const std::string& target, const std::string& key) const {
  RouteChoice choice;
  auto routing = impl_->routing.load();
  std::string_view path = std::string_view(target).substr(0, target.find('?'));
  const auto* r = routing->match(path);
  if (!r) return choice;
  choice.group = r->second->config.name;
  auto members = r->second->members.load();
  std::vector<HostState*> hosts;
  Impl::candidates(*members, Impl::key_hash(*r->second, r->first, target, key), SteadyClock::now(), hosts);
  for (auto* h : hosts) choice.hosts.push_back(h->address);
  return choice;
}

}  // namespace hlscache
