#include "kbs/rcar.h"

#include "attest/ear.h"
#include "attest/nvidia/report.h"
#include "attest/policy.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwe.h"
#include "crypto/jwk.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "kbs/rcar_messages.h"

namespace crypta::kbs {
namespace {

constexpr size_t kNonceBytes = 32;
constexpr size_t kSessionIdBytes = 32;
constexpr size_t kMaxAdditionalEvidence = 8;

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

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// The entries of `all` that concern the submodule `prefix` ("gpu0: "), for its EAR.
std::vector<std::string> Concerning(const std::vector<std::string>& all,
                                    const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& s : all) {
    if (s.rfind(prefix, 0) == 0) out.push_back(s);
  }
  return out;
}

}  // namespace

Result<std::vector<RcarServer::EvidenceItem>> RcarServer::AdditionalItems(
    const std::vector<std::pair<std::string, nlohmann::json>>& additional,
    const Bytes& additional_rd) const {
  std::vector<EvidenceItem> items;
  size_t gpus = 0;
  for (const auto& [name, evidence] : additional) {
    auto type = ParseKbsTee(name);
    if (!type) return MakeError(type.error().WithContext("attest: additional_evidence"));
    if (verifiers_->Find(*type) == nullptr) {
      return MakeError(ErrorCode::kUnimplemented, "attest: additional_evidence: TEE \"" + name +
                                                      "\" is not supported by this key broker");
    }
    CRYPTA_ASSIGN_OR_RETURN(Bytes bytes, EvidenceBytes(evidence));
    if (*type != attest::TeeType::kNvidiaGpu) {
      items.push_back({name, *type, std::move(bytes), additional_rd});
      continue;
    }
    // One entry carries every GPU of the VM; each is verified on its own, its SPDM nonce
    // the first 32 bytes of the additional-evidence binding (so it derives from this
    // session's nonce and the TEE's key).
    auto devices = attest::nvidia::ParseGpuEvidence(bytes);
    if (!devices) return MakeError(devices.error().WithContext("attest: additional_evidence"));
    for (const attest::nvidia::GpuDeviceEvidence& d : *devices) {
      if (gpus == kMaxAdditionalEvidence) {
        return MakeError(ErrorCode::kInvalidArgument, "attest: more than 8 GPUs");
      }
      const std::string submod = "gpu" + std::to_string(gpus++);
      items.push_back({submod, *type, attest::nvidia::EncodeGpuEvidence({&d, 1}),
                       Bytes(additional_rd.begin(), additional_rd.begin() + 32)});
    }
  }
  return items;
}

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

// A session is never treated as expired because it looks newer than `now`: requests take
// their time before this lock, so a thread may hold an older `now` than the session it
// meets. (Purging such "future" sessions lost live sessions under concurrency: issue 14.)
bool RcarServer::ExpiredLocked(const Session& s, int64_t now) const {
  const int64_t ttl = s.evidence ? options_.session_ttl_s : options_.unattested_ttl_s;
  return now >= s.created + ttl;
}

void RcarServer::PurgeExpiredLocked(int64_t now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (ExpiredLocked(it->second, now)) {
      if (!it->second.token.empty()) token_to_session_.erase(it->second.token);
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

// Evicts the oldest session that has not attested (of `source` when only_source).
void RcarServer::EvictLocked(std::string_view source, bool only_source) {
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.evidence || (only_source && it->second.source != source)) continue;
    if (oldest == sessions_.end() || it->second.created < oldest->second.created) oldest = it;
  }
  if (oldest != sessions_.end()) sessions_.erase(oldest);
}

Result<RcarServer::Session*> RcarServer::FindLocked(std::string_view session_id, int64_t now) {
  PurgeExpiredLocked(now);
  auto it = sessions_.find(session_id);
  Session* found = it == sessions_.end() ? nullptr : &it->second;
  if (found == nullptr) {
    CRYPTA_ASSIGN_OR_RETURN(found, LoadSessionLocked(session_id, now));
  }
  if (found == nullptr || found->challenge_only) {
    return MakeError(Unauth("unknown or expired RCAR session"));
  }
  return found;
}

