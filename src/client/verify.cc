// VerifyAttestation: the client's appraisal of a crypta-runtime (client.h). Pure: the
// attestation JSON, the nonce this client sent and the expectations in; a VerifiedService
// or the reasons for refusing it out.
#include <algorithm>
#include <string>
#include <utility>

#include "attest/verifier_factory.h"
#include "client/client.h"
#include "client/receipt.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/jwt.h"

namespace crypta::client {

class VerifiedServiceAccess {
 public:
  static VerifiedService Make(attest::Claims claims, nlohmann::json runtime_data,
                              OhttpKeyConfig config, std::shared_ptr<const HttpTransport> t,
                              size_t max_response_bytes,
                              std::shared_ptr<const ServiceReceipts> receipts,
                              size_t chunked_request_bytes) {
    return VerifiedService(std::move(claims), std::move(runtime_data), std::move(config),
                           std::move(t), max_response_bytes, std::move(receipts),
                           chunked_request_bytes);
  }
  static void SetPublished(VerifiedService& service, PublishedRelease published) {
    service.published_ = std::move(published);
  }
};

class VerifiedAttestationRecordAccess {
 public:
  static VerifiedAttestationRecord Make(nlohmann::json attestation, Bytes evidence,
                                        nlohmann::json runtime_data, attest::Claims claims) {
    std::string digest = "sha256:" + HexEncode(Sha256(evidence));
    return VerifiedAttestationRecord(std::move(attestation), std::move(evidence),
                                     std::move(runtime_data), std::move(claims), std::move(digest));
  }
};

namespace {

using nlohmann::json;

constexpr size_t kMaxEvidenceBytes = 1u << 20;
constexpr size_t kMaxCollateralItems = 32;
// The members of runtime_data (DESIGN.md §4.5), each a string.
constexpr const char* kRuntimeDataFields[] = {"nonce", "ohttp-key-config", "tls-spki-sha256",
                                              "workload", "model-digest"};

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "attestation response: " + what);
}

bool ListContains(const std::vector<Bytes>& list, ByteSpan value) {
  bool found = false;
  for (const Bytes& b : list) found |= ConstantTimeEquals(b, value);
  return found;
}

