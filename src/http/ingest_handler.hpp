// IngestHandler: HTTP push of a live MPEG-TS stream — PUT or POST (chunked or
// not) to /ingest/{stream} or /ingest/{stream}/{rendition}, as ffmpeg sends it
// with `-f mpegts -method PUT`. Checks the rendition's allow-list (403) and
// stream key (?key= or X-Stream-Key; 403), claims the rendition (409 if a
// publisher is live), feeds the body to the cutter as it arrives, and ends the
// live session (ENDLIST) when the body ends, or when it stays silent for the stream's
// whole pause_grace (408). A connection lost before the body's end leaves the stream
// live for the grace, to be continued by the next push (live_stream.hpp). A body with
// no MPEG-TS in its first 1 MiB is refused with 400; a publish that cut no segment
// leaves the previous session's ended window as it was.
#pragma once

#include "http/handler.hpp"
#include "segmenter/live_stream.hpp"

namespace hlscache {

class IngestHandler final : public Handler {
 public:
  IngestHandler(ConfigPtr config, LiveStreams& streams) : config_(std::move(config)), streams_(streams) {}
  boost::asio::awaitable<Response> handle(RequestContext& request) override;

 private:
  ConfigPtr config_;
  LiveStreams& streams_;
};

// True if `address` matches one of the entries (exact addresses or CIDR prefixes).
bool address_allowed(const boost::asio::ip::address& address, const std::vector<std::string>& allow);

}  // namespace hlscache
