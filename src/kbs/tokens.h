// API tokens and role checks (issue 4 "Tenants and access").
//
// A token is "crypta_" + base64url(32 random bytes), shown once at creation. The database
// keeps only SHA-256(token) and a lookup id (hex of the hash's first 8 bytes, not secret:
// knowing it does not help forge a token); Authenticate compares the full hash in constant
// time. Roles: platform-admin (no tenant), tenant-admin, tenant-user, workload (RCAR only).
//
// Thread-safety: TokenStore serializes its own calls with a mutex; Authorize is pure.
#ifndef CRYPTA_KBS_TOKENS_H_
#define CRYPTA_KBS_TOKENS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace crypta::kbs {

enum class Role { kPlatformAdmin, kTenantAdmin, kTenantUser, kWorkload };
std::string_view RoleName(Role role);  // "platform-admin", "tenant-admin", …
Result<Role> ParseRole(std::string_view name);

inline constexpr std::string_view kTokenPrefix = "crypta_";
inline constexpr size_t kMaxTokenLength = 128;

// Who a request acts as, after authentication.
struct Principal {
  std::string tenant;  // "" for the platform admin
  Role role = Role::kWorkload;
  std::string token_id;
};

struct NewToken {
  std::string token;     // the secret: show once, never store
  std::string token_id;  // for listing and revocation
};

struct TokenInfo {
  std::string token_id;
  std::string tenant;
  Role role = Role::kWorkload;
  int64_t created = 0;
  bool revoked = false;
};

class TokenStore {
 public:
  // Migrates the shared kbs schema (kbs/schema.h). `clock` defaults to the system clock.
  static Result<std::unique_ptr<TokenStore>> Open(std::shared_ptr<store::Database> db,
                                                  std::function<int64_t()> clock = {});

  // kInvalidArgument when the role and tenant do not fit (platform-admin needs "", the
  // others a tenant); kNotFound when the tenant does not exist.
  Result<NewToken> CreateToken(const std::string& tenant, Role role);
  // kUnauthenticated for a malformed, unknown or revoked token (one message for all, so a
  // caller learns nothing about which).
  Result<Principal> Authenticate(std::string_view token);
  // kNotFound for an unknown id. Revoking twice is fine.
  Status RevokeToken(const std::string& token_id);
  // Tokens of `tenant` ("" lists the platform admins' tokens).
  Result<std::vector<TokenInfo>> ListTokens(const std::string& tenant);

 private:
  TokenStore(std::shared_ptr<store::Database> db, std::function<int64_t()> clock)
      : db_(std::move(db)), clock_(std::move(clock)) {}
  std::mutex mu_;
  std::shared_ptr<store::Database> db_;
  std::function<int64_t()> clock_;
};

// The actions of issue 4's roles.
enum class Action {
  kManageTenants,   // tenant create / list: platform admin only
  kManagePlatform,  // platform keys (EAR signing key rotation): platform admin only
  kManageKeys,      // key create / rotate / retire-version
  kListKeys,
  kSetPolicy,
  kGetPolicy,
  kManageTokens,  // create / revoke tokens of the tenant
  kPushModel,     // includes having a DEK wrapped
  kReadModel,     // model list / fetch sealed blobs
  kDeleteModel,   // model rm: tenant admins
  kDeploy,        // vm deploy / delete: tenant admins
  kReadAudit,
  kRcar,  // attest and fetch resources: workloads only
};
std::string_view ActionName(Action action);

// OK, or kPermissionDenied naming the role, action and tenant. A tenant principal acting on
// another tenant is always denied ("cross-tenant"). Platform admins may do everything but
// kRcar; tenant admins everything in their tenant but kManageTenants and kRcar; tenant
// users list keys, get policies and push/read models; workloads only kRcar.
Status Authorize(const Principal& principal, Action action, const std::string& tenant);

}  // namespace crypta::kbs

#endif  // CRYPTA_KBS_TOKENS_H_