Status CreateSessionTable(store::Database& db) {
  // Sessions live minutes and a client whose session is lost authenticates again: on
  // PostgreSQL the table is UNLOGGED (no WAL flush per /auth; emptied by crash recovery).
  const std::string create = db.dialect() == store::Dialect::kPostgres
                                 ? "CREATE UNLOGGED TABLE IF NOT EXISTS "
                                 : "CREATE TABLE IF NOT EXISTS ";
  return db.Exec(
      create +
      "rcar_sessions (id TEXT PRIMARY KEY, created INTEGER NOT NULL, "
      "source TEXT NOT NULL, challenge_only INTEGER NOT NULL, tee INTEGER NOT NULL, "
      "nonce TEXT NOT NULL, nonce_used INTEGER NOT NULL, evidence BLOB, binding TEXT, "
      "attested_at INTEGER, token TEXT, token_sha256 TEXT);"
      // EAR tokens (with an RSA tee-pubkey) outgrow a btree entry: index their digest.
      "CREATE INDEX IF NOT EXISTS rcar_sessions_by_token ON rcar_sessions (token_sha256);"
      "CREATE INDEX IF NOT EXISTS rcar_sessions_by_created ON rcar_sessions (created);");
}

Status RcarServer::StoreSessionLocked(const std::string& id, const Session& s, int64_t now) {
  store::Database* db = options_.shared_sessions.get();
  if (db == nullptr) return OkStatus();
  // Expired rows go at most every 30 s (a session is dead in every replica by then).
  if (now - last_purge_ >= 30) {
    CRYPTA_ASSIGN_OR_RETURN(auto purge, db->Prepare("DELETE FROM rcar_sessions WHERE created < ?"));
    CRYPTA_RETURN_IF_ERROR(
        purge.Bind(1, now - std::max(options_.session_ttl_s, options_.unattested_ttl_s)));
    CRYPTA_RETURN_IF_ERROR(purge.Run());
    last_purge_ = now;
  }
  CRYPTA_ASSIGN_OR_RETURN(
      auto insert, db->Prepare("INSERT INTO rcar_sessions (id, created, source, challenge_only, "
                               "tee, nonce, nonce_used) VALUES (?, ?, ?, ?, ?, ?, 0)"));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(1, id));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(2, s.created));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(3, s.source));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(4, s.challenge_only ? 1 : 0));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(5, static_cast<int64_t>(s.tee)));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(6, s.nonce));
  return insert.Run();
}

Result<RcarServer::Session*> RcarServer::LoadSessionLocked(std::string_view id, int64_t now) {
  store::Database* db = options_.shared_sessions.get();
  if (db == nullptr) return nullptr;
  CRYPTA_ASSIGN_OR_RETURN(
      auto read, db->Prepare("SELECT created, source, challenge_only, tee, nonce, nonce_used, "
                             "evidence, binding, attested_at, token FROM rcar_sessions WHERE "
                             "id = ?"));
  CRYPTA_RETURN_IF_ERROR(read.Bind(1, id));
  CRYPTA_ASSIGN_OR_RETURN(bool row, read.Step());
  if (!row) return nullptr;
  Session s;
  s.created = read.ColumnInt(0);
  s.source = read.ColumnText(1);
  s.challenge_only = read.ColumnInt(2) != 0;
  s.tee = static_cast<attest::TeeType>(read.ColumnInt(3));
  s.nonce = read.ColumnText(4);
  s.nonce_used = read.ColumnInt(5) != 0;
  if (!read.ColumnIsNull(8)) {
    // Attested on another replica: verify its evidence here, at the time it was verified
    // there, against the report_data of the runtime data it bound (whose nonce must be the
    // session's, and whose tee-pubkey receives the keys). So a row written by someone with
    // access to the database cannot aim a release at a key the evidence does not bind.
    const nlohmann::json binding = nlohmann::json::parse(read.ColumnText(7), nullptr, false);
    if (!binding.is_object() || binding.value("nonce", nlohmann::json()) != s.nonce ||
        !binding.contains("tee-pubkey")) {
      return MakeError(Unauth("the session's stored runtime data does not bind its nonce"));
    }
    attest::VerifyOptions vo;
    vo.verification_time = read.ColumnInt(8);
    CRYPTA_ASSIGN_OR_RETURN(vo.expected_report_data, RcarReportData(binding));
    auto verified = verifiers_->Verify({s.tee, read.ColumnBlob(6), {}}, vo);
    if (!verified) {
      return MakeError(Unauth("the session's stored evidence does not verify on this replica: " +
                              verified.error().message()));
    }
    // Composite evidence: the GPUs the primary evidence binds (through the additional
    // evidence text in its runtime data) are verified again too.
    CRYPTA_ASSIGN_OR_RETURN(std::vector<attest::VerifiedEvidence> devices,
                            VerifyStoredDevices(binding, vo.verification_time));
    s.evidence = attest::AttachDevices(std::move(*verified), std::move(devices));
    s.tee_pubkey_jwk = binding["tee-pubkey"];
    s.token = read.ColumnText(9);
  }
  if (ExpiredLocked(s, now)) return nullptr;
  const std::string token = s.token;
  auto [it, inserted] = sessions_.insert_or_assign(std::string(id), std::move(s));
  if (!token.empty()) token_to_session_[token] = std::string(id);
  return &it->second;
}

