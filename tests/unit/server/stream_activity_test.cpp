// StreamActivity (server/stream_activity.hpp): the rule naming a live stream's state
// (live / paused / ended / waiting) and what it is decided from — a rendition's
// publishing session and its segments, followed through the segmenter's own hooks.
#include <gtest/gtest.h>

#include "segmenter/live_stream.hpp"
#include "server/stream_activity.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;

RenditionFacts publishing_for(Duration since, Duration target = 2s) {
  RenditionFacts f;
  f.publishing = true;
  f.since_activity = since;
  f.target = target;
  return f;
}

TEST(StreamActivity, APublishedRenditionIsPausedPastOneAndAHalfTargetDurations) {
  EXPECT_EQ(rendition_state(publishing_for(0s)), LiveState::live);
  EXPECT_EQ(rendition_state(publishing_for(3s)), LiveState::live) << "exactly 1.5 x 2 s is still live";
  EXPECT_EQ(rendition_state(publishing_for(3001ms)), LiveState::paused);
  EXPECT_EQ(rendition_state(publishing_for(5s, 4s)), LiveState::live) << "the longer target counts";
  RenditionFacts never = publishing_for(0s);
  never.since_activity.reset();
  EXPECT_EQ(rendition_state(never), LiveState::paused);

  RenditionFacts ended;
  ended.ended = true;
  ended.since_activity = 1h;
  EXPECT_EQ(rendition_state(ended), LiveState::ended);
  EXPECT_EQ(rendition_state(RenditionFacts{}), LiveState::waiting);
  // The publisher went away without ending, within the stream's pause_grace: paused, not over.
  RenditionFacts gone;
  gone.in_pause_grace = true;
  gone.since_activity = 5s;
  EXPECT_EQ(rendition_state(gone), LiveState::paused);
  // Publishing again over an ended window (a new session starting) is not "ended".
  RenditionFacts again = publishing_for(1s);
  again.ended = true;
  EXPECT_EQ(rendition_state(again), LiveState::live);
}

TEST(StreamActivity, AStreamIsTheMostAliveOfItsRenditions) {
  using S = LiveState;
  EXPECT_EQ(stream_state({}), S::waiting);
  EXPECT_EQ(stream_state({S::waiting, S::ended}), S::ended);
  EXPECT_EQ(stream_state({S::ended, S::paused, S::waiting}), S::paused);
  EXPECT_EQ(stream_state({S::paused, S::live}), S::live);
  EXPECT_STREQ(to_string(S::live), "live");
  EXPECT_STREQ(to_string(S::paused), "paused");
  EXPECT_STREQ(to_string(S::ended), "ended");
  EXPECT_STREQ(to_string(S::waiting), "waiting");
}

TEST(StreamActivity, LiveStreamOfIsTheFirstComponentUnderLive) {
  EXPECT_EQ(live_stream_of("/live/show/index.m3u8"), "show");
  EXPECT_EQ(live_stream_of("/live/show/720p/seg_3.ts"), "show");
  EXPECT_EQ(live_stream_of("/live/show"), "");
  EXPECT_EQ(live_stream_of("/live//x.ts"), "");
  EXPECT_EQ(live_stream_of("/vod/show/x.ts"), "");
  EXPECT_EQ(live_stream_of("/"), "");
}

RenditionConfig ingest_rendition() {
  RenditionConfig rc;
  rc.name = "main";
  rc.ingest = true;
  return rc;
}

Segment segment(std::uint64_t sequence) {
  Segment s;
  s.sequence = sequence;
  s.duration = 1.0;
  s.size = 188;
  s.chunks.push_back(Chunk::copy_of(std::string(188, 'x')));
  return s;
}

// One session through the segmenter's own hooks: waiting before it, live while
// segments land, paused when they stop, ended after it, waiting past vod_keep.
TEST(StreamActivity, FollowsASessionThroughTheSegmentersHooks) {
  StreamConfig sc;
  sc.name = "show";
  sc.target_duration = 1s;
  sc.vod_keep = 2s;
  sc.renditions.push_back(ingest_rendition());
  LiveStreams streams({sc});
  StreamActivity activity(streams);
  LiveRendition& r = *streams.find("show")->renditions().front();
  r.on_session_start = [&](const LiveRendition& rendition) { activity.session_started(rendition, SteadyClock::now()); };

  const TimePoint t0 = SteadyClock::now();
  EXPECT_EQ(rendition_state(activity.facts(r, t0)), LiveState::waiting);
  EXPECT_FALSE(activity.rendition(r).last_segment);

  auto session = PublishSession::begin(r);
  ASSERT_TRUE(session);
  const TimePoint t1 = SteadyClock::now();
  EXPECT_EQ(rendition_state(activity.facts(r, t1)), LiveState::live) << "a session just started";
  EXPECT_FALSE(activity.rendition(r).last_segment);
  EXPECT_EQ(rendition_state(activity.facts(r, t1 + 2s)), LiveState::paused) << "no segment 2 s into the session";

  ASSERT_TRUE(r.window(t1)->add(segment(0), t1).ok());
  const auto last = activity.rendition(r).last_segment;
  ASSERT_TRUE(last);
  EXPECT_GE(*last, t1);
  EXPECT_EQ(rendition_state(activity.facts(r, *last + 1400ms)), LiveState::live);
  EXPECT_EQ(rendition_state(activity.facts(r, *last + 1600ms)), LiveState::paused);

  session->end();
  const TimePoint t2 = SteadyClock::now();
  EXPECT_EQ(rendition_state(activity.facts(r, t2)), LiveState::ended);
  EXPECT_EQ(activity.rendition(r).last_segment, last) << "the ENDLIST is not a segment";
  EXPECT_EQ(rendition_state(activity.facts(r, t2 + 3s)), LiveState::waiting) << "past vod_keep";
}

TEST(StreamActivity, CountsRequestsOfConfiguredStreamsOnly) {
  StreamConfig sc;
  sc.name = "show";
  sc.renditions.push_back(ingest_rendition());
  LiveStreams streams({sc});
  StreamActivity activity(streams);
  activity.note_request("show");
  activity.note_request("show");
  activity.note_request("other");
  activity.note_origin_fetch("show");
  activity.note_origin_fetch("");
  EXPECT_EQ(activity.requests("show"), 2u);
  EXPECT_EQ(activity.origin_fetches("show"), 1u);
  EXPECT_EQ(activity.requests("other"), 0u);
}

}  // namespace
}  // namespace hlscache
