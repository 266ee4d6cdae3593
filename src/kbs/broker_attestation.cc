// KeyBroker: the platform attestation policy and the appraisal behind EAR tokens.
#include <optional>
#include <string>
#include <vector>

#include "kbs/broker.h"

namespace crypta::kbs {
namespace {

constexpr size_t kMaxParsedPolicies = 4096;

// Better first: allowed before refused; then fewer warnings (allowed) or fewer violations
// (refused).
bool Better(const attest::Verdict& a, const attest::Verdict& b) {
  if (a.allowed != b.allowed) return a.allowed;
  return a.allowed ? a.warnings.size() < b.warnings.size()
                   : a.violations.size() < b.violations.size();
}

}  // namespace

Result<const attest::AppraisalPolicy*> KeyBroker::ParsedLocked(const std::string& text) {
  if (auto it = parsed_policies_.find(text); it != parsed_policies_.end()) return &it->second;
  auto policy = attest::ParseAppraisalPolicy(text);
  if (!policy) return MakeError(policy.error().WithContext("stored policy"));
  if (parsed_policies_.size() >= kMaxParsedPolicies) parsed_policies_.clear();
  return &parsed_policies_.emplace(text, std::move(*policy)).first->second;
}

Result<AttestationAppraisal> KeyBroker::AppraiseForAttestation(const attest::Claims& claims) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::BeginRead(*db_));
  {
    CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                            db_->Prepare("SELECT text FROM attestation_policy WHERE id = 1"));
    CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
    if (found) {
      CRYPTA_ASSIGN_OR_RETURN(const attest::AppraisalPolicy* policy, ParsedLocked(q.ColumnText(0)));
      return AttestationAppraisal{*policy,
                                  attest::Appraise(*policy, claims, PublishedCheckFor("", "")),
                                  "attestation-policy"};
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement q,
      db_->Prepare("SELECT tenant, key, text FROM policies ORDER BY tenant, key"));
  // All rows first: the published check queries the store too.
  struct Row {
    std::string tenant, key, text;
  };
  std::vector<Row> rows;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    rows.push_back({q.ColumnText(0), q.ColumnText(1), q.ColumnText(2)});
  }
  std::optional<AttestationAppraisal> best;
  size_t checked = 0;
  for (const Row& row : rows) {
    auto policy = ParsedLocked(row.text);
    if (!policy) continue;  // validated when stored; a corrupt one allows nothing
    ++checked;
    attest::Verdict verdict =
        attest::Appraise(**policy, claims, PublishedCheckFor(row.tenant, row.key));
    if (!best || Better(verdict, best->verdict)) {
      best = AttestationAppraisal{**policy, std::move(verdict), "release-policies"};
    }
  }
  if (!best) {
    AttestationAppraisal none;
    none.source = "release-policies";
    CRYPTA_ASSIGN_OR_RETURN(none.policy, attest::ParseAppraisalPolicy("tee: [sim]\n"));
    none.verdict.violations.push_back(
        "policy: no key-release policy is set on this platform, so no evidence is trusted");
    return none;
  }
  if (!best->verdict.allowed) {
    best->verdict.violations.insert(
        best->verdict.violations.begin(),
        "policy: none of the platform's " + std::to_string(checked) +
            " key-release policies allows this evidence; the closest one's violations follow");
  }
  return std::move(*best);
}

Result<std::string> KeyBroker::SetAttestationPolicy(const std::string& text) {
  auto policy = attest::ParseAppraisalPolicy(text);
  if (!policy) return MakeError(policy.error().WithContext("attestation policy"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement up,
      db_->Prepare("INSERT INTO attestation_policy (id, text, policy_id, updated) VALUES "
                   "(1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET text = excluded.text, "
                   "policy_id = excluded.policy_id, updated = excluded.updated"));
  CRYPTA_RETURN_IF_ERROR(up.Bind(1, text));
  CRYPTA_RETURN_IF_ERROR(up.Bind(2, policy->id));
  CRYPTA_RETURN_IF_ERROR(up.Bind(3, Now()));
  CRYPTA_RETURN_IF_ERROR(up.Run());
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return policy->id;
}

Status KeyBroker::ClearAttestationPolicy() {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Exec("DELETE FROM attestation_policy");
}

Result<std::optional<StoredPolicy>> KeyBroker::GetAttestationPolicy() {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement q,
      db_->Prepare("SELECT text, policy_id, updated FROM attestation_policy WHERE id = 1"));
  CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return std::optional<StoredPolicy>();
  return std::optional<StoredPolicy>(
      StoredPolicy{"", "", q.ColumnText(0), q.ColumnText(1), q.ColumnInt(2)});
}

}  // namespace crypta::kbs
