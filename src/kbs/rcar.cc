#include "kbs/rcar.h"

#include "attest/ear.h"
#include "attest/policy.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwe.h"
#include "crypto/jwk.h"
#include "crypto/jwt.h"
#include "crypto/random.h"

namespace crypta::kbs {
namespace {

constexpr size_t kNonceBytes = 32;
constexpr size_t kSessionIdBytes = 32;

Result<nlohmann::json> ParseRequest(std::string_view text, std::string_view what) {
  if (text.size() > kMaxRcarRequestBytes) {
    return MakeError(
        ErrorCode::kResourceExhausted,
        std::string(what) + " request exceeds " + std::to_string(kMaxRcarRequestBytes) + " bytes");
  }
  JsonParseLimits limits;
  limits.max_bytes = kMaxRcarRequestBytes;
  auto parsed = ParseJsonStrict(text, limits);
  if (!parsed) return MakeError(parsed.error().WithContext(std::string(what) + " request"));
  if (!parsed->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + " request must be a JSON object");
  }
  return parsed;
}

Error Unauth(std::string message) { return Error(ErrorCode::kUnauthenticated, std::move(message)); }

// "tee-evidence": JSON evidence (object, or a string holding JSON text) is taken as its
// text; any other string is base64url or base64 of a binary report.
Result<Bytes> EvidenceBytes(const nlohmann::json& field) {
  if (field.is_object()) {
    std::string text = field.dump();
    return Bytes(text.begin(), text.end());
  }
  if (!field.is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "tee-evidence must be a string or an object");
  }
  const auto& text = field.get_ref<const std::string&>();
  if (!text.empty() && text.front() == '{') return Bytes(text.begin(), text.end());
  if (auto b = Base64UrlDecode(text)) return *b;
  if (auto b = Base64Decode(text)) return *b;
  return MakeError(ErrorCode::kInvalidArgument,
                   "tee-evidence is neither JSON nor base64/base64url");
}

}  // namespace

Result<Bytes> RcarReportData(const nlohmann::json& runtime_data) {
  CRYPTA_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeJson(runtime_data));
  Bytes out = Sha384(AsBytes(canonical));
  out.resize(64, 0);
  return out;
}

RcarServer::RcarServer(KeyBroker* broker, const attest::VerifierRegistry* verifiers,
                       PrivateKey ear_key, RcarOptions options)
    : broker_(broker),
      verifiers_(verifiers),
      ear_key_(std::move(ear_key)),
      options_(std::move(options)) {}

void RcarServer::PurgeExpiredLocked(int64_t now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now >= it->second.created + options_.session_ttl_s || now < it->second.created) {
      if (!it->second.token.empty()) token_to_session_.erase(it->second.token);
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<RcarServer::Session*> RcarServer::FindLocked(std::string_view session_id, int64_t now) {
  PurgeExpiredLocked(now);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return MakeError(Unauth("unknown or expired RCAR session"));
  return &it->second;
}

size_t RcarServer::SessionCountForTesting() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

Result<AuthResult> RcarServer::Auth(std::string_view request, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json req, ParseRequest(request, "auth"));
  auto version = req.find("version");
  if (version == req.end() || !version->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "auth: \"version\" must be a string");
  }
  const auto& v = version->get_ref<const std::string&>();
  if (v.rfind("0.1.", 0) != 0 || v.size() > 16) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "auth: unsupported protocol version \"" + v.substr(0, 16) + "\" (need 0.1.x)");
  }
  auto tee = req.find("tee");
  if (tee == req.end() || !tee->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "auth: \"tee\" must be a string");
  }
  auto tee_type = attest::ParseTeeType(tee->get_ref<const std::string&>());
  if (!tee_type) return MakeError(tee_type.error().WithContext("auth: \"tee\""));
  if (verifiers_->Find(*tee_type) == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "auth: no verifier for TEE " + std::string(attest::TeeTypeName(*tee_type)));
  }
  auto extra = req.find("extra-params");
  if (extra != req.end() && !extra->is_object() && !extra->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "auth: \"extra-params\" must be an object");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kNonceBytes));
  CRYPTA_ASSIGN_OR_RETURN(Bytes id, RandomBytes(kSessionIdBytes));
  Session session;
  session.created = now;
  session.tee = *tee_type;
  session.nonce = Base64UrlEncode(nonce);
  AuthResult out;
  out.session_id = Base64UrlEncode(id);
  out.body = {{"nonce", session.nonce}, {"extra-params", nlohmann::json::object()}};
  std::lock_guard<std::mutex> lock(mu_);
  PurgeExpiredLocked(now);
  if (sessions_.size() >= options_.max_sessions) {
    return MakeError(ErrorCode::kResourceExhausted, "too many RCAR sessions; retry later");
  }
  sessions_.emplace(out.session_id, std::move(session));
  return out;
}

