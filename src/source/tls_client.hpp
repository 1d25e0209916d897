// TLS towards upstream hosts (upstream.protocol https and h2): the client context —
// TLS 1.2+, one ALPN protocol, the chain verified against a CA file or the system's
// CAs unless verification is off — and, per connection, SNI plus the check that the
// certificate names the host (or its IP address).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace hlscache {

// `alpn` in wire format, e.g. "\x02h2" or "\x08http/1.1".
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_client_context(bool verify, const std::string& ca_file,
                                                                           std::string_view alpn);

// Before the handshake: SNI (for names, not addresses) and, with `verify`, the name or
// address the certificate must carry.
void prepare_tls_client(SSL* ssl, const std::string& name, bool verify);

// Why a handshake failed, naming the verification error when there is one.
std::string tls_handshake_error(SSL* ssl, const boost::system::error_code& ec);

}  // namespace hlscache
