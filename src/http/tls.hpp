// TLS for listeners (OpenSSL through Asio's ssl::context): one immutable
// TlsContexts per listener holds an SSL_CTX per configured certificate (TLS 1.2
// and 1.3 only, a modern AEAD cipher list, no renegotiation or compression).
// SNI picks the certificate whose names (subjectAltName DNS entries, else the
// CN; "*.example.com" covers one label) match the client's server name, the first
// one otherwise. ALPN offers h2 (when the listener has http2: true) then http/1.1;
// a client that offers ALPN but none of those gets the no_application_protocol
// alert (RFC 7301 §3.2). TlsStore swaps in a freshly loaded TlsContexts on reload
// (SIGHUP): new handshakes use it, connections keep the one they started with.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace hlscache {

class TlsContexts {
 public:
  // Loads every certificate and key; the error names the file and OpenSSL's reason.
  static Result<std::shared_ptr<const TlsContexts>> load(const TlsConfig& config, bool offer_h2);
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // The default certificate's context: handshakes start from it (SNI may switch).
  boost::asio::ssl::context& context() const { return entries_.front()->ctx; }
  // Index of the certificate that serves `server_name` (0 when nothing matches).
  std::size_t select(std::string_view server_name) const;
  const std::vector<std::string>& names(std::size_t i) const { return entries_.at(i)->names; }
  bool offers_h2() const { return offer_h2_; }

 private:
  struct Entry {
    explicit Entry(boost::asio::ssl::context c) : ctx(std::move(c)) {}
    mutable boost::asio::ssl::context ctx;
    std::vector<std::string> names;  // lower case
  };
  TlsContexts() = default;
  static int on_server_name(void* ssl, int* alert, void* arg);
  static int on_alpn(void* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                     unsigned int inlen, void* arg);
  std::vector<std::unique_ptr<Entry>> entries_;
  bool offer_h2_ = false;
};

// One TLS listener's current contexts, replaced as a whole on reload.
class TlsStore {
 public:
  TlsStore(TlsConfig config, bool offer_h2, std::string listener_name)
      : config_(std::move(config)), offer_h2_(offer_h2), name_(std::move(listener_name)) {}
  Status load();  // (re)reads the files; on failure the previous contexts stay in use
  std::shared_ptr<const TlsContexts> current() const;
  const std::string& name() const { return name_; }

 private:
  const TlsConfig config_;
  const bool offer_h2_;
  const std::string name_;
  mutable std::mutex mu_;
  std::shared_ptr<const TlsContexts> current_;
};

// True when the peer of `ssl` (a native SSL*) agreed on "h2" by ALPN.
bool alpn_selected_h2(void* ssl);

}  // namespace hlscache
