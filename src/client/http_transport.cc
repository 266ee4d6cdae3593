// The client's HTTP transport over cpp-httplib (the only file of src/client that includes
// it): one httplib::Client per call, explicit timeouts, a receiver that stops reading
// once a response passes its size cap instead of buffering it, and for https:// a server
// check (SVID-TLS or attested TLS) inside the handshake.
#include "client/http_transport.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <optional>
#include <utility>

#include "attest/verifier_factory.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "pki/attested_tls.h"
#include "pki/svid_verify.h"

namespace crypta::client {
namespace {

// The certificates of the peer's chain (leaf first), as sent.
Result<std::vector<Certificate>> ChainFromStore(X509_STORE_CTX* store) {
  std::vector<Certificate> out;
  STACK_OF(X509)* stack = X509_STORE_CTX_get0_untrusted(store);
  const int n = stack ? sk_X509_num(stack) : 0;
  if (n > 16) return MakeError(ErrorCode::kInvalidArgument, "over 16 certificates");
  for (int i = 0; i < n; ++i) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(sk_X509_value(stack, i), &der);
    if (len <= 0) return MakeError(ErrorCode::kInvalidArgument, "unencodable certificate");
    Result<Certificate> cert = Certificate::FromDer(ByteSpan(der, static_cast<size_t>(len)));
    OPENSSL_free(der);
    if (!cert) return MakeError(cert.error());
    out.push_back(std::move(*cert));
  }
  if (out.empty()) return MakeError(ErrorCode::kUnauthenticated, "the server sent no certificate");
  return out;
}

// Attested TLS: the leaf's DICE tagged-evidence extension verifies and binds the leaf's key.
Status CheckAttestedLeaf(const TlsOptions& tls, const Certificate& leaf, int64_t now) {
  Result<pki::AttestedEvidence> ext = pki::ParseAttestedCertExtension(leaf);
  if (!ext) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "the certificate carries no usable TEE evidence: " + ext.error().message());
  }
  if (ext->tee == attest::TeeType::kSim && !tls.allow_simulated) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "the certificate's evidence is from the SIMULATED TEE (no hardware "
                     "isolation) and simulated TEEs are not allowed");
  }
  attest::VerifierConfig config;
  if (ext->tee == attest::TeeType::kSim) {
    if (tls.sim_root_pem.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "simulated TEE allowed but no sim root given");
    }
    config.sim_root_pem = tls.sim_root_pem;
  }
  CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<const attest::Verifier> verifier,
                          attest::MakeVerifier(ext->tee, config));
  CRYPTA_ASSIGN_OR_RETURN(PublicKey key, leaf.public_key());
  CRYPTA_ASSIGN_OR_RETURN(Bytes spki, key.ToSpkiDer());
  attest::Evidence evidence;
  evidence.tee = ext->tee;
  evidence.raw = std::move(ext->evidence);
  attest::VerifyOptions options;
  options.verification_time = now;
  options.expected_report_data = pki::AttestedTlsReportData(spki);
  Result<attest::VerifiedEvidence> verified = verifier->Verify(evidence, options);
  if (!verified) {
    return MakeError(
        ErrorCode::kUnauthenticated,
        std::string(attest::TeeTypeName(ext->tee)) +
            " evidence in the certificate does not verify: " + verified.error().message());
  }
  const attest::Claims& claims = verified->claims();
  CRYPTA_RETURN_IF_ERROR(pki::CheckAttestedTlsBinding(leaf, claims.report_data));
  if (claims.debug && !tls.allow_debug) {
    return MakeError(ErrorCode::kPermissionDenied, "the certificate's TEE runs in debug mode");
  }
  if ((claims.tee == attest::TeeType::kTdx || claims.tee == attest::TeeType::kSgx) &&
      claims.revocation != attest::Revocation::kChecked && !tls.allow_missing_revocation) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "the certificate's evidence came without the PCK CRL or the Root CA CRL: "
                     "revocation was not checked");
  }
  if (!tls.measurements.empty()) {
    bool found = false;
    for (const Bytes& m : tls.measurements) found |= m == claims.measurement;
    if (!found) {
      return MakeError(ErrorCode::kPermissionDenied, "the certificate's TEE measurement " +
                                                         HexEncode(claims.measurement) +
                                                         " is not an expected measurement");
    }
  }
  return OkStatus();
}

