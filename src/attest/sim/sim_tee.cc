#include "attest/sim/sim_tee.h"

#include <algorithm>

#include "common/byte_writer.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jws.h"
#include "crypto/x509_builder.h"

namespace crypta::attest {
namespace {

constexpr char kFormat[] = "crypta-sim-evidence-v1";

Error Bad(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "sim evidence: " + what);
}

Result<Bytes> HexField(const nlohmann::json& claims, const char* name, size_t size) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string())
    return MakeError(Bad(std::string(name) + " missing or not a string"));
  Result<Bytes> b = HexDecode(it->get<std::string>());
  if (!b || b->size() != size) {
    return MakeError(Bad(std::string(name) + " must be " + std::to_string(size) + " bytes of hex"));
  }
  return b;
}

}  // namespace

Bytes ComputeSimMeasurement(ByteSpan runtime_binary, const std::vector<std::string>& args,
                            const std::string& model_ref) {
  Hasher h(HashAlg::kSha384);
  ByteWriter w;
  w.WriteString("crypta sim measurement v1");
  w.WriteU64BE(runtime_binary.size());
  h.Update(w.Take());
  h.Update(runtime_binary);
  ByteWriter rest;
  rest.WriteU32BE(static_cast<uint32_t>(args.size()));
  for (const std::string& a : args) {
    rest.WriteU64BE(a.size());
    rest.WriteString(a);
  }
  rest.WriteU64BE(model_ref.size());
  rest.WriteString(model_ref);
  h.Update(rest.bytes());
  return h.Finish();
}

Result<SimCa> CreateSimRootCa(int64_t now, int64_t validity_s) {
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEcP384));
  CertificateTemplate t;
  t.common_name = "crypta simulated TEE root (NOT A REAL TEE)";
  t.organization = "crypta sim";
  t.not_before = now - 300;
  t.not_after = now + validity_s;
  t.is_ca = true;
  t.path_len = 0;
  CRYPTA_ASSIGN_OR_RETURN(Certificate cert, IssueCertificate(t, key.GetPublicKey(), nullptr, key));
  return SimCa{std::move(key), std::move(cert)};
}

Result<SimNodeIdentity> IssueSimNode(const SimCa& ca, const std::string& node_id, int64_t now,
                                     int64_t validity_s) {
  if (node_id.empty() || node_id.size() > 128) {
    return MakeError(ErrorCode::kInvalidArgument, "sim node id must be 1..128 characters");
  }
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEcP384));
  CertificateTemplate t;
  t.common_name = "crypta sim node " + node_id;
  t.organization = "crypta sim";
  t.not_before = now - 300;
  t.not_after = now + validity_s;
  CRYPTA_ASSIGN_OR_RETURN(Certificate cert,
                          IssueCertificate(t, key.GetPublicKey(), &ca.cert, ca.key));
  return SimNodeIdentity{node_id, std::move(key), {std::move(cert), ca.cert}};
}

Result<Bytes> SignSimReport(const SimNodeIdentity& node, const SimLaunch& launch,
                            ByteSpan report_data, int64_t now) {
  if (launch.measurement.size() != kSimMeasurementSize ||
      launch.host_data.size() != kSimHostDataSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sim launch: measurement must be 48 bytes, host_data 32");
  }
  if (report_data.size() > kReportDataSize) {
    return MakeError(ErrorCode::kInvalidArgument, "report_data longer than 64 bytes");
  }
  Bytes rd(report_data.begin(), report_data.end());
  rd.resize(kReportDataSize, 0);
  nlohmann::json claims = {
      {"tee", "sim"},
      {"version", 1},
      {"measurement", HexEncode(launch.measurement)},
      {"host_data", HexEncode(launch.host_data)},
      {"report_data", HexEncode(rd)},
      {"debug", launch.debug},
      {"svn", launch.svn},
      {"node_id", node.node_id},
      {"iat", now},
  };
  CRYPTA_ASSIGN_OR_RETURN(std::string payload, CanonicalizeJson(claims));
  CRYPTA_ASSIGN_OR_RETURN(std::string jws, JwsSignCompact(node.key, AsBytes(payload)));
  nlohmann::json chain = nlohmann::json::array();
  for (const Certificate& c : node.chain) chain.push_back(Base64Encode(c.der()));
  nlohmann::json evidence = {{"format", kFormat}, {"jws", jws}, {"chain", chain}};
  return ToBytes(evidence.dump());
}

