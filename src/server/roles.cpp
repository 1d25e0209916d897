#include "server/roles.hpp"

namespace hlscache {

namespace {

class NoMedia final : public RoleWiring {
 public:
  Status wire(Router&, Metrics&, std::vector<boost::asio::io_context*>) override { return Ok{}; }
};

}  // namespace

std::unique_ptr<RoleWiring> make_role(ConfigPtr) { return std::make_unique<NoMedia>(); }

}  // namespace hlscache