Result<std::vector<attest::VerifiedEvidence>> RcarServer::VerifyStoredDevices(
    const nlohmann::json& binding, int64_t at) const {
  std::vector<attest::VerifiedEvidence> out;
  auto text = binding.find("additional-evidence");
  if (text == binding.end()) return out;
  AttestMessage m;
  m.composite = true;
  m.additional_evidence = *text;
  CRYPTA_ASSIGN_OR_RETURN(auto additional, AdditionalEvidence(m));
  CRYPTA_ASSIGN_OR_RETURN(Bytes rd, RcarReportData({{"tee-pubkey", binding["tee-pubkey"]},
                                                    {"nonce", binding["nonce"]}}));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<EvidenceItem> items, AdditionalItems(additional, rd));
  for (EvidenceItem& item : items) {
    if (item.tee != attest::TeeType::kNvidiaGpu) continue;
    attest::VerifyOptions vo;
    vo.verification_time = at;
    vo.expected_report_data = std::move(item.report_data);
    auto v = verifiers_->Verify({item.tee, std::move(item.evidence), {}}, vo);
    if (!v) {
      return MakeError(Unauth("the session's stored " + item.submod +
                              " evidence does not verify on this replica: " + v.error().message()));
    }
    out.push_back(std::move(*v));
  }
  return out;
}

Status RcarServer::ConsumeStoredNonce(std::string_view id, const char* what) {
  store::Database* db = options_.shared_sessions.get();
  if (db == nullptr) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(
      auto consume,
      db->Prepare("UPDATE rcar_sessions SET nonce_used = 1 WHERE id = ? AND nonce_used = 0"));
  CRYPTA_RETURN_IF_ERROR(consume.Bind(1, id));
  CRYPTA_RETURN_IF_ERROR(consume.Run());
  if (consume.changes() != 1) return MakeError(Unauth(std::string(what) + " was already used"));
  return OkStatus();
}

Status RcarServer::StoreAttestation(std::string_view id, attest::TeeType tee, ByteSpan evidence,
                                    const nlohmann::json& binding, const std::string& token,
                                    int64_t now) {
  store::Database* db = options_.shared_sessions.get();
  if (db == nullptr) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(
      auto update, db->Prepare("UPDATE rcar_sessions SET tee = ?, evidence = ?, binding = ?, "
                               "attested_at = ?, token = ?, token_sha256 = ? WHERE id = ?"));
  CRYPTA_RETURN_IF_ERROR(update.Bind(1, static_cast<int64_t>(tee)));
  CRYPTA_RETURN_IF_ERROR(update.BindBlob(2, evidence));
  CRYPTA_ASSIGN_OR_RETURN(std::string binding_text, CanonicalizeJson(binding));
  CRYPTA_RETURN_IF_ERROR(update.Bind(3, binding_text));
  CRYPTA_RETURN_IF_ERROR(update.Bind(4, now));
  CRYPTA_RETURN_IF_ERROR(update.Bind(5, token));
  CRYPTA_RETURN_IF_ERROR(update.Bind(6, HexEncode(Sha256(AsBytes(token)))));
  CRYPTA_RETURN_IF_ERROR(update.Bind(7, id));
  return update.Run();
}

