// KeyBroker: tenants, KEK lifecycle and rotation. DEK wrapping, release and policies are
// in broker_release.cc; the wrap formats in broker_wrap.cc.
#include "kbs/broker.h"

#include <ctime>
#include <map>

#include "crypto/random.h"
#include "kbs/root_key.h"
#include "kbs/schema.h"

namespace crypta::kbs {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

Result<KekState> ParseState(const std::string& s) {
  if (s == "active") return KekState::kActive;
  if (s == "decrypt-only") return KekState::kDecryptOnly;
  if (s == "retired") return KekState::kRetired;
  return MakeError(ErrorCode::kDataLoss, "unknown KEK state \"" + s + "\" in the database");
}

std::string KeyLabel(const std::string& tenant, const std::string& name) {
  return "key " + tenant + "/" + name;
}

}  // namespace

std::string_view KekStateName(KekState state) {
  switch (state) {
    case KekState::kActive:
      return "active";
    case KekState::kDecryptOnly:
      return "decrypt-only";
    case KekState::kRetired:
      return "retired";
  }
  return "unknown";
}

Result<std::unique_ptr<KeyBroker>> KeyBroker::Open(std::shared_ptr<store::Database> db,
                                                   SecretBytes root_key, KeyBrokerOptions options) {
  if (!db) return MakeError(ErrorCode::kInvalidArgument, "key broker needs a database");
  if (root_key.size() != kRootKeySize) {
    return MakeError(ErrorCode::kInvalidArgument, "root key must be 32 bytes");
  }
  CRYPTA_RETURN_IF_ERROR(MigrateSchema(*db));
  return std::unique_ptr<KeyBroker>(
      new KeyBroker(std::move(db), std::move(root_key), std::move(options)));
}

int64_t KeyBroker::Now() const {
  return options_.clock ? options_.clock() : static_cast<int64_t>(std::time(nullptr));
}

void KeyBroker::SetRewrapHookForTesting(std::function<Status(const std::string&)> hook) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  rewrap_hook_ = std::move(hook);
}

Status KeyBroker::RequireTenant(const std::string& tenant) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q, db_->Prepare("SELECT 1 FROM tenants WHERE name = ?"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
  CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return MakeError(ErrorCode::kNotFound, "tenant " + tenant + " does not exist");
  return OkStatus();
}

Status KeyBroker::CreateTenant(const std::string& name) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(name, "tenant"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  if (RequireTenant(name)) {
    return MakeError(ErrorCode::kAlreadyExists, "tenant " + name + " already exists");
  }
  CRYPTA_ASSIGN_OR_RETURN(store::Statement ins,
                          db_->Prepare("INSERT INTO tenants (name, created) VALUES (?, ?)"));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(1, name));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(2, Now()));
  CRYPTA_RETURN_IF_ERROR(ins.Run());
  return tx.Commit();
}

Result<std::vector<TenantInfo>> KeyBroker::ListTenants() {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                          db_->Prepare("SELECT name, created FROM tenants ORDER BY name"));
  std::vector<TenantInfo> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnText(0), q.ColumnInt(1)});
  }
  return out;
}

Result<KekInfo> KeyBroker::CreateKek(const std::string& tenant, const std::string& name,
                                     std::optional<int64_t> rotate_days) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(name, "key name"));
  if (rotate_days && (*rotate_days < 1 || *rotate_days > kMaxRotateDays)) {
    return MakeError(ErrorCode::kInvalidArgument, "rotate_days must be between 1 and 3650");
  }
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CRYPTA_RETURN_IF_ERROR(RequireTenant(tenant));
  if (GetKekLocked(tenant, name)) {
    return MakeError(ErrorCode::kAlreadyExists, KeyLabel(tenant, name) + " already exists");
  }
  const int64_t now = Now();
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO keks (tenant, name, current_version, rotate_days, created, "
                   "last_rotated) VALUES (?, ?, 1, ?, ?, ?)"));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(2, name));
  CRYPTA_RETURN_IF_ERROR(rotate_days ? ins.Bind(3, *rotate_days) : ins.BindNull(3));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(4, now));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(5, now));
  CRYPTA_RETURN_IF_ERROR(ins.Run());
  CRYPTA_RETURN_IF_ERROR(InsertActiveVersion(tenant, name, 1, now));
  CRYPTA_ASSIGN_OR_RETURN(KekInfo info, GetKekLocked(tenant, name));
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return info;
}

