// RoleWiring: builds what a role needs behind the router — for edge and origin the
// cache handler over the upstream OriginTier, for local the same cache handler
// over the in-process segmenter — and owns it for the life of the server.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <vector>

#include "cache/cache.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

class RoleWiring {
 public:
  virtual ~RoleWiring() = default;
  // Called once before the threads start: registers handlers on the router and
  // metrics collectors; `ios` are the worker io_contexts (for background tasks).
  virtual Status wire(Router& router, Metrics& metrics, std::vector<boost::asio::io_context*> ios) = 0;
  virtual void stop() {}

  // For the admin API: the cache (purge), and the live streams as a JSON array
  // (role local; edge and origin have no stream table and answer []).
  virtual Cache* cache() { return nullptr; }
  virtual std::string streams_json(TimePoint /*now*/) { return "[]"; }
  // Why the role cannot serve now ("" when it can): /readyz answers 503 with it.
  virtual std::string not_ready(TimePoint /*now*/) const { return {}; }
  // Reload: `config` passed restart_required() (same listeners, cache, streams);
  // the role applies the rest (cache handler rules, the source's reconfigure()).
  virtual void reconfigure(const ConfigPtr& /*config*/) {}
};

std::unique_ptr<RoleWiring> make_role(ConfigPtr config);

}  // namespace hlscache