Result<std::string> RcarServer::NewSessionLocked(Session session, int64_t now, std::string id) {
  PurgeExpiredLocked(now);
  size_t from_source = 0;
  for (const auto& [_, s] : sessions_) from_source += !s.evidence && s.source == session.source;
  if (from_source >= options_.max_unattested_per_source) EvictLocked(session.source, true);
  if (sessions_.size() >= options_.max_sessions) EvictLocked("", false);
  if (sessions_.size() >= options_.max_sessions) {
    return MakeError(ErrorCode::kResourceExhausted, "too many attested RCAR sessions; retry later");
  }
  if (id.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes random, RandomBytes(kSessionIdBytes));
    id = Base64UrlEncode(random);
  }
  CRYPTA_RETURN_IF_ERROR(StoreSessionLocked(id, session, now));
  sessions_.insert_or_assign(id, std::move(session));
  return id;
}

size_t RcarServer::SessionCountForTesting() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

Result<AuthResult> RcarServer::Auth(std::string_view request, int64_t now,
                                    std::string_view source) {
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json req, ParseRequest(request, "auth"));
  auto version = req.find("version");
  if (version == req.end() || !version->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "auth: \"version\" must be a string");
  }
  CRYPTA_RETURN_IF_ERROR(CheckProtocolVersion(version->get_ref<const std::string&>()));
  auto tee = req.find("tee");
  if (tee == req.end() || !tee->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "auth: \"tee\" must be a string");
  }
  auto tee_type = ParseKbsTee(tee->get_ref<const std::string&>());
  if (!tee_type) return MakeError(tee_type.error().WithContext("auth"));
  if (*tee_type == attest::TeeType::kNvidiaGpu) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "auth: \"nvidia\" is a device TEE: send the CPU TEE's evidence as the "
                     "primary evidence and the GPUs' as its additional evidence");
  }
  if (verifiers_->Find(*tee_type) == nullptr) {
    return MakeError(ErrorCode::kUnimplemented,
                     "auth: TEE \"" + std::string(attest::TeeTypeName(*tee_type)) +
                         "\" is not supported by this key broker (no verifier configured)");
  }
  auto extra = req.find("extra-params");
  if (extra != req.end() && !extra->is_object() && !extra->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "auth: \"extra-params\" must be an object");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kNonceBytes));
  Session session;
  session.created = now;
  session.source = std::string(source);
  session.tee = *tee_type;
  session.nonce = Base64UrlEncode(nonce);
  AuthResult out;
  out.body = {{"nonce", session.nonce}, {"extra-params", nlohmann::json::object()}};
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(out.session_id, NewSessionLocked(std::move(session), now));
  return out;
}