// Text from the service may reach a terminal: keep it short and printable.
std::string Printable(std::string s) {
  if (s.size() > 200) s = s.substr(0, 200) + "…";
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

// Structure of the response, before anything is trusted.
struct ParsedAttestation {
  attest::Evidence evidence;
  bool claims_simulated = false;
  json runtime_data;
};

Result<ParsedAttestation> ParseAttestation(const json& doc) {
  if (!doc.is_object()) return MakeError(Malformed("not a JSON object"));
  auto tee = doc.find("tee");
  if (tee == doc.end() || !tee->is_string()) return MakeError(Malformed("\"tee\" missing"));
  ParsedAttestation out;
  Result<attest::TeeType> type = attest::ParseTeeType(tee->get<std::string>());
  if (!type) return MakeError(Malformed("\"tee\": " + Printable(type.error().message())));
  out.evidence.tee = *type;
  auto simulated = doc.find("simulated");
  if (simulated == doc.end() || !simulated->is_boolean()) {
    return MakeError(Malformed("\"simulated\" missing or not a boolean"));
  }
  out.claims_simulated = simulated->get<bool>();
  if (out.claims_simulated != (*type == attest::TeeType::kSim)) {
    return MakeError(Malformed("\"simulated\" contradicts \"tee\""));
  }

  auto evidence = doc.find("evidence");
  if (evidence == doc.end() || !evidence->is_string() ||
      evidence->get_ref<const std::string&>().empty()) {
    return MakeError(Malformed("\"evidence\" missing or not a string"));
  }
  const std::string& ev = evidence->get_ref<const std::string&>();
  if (ev.size() > 2 * kMaxEvidenceBytes) return MakeError(Malformed("\"evidence\" too large"));
  if (*type == attest::TeeType::kSim) {
    out.evidence.raw = ToBytes(ev);  // JSON text (attest/sim/sim_tee.h)
  } else {
    Result<Bytes> raw = Base64Decode(ev);
    if (!raw) return MakeError(Malformed("\"evidence\" is not base64"));
    out.evidence.raw = std::move(*raw);
  }

  if (auto collateral = doc.find("collateral"); collateral != doc.end() && !collateral->is_null()) {
    if (!collateral->is_object() || collateral->size() > kMaxCollateralItems) {
      return MakeError(Malformed("\"collateral\" must be an object of at most 32 items"));
    }
    for (const auto& [name, value] : collateral->items()) {
      Result<Bytes> bytes = value.is_string() ? Base64Decode(value.get<std::string>())
                                              : Result<Bytes>(MakeError(Malformed("")));
      if (!bytes)
        return MakeError(Malformed("collateral \"" + Printable(name) + "\" is not base64"));
      out.evidence.collateral.items[name] = std::move(*bytes);
    }
  }

  auto rd = doc.find("runtime_data");
  if (rd == doc.end() || !rd->is_object()) {
    return MakeError(Malformed("\"runtime_data\" missing or not an object"));
  }
  for (const char* field : kRuntimeDataFields) {
    auto f = rd->find(field);
    if (f == rd->end() || !f->is_string()) {
      return MakeError(
          Malformed(std::string("runtime_data.") + field + " missing or not a string"));
    }
  }
  out.runtime_data = *rd;
  return out;
}

// Expectations the claims must meet; every failure is collected.
std::vector<std::string> CheckClaims(const attest::Claims& claims, const json& runtime_data,
                                     const Expectations& e,
                                     const std::vector<Bytes>& ear_measurements) {
  std::vector<std::string> violations;
  const std::string measurement = HexEncode(claims.measurement);
  if (e.measurements.empty() && !e.policy && !e.ear) {
    violations.push_back("no expected measurement was given (the service's measurement is " +
                         measurement + ")");
  }
  if (!e.measurements.empty() || e.ear) {
    std::vector<Bytes> accepted = e.measurements;
    accepted.insert(accepted.end(), ear_measurements.begin(), ear_measurements.end());
    if (!ListContains(accepted, claims.measurement)) {
      violations.push_back("measurement " + measurement + " is not an expected measurement");
    }
  }
  if (!e.host_data.empty() && !ListContains(e.host_data, claims.host_data)) {
    violations.push_back("host_data " + HexEncode(claims.host_data) +
                         " is not an expected host data value");
  }
  if (claims.debug && !e.allow_debug) {
    violations.push_back("debug: the TEE runs in debug mode (the host can read its memory)");
  }
  if (claims.simulated && !e.allow_simulated) {
    violations.push_back("simulated: the TEE is simulated and simulated TEEs are not allowed");
  }
  const bool dcap = claims.tee == attest::TeeType::kTdx || claims.tee == attest::TeeType::kSgx;
  if (dcap && claims.revocation != attest::Revocation::kChecked && !e.allow_missing_revocation &&
      !e.policy) {  // a policy applies its own allow_missing_revocation below
    violations.push_back(
        "revocation: the collateral lacked the PCK CRL or the Root CA CRL, so revocation of the "
        "quote's certificates was not checked (--allow-missing-revocation to accept)");
  }
  if (attest::TcbStatusRank(claims.tcb_status) > attest::TcbStatusRank(e.worst_tcb_status)) {
    violations.push_back("tcb_status " + std::string(attest::TcbStatusName(claims.tcb_status)) +
                         " is worse than " +
                         std::string(attest::TcbStatusName(e.worst_tcb_status)));
  }
  if (!e.model_digest.empty() && runtime_data["model-digest"] != e.model_digest) {
    violations.push_back("model-digest " +
                         Printable(runtime_data["model-digest"].get<std::string>()) + " is not " +
                         e.model_digest);
  }
  if (!e.workload.empty() && runtime_data["workload"] != e.workload) {
    violations.push_back("workload \"" + Printable(runtime_data["workload"].get<std::string>()) +
                         "\" is not \"" + e.workload + "\"");
  }
  if (e.policy) {
    // require_published: the transparency step after this one checks it (with a log given).
    attest::PublishedCheck published;
    if (e.transparency) published = [](const attest::Claims&) { return OkStatus(); };
    attest::Verdict verdict = attest::Appraise(*e.policy, claims, published);
    for (const std::string& v : verdict.violations) violations.push_back("policy: " + v);
    if (!verdict.allowed && verdict.violations.empty()) violations.push_back("policy: denied");
  }
  return violations;
}

// The measurements a platform EAR vouches for (EarExpectation in client.h).
Result<std::vector<Bytes>> EarMeasurements(const EarExpectation& ear, int64_t now,
                                           bool allow_simulated) {
  CRYPTA_ASSIGN_OR_RETURN(Jwks jwks, Jwks::ParseText(ear.jwks_json));
  JwtVerifyOptions options;
  options.jws.allowed_algs = {JwsAlg::kEs256};
  options.now_unix_s = now;
  options.expected_issuer = ear.issuer;
  Result<json> claims = JwtVerifyWithJwks(ear.token, jwks, options);
  if (!claims) return MakeError(claims.error().WithContext("EAR token"));
  const json* cpu0 = nullptr;
  if (auto s = claims->find("submods"); s != claims->end() && s->is_object()) {
    if (auto c = s->find("cpu0"); c != s->end() && c->is_object()) cpu0 = &*c;
  }
  if (!cpu0) return MakeError(ErrorCode::kInvalidArgument, "EAR token: no submods.cpu0");
  // "affirming"; or, for the simulated TEE when allowed, "warning" whose only reservation
  // is the simulated hardware (ear.crypta.warnings holds exactly that one).
  auto status = cpu0->find("ear.status");
  bool sim_warning_only = false;
  if (allow_simulated && status != cpu0->end() && *status == "warning") {
    auto warnings = cpu0->find("ear.crypta.warnings");
    auto simulated = cpu0->find("ear.crypta.simulated");
    sim_warning_only = warnings != cpu0->end() && warnings->is_array() && warnings->size() == 1 &&
                       (*warnings)[0].is_string() &&
                       (*warnings)[0].get<std::string>().rfind("simulated:", 0) == 0 &&
                       simulated != cpu0->end() && *simulated == true;
  }
  if (status == cpu0->end() || (*status != "affirming" && !sim_warning_only)) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        "EAR token: ear.status is " +
            (status == cpu0->end() ? std::string("missing") : Printable(status->dump())) +
            ", not \"affirming\"");
  }
  auto annotated = cpu0->find("ear.crypta.annotated-evidence");
  if (annotated == cpu0->end() || !annotated->is_object() || !annotated->contains("measurement") ||
      !(*annotated)["measurement"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "EAR token: no annotated measurement");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes m, HexDecode((*annotated)["measurement"].get<std::string>()));
  return std::vector<Bytes>{std::move(m)};
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// Steps 2 and 3 of VerifyAttestation (and all of VerifyAttestationRecord): the evidence
// verifies with the pinned roots (or the given sim root) at `now`, and its report_data is
// SHA-384(JCS(runtime_data)) zero-padded.
Result<attest::Claims> VerifyBoundEvidence(const ParsedAttestation& parsed,
                                           const std::string& sim_root_pem, int64_t now) {
  const attest::TeeType tee = parsed.evidence.tee;
  CRYPTA_ASSIGN_OR_RETURN(Bytes report_data, ServiceReportData(parsed.runtime_data));
  attest::VerifierConfig config;
  if (tee == attest::TeeType::kSim) config.sim_root_pem = sim_root_pem;
  CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<const attest::Verifier> verifier,
                          attest::MakeVerifier(tee, config));
  attest::VerifyOptions verify_options;
  verify_options.verification_time = now != 0 ? now : UnixNow();
  Result<attest::VerifiedEvidence> verified = verifier->Verify(parsed.evidence, verify_options);
  if (!verified) {
    return MakeError(ErrorCode::kUnauthenticated,
                     std::string(attest::TeeTypeName(tee)) +
                         " evidence does not verify: " + verified.error().message());
  }
  const attest::Claims& claims = verified->claims();
  if (!ConstantTimeEquals(claims.report_data, report_data)) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "report_data does not bind runtime_data: the evidence's report_data is not "
                     "SHA-384(JCS(runtime_data)), so the OHTTP key config, nonce, workload and "
                     "model digest shown are not the ones the TEE attested");
  }
  return claims;
}

