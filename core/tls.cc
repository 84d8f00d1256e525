// OpenSSL contexts and the per-stream filter. Each filter's SSL object
// reads and writes through one BIO of ours: reads take from the span the
// socket layer just read, writes append to the stream's wire ring.
#include "silly/core/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace silly {

namespace {

// The first error OpenSSL queued (the most specific one), with the
// certificate check's own words when that was the cause; clears the queue.
std::string openssl_reason(SSL *ssl) {
  unsigned long first = ERR_get_error();
  ERR_clear_error();
  std::string why;
  if (first != 0) {
    const char *r = ERR_reason_error_string(first);
    why = r != nullptr ? r : "error " + std::to_string(first);
  }
  if (ssl != nullptr) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
      std::string check = X509_verify_cert_error_string(v);
      why = why.empty() ? check : why + ": " + check;
    }
  }
  return why.empty() ? "TLS failure" : why;
}

// A file OpenSSL is about to load: its own error for a missing file is
// "system lib", so say it in the system's words first.
bool readable(const std::string &kind, const std::string &path, std::string *error) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = "cannot read " + kind + " file '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::fclose(f);
  return true;
}

bool loaded(int ok, const std::string &kind, const std::string &path, std::string *error) {
  if (ok == 1) return true;
  *error = "bad " + kind + " file '" + path + "': " + openssl_reason(nullptr);
  return false;
}

// One certificate chain and its key from PEM text (TlsConfig::pem_certs).
bool use_pem(SSL_CTX *ctx, const std::pair<std::string, std::string> &pem, size_t n, std::string *error) {
  std::string which = "certificate #" + std::to_string(n);
  BIO *in = BIO_new_mem_buf(pem.first.data(), static_cast<int>(pem.first.size()));
  X509 *leaf = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  while (ok) {  // the rest of the chain, after the leaf
    X509 *extra = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    ok = SSL_CTX_add1_chain_cert(ctx, extra) == 1;
    X509_free(extra);
  }
  BIO_free(in);
  if (!ok) {
    *error = "bad " + which + ": " + openssl_reason(nullptr);
    return false;
  }
  ERR_clear_error();  // the chain's end reads as an error
  in = BIO_new_mem_buf(pem.second.data(), static_cast<int>(pem.second.size()));
  EVP_PKEY *key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  BIO_free(in);
  if (!ok) {
    *error = "bad key of " + which + ": " + openssl_reason(nullptr);
    return false;
  }
  return true;
}

