// log_escape (core/spawn.hpp): the completion handler every spawned task gets counts
// an exception that escaped it, and nothing else.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <stdexcept>

#include "core/spawn.hpp"

namespace hlscache {
namespace {

namespace asio = boost::asio;

asio::awaitable<void> ok_task() { co_return; }
asio::awaitable<void> throwing_task() {
  throw std::runtime_error("escaped");
  co_return;
}
asio::awaitable<int> value_task() { co_return 7; }

TEST(LogEscape, CountsAnEscapedExceptionAndNothingElse) {
  asio::io_context io;
  const auto before = internal_errors();
  asio::co_spawn(io, ok_task(), log_escape("ok"));
  asio::co_spawn(io, value_task(), log_escape("value"));
  io.run();
  EXPECT_EQ(internal_errors(), before);
  io.restart();
  asio::co_spawn(io, throwing_task(), log_escape("thrower"));
  io.run();
  EXPECT_EQ(internal_errors(), before + 1);
}

}  // namespace
}  // namespace hlscache
