// The byte streams sessions run over: a TCP connection (Beast's tcp_stream, whose
// timer gives per-operation deadlines) or TLS on top of one (Beast's ssl_stream,
// which coalesces a gather write into TLS records of useful size). lowest_socket()
// reaches the TCP socket under either, for options, shutdown and close.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace hlscache {

using TcpStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

inline boost::asio::ip::tcp::socket& lowest_socket(TcpStream& s) { return s.socket(); }
inline boost::asio::ip::tcp::socket& lowest_socket(TlsStream& s) { return boost::beast::get_lowest_layer(s).socket(); }
inline TcpStream& tcp_layer(TcpStream& s) { return s; }
inline TcpStream& tcp_layer(TlsStream& s) { return boost::beast::get_lowest_layer(s); }

}  // namespace hlscache
