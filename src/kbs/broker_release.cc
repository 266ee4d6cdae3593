// KeyBroker: DEK wrapping, the attested release path and key-release policies.
#include <string>

#include "kbs/broker.h"

namespace crypta::kbs {
Status ValidateObjectId(const std::string& object_id) {
  if (object_id.empty() || object_id.size() > kMaxObjectIdSize) {
    return MakeError(ErrorCode::kInvalidArgument, "object_id must be 1 to 256 bytes");
  }
  for (char c : object_id) {
    if (c < 0x21 || c > 0x7e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "object_id may contain only printable ASCII without spaces");
    }
  }
  return OkStatus();
}

Result<WrappedDek> KeyBroker::WrapDek(const std::string& tenant, const std::string& key,
                                      const SecretBytes& dek, const std::string& object_id) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(key, "key name"));
  CRYPTA_RETURN_IF_ERROR(ValidateObjectId(object_id));
  if (dek.size() != kDataKeySize) {
    return MakeError(ErrorCode::kInvalidArgument, "DEK must be 32 bytes");
  }
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CRYPTA_ASSIGN_OR_RETURN(KekInfo info, GetKekLocked(tenant, key));
  {
    CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                            db_->Prepare("SELECT 1 FROM wrapped_deks WHERE tenant = ? AND key = ? "
                                         "AND object_id = ?"));
    CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
    CRYPTA_RETURN_IF_ERROR(q.Bind(2, key));
    CRYPTA_RETURN_IF_ERROR(q.Bind(3, object_id));
    CRYPTA_ASSIGN_OR_RETURN(bool exists, q.Step());
    if (exists) {
      return MakeError(
          ErrorCode::kAlreadyExists,
          "object " + object_id + " already has a DEK under key " + tenant + "/" + key);
    }
  }
  WrappedDek out;
  out.ref = {tenant, key, info.current_version};
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes kek, LoadKek(tenant, key, info.current_version));
  CRYPTA_ASSIGN_OR_RETURN(out.wrapped, WrapDekUnderKek(kek.Reveal(), out.ref, object_id, dek));
  CRYPTA_ASSIGN_OR_RETURN(store::Statement ins,
                          db_->Prepare("INSERT INTO wrapped_deks (tenant, key, object_id, version, "
                                       "wrapped, created) VALUES (?, ?, ?, ?, ?, ?)"));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(2, key));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(3, object_id));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(4, static_cast<int64_t>(info.current_version)));
  CRYPTA_RETURN_IF_ERROR(ins.BindBlob(5, out.wrapped));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(6, Now()));
  CRYPTA_RETURN_IF_ERROR(ins.Run());
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<WrappedDek> KeyBroker::GetWrappedDek(const std::string& tenant, const std::string& key,
                                            const std::string& object_id) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  return GetWrappedDekLocked(tenant, key, object_id);
}

Result<WrappedDek> KeyBroker::GetWrappedDekLocked(const std::string& tenant, const std::string& key,
                                                  const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                          db_->Prepare("SELECT version, wrapped FROM wrapped_deks WHERE tenant = ? "
                                       "AND key = ? AND object_id = ?"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(q.Bind(2, key));
  CRYPTA_RETURN_IF_ERROR(q.Bind(3, object_id));
  CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) {
    return MakeError(ErrorCode::kNotFound,
                     "no DEK for object " + object_id + " under key " + tenant + "/" + key);
  }
  return WrappedDek{{tenant, key, static_cast<uint32_t>(q.ColumnInt(0))}, q.ColumnBlob(1)};
}

