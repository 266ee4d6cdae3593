#include "kbs/rcar_messages.h"

#include <array>
#include <cctype>

#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"

namespace crypta::kbs {
namespace {

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "attest: " + std::move(message));
}

// Up to 40 printable characters of untrusted text, for messages.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 40)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return out + (s.size() > 40 ? "…\"" : "\"");
}

// kbs-types TEE names crypta recognizes but does not verify, with what they are.
struct KnownTee {
  std::string_view name, what;
};
constexpr std::array<KnownTee, 7> kUnsupportedTees = {{
    {"azsnpvtpm", "Azure SEV-SNP vTPM"},
    {"aztdxvtpm", "Azure TDX vTPM"},
    {"sev", "AMD SEV/SEV-ES pre-attestation"},
    {"se", "IBM Secure Execution"},
    {"csv", "Hygon CSV"},
    {"sample", "Trustee's sample TEE"},
    {"sampledevice", "Trustee's sample device"},
}};

// A JWK's "alg" decides the JWE key management of the response (the protocol's "Response":
// alg follows the tee-pubkey's). Absent: ECDH-ES+A256KW for EC, RSA-OAEP-256 for RSA.
Status CheckPubkeyAlg(const nlohmann::json& jwk, KeyType type) {
  auto alg = jwk.find("alg");
  if (alg == jwk.end()) return OkStatus();
  if (!alg->is_string()) return MakeError(Invalid("tee-pubkey.alg must be a string"));
  const std::string& name = alg->get_ref<const std::string&>();
  if (name == "RSA1_5") {
    return MakeError(
        Invalid("tee-pubkey.alg RSA1_5 (RSAES-PKCS1-v1_5) is refused: it is open to padding-oracle "
                "attacks (RFC 8725 §3.2); use RSA-OAEP-256 or ECDH-ES+A256KW"));
  }
  const bool ok = (name == "RSA-OAEP-256" && type == KeyType::kRsa) ||
                  (name == "ECDH-ES+A256KW" && type == KeyType::kEcP256);
  if (!ok) {
    return MakeError(Invalid("tee-pubkey.alg " + Quoted(name) + " is not supported for a" +
                             (type == KeyType::kRsa ? "n RSA" : " P-256") +
                             " key (supported: RSA-OAEP-256 for RSA, ECDH-ES+A256KW for P-256)"));
  }
  return OkStatus();
}

// The public key of the attestation body: a JWK, or the protocol document's older
// {"alg", "k-mod", "k-exp"} RSA form, which becomes {"kty":"RSA","alg","n","e"}.
Result<nlohmann::json> ParsePubkey(const nlohmann::json& field) {
  if (!field.is_object()) return MakeError(Invalid("tee-pubkey must be a JWK object"));
  nlohmann::json jwk = field;
  if (!jwk.contains("kty") && jwk.contains("k-mod") && jwk.contains("k-exp")) {
    jwk = {{"kty", "RSA"}, {"n", field["k-mod"]}, {"e", field["k-exp"]}};
    if (field.contains("alg")) jwk["alg"] = field["alg"];
  }
  auto parsed = ParsePublicJwk(jwk);
  if (!parsed) return MakeError(parsed.error().WithContext("attest: tee-pubkey"));
  const KeyType type = parsed->key.type();
  if (type != KeyType::kEcP256 && type != KeyType::kRsa) {
    return MakeError(Invalid("tee-pubkey must be an EC P-256 or RSA key (JWE recipient)"));
  }
  CRYPTA_RETURN_IF_ERROR(CheckPubkeyAlg(jwk, type));
  return jwk;
}

}  // namespace

Status CheckProtocolVersion(std::string_view version) {
  // MAJOR.MINOR.PATCH, digits only (semver without pre-release or build metadata).
  std::array<uint64_t, 3> parts{};
  size_t part = 0, digits = 0;
  bool ok = !version.empty() && version.size() <= 32;
  for (char c : version) {
    if (!ok) break;
    if (c == '.') {
      ok = digits > 0 && ++part < 3;
      digits = 0;
    } else if (c >= '0' && c <= '9' && digits < 6) {
      parts[part] = parts[part] * 10 + static_cast<uint64_t>(c - '0');
      ++digits;
    } else {
      ok = false;
    }
  }
  ok = ok && part == 2 && digits > 0;
  if (!ok || parts[0] != 0 || parts[1] < 1 || parts[1] > 4) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "auth: unsupported KBS protocol version " + Quoted(version) +
                         " (this key broker speaks 0.1.0 through 0.4.x)");
  }
  return OkStatus();
}

Result<attest::TeeType> ParseKbsTee(std::string_view name) {
  if (name == "snp" || name == "sev-snp") return attest::TeeType::kSevSnp;
  if (name == "tdx") return attest::TeeType::kTdx;
  if (name == "sgx") return attest::TeeType::kSgx;
  if (name == "sim") return attest::TeeType::kSim;
  if (name == "nitro") return attest::TeeType::kNitro;
  if (name == "cca") return attest::TeeType::kCca;
  if (name == "nvidia") return attest::TeeType::kNvidiaGpu;
  for (const KnownTee& t : kUnsupportedTees) {
    if (name == t.name) {
      return MakeError(ErrorCode::kUnimplemented,
                       "TEE \"" + std::string(t.name) + "\" (" + std::string(t.what) +
                           ") is not supported by this key broker (supported: snp, tdx, sgx, "
                           "nitro, cca, sim; nvidia as additional evidence)");
    }
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown TEE " + Quoted(name) +
                       " (supported: snp, tdx, sgx, nitro, cca, sim; nvidia as additional "
                       "evidence)");
}

