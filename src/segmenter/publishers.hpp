// Publishers that feed a rendition from inside the process:
//  - a .ts file read at real-time pace — paced by the stream's own PCR (the clock
//    the multiplexer wrote, RealtimePacer), not by wall-clock guesses — and
//    optionally looped as one continuous stream: each pass's timestamps and
//    continuity counters go on from the previous pass (FileLoop), so there is no
//    seam for a player to see. Stopped for longer than one target duration, it
//    resumes at real-time pace from now (no burst of backlog) and the next
//    segment is marked #EXT-X-DISCONTINUITY (docs/segmenter.md);
//  - a UDP socket receiving MPEG-TS datagrams (188-byte packets, as ffmpeg's
//    `-f mpegts udp://...?pkt_size=1316` and broadcast encoders send them);
//    silence longer than timeouts.ingest_idle pauses the session (the stream stays
//    live for its pause_grace); datagrams that come back within the grace continue
//    it after a discontinuity, later ones start a new session.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>

#include "segmenter/live_stream.hpp"

namespace hlscache {

boost::asio::awaitable<void> run_file_source(LiveRendition& rendition, std::string path, bool loop);
boost::asio::awaitable<void> run_udp_source(LiveRendition& rendition, HostPort address, Duration idle);

}  // namespace hlscache