Result<nlohmann::json> RcarServer::Attest(std::string_view session_id, std::string_view request,
                                          int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json req, ParseRequest(request, "attest"));
  auto rd = req.find("runtime-data");
  if (rd == req.end() || !rd->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "attest: \"runtime-data\" must be an object");
  }
  auto nonce = rd->find("nonce");
  if (nonce == rd->end() || !nonce->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attest: \"runtime-data.nonce\" must be a string");
  }
  auto pub = rd->find("tee-pubkey");
  if (pub == rd->end() || !pub->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attest: \"runtime-data.tee-pubkey\" must be a JWK object");
  }
  auto jwk = ParsePublicJwk(*pub);
  if (!jwk) return MakeError(jwk.error().WithContext("attest: runtime-data.tee-pubkey"));
  if (jwk->key.type() != KeyType::kEcP256 && jwk->key.type() != KeyType::kRsa) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attest: tee-pubkey must be an EC P-256 or RSA key (JWE recipient)");
  }
  auto ev_field = req.find("tee-evidence");
  if (ev_field == req.end()) {
    return MakeError(ErrorCode::kInvalidArgument, "attest: \"tee-evidence\" is missing");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes evidence_bytes, EvidenceBytes(*ev_field));
  CRYPTA_ASSIGN_OR_RETURN(Bytes report_data, RcarReportData(*rd));

  attest::TeeType tee;
  {
    // Consume the nonce before verifying: whatever happens next, it cannot be used again.
    std::lock_guard<std::mutex> lock(mu_);
    CRYPTA_ASSIGN_OR_RETURN(Session * s, FindLocked(session_id, now));
    if (s->nonce_used) return MakeError(Unauth("attest: the session's nonce was already used"));
    if (!ConstantTimeEquals(AsBytes(s->nonce), AsBytes(nonce->get_ref<const std::string&>()))) {
      return MakeError(Unauth("attest: runtime-data.nonce is not this session's nonce"));
    }
    s->nonce_used = true;
    tee = s->tee;
  }

  auto issued = IssueEar(tee, std::move(evidence_bytes), report_data, *rd, now);
  if (!issued) return MakeError(Unauth("attest: " + issued.error().message()));
  auto& [verified, token] = *issued;

  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(Session * s, FindLocked(session_id, now));
  if (!s->token.empty()) token_to_session_.erase(s->token);
  s->evidence = std::move(verified);
  s->tee_pubkey_jwk = *pub;
  s->token = token;
  token_to_session_[token] = std::string(session_id);
  return nlohmann::json{{"token", token}};
}

Result<std::pair<attest::VerifiedEvidence, std::string>> RcarServer::IssueEar(
    attest::TeeType tee, Bytes evidence, ByteSpan report_data, const nlohmann::json& runtime_data,
    int64_t now) const {
  attest::VerifyOptions vo;
  vo.verification_time = now;
  if (!report_data.empty()) vo.expected_report_data = Bytes(report_data.begin(), report_data.end());
  auto verified = verifiers_->Verify({tee, std::move(evidence), {}}, vo);
  if (!verified) return MakeError(Unauth("evidence rejected: " + verified.error().message()));
  auto policy = attest::ParseAppraisalPolicy(options_.attestation_policy);
  if (!policy) return MakeError(policy.error().WithContext("RCAR attestation_policy"));
  attest::Verdict verdict = attest::Appraise(*policy, verified->claims());
  attest::EarContext ctx;
  ctx.issuer = options_.ear_issuer;
  ctx.now = now;
  ctx.ttl_s = options_.ear_ttl_s;
  ctx.runtime_data_claims = runtime_data;
  nlohmann::json claims = attest::BuildEarClaims(*verified, *policy, verdict, ctx);
  std::string token;
  {
    std::lock_guard<std::mutex> lock(key_mu_);
    CRYPTA_ASSIGN_OR_RETURN(token, attest::SignEar(claims, ear_key_, options_.ear_kid));
  }
  return std::make_pair(std::move(*verified), std::move(token));
}