Result<std::optional<StoredPolicy>> KeyBroker::FindPolicy(const std::string& tenant,
                                                          const std::string& key) {
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                          db_->Prepare("SELECT text, policy_id, updated FROM policies WHERE "
                                       "tenant = ? AND key = ?"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(q.Bind(2, key));
  CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return std::optional<StoredPolicy>();
  return std::optional<StoredPolicy>(
      StoredPolicy{tenant, key, q.ColumnText(0), q.ColumnText(1), q.ColumnInt(2)});
}

attest::PublishedCheck KeyBroker::PublishedCheckFor(const std::string& tenant,
                                                    const std::string& key,
                                                    const std::string& object_id) const {
  if (!options_.published_check) return {};
  return [this, tenant, key, object_id](const attest::Claims& claims) {
    return options_.published_check(tenant, key, object_id, claims);
  };
}

Result<std::string> KeyBroker::AppraiseLocked(const std::string& tenant, const std::string& key,
                                              const std::string& object_id, const std::string& what,
                                              const attest::Claims& claims,
                                              attest::Verdict* verdict) {
  *verdict = attest::Verdict{};  // allowed = false
  CRYPTA_ASSIGN_OR_RETURN(std::optional<StoredPolicy> stored, FindPolicy(tenant, key));
  if (!stored) {
    CRYPTA_ASSIGN_OR_RETURN(stored, FindPolicy(tenant, ""));
  }
  if (!stored) {
    verdict->violations.push_back("no key-release policy for key " + tenant + "/" + key +
                                  " or tenant " + tenant);
    return MakeError(ErrorCode::kPermissionDenied, what + " denied: " + verdict->violations[0]);
  }
  auto policy = attest::ParseAppraisalPolicy(stored->text);
  if (!policy) {  // validated when stored, so this is corruption: deny
    verdict->violations.push_back("stored policy does not parse: " + policy.error().message());
    return MakeError(ErrorCode::kPermissionDenied, what + " denied: " + verdict->violations[0]);
  }
  *verdict = attest::Appraise(*policy, claims, PublishedCheckFor(tenant, key, object_id));
  if (!verdict->allowed) {
    std::string reasons;
    for (const auto& v : verdict->violations) reasons += (reasons.empty() ? "" : "; ") + v;
    if (reasons.empty()) reasons = "policy did not allow it";
    return MakeError(ErrorCode::kPermissionDenied,
                     what + " denied by policy " + policy->id + ": " + reasons);
  }
  return policy->id;
}

Status KeyBroker::CheckReleasePolicy(const std::string& tenant, const std::string& key,
                                     const attest::Claims& claims) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(key, "key name"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::BeginRead(*db_));
  attest::Verdict verdict;
  CRYPTA_RETURN_IF_ERROR(
      AppraiseLocked(tenant, key, "", "access to " + tenant + "/" + key, claims, &verdict));
  return OkStatus();
}

Result<DekRelease> KeyBroker::UnwrapDekForRelease(const std::string& tenant, const std::string& key,
                                                  const std::string& object_id,
                                                  const attest::VerifiedEvidence& evidence,
                                                  attest::Verdict* verdict_out) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(key, "key name"));
  CRYPTA_RETURN_IF_ERROR(ValidateObjectId(object_id));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  // One read transaction so the policy, the wrap and the KEK are a consistent snapshot.
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::BeginRead(*db_));
  attest::Verdict verdict;
  Result<std::string> policy_id = AppraiseLocked(
      tenant, key, object_id, "release of " + tenant + "/" + key + " object " + object_id,
      evidence.claims(), &verdict);
  if (verdict_out != nullptr) *verdict_out = verdict;
  if (!policy_id) return MakeError(policy_id.error());

  CRYPTA_ASSIGN_OR_RETURN(WrappedDek dek_row, GetWrappedDekLocked(tenant, key, object_id));
  const uint32_t version = dek_row.ref.kek_version;
  const Bytes& wrapped = dek_row.wrapped;
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes kek, LoadKek(tenant, key, version));
  auto dek = UnwrapDekUnderKek(kek.Reveal(), {tenant, key, version}, object_id, wrapped);
  if (!dek) return MakeError(ErrorCode::kDataLoss, dek.error().message());
  return DekRelease{std::move(*dek), version, *policy_id};
}

Result<std::string> KeyBroker::SetPolicy(const std::string& tenant, const std::string& key,
                                         const std::string& text) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  if (!key.empty()) CRYPTA_RETURN_IF_ERROR(ValidateName(key, "key name"));
  auto policy = attest::ParseAppraisalPolicy(text);
  if (!policy) return MakeError(policy.error().WithContext("key-release policy"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CRYPTA_RETURN_IF_ERROR(RequireTenant(tenant));
  if (!key.empty()) CRYPTA_RETURN_IF_ERROR(GetKekLocked(tenant, key));
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement up,
      db_->Prepare("INSERT INTO policies (tenant, key, text, policy_id, updated) VALUES "
                   "(?, ?, ?, ?, ?) ON CONFLICT (tenant, key) DO UPDATE SET text = excluded.text, "
                   "policy_id = excluded.policy_id, updated = excluded.updated"));
  CRYPTA_RETURN_IF_ERROR(up.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(up.Bind(2, key));
  CRYPTA_RETURN_IF_ERROR(up.Bind(3, text));
  CRYPTA_RETURN_IF_ERROR(up.Bind(4, policy->id));
  CRYPTA_RETURN_IF_ERROR(up.Bind(5, Now()));
  CRYPTA_RETURN_IF_ERROR(up.Run());
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return policy->id;
}

Result<StoredPolicy> KeyBroker::GetPolicy(const std::string& tenant, const std::string& key) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  if (!key.empty()) CRYPTA_RETURN_IF_ERROR(ValidateName(key, "key name"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(std::optional<StoredPolicy> stored, FindPolicy(tenant, key));
  if (!stored) {
    return MakeError(ErrorCode::kNotFound,
                     key.empty() ? "tenant " + tenant + " has no tenant-wide policy"
                                 : "key " + tenant + "/" + key + " has no policy of its own");
  }
  return std::move(*stored);
}

}  // namespace crypta::kbs