Result<KekInfo> KeyBroker::GetKekLocked(const std::string& tenant, const std::string& name) {
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement q,
      db_->Prepare("SELECT current_version, rotate_days, created, last_rotated FROM keks "
                   "WHERE tenant = ? AND name = ?"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(q.Bind(2, name));
  CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return MakeError(ErrorCode::kNotFound, KeyLabel(tenant, name) + " does not exist");
  KekInfo info;
  info.tenant = tenant;
  info.name = name;
  info.current_version = static_cast<uint32_t>(q.ColumnInt(0));
  if (!q.ColumnIsNull(1)) info.rotate_days = q.ColumnInt(1);
  info.created = q.ColumnInt(2);
  info.last_rotated = q.ColumnInt(3);
  if (info.rotate_days) info.next_rotation = info.last_rotated + *info.rotate_days * kSecondsPerDay;

  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement v,
      db_->Prepare("SELECT v.version, v.state, v.created, (SELECT COUNT(*) FROM wrapped_deks d "
                   "WHERE d.tenant = v.tenant AND d.key = v.name AND d.version = v.version) "
                   "FROM kek_versions v WHERE v.tenant = ? AND v.name = ? ORDER BY v.version"));
  CRYPTA_RETURN_IF_ERROR(v.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(v.Bind(2, name));
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, v.Step());
    if (!row) break;
    CRYPTA_ASSIGN_OR_RETURN(KekState state, ParseState(v.ColumnText(1)));
    info.versions.push_back(
        {static_cast<uint32_t>(v.ColumnInt(0)), state, v.ColumnInt(2), v.ColumnInt(3)});
  }
  return info;
}

Result<KekInfo> KeyBroker::GetKek(const std::string& tenant, const std::string& name) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  return GetKekLocked(tenant, name);
}

Result<std::vector<KekInfo>> KeyBroker::ListKeks(const std::string& tenant) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_RETURN_IF_ERROR(RequireTenant(tenant));
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                          db_->Prepare("SELECT name FROM keks WHERE tenant = ? ORDER BY name"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
  std::vector<std::string> names;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    names.push_back(q.ColumnText(0));
  }
  std::vector<KekInfo> out;
  for (const auto& name : names) {
    CRYPTA_ASSIGN_OR_RETURN(KekInfo info, GetKekLocked(tenant, name));
    out.push_back(std::move(info));
  }
  return out;
}

Result<SecretBytes> KeyBroker::LoadKek(const std::string& tenant, const std::string& name,
                                       uint32_t version) {
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                          db_->Prepare("SELECT state, wrapped FROM kek_versions WHERE tenant = ? "
                                       "AND name = ? AND version = ?"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(q.Bind(2, name));
  CRYPTA_RETURN_IF_ERROR(q.Bind(3, static_cast<int64_t>(version)));
  CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
  const std::string label = KeyLabel(tenant, name) + " version " + std::to_string(version);
  if (!found) return MakeError(ErrorCode::kNotFound, label + " does not exist");
  if (q.ColumnText(0) == "retired" || q.ColumnIsNull(1)) {
    return MakeError(ErrorCode::kFailedPrecondition, label + " is retired");
  }
  auto kek = UnwrapKek(root_key_.Reveal(), {tenant, name, version}, q.ColumnBlob(1));
  if (!kek) return MakeError(ErrorCode::kDataLoss, kek.error().message());
  return kek;
}

Result<SecretBytes> KeyBroker::InsertActiveVersion(const std::string& tenant,
                                                   const std::string& name, uint32_t version,
                                                   int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes kek, RandomSecret(kKekSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes wrapped, WrapKek(root_key_.Reveal(), {tenant, name, version}, kek));
  CRYPTA_ASSIGN_OR_RETURN(store::Statement ins,
                          db_->Prepare("INSERT INTO kek_versions (tenant, name, version, state, "
                                       "wrapped, created) VALUES (?, ?, ?, 'active', ?, ?)"));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(2, name));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(3, static_cast<int64_t>(version)));
  CRYPTA_RETURN_IF_ERROR(ins.BindBlob(4, wrapped));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(5, now));
  CRYPTA_RETURN_IF_ERROR(ins.Run());
  return kek;
}