// The simulated TEE isolates nothing: refuse it unless explicitly allowed, and verify it
// only against the sim root the caller chose (never one the service offers).
Status CheckSimulatedAllowed(attest::TeeType tee, bool allow_simulated,
                             const std::string& sim_root_pem) {
  if (tee == attest::TeeType::kSim && !allow_simulated) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "the service runs in the SIMULATED TEE (no hardware isolation) and "
                     "simulated TEEs are not allowed (--allow-simulated)");
  }
  if (tee == attest::TeeType::kSim && sim_root_pem.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "simulated TEEs are allowed but no platform sim root CA was given "
                     "(--sim-root or --data-dir)");
  }
  return OkStatus();
}

}  // namespace

Result<VerifiedAttestationRecord> VerifyAttestationRecord(const json& attestation,
                                                          const RecordVerifyOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(ParsedAttestation parsed, ParseAttestation(attestation));
  CRYPTA_RETURN_IF_ERROR(
      CheckSimulatedAllowed(parsed.evidence.tee, options.allow_simulated, options.sim_root_pem));
  CRYPTA_ASSIGN_OR_RETURN(attest::Claims claims,
                          VerifyBoundEvidence(parsed, options.sim_root_pem, options.now));
  // What a receipt bundle keeps: enough to verify again, nothing the runtime added besides.
  json kept = {{"tee", attestation["tee"]},
               {"simulated", attestation["simulated"]},
               {"evidence", attestation["evidence"]},
               {"runtime_data", parsed.runtime_data}};
  if (auto c = attestation.find("collateral"); c != attestation.end() && !c->is_null()) {
    kept["collateral"] = *c;
  }
  return VerifiedAttestationRecordAccess::Make(std::move(kept), std::move(parsed.evidence.raw),
                                               std::move(parsed.runtime_data), std::move(claims));
}

