// One HTTP/1.1 request's life on a connection, once the codec (h1_codec.hpp) has read
// its head: the Handler's answer (answer_now for a fresh hit, no coroutine; else
// handle(), with 1xx heads written as they come), whether the connection persists,
// and the response — head and body in one gather write through BodyWriter (cached
// chunks by scatter-gather or sendfile, never copied), growing bodies in batches as
// they are published (chunked when the length is unknown) — then metrics and the
// access log. Refused requests get their error answer here too.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>

#include <string>
#include <vector>

#include "http/body_source.hpp"
#include "http/body_writer.hpp"
#include "http/h1_codec.hpp"
#include "http/interim.hpp"
#include "http/session_env.hpp"

namespace hlscache {

template <class Stream>
class H1Exchange {
 public:
  H1Exchange(Stream& stream, BodyWriter<Stream>& writer, const SessionEnv& env, const Config& cfg);

  // Answers the request; `streaming`: its body, if the handler reads it (ingest).
  // True when the connection may go on to the next request.
  boost::asio::awaitable<bool> serve(RequestContext& ctx, H1Head head, const RequestBody* streaming);
  // Answers a request the codec refused (the connection closes after it).
  boost::asio::awaitable<void> refuse(const H1Refusal& refusal, const boost::asio::ip::address& remote);

 private:
  // Builds the response into bufs_ when it goes out in one write (an inline body, a
  // cached object of one batch); false: write_body() must write it.
  bool prepare(Response& resp, bool head_only, bool keep_alive, bool http10);
  boost::asio::awaitable<bool> write_body(Response& resp, bool head_only, bool& keep_alive, bool http10);
  boost::asio::awaitable<bool> write_batches(bool chunked, std::string_view& unsent_head);
  void account(const RequestContext& req, const Response& resp);
  boost::asio::awaitable<void> write_interim(int status, const std::vector<Header>& headers);

  // 1xx heads (103 Early Hints) ahead of the final one (RFC 9110 §15.2): open while the
  // handler of an HTTP/1.1 request runs, closed before the final head is written.
  class Interim final : public InterimWriter {
   public:
    explicit Interim(H1Exchange& x) : x_(x) {}
    boost::asio::awaitable<void> send_interim(int status, const std::vector<Header>& headers) override {
      return x_.write_interim(status, headers);
    }

   private:
    H1Exchange& x_;
  };

  Stream& stream_;
  BodyWriter<Stream>& writer_;
  const SessionEnv& env_;
  const Config& cfg_;
  // Reused across requests so a hit allocates as little as possible.
  std::string head_;
  std::string chunk_line_;
  std::vector<boost::asio::const_buffer> bufs_;
  BodySource source_;
  std::uint64_t body_bytes_ = 0;
  Interim interim_{*this};
  bool interim_open_ = false;
  int interim_writes_ = 0;  // interim heads being written (the final head waits for them)
  boost::asio::steady_timer interim_done_;
};

}  // namespace hlscache
