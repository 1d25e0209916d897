// ExpiryHeap against a sorted reference: pushes, erasures from the middle, and
// pops come out earliest-first with every hook's slot kept current.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "cache/expiry_heap.hpp"

namespace hlscache {
namespace {

TEST(ExpiryHeap, PopsEarliestFirstAfterRandomErasures) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> secs(0, 1000);
  std::vector<std::unique_ptr<ExpiryHook>> hooks;
  ExpiryHeap heap;
  for (int i = 0; i < 500; ++i) {
    hooks.push_back(std::make_unique<ExpiryHook>());
    hooks.back()->expires_at = TimePoint{} + std::chrono::seconds(secs(rng));
    heap.reserve_one();
    heap.push(*hooks.back());
  }
  std::shuffle(hooks.begin(), hooks.end(), rng);
  for (int i = 0; i < 200; ++i) {
    heap.erase(*hooks[i]);
    EXPECT_FALSE(hooks[i]->in_heap());
  }
  std::vector<TimePoint> expected;
  for (std::size_t i = 200; i < hooks.size(); ++i) expected.push_back(hooks[i]->expires_at);
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(heap.size(), expected.size());
  std::vector<TimePoint> popped;
  while (ExpiryHook* top = heap.top()) {
    popped.push_back(top->expires_at);
    heap.erase(*top);
  }
  EXPECT_EQ(popped, expected);
  EXPECT_TRUE(heap.empty());
}

}  // namespace
}  // namespace hlscache