Result<VerifiedEvidence> SimVerifier::Verify(const Evidence& evidence,
                                             const VerifyOptions& options) const {
  if (evidence.tee != TeeType::kSim) return MakeError(Bad("not sim evidence"));
  if (evidence.raw.size() > kMaxSimEvidenceBytes) return MakeError(Bad("larger than 64 KiB"));
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json doc, ParseJsonStrict(AsStringView(evidence.raw)));
  if (!doc.is_object() || doc.value("format", "") != kFormat) {
    return MakeError(Bad("format is not " + std::string(kFormat)));
  }
  auto jws = doc.find("jws");
  auto chain = doc.find("chain");
  if (jws == doc.end() || !jws->is_string() || chain == doc.end() || !chain->is_array() ||
      chain->empty() || chain->size() > 4) {
    return MakeError(Bad("needs a \"jws\" string and a \"chain\" of 1..4 certificates"));
  }
  std::vector<Certificate> certs;
  for (const auto& c : *chain) {
    if (!c.is_string()) return MakeError(Bad("chain entries must be base64 strings"));
    CRYPTA_ASSIGN_OR_RETURN(Bytes der, Base64Decode(c.get<std::string>()));
    CRYPTA_ASSIGN_OR_RETURN(Certificate cert, Certificate::FromDer(der));
    certs.push_back(std::move(cert));
  }
  std::vector<Certificate> intermediates(certs.begin() + 1, certs.end());
  std::vector<Certificate> roots = {root_};
  Result<VerifiedChain> verified =
      VerifyChain(certs.front(), intermediates, roots, options.verification_time);
  if (!verified) return MakeError(verified.error().WithContext("sim node certificate"));
  CRYPTA_ASSIGN_OR_RETURN(PublicKey node_key, certs.front().public_key());
  JwsVerifyOptions jws_options;
  jws_options.allowed_algs = {JwsAlg::kEs384};
  Result<VerifiedJws> signed_report =
      JwsVerifyCompact(jws->get<std::string>(), node_key, jws_options);
  if (!signed_report) return MakeError(signed_report.error().WithContext("sim report signature"));
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json claims,
                          ParseJsonStrict(AsStringView(signed_report->payload)));
  if (!claims.is_object() || claims.value("tee", "") != "sim" || !claims.contains("version") ||
      claims["version"] != 1) {
    return MakeError(Bad("report is not tee \"sim\" version 1"));
  }
  Claims out;
  out.tee = TeeType::kSim;
  out.simulated = true;  // always: the sim TEE isolates nothing
  out.revocation = Revocation::kNotApplicable;
  CRYPTA_ASSIGN_OR_RETURN(out.measurement, HexField(claims, "measurement", kSimMeasurementSize));
  CRYPTA_ASSIGN_OR_RETURN(out.host_data, HexField(claims, "host_data", kSimHostDataSize));
  CRYPTA_ASSIGN_OR_RETURN(out.report_data, HexField(claims, "report_data", kReportDataSize));
  auto debug = claims.find("debug");
  auto svn = claims.find("svn");
  auto node_id = claims.find("node_id");
  auto iat = claims.find("iat");
  if (debug == claims.end() || !debug->is_boolean() || svn == claims.end() ||
      !svn->is_number_unsigned() || node_id == claims.end() || !node_id->is_string() ||
      iat == claims.end() || !iat->is_number_integer()) {
    return MakeError(Bad("debug, svn, node_id or iat missing or mistyped"));
  }
  CRYPTA_RETURN_IF_ERROR(CheckReportData(out.report_data, options));
  out.debug = debug->get<bool>();
  out.tcb_status = TcbStatus::kUpToDate;
  out.platform_id = ToBytes(node_id->get<std::string>());
  out.signer = "sim-node:" + node_id->get<std::string>();
  out.tcb = {{"svn", svn->get<uint64_t>()}};
  out.extra = {{"node_id", node_id->get<std::string>()},
               {"iat", iat->get<int64_t>()},
               {"node_certificate_sha256", HexEncode(certs.front().Sha256Fingerprint())},
               {"warning", "simulated TEE: no hardware isolation"}};
  return MakeVerified(std::move(out), evidence, options);
}

}  // namespace crypta::attest