Result<uint32_t> KeyBroker::RotateLocked(const std::string& tenant, const std::string& name,
                                         int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CRYPTA_ASSIGN_OR_RETURN(KekInfo info, GetKekLocked(tenant, name));
  const uint32_t next = info.current_version + 1;
  CRYPTA_ASSIGN_OR_RETURN(store::Statement demote,
                          db_->Prepare("UPDATE kek_versions SET state = 'decrypt-only' WHERE "
                                       "tenant = ? AND name = ? AND state = 'active'"));
  CRYPTA_RETURN_IF_ERROR(demote.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(demote.Bind(2, name));
  CRYPTA_RETURN_IF_ERROR(demote.Run());
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes new_kek, InsertActiveVersion(tenant, name, next, now));

  // Collect first, then rewrap: never update rows under a cursor that is still stepping.
  struct Row {
    std::string object_id;
    uint32_t version;
    Bytes wrapped;
  };
  std::vector<Row> rows;
  {
    CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                            db_->Prepare("SELECT object_id, version, wrapped FROM wrapped_deks "
                                         "WHERE tenant = ? AND key = ? ORDER BY object_id"));
    CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
    CRYPTA_RETURN_IF_ERROR(q.Bind(2, name));
    while (true) {
      CRYPTA_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      rows.push_back({q.ColumnText(0), static_cast<uint32_t>(q.ColumnInt(1)), q.ColumnBlob(2)});
    }
  }
  std::map<uint32_t, SecretBytes> old_keks;
  CRYPTA_ASSIGN_OR_RETURN(store::Statement upd,
                          db_->Prepare("UPDATE wrapped_deks SET version = ?, wrapped = ? WHERE "
                                       "tenant = ? AND key = ? AND object_id = ?"));
  for (const Row& row : rows) {
    if (rewrap_hook_) CRYPTA_RETURN_IF_ERROR(rewrap_hook_(row.object_id));
    auto it = old_keks.find(row.version);
    if (it == old_keks.end()) {
      CRYPTA_ASSIGN_OR_RETURN(SecretBytes k, LoadKek(tenant, name, row.version));
      it = old_keks.emplace(row.version, std::move(k)).first;
    }
    auto dek = UnwrapDekUnderKek(it->second.Reveal(), {tenant, name, row.version}, row.object_id,
                                 row.wrapped);
    if (!dek) {
      return MakeError(ErrorCode::kDataLoss, "rotation of " + KeyLabel(tenant, name) +
                                                 " aborted: " + dek.error().message());
    }
    CRYPTA_ASSIGN_OR_RETURN(Bytes rewrapped, WrapDekUnderKek(new_kek.Reveal(), {tenant, name, next},
                                                             row.object_id, *dek));
    CRYPTA_RETURN_IF_ERROR(upd.Reset());
    CRYPTA_RETURN_IF_ERROR(upd.Bind(1, static_cast<int64_t>(next)));
    CRYPTA_RETURN_IF_ERROR(upd.BindBlob(2, rewrapped));
    CRYPTA_RETURN_IF_ERROR(upd.Bind(3, tenant));
    CRYPTA_RETURN_IF_ERROR(upd.Bind(4, name));
    CRYPTA_RETURN_IF_ERROR(upd.Bind(5, row.object_id));
    CRYPTA_RETURN_IF_ERROR(upd.Run());
  }

  CRYPTA_ASSIGN_OR_RETURN(store::Statement cur,
                          db_->Prepare("UPDATE keks SET current_version = ?, last_rotated = ? "
                                       "WHERE tenant = ? AND name = ?"));
  CRYPTA_RETURN_IF_ERROR(cur.Bind(1, static_cast<int64_t>(next)));
  CRYPTA_RETURN_IF_ERROR(cur.Bind(2, now));
  CRYPTA_RETURN_IF_ERROR(cur.Bind(3, tenant));
  CRYPTA_RETURN_IF_ERROR(cur.Bind(4, name));
  CRYPTA_RETURN_IF_ERROR(cur.Run());
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return next;
}

