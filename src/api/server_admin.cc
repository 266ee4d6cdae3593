// The admin API's tenant, token, key, policy and DEK routes, and the audit log's routes
// (src/api/server.h lists them all).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "api/server_internal.h"
#include "audit/log.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "kbs/broker.h"

namespace crypta::api {

using internal::BearerToken;
using internal::Json;
using internal::NumberParam;
using internal::ParseBody;
using internal::Problem;
using internal::StringField;
using nlohmann::json;

namespace {

json KekJson(const kbs::KekInfo& kek) {
  json versions = json::array();
  for (const auto& v : kek.versions) {
    versions.push_back({{"version", v.version},
                        {"state", kbs::KekStateName(v.state)},
                        {"created", v.created},
                        {"wrapped_deks", v.wrapped_deks}});
  }
  json out = {{"tenant", kek.tenant},
              {"name", kek.name},
              {"current_version", kek.current_version},
              {"created", kek.created},
              {"last_rotated", kek.last_rotated},
              {"versions", versions}};
  if (kek.rotate_days) out["rotate_days"] = *kek.rotate_days;
  if (kek.next_rotation) out["next_rotation"] = *kek.next_rotation;
  return out;
}

}  // namespace

void ControlPlane::Impl::AdminRoutes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *this->http;
  // Admin API.
  http.Post("/v1/tenants", [this](const Request& req, Response& res) {
    kbs::Principal p;
    json body;
    std::string name;
    if (!Admit(req, res, kbs::Action::kManageTenants, "", &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "name", res, &name)) {
      return;
    }
    Status created = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_RETURN_IF_ERROR(state->broker->CreateTenant(name));
      return audit::AuditEntry{"token:" + p.token_id, name,          "tenant.create", "allow",
                               "tenant created",      json::object()};
    });
    if (!created) return Problem(res, created.error());
    Json(res, {{"name", name}}, 201);
  });
  http.Get("/v1/tenants", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManageTenants, "", &p)) return;
    auto r = state->broker->ListTenants();
    if (!r) return Problem(res, r.error());
    json out = json::array();
    for (const auto& t : *r) out.push_back({{"name", t.name}, {"created", t.created}});
    Json(res, {{"tenants", out}});
  });
  http.Post(R"(/v1/tenants/([^/]+)/tokens)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    json body;
    std::string role_name;
    if (!Admit(req, res, kbs::Action::kManageTokens, tenant, &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "role", res, &role_name)) {
      return;
    }
    auto role = kbs::ParseRole(role_name);
    if (!role) return Problem(res, role.error());
    if (*role == kbs::Role::kPlatformAdmin) return Problem(res, 400, "role must be a tenant role");
    std::optional<kbs::NewToken> token;
    Status created = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_ASSIGN_OR_RETURN(token, state->tokens->CreateToken(tenant, *role));
      return audit::AuditEntry{
          "token:" + p.token_id, tenant,
          "token.create",        "allow",
          "token created",       {{"token_id", token->token_id}, {"role", role_name}}};
    });
    if (!created) return Problem(res, created.error());
    Json(res, {{"token", token->token}, {"token_id", token->token_id}, {"role", role_name}}, 201);
  });
  http.Get(R"(/v1/tenants/([^/]+)/tokens)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManageTokens, tenant, &p)) return;
    auto tokens = state->tokens->ListTokens(tenant);
    if (!tokens) return Problem(res, tokens.error());
    json out = json::array();
    for (const auto& t : *tokens) {
      out.push_back({{"token_id", t.token_id},
                     {"role", kbs::RoleName(t.role)},
                     {"created", t.created},
                     {"revoked", t.revoked}});
    }
    Json(res, {{"tokens", out}});
  });
  http.Delete(R"(/v1/tenants/([^/]+)/tokens/([^/]+))", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1], token_id = req.matches[2];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManageTokens, tenant, &p)) return;
    // Only a token of this tenant: ids are not secret, so check the owner first.
    auto tokens = state->tokens->ListTokens(tenant);
    if (!tokens) return Problem(res, tokens.error());
    const bool owned = std::any_of(tokens->begin(), tokens->end(),
                                   [&](const kbs::TokenInfo& t) { return t.token_id == token_id; });
    if (!owned) return Problem(res, 404, "tenant " + tenant + " has no token " + token_id);
    Status revoked = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_RETURN_IF_ERROR(state->tokens->RevokeToken(token_id));
      return audit::AuditEntry{"token:" + p.token_id, tenant,
                               "token.revoke",        "allow",
                               "token revoked",       {{"token_id", token_id}}};
    });
    if (!revoked) return Problem(res, revoked.error());
    Json(res, {{"token_id", token_id}, {"revoked", true}});
  });
  http.Post(R"(/v1/tenants/([^/]+)/keys)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    json body;
    std::string name;
    if (!Admit(req, res, kbs::Action::kManageKeys, tenant, &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "name", res, &name)) {
      return;
    }
    std::optional<int64_t> rotate_days;
    if (body.contains("rotate_days")) {
      if (!body["rotate_days"].is_number_integer()) {
        return Problem(res, 400, "field \"rotate_days\" must be an integer");
      }
      rotate_days = body["rotate_days"].get<int64_t>();
    }
    std::optional<kbs::KekInfo> kek;
    Status created = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_ASSIGN_OR_RETURN(kek, state->broker->CreateKek(tenant, name, rotate_days));
      return audit::AuditEntry{"token:" + p.token_id, tenant,         "key.create", "allow",
                               "key created",         {{"key", name}}};
    });
    if (!created) return Problem(res, created.error());
    Json(res, KekJson(*kek), 201);
  });
  http.Get(R"(/v1/tenants/([^/]+)/keys)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kListKeys, tenant, &p)) return;
    auto keks = state->broker->ListKeks(tenant);
    if (!keks) return Problem(res, keks.error());
    json out = json::array();
    for (const auto& k : *keks) out.push_back(KekJson(k));
    Json(res, {{"keys", out}});
  });
  http.Post(
      R"(/v1/tenants/([^/]+)/keys/([^/]+)/rotate)", [this](const Request& req, Response& res) {
        const std::string tenant = req.matches[1], key = req.matches[2];
        kbs::Principal p;
        if (!Admit(req, res, kbs::Action::kManageKeys, tenant, &p)) return;
        uint32_t version = 0;
        Status rotated = RecordedChange([&]() -> Result<audit::AuditEntry> {
          CRYPTA_ASSIGN_OR_RETURN(version, state->broker->RotateKek(tenant, key));
          return audit::AuditEntry{"token:" + p.token_id, tenant,
                                   "key.rotate",          "allow",
                                   "key rotated",         {{"key", key}, {"version", version}}};
        });
        if (!rotated) return Problem(res, rotated.error());
        Json(res, {{"tenant", tenant}, {"name", key}, {"current_version", version}});
      });
  http.Post(R"(/v1/tenants/([^/]+)/keys/([^/]+)/versions/([0-9]{1,9})/retire)",
            [this](const Request& req, Response& res) {
              const std::string tenant = req.matches[1], key = req.matches[2];
              const uint32_t version = static_cast<uint32_t>(std::stoul(req.matches[3]));
              kbs::Principal p;
              if (!Admit(req, res, kbs::Action::kManageKeys, tenant, &p)) return;
              json details = {{"key", key}, {"version", version}};
              Status retired = RecordedChange([&]() -> Result<audit::AuditEntry> {
                CRYPTA_RETURN_IF_ERROR(state->broker->RetireVersion(tenant, key, version));
                return audit::AuditEntry{"token:" + p.token_id, tenant,
                                         "key.retire_version",  "allow",
                                         "key version retired", details};
              });
              if (!retired) {
                Audit("token:" + p.token_id, tenant, "key.retire_version", "deny",
                      retired.error().message(), details);
                return Problem(res, retired.error());
              }
              Json(res, {{"tenant", tenant}, {"name", key}, {"retired_version", version}});
            });
  // The attestation service: verify evidence, get an EAR (DESIGN.md §4.4). Open to anyone
  // who holds evidence, like the RCAR endpoints; every rejection is audited.
  http.Post("/v1/attestation/verify", [this](const Request& req, Response& res) {
    auto r = rcar->VerifyEvidence(req.body, UnixNow());
    if (!r) {
      AuditAnonymous(req, "", "attestation.verify", r.error().message());
      return Problem(res, r.error());
    }
    if ((*r)["status"] == "contraindicated") {
      std::string reasons;
      for (const auto& v : (*r)["violations"])
        reasons += (reasons.empty() ? "" : "; ") + v.get<std::string>();
      AuditAnonymous(req, "", "attestation.verify", "contraindicated: " + reasons);
    }
    Json(res, *r);
  });
  http.Post("/v1/attestation/challenge", [this](const Request&, Response& res) {
    auto r = rcar->Challenge(UnixNow());
    if (!r) return Problem(res, r.error());
    Json(res, *r);
  });
  // The platform attestation policy (KeyBroker::AppraiseForAttestation): platform admins.
  http.Get("/v1/attestation/policy", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    auto stored = state->broker->GetAttestationPolicy();
    if (!stored) return Problem(res, stored.error());
    if (!*stored) {
      return Json(res, {{"mode", "release-policies"},
                        {"description",
                         "EAR tokens reflect the key-release policy that allows the evidence; "
                         "evidence no policy allows is refused"}});
    }
    Json(res, {{"mode", "attestation-policy"},
               {"text", (*stored)->text},
               {"policy_id", (*stored)->policy_id},
               {"updated", (*stored)->updated}});
  });
  http.Put("/v1/attestation/policy", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    std::string id;
    Status stored = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_ASSIGN_OR_RETURN(id, state->broker->SetAttestationPolicy(req.body));
      return audit::AuditEntry{"token:" + p.token_id,
                               "",
                               "attestation.policy_set",
                               "allow",
                               "platform attestation policy stored",
                               {{"policy_id", id}}};
    });
    if (!stored) {
      Audit("token:" + p.token_id, "", "attestation.policy_set", "deny", stored.error().message());
      return Problem(res, stored.error());
    }
    Json(res, {{"mode", "attestation-policy"}, {"policy_id", id}});
  });
  http.Delete("/v1/attestation/policy", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    Status cleared = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_RETURN_IF_ERROR(state->broker->ClearAttestationPolicy());
      return audit::AuditEntry{"token:" + p.token_id,
                               "",
                               "attestation.policy_set",
                               "allow",
                               "platform attestation policy cleared: the key-release policies "
                               "apply",
                               json::object()};
    });
    if (!cleared) return Problem(res, cleared.error());
    Json(res, {{"mode", "release-policies"}});
  });
  auto put_policy = [this](const Request& req, Response& res, const std::string& tenant,
                           const std::string& key) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kSetPolicy, tenant, &p)) return;
    std::string id;
    Status stored = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_ASSIGN_OR_RETURN(id, state->broker->SetPolicy(tenant, key, req.body));
      return audit::AuditEntry{"token:" + p.token_id, tenant,
                               "policy.set",          "allow",
                               "policy stored",       {{"key", key}, {"policy_id", id}}};
    });
    if (!stored) {
      Audit("token:" + p.token_id, tenant, "policy.set", "deny", stored.error().message(),
            {{"key", key}});
      return Problem(res, stored.error());
    }
    Json(res, {{"tenant", tenant}, {"key", key}, {"policy_id", id}});
  };
  auto get_policy = [this](const Request& req, Response& res, const std::string& tenant,
                           const std::string& key) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kGetPolicy, tenant, &p)) return;
    auto policy = state->broker->GetPolicy(tenant, key);
    if (!policy) return Problem(res, policy.error());
    Json(res, {{"tenant", tenant},
               {"key", key},
               {"policy_id", policy->policy_id},
               {"text", policy->text},
               {"updated", policy->updated}});
  };
  http.Put(R"(/v1/tenants/([^/]+)/policy)", [put_policy](const Request& req, Response& res) {
    put_policy(req, res, req.matches[1], "");
  });
  http.Get(R"(/v1/tenants/([^/]+)/policy)", [get_policy](const Request& req, Response& res) {
    get_policy(req, res, req.matches[1], "");
  });
  http.Put(R"(/v1/tenants/([^/]+)/keys/([^/]+)/policy)",
           [put_policy](const Request& req, Response& res) {
             put_policy(req, res, req.matches[1], req.matches[2]);
           });
  http.Get(R"(/v1/tenants/([^/]+)/keys/([^/]+)/policy)",
           [get_policy](const Request& req, Response& res) {
             get_policy(req, res, req.matches[1], req.matches[2]);
           });
  // Reference values in place (issue 12): {"add": {"measurements": [hex], "host_data": [hex]},
  // "remove": {...}, "tee": "sim"} (tee: for a key without a policy yet).
  http.Post(
      R"(/v1/tenants/([^/]+)/keys/([^/]+)/policy/reference-values)",
      [this](const Request& req, Response& res) {
        const std::string tenant = req.matches[1], key = req.matches[2];
        kbs::Principal p;
        json body;
        if (!Admit(req, res, kbs::Action::kSetPolicy, tenant, &p) || !ParseBody(req, res, &body)) {
          return;
        }
        PolicyEdit edit;
        for (const char* op : {"add", "remove"}) {
          const json part = body.value(op, json::object());
          if (!part.is_object()) return Problem(res, 400, std::string(op) + ": want an object");
          for (const auto& [field, values] : part.items()) {
            if (!values.is_array()) {
              return Problem(res, 400, std::string(op) + "." + field + ": want a list");
            }
            for (const auto& v : values) {
              if (!v.is_string()) {
                return Problem(res, 400, std::string(op) + "." + field + ": want hex strings");
              }
              (op[0] == 'a' ? edit.add : edit.remove).push_back({field, v.get<std::string>()});
            }
          }
        }
        const std::string tee = body.value("tee", json("")).is_string()
                                    ? body.value("tee", std::string())
                                    : std::string();
        auto existing = state->broker->GetPolicy(tenant, key);
        if (!existing && tee.empty()) {
          return Problem(res, existing.error().code() == ErrorCode::kNotFound
                                  ? Error(ErrorCode::kFailedPrecondition,
                                          "key " + tenant + "/" + key +
                                              " has no policy yet: give the TEE it is for")
                                  : existing.error());
        }
        EditedPolicy edited;
        if (Status s = EditReferenceValues(tenant, key, tee, edit, "token:" + p.token_id,
                                           "policy.reference_values", "reference values edited", "",
                                           &edited);
            !s) {
          return Problem(res, s.error());
        }
        auto stored = state->broker->GetPolicy(tenant, key);
        if (!stored) return Problem(res, stored.error());
        json added = json::array(), removed = json::array();
        for (const auto& [f, v] : edited.added) added.push_back({{"field", f}, {"value", v}});
        for (const auto& [f, v] : edited.removed) {
          removed.push_back({{"field", f}, {"value", v}});
        }
        Json(res, {{"tenant", tenant},
                   {"key", key},
                   {"policy_id", stored->policy_id},
                   {"text", stored->text},
                   {"added", added},
                   {"removed", removed}});
      });
  http.Post(R"(/v1/tenants/([^/]+)/keys/([^/]+)/deks)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1], key = req.matches[2];
    kbs::Principal p;
    json body;
    std::string object_id, dek_b64;
    if (!Admit(req, res, kbs::Action::kPushModel, tenant, &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "object_id", res, &object_id) ||
        !StringField(body, "dek_b64", res, &dek_b64)) {
      return;
    }
    auto dek = Base64Decode(dek_b64);
    if (!dek || dek->size() != kbs::kKekSize) {
      return Problem(res, 400, "field \"dek_b64\" must be base64 of 32 bytes");
    }
    std::optional<kbs::WrappedDek> wrapped;
    Status stored = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_ASSIGN_OR_RETURN(
          wrapped, state->broker->WrapDek(tenant, key, SecretBytes(ByteSpan(*dek)), object_id));
      return audit::AuditEntry{
          "token:" + p.token_id,
          tenant,
          "dek.wrap",
          "allow",
          "DEK wrapped",
          {{"key", key}, {"object_id", object_id}, {"kek_version", wrapped->ref.kek_version}}};
    });
    if (!stored) return Problem(res, stored.error());
    Json(res,
         {{"tenant", tenant},
          {"key", key},
          {"object_id", object_id},
          {"kek_version", wrapped->ref.kek_version},
          {"wrapped_b64", Base64Encode(wrapped->wrapped)}},
         201);
  });
}