Result<nlohmann::json> RcarServer::VerifyEvidence(std::string_view request, int64_t now) const {
  if (request.size() > kMaxRcarRequestBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "verify: request over " + std::to_string(kMaxRcarRequestBytes) + " bytes");
  }
  const auto req = nlohmann::json::parse(request, nullptr, /*allow_exceptions=*/false);
  if (!req.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "verify: body must be a JSON object");
  }
  auto tee_field = req.find("tee");
  if (tee_field == req.end() || !tee_field->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "verify: \"tee\" must be a string");
  }
  CRYPTA_ASSIGN_OR_RETURN(attest::TeeType tee,
                          attest::ParseTeeType(tee_field->get_ref<const std::string&>()));
  auto ev_field = req.find("evidence");
  if (ev_field == req.end()) {
    return MakeError(ErrorCode::kInvalidArgument, "verify: \"evidence\" is missing");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes evidence_bytes, EvidenceBytes(*ev_field));
  // What report_data must be: SHA-384(JCS(runtime_data)) as in RCAR, or given as hex.
  Bytes report_data;
  nlohmann::json runtime_data = nlohmann::json::object();
  if (auto rd = req.find("runtime_data"); rd != req.end()) {
    if (!rd->is_object()) {
      return MakeError(ErrorCode::kInvalidArgument, "verify: \"runtime_data\" must be an object");
    }
    runtime_data = *rd;
    CRYPTA_ASSIGN_OR_RETURN(report_data, RcarReportData(runtime_data));
  } else if (auto hex = req.find("report_data"); hex != req.end()) {
    auto bytes = hex->is_string() ? HexDecode(hex->get_ref<const std::string&>())
                                  : Result<Bytes>(MakeError(ErrorCode::kInvalidArgument, ""));
    if (!bytes || bytes->empty() || bytes->size() > 64) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "verify: \"report_data\" must be 1-64 bytes of hex");
    }
    report_data = std::move(*bytes);
    report_data.resize(64, 0);
  }
  CRYPTA_ASSIGN_OR_RETURN(auto issued,
                          IssueEar(tee, std::move(evidence_bytes), report_data, runtime_data, now));
  return nlohmann::json{{"token", issued.second}};
}

Result<nlohmann::json> RcarServer::VerifyEar(std::string_view token, int64_t now) const {
  JwtVerifyOptions jo;
  jo.jws.allowed_algs = {JwsAlg::kEs256};
  jo.now_unix_s = now;
  jo.expected_issuer = options_.ear_issuer;
  std::lock_guard<std::mutex> lock(key_mu_);
  auto claims = JwtVerify(token, ear_key_.GetPublicKey(), jo);
  for (const RetiredKey& retired : retired_) {
    if (claims || now - retired.retired_at > options_.ear_ttl_s) continue;
    if (auto older = JwtVerify(token, retired.key, jo)) claims = std::move(older);
  }
  if (!claims) return MakeError(Unauth("EAR token rejected: " + claims.error().message()));
  return claims;
}

Status RcarServer::RotateEarKey(PrivateKey key, std::string kid, int64_t now) {
  if (key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kInvalidArgument, "EAR signing keys are EC P-256 (ES256)");
  }
  std::lock_guard<std::mutex> lock(key_mu_);
  std::erase_if(retired_,
                [&](const RetiredKey& r) { return now - r.retired_at > options_.ear_ttl_s; });
  retired_.push_back({ear_key_.GetPublicKey(), now});
  ear_key_ = std::move(key);
  options_.ear_kid = std::move(kid);
  return OkStatus();
}

Result<RcarServer::Attested> RcarServer::FindAttested(std::string_view credential, int64_t now) {
  const bool is_token = credential.find('.') != std::string_view::npos;
  if (is_token) CRYPTA_RETURN_IF_ERROR(VerifyEar(credential, now));
  std::lock_guard<std::mutex> lock(mu_);
  std::string_view session_id = credential;
  if (is_token) {
    auto it = token_to_session_.find(credential);
    if (it == token_to_session_.end()) {
      return MakeError(Unauth("EAR token is not bound to a live session"));
    }
    session_id = it->second;
  }
  CRYPTA_ASSIGN_OR_RETURN(Session * s, FindLocked(session_id, now));
  if (!s->evidence) return MakeError(Unauth("the session has not attested"));
  return Attested{*s->evidence, s->tee_pubkey_jwk};
}

Result<attest::Claims> RcarServer::AttestedClaims(std::string_view credential, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(Attested attested, FindAttested(credential, now));
  return attested.evidence.claims();
}

Result<nlohmann::json> RcarServer::Resource(std::string_view credential, std::string_view path,
                                            int64_t now) {
  // "<tenant>/<key>/<object_id>": the KEK name is the resource type, the object the tag.
  const size_t a = path.find('/');
  const size_t b = a == std::string_view::npos ? a : path.find('/', a + 1);
  if (b == std::string_view::npos || path.find('/', b + 1) != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "resource path must be <tenant>/<type>/<tag>");
  }
  const std::string tenant(path.substr(0, a));
  const std::string key(path.substr(a + 1, b - a - 1));
  const std::string object_id(path.substr(b + 1));
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "resource tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(key, "resource type"));

  CRYPTA_ASSIGN_OR_RETURN(Attested attested, FindAttested(credential, now));
  CRYPTA_ASSIGN_OR_RETURN(Jwk recipient, ParsePublicJwk(attested.tee_pubkey_jwk));
  CRYPTA_ASSIGN_OR_RETURN(DekRelease release,
                          broker_->UnwrapDekForRelease(tenant, key, object_id, attested.evidence));
  return JweEncrypt(recipient.key, release.dek.Reveal());
}

}  // namespace crypta::kbs