Result<AttestMessage> ParseAttestMessage(const nlohmann::json& req) {
  AttestMessage m;
  auto rd = req.find("runtime-data");
  if (rd != req.end()) {
    if (!rd->is_object()) return MakeError(Invalid("\"runtime-data\" must be an object"));
    auto nonce = rd->find("nonce");
    if (nonce == rd->end() || !nonce->is_string()) {
      return MakeError(Invalid("\"runtime-data.nonce\" must be a string"));
    }
    auto pub = rd->find("tee-pubkey");
    if (pub == rd->end()) return MakeError(Invalid("\"runtime-data.tee-pubkey\" is missing"));
    CRYPTA_ASSIGN_OR_RETURN(m.tee_pubkey, ParsePubkey(*pub));
    m.nonce = nonce->get<std::string>();
    m.runtime_data = *rd;
    if (req.contains("tee-pubkey")) {
      return MakeError(Invalid("\"tee-pubkey\" belongs inside \"runtime-data\" when it is given"));
    }
  } else {
    auto pub = req.find("tee-pubkey");
    if (pub == req.end()) {
      return MakeError(
          Invalid("\"runtime-data\" (or, in the classic body, \"tee-pubkey\") is "
                  "missing"));
    }
    CRYPTA_ASSIGN_OR_RETURN(m.tee_pubkey, ParsePubkey(*pub));
    m.classic = true;
  }

  auto ev = req.find("tee-evidence");
  if (ev == req.end()) return MakeError(Invalid("\"tee-evidence\" is missing"));
  if (ev->is_object() && ev->contains("primary_evidence")) {
    m.composite = true;
    m.primary_evidence = (*ev)["primary_evidence"];
    auto more = ev->find("additional_evidence");
    m.additional_evidence = more == ev->end() ? nlohmann::json("") : *more;
    for (const auto& [k, v] : ev->items()) {
      if (k != "primary_evidence" && k != "additional_evidence") {
        return MakeError(Invalid("tee-evidence: unknown member " + Quoted(k)));
      }
    }
  } else {
    m.primary_evidence = *ev;
  }

  if (auto init = req.find("init-data"); init != req.end() && !init->is_null()) {
    auto format = init->is_object() ? init->find("format") : init->end();
    auto body = init->is_object() ? init->find("body") : init->end();
    if (!init->is_object() || format == init->end() || !format->is_string() ||
        body == init->end() || !body->is_string()) {
      return MakeError(Invalid("\"init-data\" must be {\"format\": string, \"body\": string}"));
    }
    m.init_data = InitData{format->get<std::string>(), body->get<std::string>()};
  }
  return m;
}

nlohmann::json PrimaryBinding(const AttestMessage& m, const std::string& session_nonce) {
  if (m.classic) return {{"nonce", session_nonce}, {"tee-pubkey", m.tee_pubkey}};
  if (m.composite) {
    // Trustee 0.4.0 binds {tee-pubkey, nonce, additional-evidence}; crypta's runtime-data
    // may carry more members (e.g. svid-spki-sha256), which are bound too.
    nlohmann::json binding = m.runtime_data;
    binding["additional-evidence"] = m.additional_evidence;
    return binding;
  }
  return m.runtime_data;
}

nlohmann::json AdditionalBinding(const AttestMessage& m, const std::string& session_nonce) {
  return {{"tee-pubkey", m.classic ? m.tee_pubkey : m.runtime_data["tee-pubkey"]},
          {"nonce", m.classic ? session_nonce : m.nonce}};
}

Result<std::vector<std::pair<std::string, nlohmann::json>>> AdditionalEvidence(
    const AttestMessage& m) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  if (!m.composite) return out;
  nlohmann::json map = m.additional_evidence;
  if (map.is_string()) {
    if (map.get_ref<const std::string&>().empty()) return out;
    JsonParseLimits limits;
    auto parsed = ParseJsonStrict(map.get_ref<const std::string&>(), limits);
    if (!parsed) return MakeError(parsed.error().WithContext("attest: additional_evidence"));
    map = std::move(*parsed);
  }
  if (!map.is_object()) {
    return MakeError(Invalid("additional_evidence must be a JSON object of TEE to evidence"));
  }
  for (const auto& [tee, evidence] : map.items()) out.emplace_back(tee, evidence);
  return out;
}

Result<Bytes> EvidenceBytes(const nlohmann::json& field) {
  if (field.is_object()) {
    std::string text = field.dump();
    return Bytes(text.begin(), text.end());
  }
  if (!field.is_string()) {
    return MakeError(Invalid("tee-evidence must be a string or an object"));
  }
  const auto& text = field.get_ref<const std::string&>();
  if (!text.empty() && text.front() == '{') return Bytes(text.begin(), text.end());
  if (auto b = Base64UrlDecode(text)) return *b;
  if (auto b = Base64Decode(text)) return *b;
  return MakeError(Invalid("tee-evidence is neither JSON nor base64/base64url"));
}

Status CheckInitData(const InitData& init_data, const attest::Claims& claims) {
  const size_t n = claims.host_data.size();
  const HashAlg alg = n >= 64 ? HashAlg::kSha512 : n >= 48 ? HashAlg::kSha384 : HashAlg::kSha256;
  Bytes digest = Hash(alg, AsBytes(init_data.body));
  if (n < 32) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "init-data: the evidence carries no host data to bind it");
  }
  digest.resize(n, 0);
  if (!ConstantTimeEquals(digest, claims.host_data)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "init-data: its digest " + HexEncode(digest) +
                         " is not the evidence's host data " + HexEncode(claims.host_data) +
                         " (the TEE was launched with other init-data)");
  }
  return OkStatus();
}

}  // namespace crypta::kbs