void ControlPlane::Impl::AuditRoutes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *this->http;
  // Tenant principals act on their own tenant; the platform admin on all. Proofs and
  // checkpoints carry only hashes, so any principal that may read the audit log gets them.
  auto admit = [this](const Request& req, Response& res, kbs::Principal* p) {
    auto principal = state->tokens->Authenticate(BearerToken(req));
    return Admit(req, res, kbs::Action::kReadAudit, principal ? principal->tenant : "", p);
  };
  http.Get("/v1/audit", [this, admit](const Request& req, Response& res) {
    kbs::Principal p;
    if (!admit(req, res, &p)) return;
    uint64_t tail = 100;
    if (req.has_param("tail") && !NumberParam(req, res, "tail", 10000, &tail)) return;
    auto entries = state->audit->Tail(tail);
    if (!entries) return Problem(res, entries.error());
    json out = json::array();
    for (const auto& e : *entries) {
      if (!p.tenant.empty() && e.tenant != p.tenant) continue;
      out.push_back({{"seq", e.seq},
                     {"time", e.time},
                     {"actor", e.actor},
                     {"tenant", e.tenant},
                     {"action", e.action},
                     {"outcome", e.outcome},
                     {"reason", e.reason},
                     {"leaf_hash", Base64Encode(e.leaf_hash)},
                     {"details", json::parse(e.details, nullptr, false)}});
    }
    Json(res, {{"entries", out}});
  });
  // RFC 9162 §4.5 / C2SP checkpoint: the latest signed tree head.
  http.Get("/v1/audit/checkpoint", [this, admit](const Request& req, Response& res) {
    kbs::Principal p;
    if (!admit(req, res, &p)) return;
    // Entries not yet covered get a checkpoint now, so a reader sees the log as it is.
    AuditMaintenance(UnixNow(), /*force=*/true);
    auto cp = state->audit->LatestCheckpoint();
    if (!cp) return Problem(res, cp.error());
    if (!*cp) return Problem(res, 404, "no checkpoint has been signed yet");
    const audit::SignedCheckpoint& c = **cp;
    const std::string origin = audit::AuditLogOptions{}.origin;
    Json(res, {{"origin", origin},
               {"tree_size", c.tree_size},
               {"root_hash", Base64Encode(c.root_hash)},
               {"time", c.time},
               {"text", audit::CheckpointText(origin, c.tree_size, c.root_hash, c.time)},
               {"signature", Base64Encode(c.signature)},
               {"key_id", c.key_id}});
  });
  auto path_json = [](const std::vector<Bytes>& path) {
    json out = json::array();
    for (const Bytes& node : path) out.push_back(Base64Encode(node));
    return out;
  };
  // RFC 9162 §2.1.3: inclusion of entry `seq` in the tree of `tree_size` entries.
  http.Get("/v1/audit/proof/inclusion",
           [this, admit, path_json](const Request& req, Response& res) {
             kbs::Principal p;
             uint64_t seq = 0, size = 0;
             if (!admit(req, res, &p) || !NumberParam(req, res, "seq", UINT32_MAX, &seq) ||
                 !NumberParam(req, res, "tree_size", UINT32_MAX, &size)) {
               return;
             }
             auto proof = state->audit->ProveInclusion(seq, size);
             if (!proof) return Problem(res, proof.error());
             Json(res, {{"leaf_index", proof->leaf_index},
                        {"tree_size", proof->tree_size},
                        {"path", path_json(proof->path)}});
           });
  // RFC 9162 §2.1.4: the tree of `old_size` entries is a prefix of the one of `new_size`.
  http.Get("/v1/audit/proof/consistency",
           [this, admit, path_json](const Request& req, Response& res) {
             kbs::Principal p;
             uint64_t from = 0, to = 0;
             if (!admit(req, res, &p) || !NumberParam(req, res, "old_size", UINT32_MAX, &from) ||
                 !NumberParam(req, res, "new_size", UINT32_MAX, &to)) {
               return;
             }
             auto proof = state->audit->ProveConsistency(from, to);
             if (!proof) return Problem(res, proof.error());
             Json(res, {{"old_size", proof->old_size},
                        {"new_size", proof->new_size},
                        {"path", path_json(proof->path)}});
           });
}

}  // namespace crypta::api