Result<Bytes> ServiceReportData(const json& runtime_data) {
  CRYPTA_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeJson(runtime_data));
  Bytes out = Sha384(AsBytes(canonical));
  out.resize(64, 0);  // DESIGN.md §4.3/§4.5: zero-padded to the 64-byte report_data
  return out;
}

Result<VerifiedService> VerifyAttestation(const json& attestation, ByteSpan nonce,
                                          const Expectations& e,
                                          std::shared_ptr<const HttpTransport> transport,
                                          const ClientOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(ParsedAttestation parsed, ParseAttestation(attestation));
  const attest::TeeType tee = parsed.evidence.tee;

  CRYPTA_RETURN_IF_ERROR(CheckSimulatedAllowed(tee, e.allow_simulated, e.sim_root_pem));

  // 1. Freshness: the runtime must echo this client's nonce inside what it attests.
  const std::string& echoed = parsed.runtime_data["nonce"].get_ref<const std::string&>();
  if (!ConstantTimeEquals(AsBytes(echoed), AsBytes(HexEncode(nonce)))) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "nonce mismatch: runtime_data.nonce is not the nonce this client sent "
                     "(stale or replayed attestation)");
  }

  // 2 and 3. The evidence, with pinned roots, and the binding: report_data =
  // SHA-384(JCS(runtime_data)).
  const int64_t now = e.now != 0 ? e.now : UnixNow();
  CRYPTA_ASSIGN_OR_RETURN(const attest::Claims claims,
                          VerifyBoundEvidence(parsed, e.sim_root_pem, now));

  // 4. Expectations: every violation together.
  std::vector<Bytes> ear_measurements;
  std::vector<std::string> violations;
  if (e.ear) {
    Result<std::vector<Bytes>> m = EarMeasurements(*e.ear, now, e.allow_simulated);
    if (m) {
      ear_measurements = std::move(*m);
    } else {
      violations.push_back(m.error().message());
    }
  }
  std::vector<std::string> more = CheckClaims(claims, parsed.runtime_data, e, ear_measurements);
  violations.insert(violations.end(), more.begin(), more.end());
  if (!violations.empty()) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "service verification failed: " + Join(violations));
  }

  // 5. Only now is the key config trusted.
  const std::string& kc = parsed.runtime_data["ohttp-key-config"].get_ref<const std::string&>();
  Result<Bytes> kc_bytes = Base64UrlDecode(kc);
  if (!kc_bytes) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "runtime_data.ohttp-key-config is not base64url: " + kc_bytes.error().message());
  }
  Result<OhttpKeyConfig> key_config = ParseOhttpKeyConfig(*kc_bytes);
  if (!key_config) {
    return MakeError(key_config.error().WithContext("runtime_data.ohttp-key-config"));
  }
  // 6. Receipts (issue 17): a runtime that binds a receipt key signs every response; one
  // that binds none (older) issues no receipts. A malformed key refuses the service.
  std::shared_ptr<const ServiceReceipts> receipts;
  if (parsed.runtime_data.contains("receipt-key")) {
    CRYPTA_ASSIGN_OR_RETURN(PublicKey receipt_key, ReceiptKeyOf(parsed.runtime_data));
    RecordVerifyOptions record_options{e.allow_simulated, e.sim_root_pem, e.now};
    receipts =
        std::make_shared<const ServiceReceipts>(std::move(receipt_key), claims, parsed.runtime_data,
                                                record_options, options.max_attestation_bytes);
  }
  return VerifiedServiceAccess::Make(claims, std::move(parsed.runtime_data), std::move(*key_config),
                                     std::move(transport), options.transport.max_response_bytes,
                                     std::move(receipts), options.chunked_request_bytes);
}

Result<VerifiedService> CheckServicePublished(VerifiedService service, const Expectations& e) {
  if (!e.transparency) return service;
  CRYPTA_ASSIGN_OR_RETURN(
      PublishedRelease published,
      CheckPublished(*e.transparency, HexEncode(service.claims().measurement),
                     service.runtime_data()["model-digest"].get<std::string>()));
  VerifiedServiceAccess::SetPublished(service, std::move(published));
  return service;
}

}  // namespace crypta::client
