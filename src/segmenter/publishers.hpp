// Publishers that feed a rendition from inside the process:
//  - a .ts file read at real-time pace — paced by the stream's own PCR (the clock
//    the multiplexer wrote), not by wall-clock guesses — and optionally looped;
//    each loop starts a new timeline marked #EXT-X-DISCONTINUITY while the media
//    sequence keeps counting (docs/segmenter.md explains the choice);
//  - a UDP socket receiving MPEG-TS datagrams (188-byte packets, as ffmpeg's
//    `-f mpegts udp://...?pkt_size=1316` and broadcast encoders send them);
//    silence longer than timeouts.ingest_idle pauses the session (the stream stays
//    live for its pause_grace); datagrams that come back within the grace continue
//    it after a discontinuity, later ones start a new session.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

#include "segmenter/live_stream.hpp"

namespace hlscache {

boost::asio::awaitable<void> run_file_source(LiveRendition& rendition, std::string path, bool loop);
boost::asio::awaitable<void> run_udp_source(LiveRendition& rendition, HostPort address, Duration idle);

// The last PCR (27 MHz units, 42 bits) carried in whole 188-byte packets of `data`.
std::optional<std::uint64_t> last_pcr(const std::uint8_t* data, std::size_t n);

}  // namespace hlscache