// ALPN's wire form: each protocol's length, then its bytes.
std::string alpn_wire(const std::vector<std::string> &protocols) {
  std::string wire;
  for (const std::string &p : protocols) {
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

// A server's choice: its first protocol the client offers too.
int select_alpn(SSL *, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned int inlen,
                void *arg) {
  std::string ours = alpn_wire(static_cast<TlsContext *>(arg)->config().alpn);
  unsigned char *chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char *>(ours.data()),
                            static_cast<unsigned int>(ours.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;  // points into `in`, which outlives the callback
  return SSL_TLSEXT_ERR_OK;
}

bool valid_alpn(const std::vector<std::string> &protocols, std::string *error) {
  for (const std::string &p : protocols) {
    if (p.empty() || p.size() > 255) {
      *error = "an ALPN protocol name is 1 to 255 bytes, got " + std::to_string(p.size());
      return false;
    }
  }
  return true;
}

// owner: the TlsContext the SSL_CTX is for (ALPN's callback reads its
// configuration as it is at the handshake).
SSL_CTX *build_context(const TlsConfig &c, TlsContext *owner, std::string *error) {
  bool has_pem = !c.pem_certs.empty();
  if (c.server && !has_pem && (c.cert.empty() || c.key.empty())) {
    *error = "a TLS listener needs cert and key";
    return nullptr;
  }
  if (c.cert.empty() != c.key.empty()) {
    *error = "cert and key go together";
    return nullptr;
  }
  SSL_CTX *ctx = SSL_CTX_new(c.server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) {
    *error = "cannot create a TLS context: " + openssl_reason(nullptr);
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // An idle stream gives its record buffers back (about 34 KiB each).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  bool ok = valid_alpn(c.alpn, error);
  for (size_t i = 0; ok && i < c.pem_certs.size(); i++) ok = use_pem(ctx, c.pem_certs[i], i + 1, error);
  if (ok && has_pem && SSL_CTX_check_private_key(ctx) != 1) {
    *error = "a key does not match its certificate";
    ok = false;
  }
  if (ok && !c.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, c.ciphers.c_str()) != 1) {
    *error = "bad cipher list '" + c.ciphers + "': " + openssl_reason(nullptr);
    ok = false;
  }
  if (ok && !c.alpn.empty()) {
    if (c.server) {
      SSL_CTX_set_alpn_select_cb(ctx, select_alpn, owner);
    } else {
      std::string wire = alpn_wire(c.alpn);
      // 0 is success here, unlike the rest of OpenSSL.
      ok = SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char *>(wire.data()),
                                   static_cast<unsigned int>(wire.size())) == 0;
      if (!ok) *error = "cannot offer ALPN protocols: " + openssl_reason(nullptr);
    }
  }
  if (ok && !c.cert.empty()) {
    ok = readable("certificate", c.cert, error) &&
         loaded(SSL_CTX_use_certificate_chain_file(ctx, c.cert.c_str()), "certificate", c.cert, error) &&
         readable("key", c.key, error) &&
         loaded(SSL_CTX_use_PrivateKey_file(ctx, c.key.c_str(), SSL_FILETYPE_PEM), "key", c.key, error);
    if (ok && SSL_CTX_check_private_key(ctx) != 1) {
      *error = "key file '" + c.key + "' does not match certificate '" + c.cert + "'";
      ok = false;
    }
  }
  if (ok && !c.ca.empty()) {
    ok = readable("CA", c.ca, error) &&
         loaded(SSL_CTX_load_verify_locations(ctx, c.ca.c_str(), nullptr), "CA", c.ca, error);
    if (ok && c.server) {
      STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c.ca.c_str());
      if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    }
  }
  if (ok && !c.server && c.verify && c.ca.empty() && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    *error = "cannot load the system's trusted certificates: " + openssl_reason(nullptr);
    ok = false;
  }
  if (!ok) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (c.server) {
    if (!c.ca.empty() && c.verify) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, c.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

class TlsFilter final : public StreamFilter {
 public:
  TlsFilter(SSL_CTX *ctx, const TlsConfig &config);
  ~TlsFilter() override { SSL_free(ssl_); }

  int take(const uint8_t *data, size_t n, RingBuffer &plain, RingBuffer &wire) override;
  int seal(RingBuffer &plain, RingBuffer &wire) override;
  void shutdown(RingBuffer &wire) override;
  bool established() const override { return established_; }
  bool peer_closed() const override { return peer_closed_; }
  std::string reason() const override { return reason_; }
  std::string protocol() const override {
    const unsigned char *p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl_, &p, &n);
    return std::string(reinterpret_cast<const char *>(p), p != nullptr ? n : 0);
  }

 private:
  static BIO_METHOD *bio_method();
  static int bio_read(BIO *b, char *out, int len);
  static int bio_write(BIO *b, const char *data, int len);
  static long bio_ctrl(BIO *, int cmd, long, void *) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
  int failed(int ret);

  SSL *ssl_ = nullptr;
  const uint8_t *in_ = nullptr;  // what the socket read, not yet taken
  size_t in_size_ = 0;
  RingBuffer *wire_ = nullptr;  // where records go, during a call only
  bool server_;
  bool heard_ = false;  // any byte arrived from the peer
  bool established_ = false;
  bool peer_closed_ = false;
  std::string reason_;
};

BIO_METHOD *TlsFilter::bio_method() {
  static BIO_METHOD *method = [] {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "silly stream");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  return method;
}

int TlsFilter::bio_read(BIO *b, char *out, int len) {
  auto *f = static_cast<TlsFilter *>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (f->in_size_ == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = std::min(f->in_size_, static_cast<size_t>(len));
  std::memcpy(out, f->in_, n);
  f->in_ += n;
  f->in_size_ -= n;
  return static_cast<int>(n);
}

int TlsFilter::bio_write(BIO *b, const char *data, int len) {
  auto *f = static_cast<TlsFilter *>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (f->wire_ == nullptr) {
    BIO_set_retry_write(b);
    return -1;
  }
  f->wire_->append(data, static_cast<size_t>(len));
  return len;
}

TlsFilter::TlsFilter(SSL_CTX *ctx, const TlsConfig &config) : server_(config.server) {
  ssl_ = SSL_new(ctx);
  BIO *bio = BIO_new(bio_method());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);
  if (config.server) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!config.servername.empty()) {
    SSL_set_tlsext_host_name(ssl_, config.servername.c_str());
    if (config.verify) SSL_set1_host(ssl_, config.servername.c_str());
  }
}

int TlsFilter::failed(int ret) {
  int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_SSL) {
    reason_ = openssl_reason(ssl_);
  } else if (e == SSL_ERROR_SYSCALL) {
    reason_ = "the TLS stream ended without a close_notify";
  } else {
    reason_ = "TLS error " + std::to_string(e);
  }
  ERR_clear_error();
  return kErrTls;
}