Status CheckServerChain(const TlsOptions& tls, const std::vector<Certificate>& chain) {
  const int64_t now = tls.now != 0 ? tls.now : UnixNow();
  if (tls.attested) return CheckAttestedLeaf(tls, chain[0], now);
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Certificate> bundle,
                          Certificate::ParsePemBundle(tls.ca_bundle_pem));
  std::vector<Crl> crls;
  for (const Bytes& der : tls.crls) {
    CRYPTA_ASSIGN_OR_RETURN(Crl crl, Crl::Parse(der));
    crls.push_back(std::move(crl));
  }
  pki::VerifyExpectations expect;
  expect.trust_domain = tls.trust_domain;
  expect.allowed_ids = tls.expected_spiffe_ids;
  expect.now = now;
  CRYPTA_ASSIGN_OR_RETURN(pki::VerifiedSvid svid, pki::VerifySvid(chain, bundle, crls, expect));
  (void)svid;
  return OkStatus();
}

// What the handshake's verify callback works on; one per call.
struct PeerCheck {
  const TlsOptions* tls = nullptr;
  std::string error;  // set when the check failed
};

// SSL_CTX_set_cert_verify_callback: replaces OpenSSL's chain check (and httplib's host name
// check) with CheckServerChain, during the handshake: a refused server gets no request.
int VerifyServerCallback(X509_STORE_CTX* store, void* arg) {
  auto* check = static_cast<PeerCheck*>(arg);
  Result<std::vector<Certificate>> chain = ChainFromStore(store);
  Status ok = chain ? CheckServerChain(*check->tls, *chain) : Status(MakeError(chain.error()));
  if (!ok) {
    check->error = ok.error().message();
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

void SetTimeout(httplib::Client& client, int connect_ms, int read_ms, int write_ms) {
  auto split = [](int ms) { return std::pair<time_t, time_t>(ms / 1000, (ms % 1000) * 1000); };
  auto [cs, cus] = split(connect_ms);
  auto [rs, rus] = split(read_ms);
  auto [ws, wus] = split(write_ms);
  client.set_connection_timeout(cs, cus);
  client.set_read_timeout(rs, rus);
  client.set_write_timeout(ws, wus);
}

class HttplibTransport : public HttpTransport {
 public:
  HttplibTransport(std::string base_url, TransportOptions options,
                   std::vector<Certificate> client_chain, std::optional<PrivateKey> client_key)
      : base_url_(std::move(base_url)),
        options_(std::move(options)),
        client_chain_(std::move(client_chain)),
        client_key_(std::move(client_key)),
        https_(base_url_.rfind("https://", 0) == 0) {}

  Result<HttpReply> Get(const std::string& path, size_t max_response_bytes) const override {
    return Send("GET", path, "", {}, max_response_bytes);
  }
  Result<HttpReply> Post(const std::string& path, std::string_view content_type, ByteSpan body,
                         size_t max_response_bytes) const override {
    return Send("POST", path, content_type, body, max_response_bytes);
  }
  Status PostStreaming(const std::string& path, HttpStreamCall& call,
                       size_t max_response_bytes) const override {
    return Exchange("POST", path, call, max_response_bytes);
  }
  const std::string& base_url() const override { return base_url_; }

 private:
  Result<HttpReply> Send(const char* method, const std::string& path, std::string_view content_type,
                         ByteSpan body, size_t cap) const {
    HttpReply reply;
    HttpStreamCall call;
    call.content_type = std::string(content_type);
    call.body = body;
    call.on_head = [&reply](int status, const std::string& type) {
      reply.status = status;
      reply.content_type = type;
      return OkStatus();
    };
    call.on_body = [&reply](ByteSpan piece) {
      reply.body.append(reinterpret_cast<const char*>(piece.data()), piece.size());
      return OkStatus();
    };
    CRYPTA_RETURN_IF_ERROR(Exchange(method, path, call, cap));
    return reply;
  }

  Status Exchange(const char* method, const std::string& path, HttpStreamCall& call,
                  size_t cap) const {
    if (path.empty() || path[0] != '/') {
      return MakeError(ErrorCode::kInvalidArgument, "request path must start with '/'");
    }
    cap = std::min(cap, options_.max_response_bytes);
    httplib::Client client(base_url_);
    SetTimeout(client, options_.connect_timeout_ms, options_.read_timeout_ms,
               options_.write_timeout_ms);
    client.set_url_encode(false);  // callers build paths from checked characters only
    client.set_keep_alive(false);
    PeerCheck check{&options_.tls, ""};
    if (https_) {
      // httplib's own verification would check a host name an SVID does not carry; ours
      // runs in the handshake instead (VerifyServerCallback).
      client.enable_server_certificate_verification(false);
      SSL_CTX* ctx = client.ssl_context();
      if (ctx == nullptr) return MakeError(ErrorCode::kInternal, "no TLS context");
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      SSL_CTX_set_cert_verify_callback(ctx, VerifyServerCallback, &check);
      if (client_key_) {
        if (SSL_CTX_use_certificate(ctx, client_chain_[0].x509()) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, client_key_->pkey()) != 1) {
          return MakeError(ErrorCode::kInvalidArgument, "client certificate not usable");
        }
        for (size_t i = 1; i < client_chain_.size(); ++i) {
          SSL_CTX_add1_chain_cert(ctx, client_chain_[i].x509());
        }
      }
    }
    httplib::Request req;
    req.method = method;
    req.path = path;
    std::optional<Error> failed;  // the first handler or body-source error
    if (!call.content_type.empty()) req.headers.emplace("Content-Type", call.content_type);
    for (const auto& [name, value] : call.headers) req.headers.emplace(name, value);
    if (call.next_body) {
      // Each piece is written as the provider returns it: with Content-Length when the total
      // is known, else as one chunk of chunked transfer coding.
      if (call.body_length) {
        req.content_length_ = *call.body_length;
      } else {
        req.headers.emplace("Transfer-Encoding", "chunked");
        req.is_chunked_content_provider_ = true;
      }
      req.content_provider_ = [&call, &failed](size_t, size_t, httplib::DataSink& sink) {
        Result<std::optional<ByteSpan>> piece = call.next_body();
        if (!piece) {
          failed = piece.error();
          return false;
        }
        if (!*piece) {
          sink.done();
          return true;
        }
        return (*piece)->empty() ||
               sink.write(reinterpret_cast<const char*>((*piece)->data()), (*piece)->size());
      };
    } else if (!call.content_type.empty()) {
      req.body.assign(reinterpret_cast<const char*>(call.body.data()), call.body.size());
    }
    size_t received = 0;
    bool too_large = false;
    req.response_handler = [&call, &failed](const httplib::Response& res) {
      Status ok = call.on_head(res.status, res.get_header_value("Content-Type"));
      if (!ok) failed = ok.error();
      return ok.has_value();
    };
    req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
      if (received + length > cap) {
        too_large = true;
        return false;
      }
      received += length;
      Status ok = call.on_body(ByteSpan(reinterpret_cast<const uint8_t*>(data), length));
      if (!ok) failed = ok.error();
      return ok.has_value();
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool sent = client.send(req, res, error);
    if (failed) return MakeError(*failed);
    if (too_large) {
      return MakeError(ErrorCode::kResourceExhausted, base_url_ + path.substr(0, path.find('?')) +
                                                          ": response is over " +
                                                          std::to_string(cap) + " bytes");
    }
    if (!sent && !check.error.empty()) {
      return MakeError(ErrorCode::kUnauthenticated,
                       "TLS peer check failed for " + base_url_ + ": " + check.error);
    }
    if (!sent) {
      const std::string why = error == httplib::Error::Read || error == httplib::Error::Write
                                  ? "timed out or connection lost"
                                  : httplib::to_string(error);
      return MakeError(ErrorCode::kUnavailable,
                       "cannot reach the service at " + base_url_ + " (" + why + ")");
    }
    return OkStatus();
  }

  std::string base_url_;
  TransportOptions options_;
  std::vector<Certificate> client_chain_;
  std::optional<PrivateKey> client_key_;
  bool https_;
};

}  // namespace

