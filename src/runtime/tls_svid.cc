#include "runtime/tls_svid.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/x509.h"
#include "pki/attested_tls.h"
#include "pki/csr.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

// RFC 7468 §2 textual encoding, 64 characters a line.
std::string ToPem(const char* label, ByteSpan der) {
  const std::string b64 = Base64Encode(der);
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += std::string("-----END ") + label + "-----\n";
  return out;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string TimeText(int64_t unix_s) {
  time_t t = static_cast<time_t>(unix_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<SvidKey> NewSvidKey(std::string_view common_name) {
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_RETURN(Bytes csr, pki::CreateCsr(key, common_name));
  CRYPTA_ASSIGN_OR_RETURN(Bytes spki_hash, pki::CsrPublicKeyHash(csr));
  return SvidKey{std::move(key), ToPem("CERTIFICATE REQUEST", csr), HexEncode(spki_hash)};
}

Result<TlsCredential> RequestSvid(HttpFetcher& broker, const RcarSession& session,
                                  const SvidKey& key, const SvidTarget& target) {
  FetchRequest request;
  request.method = "POST";
  request.path = "/v1/pki/svid";
  request.content_type = "application/json";
  request.headers = {{"Authorization", "Bearer " + session.ear_token}};
  request.body = json{{"csr", key.csr_pem},
                      {"tenant", target.tenant},
                      {"workload", target.workload},
                      {"key", target.key},
                      {"runtime_data", session.runtime_data}}
                     .dump();
  CRYPTA_ASSIGN_OR_RETURN(FetchResponse response, broker.Send(request));
  if (response.status != 201 && response.status != 200) {
    return MakeError(ControlPlaneError(response, "SVID request refused by the control plane"));
  }
  Result<json> body = ParseJsonStrict(response.body);
  if (!body || !body->is_object() || !body->contains("chain") || !(*body)["chain"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "SVID answer: no \"chain\" string");
  }
  Result<std::vector<Certificate>> chain =
      Certificate::ParsePemBundle((*body)["chain"].get<std::string>());
  if (!chain || chain->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "SVID answer: \"chain\" is not PEM certificates");
  }
  TlsCredential credential{key.key, std::move(*chain)};
  credential.description = body->value("spiffe_id", "SVID");
  return credential;
}

Result<TlsCredential> ObtainSvid(HttpFetcher& broker, attest::Attester& attester,
                                 const SvidTarget& target) {
  CRYPTA_ASSIGN_OR_RETURN(SvidKey key, NewSvidKey("crypta-runtime " + target.workload));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey tee_key, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_RETURN(
      RcarSession session,
      RunRcarSession(broker, attester, tee_key, json{{"svid-spki-sha256", key.spki_sha256_hex}}));
  return RequestSvid(broker, session, key, target);
}

Result<TlsCredential> MakeAttestedCredential(attest::Attester& attester, const std::string& host,
                                             int64_t ttl_s) {
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  pki::AttestedCertificateOptions options;
  options.common_name = "crypta-runtime attested TLS";
  options.ttl_s = ttl_s;
  if (!host.empty()) {
    (IsIpAddress(host) ? options.ip_addresses : options.dns_names).push_back(host);
  }
  CRYPTA_ASSIGN_OR_RETURN(
      Certificate cert,
      pki::MakeAttestedCertificate(
          key, [&attester](ByteSpan report_data) { return attester.Collect(report_data); },
          options));
  TlsCredential credential{std::move(key), {std::move(cert)}};
  credential.description = "attested certificate";
  return credential;
}

Result<PlatformTrust> FetchPlatformTrust(HttpFetcher& broker) {
  FetchRequest bundle_request;
  bundle_request.path = "/v1/pki/bundle";
  CRYPTA_ASSIGN_OR_RETURN(FetchResponse bundle, broker.Send(bundle_request));
  if (bundle.status != 200) return MakeError(ControlPlaneError(bundle, "trust bundle"));
  FetchRequest crl_request;
  crl_request.path = "/v1/pki/crls";  // every live generation's CRL (rotation overlaps)
  CRYPTA_ASSIGN_OR_RETURN(FetchResponse crls, broker.Send(crl_request));
  if (crls.status != 200) return MakeError(ControlPlaneError(crls, "CRLs"));
  const json list = json::parse(crls.body, nullptr, /*allow_exceptions=*/false);
  if (!list.is_object() || !list.contains("crls") || !list["crls"].is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "GET /v1/pki/crls: not a {\"crls\": [...]} body");
  }
  PlatformTrust trust;
  trust.bundle_pem = std::move(bundle.body);
  for (const json& crl : list["crls"]) {
    auto der = crl.is_string() ? Base64Decode(crl.get<std::string>())
                               : Result<Bytes>(MakeError(ErrorCode::kInvalidArgument, ""));
    if (!der) return MakeError(ErrorCode::kInvalidArgument, "GET /v1/pki/crls: bad CRL entry");
    trust.crls.push_back(std::move(*der));
  }
  return trust;
}

CredentialRenewer::CredentialRenewer(TlsIdentity* identity, Obtain obtain, PeerPolicy* peers,
                                     FetchTrust fetch_trust, RenewerOptions options,
                                     std::function<int64_t()> clock)
    : identity_(identity),
      obtain_(std::move(obtain)),
      peers_(peers),
      fetch_trust_(std::move(fetch_trust)),
      options_(options),
      clock_(std::move(clock)) {}

CredentialRenewer::~CredentialRenewer() { Stop(); }

void CredentialRenewer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void CredentialRenewer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t CredentialRenewer::renewals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return renewals_;
}

