// TLS for stream sockets, on OpenSSL 3. A TlsContext holds one side's
// certificates and settings (a listener's, or a client's) and makes a
// filter for each of its streams. OpenSSL never touches a descriptor: the
// socket layer hands the filter the bytes it read and takes back the
// records to write, so a handshake moves on the loop's read edges like any
// other data and never blocks it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "silly/core/socket.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace silly {

struct TlsConfig {
  bool server = false;
  std::string cert;  // PEM certificate chain: a server's, or a client's for mutual TLS
  std::string key;   // PEM private key of `cert`
  std::string ca;    // PEM trust anchors; a server with one asks clients for certificates
  // Check the peer's certificate: a client checks the server's chain
  // (against `ca`, or the system's store without one) and `servername`;
  // a server with `ca` refuses clients without a certificate it signed.
  bool verify = true;
  std::string servername;  // sent as SNI; the name the server's certificate must carry
  int handshake_timeout_ms = 5000;
  // Certificates as PEM text instead of files (the original framework's
  // form): each a chain and its key, at most one per key type (RSA, ECDSA),
  // OpenSSL picking the one the client can use.
  std::vector<std::pair<std::string, std::string>> pem_certs;
  std::string ciphers;  // OpenSSL cipher list for TLS 1.2; empty: OpenSSL's own
  // ALPN: the protocols a client offers, or a server accepts in its order
  // of preference (a client offering none of them gets no protocol).
  std::vector<std::string> alpn;
};

class TlsContext : public StreamFilterFactory {
 public:
  // nullptr, with *error naming the file and what is wrong with it, when
  // the configuration cannot be loaded.
  static std::shared_ptr<TlsContext> create(const TlsConfig &config, std::string *error);
  explicit TlsContext(const TlsConfig &config) : config_(config) {}  // loads nothing: use create()
  ~TlsContext() override;
  TlsContext(const TlsContext &) = delete;
  TlsContext &operator=(const TlsContext &) = delete;

  // Reads the files again; streams made from now on use them, streams
  // already open keep what they had. On failure nothing changes. 0 or -1.
  int reload(std::string *error);
  // The same with another configuration (same side); 0 or -1.
  int reconfigure(const TlsConfig &config, std::string *error);

  std::unique_ptr<StreamFilter> make_filter() override;
  int handshake_timeout_ms() const override { return config_.handshake_timeout_ms; }
  const TlsConfig &config() const { return config_; }

 private:
  TlsConfig config_;
  ::ssl_ctx_st *ctx_ = nullptr;
};

}  // namespace silly
