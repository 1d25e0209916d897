// RecordingSink: a ResponseSink for tests of sources (OriginTier, H2Upstream) that
// keeps everything it is given — interim heads, the head, body bytes, how it ended —
// and checks the order the interface promises (interims only before the head).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/response_sink.hpp"

namespace hlscache::test {

class RecordingSink final : public ResponseSink {
 public:
  std::vector<std::pair<int, std::vector<Header>>> interims;
  std::optional<ResponseHead> head;
  std::string body;
  bool completed = false;
  std::optional<Error> error;

  bool ended() const { return completed || error.has_value(); }

  void interim(int status, std::vector<Header> headers) override {
    EXPECT_FALSE(head.has_value()) << "interim " << status << " after the head";
    interims.emplace_back(status, std::move(headers));
  }
  void set_head(ResponseHead h, Wake = Wake::now) override {
    EXPECT_FALSE(head.has_value()) << "a second head";
    head = std::move(h);
  }
  std::pair<char*, std::size_t> writable() override {
    scratch_.resize(64 * 1024);
    return {scratch_.data(), scratch_.size()};
  }
  void commit(std::size_t n, Wake = Wake::now) override { body.append(scratch_.data(), n); }
  void append(std::string_view bytes) override { body.append(bytes); }
  void append_chunk(const Chunk& chunk) override { body.append(chunk.view()); }
  void complete() override { completed = true; }
  void fail(Error e) override { error = std::move(e); }
  std::uint64_t published() const override { return body.size(); }

 private:
  std::string scratch_;
};

}  // namespace hlscache::test
