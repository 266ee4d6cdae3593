#include "kbs/tokens.h"

#include <ctime>

#include "common/constant_time.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "kbs/broker.h"
#include "kbs/schema.h"

namespace crypta::kbs {
namespace {

constexpr size_t kTokenRandomBytes = 32;
constexpr size_t kTokenIdBytes = 8;

Error Unauthenticated() {
  return Error(ErrorCode::kUnauthenticated, "invalid or revoked API token");
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kPlatformAdmin:
      return "platform-admin";
    case Role::kTenantAdmin:
      return "tenant-admin";
    case Role::kTenantUser:
      return "tenant-user";
    case Role::kWorkload:
      return "workload";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kPlatformAdmin, Role::kTenantAdmin, Role::kTenantUser, Role::kWorkload}) {
    if (RoleName(r) == name) return r;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "role \"" + std::string(name.substr(0, 40)) +
                       "\" is not one of platform-admin, tenant-admin, tenant-user, workload");
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kManageTenants:
      return "manage tenants";
    case Action::kManagePlatform:
      return "manage the platform";
    case Action::kManageKeys:
      return "manage keys";
    case Action::kListKeys:
      return "list keys";
    case Action::kSetPolicy:
      return "set policy";
    case Action::kGetPolicy:
      return "get policy";
    case Action::kManageTokens:
      return "manage tokens";
    case Action::kPushModel:
      return "push model";
    case Action::kReadModel:
      return "read model";
    case Action::kDeleteModel:
      return "delete model";
    case Action::kDeploy:
      return "deploy workloads";
    case Action::kReadAudit:
      return "read audit log";
    case Action::kRcar:
      return "attest and fetch resources";
  }
  return "unknown";
}

Result<std::unique_ptr<TokenStore>> TokenStore::Open(std::shared_ptr<store::Database> db,
                                                     std::function<int64_t()> clock) {
  if (!db) return MakeError(ErrorCode::kInvalidArgument, "token store needs a database");
  CRYPTA_RETURN_IF_ERROR(MigrateSchema(*db));
  if (!clock) clock = [] { return static_cast<int64_t>(std::time(nullptr)); };
  return std::unique_ptr<TokenStore>(new TokenStore(std::move(db), std::move(clock)));
}

Result<NewToken> TokenStore::CreateToken(const std::string& tenant, Role role) {
  if (role == Role::kPlatformAdmin && !tenant.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "a platform-admin token has no tenant");
  }
  if (role != Role::kPlatformAdmin) CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  if (!tenant.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                            db_->Prepare("SELECT 1 FROM tenants WHERE name = ?"));
    CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
    CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return MakeError(ErrorCode::kNotFound, "tenant " + tenant + " does not exist");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes secret, RandomBytes(kTokenRandomBytes));
  NewToken out;
  out.token = std::string(kTokenPrefix) + Base64UrlEncode(secret);
  SecureWipe(MutableByteSpan(secret));
  const Bytes hash = Sha256(AsBytes(out.token));
  out.token_id = HexEncode(ByteSpan(hash).subspan(0, kTokenIdBytes));
  CRYPTA_ASSIGN_OR_RETURN(store::Statement ins,
                          db_->Prepare("INSERT INTO tokens (token_id, hash, tenant, role, created) "
                                       "VALUES (?, ?, ?, ?, ?)"));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(1, out.token_id));
  CRYPTA_RETURN_IF_ERROR(ins.BindBlob(2, hash));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(3, tenant));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(4, RoleName(role)));
  CRYPTA_RETURN_IF_ERROR(ins.Bind(5, clock_()));
  CRYPTA_RETURN_IF_ERROR(ins.Run());
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<Principal> TokenStore::Authenticate(std::string_view token) {
  if (token.size() > kMaxTokenLength || token.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return MakeError(Unauthenticated());
  }
  const Bytes hash = Sha256(AsBytes(token));
  const std::string token_id = HexEncode(ByteSpan(hash).subspan(0, kTokenIdBytes));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                          db_->Prepare("SELECT hash, tenant, role, revoked FROM tokens "
                                       "WHERE token_id = ?"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, token_id));
  CRYPTA_ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return MakeError(Unauthenticated());
  // The id lookup only narrows the search; the full hash decides, in constant time.
  if (!ConstantTimeEquals(q.ColumnBlob(0), hash) || !q.ColumnIsNull(3)) {
    return MakeError(Unauthenticated());
  }
  auto role = ParseRole(q.ColumnText(2));
  if (!role) return MakeError(Unauthenticated());
  return Principal{q.ColumnText(1), *role, token_id};
}

Status TokenStore::RevokeToken(const std::string& token_id) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Statement upd,
                          db_->Prepare("UPDATE tokens SET revoked = COALESCE(revoked, ?) "
                                       "WHERE token_id = ?"));
  CRYPTA_RETURN_IF_ERROR(upd.Bind(1, clock_()));
  CRYPTA_RETURN_IF_ERROR(upd.Bind(2, token_id));
  CRYPTA_RETURN_IF_ERROR(upd.Run());
  if (upd.changes() == 0) {
    return MakeError(ErrorCode::kNotFound, "no token with id " + token_id.substr(0, 64));
  }
  return OkStatus();
}

Result<std::vector<TokenInfo>> TokenStore::ListTokens(const std::string& tenant) {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Statement q,
                          db_->Prepare("SELECT token_id, role, created, revoked FROM tokens "
                                       "WHERE tenant = ? ORDER BY created, token_id"));
  CRYPTA_RETURN_IF_ERROR(q.Bind(1, tenant));
  std::vector<TokenInfo> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    CRYPTA_ASSIGN_OR_RETURN(Role role, ParseRole(q.ColumnText(1)));
    out.push_back({q.ColumnText(0), tenant, role, q.ColumnInt(2), !q.ColumnIsNull(3)});
  }
  return out;
}

Status Authorize(const Principal& principal, Action action, const std::string& tenant) {
  auto deny = [&](std::string_view why) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        std::string(RoleName(principal.role)) + " may not " + std::string(ActionName(action)) +
            (tenant.empty() ? std::string() : " in tenant " + tenant) + ": " + std::string(why));
  };
  if (principal.role == Role::kPlatformAdmin) {
    if (action == Action::kRcar) return deny("key release is for attested workloads");
    return OkStatus();
  }
  if (principal.tenant.empty()) return deny("the principal has no tenant");
  if (action == Action::kManageTenants || action == Action::kManagePlatform) {
    return deny("platform admins only");
  }
  if (tenant != principal.tenant) return deny("cross-tenant access");
  switch (principal.role) {
    case Role::kTenantAdmin:
      if (action == Action::kRcar) return deny("key release is for attested workloads");
      return OkStatus();
    case Role::kTenantUser:
      if (action == Action::kListKeys || action == Action::kGetPolicy ||
          action == Action::kPushModel || action == Action::kReadModel) {
        return OkStatus();
      }
      return deny("tenant users may only list keys, read policies and push or read models");
    case Role::kWorkload:
      if (action == Action::kRcar) return OkStatus();
      return deny("workload tokens are for attestation and key release only");
    case Role::kPlatformAdmin:
      break;
  }
  return deny("unknown role");
}

}  // namespace crypta::kbs
