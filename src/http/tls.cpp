#include "http/tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/strings.hpp"

namespace hlscache {

namespace asio = boost::asio;

namespace {

// Mozilla's "intermediate" TLS 1.2 list (forward secrecy, AEAD only); TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// ALPN wire lists: length-prefixed protocol names, in our order of preference.
constexpr unsigned char kAlpnH2[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kAlpnH1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  std::string out;
  while (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;  // keep the last (most specific) one
    e = ERR_get_error();
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> certificate_names(X509* x) {
  std::vector<std::string> names;
  if (x == nullptr) return names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type != GEN_DNS) continue;
      const auto* s = g->d.dNSName;
      names.push_back(lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                             static_cast<std::size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {  // RFC 6125: the CN only when there are no DNS SANs
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    if (n > 0) names.push_back(lower(std::string_view(cn, static_cast<std::size_t>(n))));
  }
  return names;
}

bool name_matches(std::string_view pattern, std::string_view host) {
  if (pattern == host) return true;
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    auto dot = host.find('.');
    return dot != std::string_view::npos && dot > 0 && host.substr(dot) == pattern.substr(1);
  }
  return false;
}

}  // namespace

TlsContexts::~TlsContexts() = default;

Result<std::shared_ptr<const TlsContexts>> TlsContexts::load(const TlsConfig& config, bool offer_h2) {
  std::shared_ptr<TlsContexts> out(new TlsContexts());
  out->offer_h2_ = offer_h2;
  auto fail = [](const std::string& what) {
    return Error::make(ErrorSource::config, Errc::invalid_argument, what);
  };
  if (config.certificates.empty()) return fail("a TLS listener needs a certificate");
  for (const auto& c : config.certificates) {
    ERR_clear_error();
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    SSL_CTX* raw = ctx.native_handle();
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
    SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_SINGLE_DH_USE |
                                 SSL_OP_SINGLE_ECDH_USE);
    SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(raw, kCiphers12) != 1) return fail("TLS: cannot set the cipher list: " + openssl_reason());
    if (SSL_CTX_use_certificate_chain_file(raw, c.cert.c_str()) != 1)
      return fail(fmt::format("TLS certificate {}: {}", c.cert, openssl_reason()));
    if (SSL_CTX_use_PrivateKey_file(raw, c.key.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(fmt::format("TLS key {}: {}", c.key, openssl_reason()));
    if (SSL_CTX_check_private_key(raw) != 1)
      return fail(fmt::format("TLS key {} does not match certificate {}: {}", c.key, c.cert, openssl_reason()));
    auto entry = std::make_unique<Entry>(std::move(ctx));
    entry->names = certificate_names(SSL_CTX_get0_certificate(raw));
    SSL_CTX_set_alpn_select_cb(
        raw,
        [](SSL* ssl, const unsigned char** o, unsigned char* ol, const unsigned char* in, unsigned int il, void* arg) {
          return on_alpn(ssl, o, ol, in, il, arg);
        },
        out.get());
    SSL_CTX_set_tlsext_servername_callback(raw, +[](SSL* ssl, int* alert, void* arg) {
      return on_server_name(ssl, alert, arg);
    });
    SSL_CTX_set_tlsext_servername_arg(raw, out.get());
    out->entries_.push_back(std::move(entry));
  }
  return std::shared_ptr<const TlsContexts>(std::move(out));
}

std::size_t TlsContexts::select(std::string_view server_name) const {
  const std::string host = lower(server_name);
  for (std::size_t i = 0; i < entries_.size(); ++i)
    for (const auto& n : entries_[i]->names)
      if (name_matches(n, host)) return i;
  return 0;
}

int TlsContexts::on_server_name(void* ssl_v, int* /*alert*/, void* arg) {
  auto* ssl = static_cast<SSL*>(ssl_v);
  auto* self = static_cast<const TlsContexts*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr || self->entries_.size() == 1) return SSL_TLSEXT_ERR_OK;
  std::size_t i = self->select(name);
  if (i != 0) SSL_set_SSL_CTX(ssl, self->entries_[i]->ctx.native_handle());
  return SSL_TLSEXT_ERR_OK;
}

int TlsContexts::on_alpn(void* /*ssl*/, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                         unsigned int inlen, void* arg) {
  auto* self = static_cast<const TlsContexts*>(arg);
  const unsigned char* ours = self->offer_h2_ ? kAlpnH2 : kAlpnH1;
  unsigned int ours_len = self->offer_h2_ ? sizeof kAlpnH2 : sizeof kAlpnH1;
  unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  if (SSL_select_next_proto(&selected, &selected_len, ours, ours_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol (RFC 7301 §3.2)
  *out = selected;
  *outlen = selected_len;
  return SSL_TLSEXT_ERR_OK;
}

bool alpn_selected_h2(void* ssl) {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(static_cast<SSL*>(ssl), &p, &len);
  return len == 2 && p[0] == 'h' && p[1] == '2';
}

Status TlsStore::load() {
  auto loaded = TlsContexts::load(config_, offer_h2_);
  if (!loaded) return loaded.error();
  std::lock_guard lock(mu_);
  current_ = std::move(*loaded);
  return Ok{};
}

std::shared_ptr<const TlsContexts> TlsStore::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

}  // namespace hlscache