Status HttpTransport::PostStreaming(const std::string& path, HttpStreamCall& call,
                                    size_t max_response_bytes) const {
  Bytes collected;
  ByteSpan body = call.body;
  if (call.next_body) {
    while (true) {
      CRYPTA_ASSIGN_OR_RETURN(std::optional<ByteSpan> piece, call.next_body());
      if (!piece) break;
      collected.insert(collected.end(), piece->begin(), piece->end());
    }
    body = collected;
  }
  CRYPTA_ASSIGN_OR_RETURN(HttpReply reply, Post(path, call.content_type, body, max_response_bytes));
  CRYPTA_RETURN_IF_ERROR(call.on_head(reply.status, reply.content_type));
  if (reply.body.empty()) return OkStatus();
  return call.on_body(AsBytes(reply.body));
}

Result<std::shared_ptr<const HttpTransport>> MakeHttpTransport(std::string_view base_url,
                                                               const TransportOptions& options) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  const bool https = url.rfind("https://", 0) == 0;
  const size_t host_at = https ? 8 : 7;
  if ((!https && url.rfind("http://", 0) != 0) || url.size() == host_at || url.size() > 2048 ||
      url.find_first_of("/?#@ \t\r\n", host_at) != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "service URL must be http://HOST:PORT or https://HOST:PORT, got \"" +
                         url.substr(0, 200) + "\"");
  }
  std::vector<Certificate> client_chain;
  std::optional<PrivateKey> client_key;
  if (https) {
    const TlsOptions& tls = options.tls;
    if (!tls.attested && tls.ca_bundle_pem.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "https:// needs a way to authenticate the server: the platform trust "
                       "bundle (SVID-TLS) or attested TLS");
    }
    if (!tls.ca_bundle_pem.empty()) {
      Result<std::vector<Certificate>> bundle = Certificate::ParsePemBundle(tls.ca_bundle_pem);
      if (!bundle || bundle->empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "CA bundle: no PEM certificates");
      }
    }
    for (const std::string& pattern : tls.expected_spiffe_ids) {
      Status ok = pki::ValidateSpiffePattern(pattern);
      if (!ok) return MakeError(ok.error().WithContext("expected SPIFFE ID"));
    }
    if (tls.client_cert_pem.empty() != tls.client_key_pem.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "a client certificate needs its key, and a key its certificate");
    }
    if (!tls.client_cert_pem.empty()) {
      Result<std::vector<Certificate>> chain = Certificate::ParsePemBundle(tls.client_cert_pem);
      if (!chain || chain->empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "client certificate: no PEM certificates");
      }
      Result<PrivateKey> key = PrivateKey::FromPem(tls.client_key_pem);
      if (!key) return MakeError(key.error().WithContext("client key"));
      if (X509_check_private_key((*chain)[0].x509(), key->pkey()) != 1) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "client key does not match the client certificate");
      }
      client_chain = std::move(*chain);
      client_key = std::move(*key);
    }
  }
  if (options.connect_timeout_ms <= 0 || options.read_timeout_ms <= 0 ||
      options.write_timeout_ms <= 0 || options.max_response_bytes == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "transport timeouts and cap must be positive");
  }
  return std::shared_ptr<const HttpTransport>(std::make_shared<HttplibTransport>(
      std::move(url), options, std::move(client_chain), std::move(client_key)));
}

}  // namespace crypta::client