Result<nlohmann::json> RcarServer::Attest(std::string_view session_id, std::string_view request,
                                          int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json req, ParseRequest(request, "attest"));
  CRYPTA_ASSIGN_OR_RETURN(AttestMessage message, ParseAttestMessage(req));
  CRYPTA_ASSIGN_OR_RETURN(auto additional, AdditionalEvidence(message));
  if (additional.size() > kMaxAdditionalEvidence) {
    return MakeError(ErrorCode::kInvalidArgument, "attest: more than 8 additional evidences");
  }

  attest::TeeType tee;
  std::string nonce;
  {
    // Consume the nonce before verifying: whatever happens next, it cannot be used again.
    std::lock_guard<std::mutex> lock(mu_);
    CRYPTA_ASSIGN_OR_RETURN(Session * s, FindLocked(session_id, now));
    if (s->nonce_used) return MakeError(Unauth("attest: the session's nonce was already used"));
    if (!message.classic && !ConstantTimeEquals(AsBytes(s->nonce), AsBytes(message.nonce))) {
      return MakeError(Unauth("attest: runtime-data.nonce is not this session's nonce"));
    }
    CRYPTA_RETURN_IF_ERROR(ConsumeStoredNonce(session_id, "attest: the session's nonce"));
    s->nonce_used = true;
    tee = s->tee;
    nonce = s->nonce;
  }

  std::vector<EvidenceItem> items;
  const nlohmann::json binding = PrimaryBinding(message, nonce);
  CRYPTA_ASSIGN_OR_RETURN(Bytes primary, EvidenceBytes(message.primary_evidence));
  CRYPTA_ASSIGN_OR_RETURN(Bytes primary_rd, RcarReportData(binding));
  const Bytes stored_evidence = options_.shared_sessions ? primary : Bytes();
  items.push_back({"cpu0", tee, std::move(primary), std::move(primary_rd)});
  CRYPTA_ASSIGN_OR_RETURN(Bytes additional_rd, RcarReportData(AdditionalBinding(message, nonce)));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<EvidenceItem> more,
                          AdditionalItems(additional, additional_rd));
  for (EvidenceItem& item : more) items.push_back(std::move(item));

  auto issued = IssueEar(std::move(items), binding, nonce, now);
  if (!issued) return MakeError(Unauth("attest: " + issued.error().message()));
  if (message.init_data) {
    if (Status s = CheckInitData(*message.init_data, issued->primary->claims()); !s) {
      return MakeError(Unauth("attest: " + s.error().message()));
    }
  }
  if (!issued->verdict.allowed) {
    return MakeError(
        Unauth("attest: refused by the platform's appraisal: " + Join(issued->verdict.violations)));
  }

  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(Session * s, FindLocked(session_id, now));
  CRYPTA_RETURN_IF_ERROR(
      StoreAttestation(session_id, tee, stored_evidence, binding, issued->token, now));
  if (!s->token.empty()) token_to_session_.erase(s->token);
  s->evidence = std::move(issued->primary);
  s->tee_pubkey_jwk = message.tee_pubkey;
  s->token = issued->token;
  token_to_session_[issued->token] = std::string(session_id);
  return nlohmann::json{{"token", issued->token}};
}

