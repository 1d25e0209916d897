#include "source/h1_connection.hpp"

#include <unordered_map>
#include <vector>

namespace hlscache::h1_upstream {

namespace {
thread_local std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> t_pools;
}

std::unique_ptr<Connection> take_pooled(const std::string& key) {
  auto it = t_pools.find(key);
  if (it == t_pools.end() || it->second.empty()) return nullptr;
  auto c = std::move(it->second.back());
  it->second.pop_back();
  return c;
}

void give_back(const std::string& key, std::unique_ptr<Connection> c, std::size_t max) {
  auto& pool = t_pools[key];
  if (pool.size() < max && c->buffer.size() == 0) pool.push_back(std::move(c));
}

}  // namespace hlscache::h1_upstream