int TlsFilter::take(const uint8_t *data, size_t n, RingBuffer &plain, RingBuffer &wire) {
  ERR_clear_error();  // the queue is per thread: start from nothing of others
  if (!heard_ && n > 0) {
    heard_ = true;
    // A TLS peer's first record is a handshake (22) or, from a server that
    // refuses us, an alert (21); anything else does not speak TLS at all,
    // which OpenSSL would call "wrong version number".
    if (data[0] != 22 && (server_ || data[0] != 21)) {
      reason_ = server_ ? "a plaintext client on a TLS port" : "the server does not speak TLS (a plaintext port?)";
      return kErrTls;
    }
  }
  in_ = data;
  in_size_ = n;
  wire_ = &wire;
  int result = 0;
  if (!established_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int e = SSL_get_error(ssl_, r);
      result = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? 0 : failed(r);
      wire_ = nullptr;
      return result;
    }
    established_ = true;
    result = 1;
  }
  uint8_t chunk[16384];
  for (;;) {
    int r = SSL_read(ssl_, chunk, sizeof(chunk));
    if (r > 0) {
      plain.append(chunk, static_cast<size_t>(r));
      continue;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ && in_size_ == 0) break;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
    if (e == SSL_ERROR_ZERO_RETURN) {
      // Established in this same call, the stream still reaches its owner
      // (who then reads the end); before, the end alone is news.
      peer_closed_ = true;
      if (result != 1) result = kErrPeerClosed;
    } else {
      result = failed(r);
    }
    break;
  }
  wire_ = nullptr;
  in_size_ = 0;
  return result;
}

int TlsFilter::seal(RingBuffer &plain, RingBuffer &wire) {
  ERR_clear_error();
  wire_ = &wire;
  int rc = 0;
  while (!plain.empty()) {
    struct iovec iov[2];
    plain.readable_spans(iov);
    int len = static_cast<int>(std::min(iov[0].iov_len, static_cast<size_t>(INT_MAX)));
    // Our BIO takes every byte, so a write is whole or fails.
    int r = SSL_write(ssl_, iov[0].iov_base, len);
    if (r <= 0) {
      rc = failed(r);
      plain.clear();
      break;
    }
    plain.consume(static_cast<size_t>(r));
  }
  wire_ = nullptr;
  return rc;
}

void TlsFilter::shutdown(RingBuffer &wire) {
  if (!established_) return;
  wire_ = &wire;
  SSL_shutdown(ssl_);
  ERR_clear_error();
  wire_ = nullptr;
}

}  // namespace

std::shared_ptr<TlsContext> TlsContext::create(const TlsConfig &config, std::string *error) {
  auto c = std::make_shared<TlsContext>(config);
  if (c->reload(error) != 0) return nullptr;
  return c;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

int TlsContext::reload(std::string *error) {
  return reconfigure(config_, error);
}

int TlsContext::reconfigure(const TlsConfig &config, std::string *error) {
  SSL_CTX *fresh = build_context(config, this, error);
  if (fresh == nullptr) return -1;
  // Streams already open hold their own reference to the old context.
  SSL_CTX_free(ctx_);
  ctx_ = fresh;
  if (&config != &config_) config_ = config;
  return 0;
}

std::unique_ptr<StreamFilter> TlsContext::make_filter() {
  return std::make_unique<TlsFilter>(ctx_, config_);
}

}  // namespace silly