Result<RcarServer::Issued> RcarServer::IssueEar(std::vector<EvidenceItem> items,
                                                const nlohmann::json& runtime_data,
                                                const std::string& nonce, int64_t now) {
  attest::EarContext ctx;
  ctx.issuer = options_.ear_issuer;
  ctx.now = now;
  ctx.ttl_s = options_.ear_ttl_s;
  ctx.nonce = nonce;
  ctx.runtime_data_claims = runtime_data;
  // Composite evidence: the additional evidence the primary bound, by digest (the evidence
  // itself is in the other submodules' claims, and would make the token large).
  if (auto more = runtime_data.find("additional-evidence"); more != runtime_data.end()) {
    const std::string text = more->is_string() ? more->get<std::string>() : more->dump();
    ctx.runtime_data_claims.erase("additional-evidence");
    ctx.runtime_data_claims["additional-evidence-sha384"] = HexEncode(Sha384(AsBytes(text)));
  }
  // Verify everything first: the GPUs are then attached to the primary (cpu0) evidence and
  // appraised with it, by the policy's `gpu:` section.
  std::vector<std::pair<std::string, attest::VerifiedEvidence>> verified, gpus;
  for (EvidenceItem& item : items) {
    attest::VerifyOptions vo;
    vo.verification_time = now;
    if (!item.report_data.empty()) vo.expected_report_data = std::move(item.report_data);
    auto v = verifiers_->Verify({item.tee, std::move(item.evidence), {}}, vo);
    if (!v) {
      return MakeError(Unauth((item.submod == "cpu0" ? std::string() : item.submod + " ") +
                              "evidence rejected: " + v.error().message()));
    }
    (item.tee == attest::TeeType::kNvidiaGpu ? gpus : verified)
        .emplace_back(std::move(item.submod), std::move(*v));
  }
  if (verified.empty()) return MakeError(Unauth("no CPU TEE evidence"));
  std::vector<attest::VerifiedEvidence> devices;
  for (const auto& [_, gpu] : gpus) devices.push_back(gpu);
  Issued out;
  out.primary = attest::AttachDevices(std::move(verified.front().second), std::move(devices));
  CRYPTA_ASSIGN_OR_RETURN(AttestationAppraisal appraisal,
                          broker_->AppraiseForAttestation(out.primary->claims()));
  out.verdict = appraisal.verdict;
  nlohmann::json submods = nlohmann::json::object();
  submods["cpu0"] = attest::BuildEarSubmod(*out.primary, appraisal.policy, out.verdict, ctx);
  attest::EarContext device_ctx = ctx;  // the session's runtime data is in cpu0 only
  device_ctx.runtime_data_claims = nullptr;
  for (const auto& [submod, gpu] : gpus) {
    attest::Verdict v;
    v.violations = Concerning(out.verdict.violations, submod + ": ");
    v.warnings = Concerning(out.verdict.warnings, submod + ": ");
    v.allowed = v.violations.empty();
    submods[submod] = attest::BuildEarSubmod(gpu, appraisal.policy, v, device_ctx);
  }
  // Other CPU TEEs given as additional evidence are appraised on their own.
  for (size_t i = 1; i < verified.size(); ++i) {
    const auto& [submod, evidence] = verified[i];
    CRYPTA_ASSIGN_OR_RETURN(AttestationAppraisal a,
                            broker_->AppraiseForAttestation(evidence.claims()));
    submods[submod] = attest::BuildEarSubmod(evidence, a.policy, a.verdict, ctx);
    if (!a.verdict.allowed) {
      out.verdict.allowed = false;
      for (const std::string& v : a.verdict.violations) {
        out.verdict.violations.push_back(submod + ": " + v);
      }
    }
  }
  nlohmann::json claims = attest::BuildEar(std::move(submods), ctx);
  std::lock_guard<std::mutex> lock(key_mu_);
  CRYPTA_ASSIGN_OR_RETURN(out.token, attest::SignEar(claims, ear_key_, options_.ear_kid));
  return out;
}

Result<nlohmann::json> RcarServer::Challenge(int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kNonceBytes));
  Session session;
  session.created = now;
  session.challenge_only = true;
  session.nonce = Base64UrlEncode(nonce);
  const std::string text = session.nonce;
  std::lock_guard<std::mutex> lock(mu_);
  // Keyed by the nonce, so VerifyEvidence finds it by the runtime_data it gets.
  CRYPTA_RETURN_IF_ERROR(NewSessionLocked(std::move(session), now, "challenge:" + text));
  return nlohmann::json{{"nonce", text}, {"expires_in", options_.unattested_ttl_s}};
}

Result<Bytes> RcarServer::VerifyRequestReportData(const nlohmann::json& req,
                                                  nlohmann::json* runtime_data, std::string* nonce,
                                                  int64_t now) {
  if (auto rd = req.find("runtime_data"); rd != req.end()) {
    if (!rd->is_object()) {
      return MakeError(ErrorCode::kInvalidArgument, "verify: \"runtime_data\" must be an object");
    }
    *runtime_data = *rd;
    if (auto n = rd->find("nonce"); n != rd->end() && n->is_string()) {
      *nonce = n->get<std::string>();
      std::lock_guard<std::mutex> lock(mu_);
      PurgeExpiredLocked(now);
      const std::string id = "challenge:" + *nonce;
      auto it = sessions_.find(id);
      Session* challenge = it == sessions_.end() ? nullptr : &it->second;
      if (challenge == nullptr) {
        CRYPTA_ASSIGN_OR_RETURN(challenge, LoadSessionLocked(id, now));
      }
      if (challenge != nullptr) {
        if (challenge->nonce_used) {
          return MakeError(Unauth("verify: runtime_data.nonce was already used"));
        }
        CRYPTA_RETURN_IF_ERROR(ConsumeStoredNonce(id, "verify: runtime_data.nonce"));
        challenge->nonce_used = true;
      }
    }
    return RcarReportData(*rd);
  }
  if (auto hex = req.find("report_data"); hex != req.end()) {
    auto bytes = hex->is_string() ? HexDecode(hex->get_ref<const std::string&>())
                                  : Result<Bytes>(MakeError(ErrorCode::kInvalidArgument, ""));
    if (!bytes || bytes->empty() || bytes->size() > 64) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "verify: \"report_data\" must be 1-64 bytes of hex");
    }
    bytes->resize(64, 0);
    return std::move(*bytes);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "verify: freshness is required: give \"runtime_data\" (the evidence's "
                   "report_data must be SHA-384 of its JCS form; put a nonce from POST "
                   "/v1/attestation/challenge in it) or the expected \"report_data\" (hex)");
}

