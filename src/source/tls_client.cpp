#include "source/tls_client.hpp"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace hlscache {

Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_client_context(bool verify, const std::string& ca_file,
                                                                           std::string_view alpn) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_alpn_protos(raw, reinterpret_cast<const unsigned char*>(alpn.data()), static_cast<unsigned>(alpn.size()));
  if (!verify) {
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  const int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(raw)
                                 : SSL_CTX_load_verify_locations(raw, ca_file.c_str(), nullptr);
  if (ok != 1) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    return Error::make(ErrorSource::config, Errc::invalid_argument,
                       fmt::format("upstream.tls.ca_file {}: {}", ca_file.empty() ? "(system CAs)" : ca_file, buf));
  }
  return ctx;
}

void prepare_tls_client(SSL* ssl, const std::string& name, bool verify) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(name, ec);
  const bool is_ip = !ec;
  if (!is_ip) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!verify) return;
  if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  else SSL_set1_host(ssl, name.c_str());
}

std::string tls_handshake_error(SSL* ssl, const boost::system::error_code& ec) {
  const long vr = SSL_get_verify_result(ssl);
  if (vr != X509_V_OK) return fmt::format("certificate verification failed: {}", X509_verify_cert_error_string(vr));
  return ec.message();
}

}  // namespace hlscache