void CredentialRenewer::Loop() {
  // Renewal schedule: fraction of the lifetime counted from when we got the credential
  // (the leaf's notBefore is backdated by the CA for clock skew).
  auto schedule = [this](const TlsCredential& c, int64_t obtained_at) {
    const double life = static_cast<double>(c.not_after - obtained_at);
    return obtained_at + std::max<int64_t>(1, static_cast<int64_t>(life * options_.renew_fraction));
  };
  std::shared_ptr<const TlsCredential> current = identity_->Current();
  int64_t renew_at = current ? schedule(*current, clock_()) : clock_();
  int64_t trust_at = clock_() + options_.trust_refresh_s;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const int64_t now = clock_();
    const int64_t next = peers_ && fetch_trust_ ? std::min(renew_at, trust_at) : renew_at;
    if (now < next) {
      // Seconds granularity is enough: wake at most once a second.
      cv_.wait_for(lock,
                   std::chrono::milliseconds(std::clamp<int64_t>((next - now) * 1000, 100, 1000)));
      continue;
    }
    lock.unlock();
    if (peers_ && fetch_trust_ && now >= trust_at) {
      Result<PlatformTrust> trust = fetch_trust_();
      Status updated =
          trust ? peers_->Update(trust->bundle_pem, trust->crls) : Status(MakeError(trust.error()));
      if (!updated) {
        std::fprintf(stderr, "crypta-runtime: trust bundle refresh failed: %s\n",
                     updated.error().message().c_str());
      }
      trust_at = clock_() + options_.trust_refresh_s;
    }
    if (clock_() >= renew_at) {
      Result<TlsCredential> next_credential = obtain_();
      const int64_t got_at = clock_();
      if (next_credential) {
        std::string what = next_credential->description;
        Status set = identity_->Set(std::move(*next_credential));
        if (set) {
          current = identity_->Current();
          renew_at = schedule(*current, got_at);
          std::fprintf(stderr, "crypta-runtime: TLS certificate renewed (%s, valid until %s)\n",
                       what.c_str(), TimeText(current->not_after).c_str());
          std::lock_guard<std::mutex> count(mu_);
          ++renewals_;
        } else {
          std::fprintf(stderr, "crypta-runtime: TLS renewal failed: %s\n",
                       set.error().message().c_str());
          renew_at = got_at + options_.retry_s;
        }
      } else {
        std::fprintf(stderr, "crypta-runtime: TLS renewal failed (retrying in %d s): %s\n",
                     options_.retry_s, next_credential.error().message().c_str());
        renew_at = got_at + options_.retry_s;
      }
    }
    lock.lock();
  }
}

}  // namespace crypta::runtime
