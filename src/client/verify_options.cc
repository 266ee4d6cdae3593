#include "client/verify_options.h"

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/jwk.h"
#include "crypto/jwt.h"

namespace crypta::client {
namespace {

Result<Bytes> Hex(const char* what, const std::string& hex) {
  Result<Bytes> b = HexDecode(hex);
  if (!b || b->empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + ": \"" + hex + "\" is not hex");
  }
  return b;
}

std::string TrimToken(std::string t) {
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

// The control plane's signed reference values (api/server_deploy.cc): ES256 with a key of the
// platform JWKS, iss "crypta", typ "crypta-rv+jwt", unexpired.
Status AddReferenceValues(const VerifyOptions& o, Expectations& e) {
  CRYPTA_ASSIGN_OR_RETURN(Jwks jwks, Jwks::ParseText(o.jwks_json));
  JwtVerifyOptions v;
  v.jws.allowed_algs = {JwsAlg::kEs256};
  v.now_unix_s = UnixNow();
  v.expected_issuer = "crypta";
  v.expected_typ = "crypta-rv+jwt";
  Result<nlohmann::json> claims = JwtVerifyWithJwks(TrimToken(o.reference_values_token), jwks, v);
  if (!claims) return MakeError(claims.error().WithContext("reference values"));
  auto strings = [&](const char* name) -> Result<std::vector<std::string>> {
    const nlohmann::json& list = claims->value(name, nlohmann::json());
    std::vector<std::string> out;
    if (!list.is_array()) {
      return MakeError(ErrorCode::kInvalidArgument, std::string("reference values: no ") + name);
    }
    for (const auto& item : list) {
      if (!item.is_string()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string("reference values: ") + name + " must be strings");
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  };
  CRYPTA_ASSIGN_OR_RETURN(std::vector<std::string> measurements, strings("crypta.measurements"));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<std::string> host_data, strings("crypta.host_data"));
  if (measurements.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "reference values: no measurement");
  }
  for (const std::string& m : measurements) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes b, Hex("reference measurement", m));
    e.measurements.push_back(std::move(b));
  }
  for (const std::string& h : host_data) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes b, Hex("reference host data", h));
    e.host_data.push_back(std::move(b));
  }
  const nlohmann::json& workload = claims->value("crypta.workload", nlohmann::json());
  if (workload.is_string() && e.workload.empty()) e.workload = workload.get<std::string>();
  return OkStatus();
}

Status AddTransparency(const VerifyOptions& o, Expectations& e) {
  if (o.transparency_url.empty()) {
    if (!o.log_key.empty() || !o.transparency_ca.empty() || !o.transparency_state.empty() ||
        !o.transparency_tenant.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "a log key, CA, state file or tenant for the transparency log needs the "
                       "log's URL (--transparency)");
    }
    return OkStatus();
  }
  TransparencyExpectation t;
  t.log_url = o.transparency_url;
  t.verifier_key = o.log_key;
  if (t.verifier_key.empty() && !o.data_dir.empty()) {
    Result<Bytes> vkey = ReadFileBytes(o.data_dir + "/release-log.vkey", 4096);
    if (!vkey) return MakeError(vkey.error().WithContext("the release log's key"));
    t.verifier_key = ToString(*vkey);
    while (!t.verifier_key.empty() && t.verifier_key.back() == '\n') t.verifier_key.pop_back();
  }
  if (t.verifier_key.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the transparency log needs its pinned key (--log-key, or --data-dir of "
                     "the control plane: release-log.vkey)");
  }
  t.ca_cert_path = o.transparency_ca;
  if (t.ca_cert_path.empty() && !o.data_dir.empty() &&
      o.transparency_url.rfind("https://", 0) == 0) {
    t.ca_cert_path = o.data_dir + "/tls/ca.pem";
  }
  t.state_file = o.transparency_state;
  t.tenant = o.transparency_tenant;
  e.transparency = std::move(t);
  return OkStatus();
}

}  // namespace

