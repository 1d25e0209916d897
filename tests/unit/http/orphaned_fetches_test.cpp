// OrphanedFetches (orphaned_fetches.hpp): the per-connection count of upstream fetches
// that reset streams left running, and the may_lead_fetch decision it gives.
#include <gtest/gtest.h>

#include <memory>

#include "http/orphaned_fetches.hpp"

namespace hlscache {
namespace {

TEST(OrphanedFetches, NewStreamsMayLeadUntilTheBoundRunsThenAgainAsTheyFinish) {
  OrphanedFetches orphans(/*bound=*/3, /*max_concurrent_streams=*/10);
  std::vector<std::shared_ptr<int>> fetches;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(orphans.may_lead()) << i;
    fetches.push_back(std::make_shared<int>(i));
    orphans.add(fetches.back());
  }
  EXPECT_EQ(orphans.running(), 3u);
  EXPECT_FALSE(orphans.may_lead()) << "three fetches nobody waits for: the bound";
  fetches.erase(fetches.begin());  // one finishes (its last reference goes)
  EXPECT_EQ(orphans.running(), 2u);
  EXPECT_TRUE(orphans.may_lead());
  fetches.clear();
  EXPECT_EQ(orphans.running(), 0u);
}

TEST(OrphanedFetches, FinishedOrAbsentFetchesAreNotCounted) {
  OrphanedFetches orphans(1, 4);
  orphans.add({});  // the stream led nothing (a hit, a follower)
  {
    auto done = std::make_shared<int>(1);
    std::weak_ptr<const void> w = done;
    done.reset();
    orphans.add(w);  // already finished when the stream was reset
  }
  EXPECT_EQ(orphans.running(), 0u);
  EXPECT_TRUE(orphans.may_lead());
}

TEST(OrphanedFetches, TheListIsBounded) {
  OrphanedFetches orphans(2, 3);  // at most 2 + 3 entries
  std::vector<std::shared_ptr<int>> fetches;
  for (int i = 0; i < 50; ++i) {
    fetches.push_back(std::make_shared<int>(i));
    orphans.add(fetches.back());
  }
  EXPECT_EQ(orphans.running(), 5u);
  EXPECT_FALSE(orphans.may_lead());
}

}  // namespace
}  // namespace hlscache