Result<uint32_t> KeyBroker::RotateKek(const std::string& tenant, const std::string& name) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(name, "key name"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  return RotateLocked(tenant, name, Now());
}

Status KeyBroker::RetireVersion(const std::string& tenant, const std::string& name,
                                uint32_t version) {
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(name, "key name"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CRYPTA_ASSIGN_OR_RETURN(KekInfo info, GetKekLocked(tenant, name));
  const std::string label = KeyLabel(tenant, name) + " version " + std::to_string(version);
  if (version == info.current_version) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     label + " is the current version; rotate first");
  }
  const KekVersionInfo* v = nullptr;
  for (const auto& candidate : info.versions) {
    if (candidate.version == version) v = &candidate;
  }
  if (v == nullptr) return MakeError(ErrorCode::kNotFound, label + " does not exist");
  if (v->state == KekState::kRetired) {
    return MakeError(ErrorCode::kFailedPrecondition, label + " is already retired");
  }
  if (v->wrapped_deks > 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     label + " still wraps " + std::to_string(v->wrapped_deks) + " DEK(s)");
  }
  CRYPTA_ASSIGN_OR_RETURN(store::Statement upd,
                          db_->Prepare("UPDATE kek_versions SET state = 'retired', wrapped = NULL "
                                       "WHERE tenant = ? AND name = ? AND version = ?"));
  CRYPTA_RETURN_IF_ERROR(upd.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(upd.Bind(2, name));
  CRYPTA_RETURN_IF_ERROR(upd.Bind(3, static_cast<int64_t>(version)));
  CRYPTA_RETURN_IF_ERROR(upd.Run());
  return tx.Commit();
}

Result<std::vector<KeyReference>> KeyBroker::DueRotations(int64_t now) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement q,
      db_->Prepare("SELECT tenant, name, current_version FROM keks WHERE rotate_days IS NOT NULL "
                   "AND last_rotated + rotate_days * 86400 <= ? ORDER BY tenant, name"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, now));
  std::vector<KeyReference> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnText(0), q.ColumnText(1), static_cast<uint32_t>(q.ColumnInt(2))});
  }
  return out;
}

Result<std::vector<KeyReference>> KeyBroker::RotateDue(int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<KeyReference> due, DueRotations(now));
  std::vector<KeyReference> rotated;
  for (auto& ref : due) {
    uint32_t next = 0;
    {
      auto db_lock = db_->Lock();  // store/database.h lock order: the database first
      std::lock_guard<std::mutex> lock(mu_);
      // Still due, and not rotated since it was found due (by this process or by another
      // replica of a shared store): checked under the store's write lock, so a scheduled
      // rotation happens once however many schedulers see it.
      CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
      CRYPTA_ASSIGN_OR_RETURN(KekInfo info, GetKekLocked(ref.tenant, ref.key_name));
      if (info.current_version != ref.kek_version || !info.next_rotation ||
          *info.next_rotation > now) {
        continue;
      }
      CRYPTA_ASSIGN_OR_RETURN(next, RotateLocked(ref.tenant, ref.key_name, now));
      CRYPTA_RETURN_IF_ERROR(tx.Commit());
    }
    ref.kek_version = next;
    rotated.push_back(ref);
  }
  return rotated;
}

}  // namespace crypta::kbs