Result<Expectations> BuildExpectations(const VerifyOptions& o) {
  Expectations e;
  for (const std::string& m : o.measurements) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes b, Hex("expected measurement", m));
    e.measurements.push_back(std::move(b));
  }
  for (const std::string& h : o.host_data) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes b, Hex("expected host data", h));
    e.host_data.push_back(std::move(b));
  }
  CRYPTA_ASSIGN_OR_RETURN(e.worst_tcb_status, attest::ParseTcbStatus(o.accept_tcb));
  e.workload = o.workload;
  e.allow_debug = o.allow_debug;
  e.allow_missing_revocation = o.allow_missing_revocation;
  e.allow_simulated = o.allow_simulated;
  if (o.allow_simulated) {
    if (!o.sim_root_pem.empty()) {
      e.sim_root_pem = o.sim_root_pem;
    } else if (!o.data_dir.empty()) {
      CRYPTA_ASSIGN_OR_RETURN(Bytes pem, ReadFileBytes(o.data_dir + "/sim/ca.pem", 64 * 1024));
      e.sim_root_pem = ToString(pem);
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       "allowing the simulated TEE needs the platform's sim root: its sim "
                       "root CA (PEM) or the control plane's data dir");
    }
  }
  if (!o.policy_text.empty()) {
    Result<attest::AppraisalPolicy> policy = attest::ParseAppraisalPolicy(o.policy_text);
    if (!policy) return MakeError(policy.error().WithContext("appraisal policy"));
    e.policy = std::move(*policy);
  }
  if ((o.ear_token.empty() && o.reference_values_token.empty()) != o.jwks_json.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "an EAR token or reference values need the platform's JWKS, and the JWKS "
                     "one of them");
  }
  if (!o.reference_values_token.empty()) {
    CRYPTA_RETURN_IF_ERROR(AddReferenceValues(o, e));
  }
  if (!o.ear_token.empty()) {
    e.ear = EarExpectation{TrimToken(o.ear_token), o.jwks_json, "crypta"};
  }
  e.model_digest = o.model_digest;
  if (!o.workload.empty()) e.workload = o.workload;
  CRYPTA_RETURN_IF_ERROR(AddTransparency(o, e));
  return e;
}

Result<ClientOptions> BuildClientOptions(const VerifyOptions& o, const Expectations& e) {
  if (o.timeout_s < 1 || o.timeout_s > 3600) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "timeout: " + std::to_string(o.timeout_s) + " s is outside [1, 3600]");
  }
  if (o.client_cert_pem.empty() != o.client_key_pem.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "mTLS needs both the client certificate and its private key");
  }
  if (!o.spiffe_ids.empty() && o.ca_bundle_pem.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expected SPIFFE IDs need the platform trust bundle (CA certificate)");
  }
  ClientOptions c;
  c.chunked_request_bytes = o.chunked_request_bytes;
  c.transport.read_timeout_ms = o.timeout_s * 1000;
  c.transport.write_timeout_ms = o.timeout_s * 1000;
  TlsOptions& tls = c.transport.tls;
  if (!o.ca_bundle_pem.empty()) {
    tls.ca_bundle_pem = o.ca_bundle_pem;
    tls.expected_spiffe_ids = o.spiffe_ids;
  } else {
    tls.attested = true;
    tls.allow_simulated = e.allow_simulated;
    tls.allow_debug = e.allow_debug;
    tls.allow_missing_revocation = e.allow_missing_revocation;
    tls.sim_root_pem = e.sim_root_pem;
    tls.measurements = e.measurements;
  }
  tls.trust_domain = o.trust_domain;
  tls.client_cert_pem = o.client_cert_pem;
  tls.client_key_pem = o.client_key_pem;
  return c;
}

Result<VerifiedService> VerifyService(const std::string& url, const VerifyOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(Expectations e, BuildExpectations(options));
  CRYPTA_ASSIGN_OR_RETURN(ClientOptions c, BuildClientOptions(options, e));
  return VerifyService(url, e, c);
}

}  // namespace crypta::client