Result<nlohmann::json> RcarServer::VerifyEvidence(std::string_view request, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json req, ParseRequest(request, "verify"));
  auto tee_field = req.find("tee");
  if (tee_field == req.end() || !tee_field->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "verify: \"tee\" must be a string");
  }
  auto tee = ParseKbsTee(tee_field->get_ref<const std::string&>());
  if (!tee) return MakeError(tee.error().WithContext("verify"));
  auto ev_field = req.find("evidence");
  if (ev_field == req.end()) {
    return MakeError(ErrorCode::kInvalidArgument, "verify: \"evidence\" is missing");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes evidence_bytes, EvidenceBytes(*ev_field));
  nlohmann::json runtime_data;
  std::string nonce;
  CRYPTA_ASSIGN_OR_RETURN(Bytes report_data,
                          VerifyRequestReportData(req, &runtime_data, &nonce, now));
  std::vector<EvidenceItem> items;
  items.push_back({"cpu0", *tee, std::move(evidence_bytes), std::move(report_data)});
  CRYPTA_ASSIGN_OR_RETURN(Issued issued, IssueEar(std::move(items), runtime_data, nonce, now));
  return nlohmann::json{{"token", issued.token},
                        {"status", attest::EarStatus(issued.verdict)},
                        {"violations", issued.verdict.violations},
                        {"warnings", issued.verdict.warnings}};
}

Result<nlohmann::json> RcarServer::VerifyEar(std::string_view token, int64_t now) const {
  auto claims = VerifyEarOnce(token, now);
  if (!claims && options_.refresh_keys && options_.refresh_keys()) {
    claims = VerifyEarOnce(token, now);
  }
  return claims;
}

Status RcarServer::SetEarKeys(PrivateKey key, std::string kid,
                              std::vector<std::pair<PublicKey, int64_t>> retired) {
  if (key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kInvalidArgument, "EAR signing keys are EC P-256 (ES256)");
  }
  std::lock_guard<std::mutex> lock(key_mu_);
  ear_key_ = std::move(key);
  options_.ear_kid = std::move(kid);
  retired_.clear();
  for (auto& [public_key, at] : retired) retired_.push_back({std::move(public_key), at});
  return OkStatus();
}

Result<nlohmann::json> RcarServer::VerifyEarOnce(std::string_view token, int64_t now) const {
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

Result<RcarServer::Attested> RcarServer::FindAttested(std::string_view credential, int64_t now) {
  const bool is_token = credential.find('.') != std::string_view::npos;
  if (is_token) CRYPTA_RETURN_IF_ERROR(VerifyEar(credential, now));
  std::lock_guard<std::mutex> lock(mu_);
  std::string_view session_id = credential;
  if (is_token) {
    auto it = token_to_session_.find(credential);
    if (it == token_to_session_.end() && options_.shared_sessions) {  // attested elsewhere
      CRYPTA_ASSIGN_OR_RETURN(
          auto find,
          options_.shared_sessions->Prepare("SELECT id FROM rcar_sessions WHERE token_sha256 = ?"));
      CRYPTA_RETURN_IF_ERROR(find.Bind(1, HexEncode(Sha256(AsBytes(credential)))));
      CRYPTA_ASSIGN_OR_RETURN(bool row, find.Step());
      if (row) {
        CRYPTA_ASSIGN_OR_RETURN(Session * loaded, LoadSessionLocked(find.ColumnText(0), now));
        if (loaded != nullptr) it = token_to_session_.find(credential);
      }
    }
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
