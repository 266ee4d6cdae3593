#include "pki/platform_ca.h"

#include <algorithm>

#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/x509_builder.h"
#include "pki/ca_store.h"
#include "pki/csr.h"

namespace crypta::pki {

using internal::GenerationRow;

struct PlatformCa::Generation {
  uint32_t generation = 0;
  Certificate root;
  Certificate intermediate;
  PrivateKey intermediate_key;
  int64_t created = 0;
  int64_t bundle_until = 0;
};

namespace {

constexpr size_t kAesKeySize = 32;

Status CheckKeyMatches(const Certificate& cert, const PrivateKey& key, const std::string& what) {
  CRYPTA_ASSIGN_OR_RETURN(PublicKey cert_key, cert.public_key());
  CRYPTA_ASSIGN_OR_RETURN(Bytes cert_spki, cert_key.ToSpkiDer());
  CRYPTA_ASSIGN_OR_RETURN(Bytes key_spki, key.GetPublicKey().ToSpkiDer());
  if (cert_spki != key_spki) {
    return MakeError(ErrorCode::kDataLoss,
                     what + ": the unwrapped key does not match the certificate");
  }
  return OkStatus();
}

Status ValidateOptions(const PkiOptions& o) {
  CRYPTA_RETURN_IF_ERROR(ValidateTrustDomain(o.trust_domain));
  if (o.ca_key_type != KeyType::kEcP256 && o.ca_key_type != KeyType::kEcP384) {
    return MakeError(ErrorCode::kInvalidArgument, "PKI options: CA keys must be EC P-256 or P-384");
  }
  if (o.max_svid_ttl_s < 60 || o.svid_ttl_s < 60 || o.svid_ttl_s > o.max_svid_ttl_s ||
      o.intermediate_ttl_s <= o.max_svid_ttl_s || o.root_ttl_s < o.intermediate_ttl_s ||
      o.crl_ttl_s < 60) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "PKI options: need 60 <= svid_ttl_s <= max_svid_ttl_s < intermediate_ttl_s "
                     "<= root_ttl_s and crl_ttl_s >= 60");
  }
  return OkStatus();
}

}  // namespace

std::vector<Certificate> IssuedSvid::FullChain() const {
  std::vector<Certificate> all{leaf};
  all.insert(all.end(), chain.begin(), chain.end());
  return all;
}

std::string IssuedSvid::ChainPem() const { return CertificatesToPem(FullChain()); }

PlatformCa::PlatformCa(std::shared_ptr<store::Database> db, SecretBytes root_key,
                       PkiOptions options)
    : db_(std::move(db)), root_key_(std::move(root_key)), options_(std::move(options)) {}

PlatformCa::~PlatformCa() = default;

int64_t PlatformCa::Now() const { return options_.clock ? options_.clock() : UnixNow(); }

Result<std::unique_ptr<PlatformCa>> PlatformCa::Open(std::shared_ptr<store::Database> db,
                                                     SecretBytes root_key, PkiOptions options) {
  if (!db) return MakeError(ErrorCode::kInvalidArgument, "PlatformCa: no database");
  if (root_key.size() != kAesKeySize) {
    return MakeError(ErrorCode::kInvalidArgument, "PlatformCa: the root key must be 32 bytes");
  }
  CRYPTA_RETURN_IF_ERROR(ValidateOptions(options));
  CRYPTA_RETURN_IF_ERROR(internal::CreatePkiTables(*db));
  std::unique_ptr<PlatformCa> ca(new PlatformCa(db, std::move(root_key), std::move(options)));
  std::lock_guard<std::mutex> lock(ca->mu_);
  {
    CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db));
    CRYPTA_ASSIGN_OR_RETURN(uint32_t newest, internal::NewestGeneration(*db));
    if (newest == 0) {
      CRYPTA_RETURN_IF_ERROR(ca->CreateGenerationLocked(*db, 1, ca->Now()));
      CRYPTA_RETURN_IF_ERROR(tx.Commit());
    }
  }
  CRYPTA_RETURN_IF_ERROR(ca->RefreshLocked());
  return ca;
}

Status PlatformCa::CreateGenerationLocked(store::Database& db, uint32_t generation, int64_t now) {
  const std::string td = options_.trust_domain;
  const std::string suffix = " " + std::to_string(generation);
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey root_key, PrivateKey::Generate(options_.ca_key_type));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey int_key, PrivateKey::Generate(options_.ca_key_type));
  CertificateTemplate root_t;
  root_t.common_name = "crypta platform root CA" + suffix;
  root_t.organization = td;
  root_t.not_before = now - 60;
  root_t.not_after = now + options_.root_ttl_s;
  root_t.is_ca = true;
  root_t.path_len = 1;
  CRYPTA_ASSIGN_OR_RETURN(Certificate root,
                          IssueCertificate(root_t, root_key.GetPublicKey(), nullptr, root_key));
  CertificateTemplate int_t;
  int_t.common_name = "crypta platform intermediate CA" + suffix;
  int_t.organization = td;
  int_t.not_before = now - 60;
  int_t.not_after = std::min(now + options_.intermediate_ttl_s, root_t.not_after);
  int_t.is_ca = true;
  int_t.path_len = 0;
  int_t.permitted_uri_hosts = {td};  // SPIFFE X509-SVID §4.4: constrain to the trust domain
  CRYPTA_ASSIGN_OR_RETURN(Certificate intermediate,
                          IssueCertificate(int_t, int_key.GetPublicKey(), &root, root_key));
  GenerationRow row;
  row.generation = generation;
  row.trust_domain = td;
  row.key_type = options_.ca_key_type;
  row.root_cert = root.der();
  CRYPTA_ASSIGN_OR_RETURN(row.root_key_wrapped,
                          internal::WrapCaKey(root_key_.Reveal(), generation, "root", root_key));
  row.intermediate_cert = intermediate.der();
  CRYPTA_ASSIGN_OR_RETURN(
      row.intermediate_key_wrapped,
      internal::WrapCaKey(root_key_.Reveal(), generation, "intermediate", int_key));
  row.created = now;
  row.bundle_until = root.not_after();
  return internal::InsertGeneration(db, row);
}

Status PlatformCa::RefreshLocked() {
  CRYPTA_ASSIGN_OR_RETURN(uint32_t newest, internal::NewestGeneration(*db_));
  if (!generations_.empty() && generations_.rbegin()->first == newest) {
    // Bundle windows may have been cut by another instance's rotation: cheap to reload.
    CRYPTA_ASSIGN_OR_RETURN(
        store::Statement st,
        db_->Prepare("SELECT generation, bundle_until FROM pki_ca_generations"));
    while (true) {
      CRYPTA_ASSIGN_OR_RETURN(bool has_row, st.Step());
      if (!has_row) break;
      auto it = generations_.find(static_cast<uint32_t>(st.ColumnInt(0)));
      if (it != generations_.end() && it->second->bundle_until != st.ColumnInt(1)) {
        auto copy = std::make_shared<Generation>(*it->second);
        copy->bundle_until = st.ColumnInt(1);
        it->second = std::move(copy);
      }
    }
    return OkStatus();
  }
  CRYPTA_ASSIGN_OR_RETURN(std::vector<GenerationRow> rows, internal::LoadGenerations(*db_));
  std::map<uint32_t, std::shared_ptr<const Generation>> loaded;
  for (const GenerationRow& row : rows) {
    if (row.trust_domain != options_.trust_domain) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "PlatformCa: the database's CA generation " +
                           std::to_string(row.generation) + " is for trust domain \"" +
                           row.trust_domain + "\", not \"" + options_.trust_domain + "\"");
    }
    const std::string what = "CA generation " + std::to_string(row.generation);
    auto root = Certificate::FromDer(row.root_cert);
    auto intermediate = Certificate::FromDer(row.intermediate_cert);
    if (!root || !intermediate) {
      return MakeError(ErrorCode::kDataLoss, what + ": stored certificate does not parse");
    }
    // Both keys are unwrapped so a wrong root key is caught at open, not at first use.
    CRYPTA_ASSIGN_OR_RETURN(PrivateKey root_key,
                            internal::UnwrapCaKey(root_key_.Reveal(), row.generation, "root",
                                                  row.key_type, row.root_key_wrapped));
    CRYPTA_ASSIGN_OR_RETURN(
        PrivateKey int_key,
        internal::UnwrapCaKey(root_key_.Reveal(), row.generation, "intermediate", row.key_type,
                              row.intermediate_key_wrapped));
    CRYPTA_RETURN_IF_ERROR(CheckKeyMatches(*root, root_key, what + " root"));
    CRYPTA_RETURN_IF_ERROR(CheckKeyMatches(*intermediate, int_key, what + " intermediate"));
    loaded[row.generation] = std::make_shared<Generation>(
        Generation{row.generation, *root, *intermediate, int_key, row.created, row.bundle_until});
  }
  if (loaded.empty()) return MakeError(ErrorCode::kDataLoss, "PlatformCa: no CA generation");
  generations_ = std::move(loaded);
  return OkStatus();
}

Result<std::vector<Certificate>> PlatformCa::TrustBundleCertificates() {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_RETURN_IF_ERROR(RefreshLocked());
  const int64_t now = Now();
  std::vector<Certificate> roots;
  for (auto it = generations_.rbegin(); it != generations_.rend(); ++it) {
    const Generation& g = *it->second;
    const bool newest = it == generations_.rbegin();
    if (newest || (now < g.bundle_until && now <= g.root.not_after())) roots.push_back(g.root);
  }
  return roots;
}

Result<std::string> PlatformCa::TrustBundle() {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Certificate> roots, TrustBundleCertificates());
  return CertificatesToPem(roots);
}

Result<CaGeneration> PlatformCa::Current() {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_RETURN_IF_ERROR(RefreshLocked());
  const Generation& g = *generations_.rbegin()->second;
  return CaGeneration{g.generation, g.root, g.intermediate, g.created, g.bundle_until};
}

Result<uint32_t> PlatformCa::RotateRoot(std::optional<int64_t> overlap_s) {
  if (overlap_s && *overlap_s < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "RotateRoot: negative overlap");
  }
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = Now();
  uint32_t next = 0;
  {
    CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
    CRYPTA_ASSIGN_OR_RETURN(uint32_t newest, internal::NewestGeneration(*db_));
    next = newest + 1;
    CRYPTA_RETURN_IF_ERROR(CreateGenerationLocked(*db_, next, now));
    if (overlap_s)
      CRYPTA_RETURN_IF_ERROR(internal::LimitBundleWindow(*db_, next, now + *overlap_s));
    CRYPTA_RETURN_IF_ERROR(tx.Commit());
  }
  generations_.clear();  // force a full reload
  CRYPTA_RETURN_IF_ERROR(RefreshLocked());
  return next;
}

Result<IssuedSvid> PlatformCa::IssueSvid(ByteSpan csr_der_or_pem, std::string_view tenant,
                                         std::string_view workload, std::optional<int64_t> ttl_s) {
  CRYPTA_ASSIGN_OR_RETURN(SpiffeId id, MakeSpiffeId(options_.trust_domain, tenant, workload));
  const int64_t ttl = ttl_s.value_or(options_.svid_ttl_s);
  if (ttl < 60 || ttl > options_.max_svid_ttl_s) {
    return MakeError(ErrorCode::kInvalidArgument, "IssueSvid: ttl_s " + std::to_string(ttl) +
                                                      " outside 60.." +
                                                      std::to_string(options_.max_svid_ttl_s));
  }
  CRYPTA_ASSIGN_OR_RETURN(ParsedCsr csr, ParseCsr(csr_der_or_pem));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_RETURN_IF_ERROR(RefreshLocked());
  std::shared_ptr<const Generation> g = generations_.rbegin()->second;
  const int64_t now = Now();
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  {
    CRYPTA_ASSIGN_OR_RETURN(
        store::Statement st,
        db_->Prepare("SELECT 1 FROM pki_revoked_workloads WHERE tenant = ? AND workload = ?"));
    CRYPTA_RETURN_IF_ERROR(st.Bind(1, tenant));
    CRYPTA_RETURN_IF_ERROR(st.Bind(2, workload));
    CRYPTA_ASSIGN_OR_RETURN(bool revoked, st.Step());
    if (revoked) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "IssueSvid: workload " + id.ToString() + " is revoked");
    }
  }
  CertificateTemplate t;
  t.common_name = std::string(workload);
  t.organization = std::string(tenant);
  t.not_before = now - 60;
  t.not_after = std::min(now + ttl, g->intermediate.not_after());
  if (t.not_after <= now) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "IssueSvid: the intermediate CA has expired; rotate the CA");
  }
  t.is_ca = false;
  t.san_uris = {id.ToString()};
  t.extended_key_usage = {"serverAuth", "clientAuth"};
  CRYPTA_ASSIGN_OR_RETURN(
      Certificate leaf, IssueCertificate(t, csr.public_key, &g->intermediate, g->intermediate_key));
  {
    CRYPTA_ASSIGN_OR_RETURN(
        store::Statement st,
        db_->Prepare("INSERT INTO pki_svids(serial, generation, tenant, workload, spki_sha256, "
                     "issued_at, not_after) VALUES(?,?,?,?,?,?,?)"));
    CRYPTA_RETURN_IF_ERROR(st.Bind(1, leaf.serial_hex()));
    CRYPTA_RETURN_IF_ERROR(st.Bind(2, static_cast<int64_t>(g->generation)));
    CRYPTA_RETURN_IF_ERROR(st.Bind(3, tenant));
    CRYPTA_RETURN_IF_ERROR(st.Bind(4, workload));
    CRYPTA_RETURN_IF_ERROR(st.BindBlob(5, Sha256(csr.spki_der)));
    CRYPTA_RETURN_IF_ERROR(st.Bind(6, now));
    CRYPTA_RETURN_IF_ERROR(st.Bind(7, leaf.not_after()));
    CRYPTA_RETURN_IF_ERROR(st.Run());
  }
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return IssuedSvid{std::move(id), std::move(leaf), {g->intermediate}, g->generation};
}

Result<std::vector<Certificate>> PlatformCa::IssueServerCertificate(
    const PublicKey& key, const std::vector<std::string>& dns, const std::vector<std::string>& ips,
    int64_t ttl_s) {
  if (dns.empty() && ips.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "server certificate: no DNS name or IP");
  }
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_RETURN_IF_ERROR(RefreshLocked());
  std::shared_ptr<const Generation> g = generations_.rbegin()->second;
  const int64_t now = Now();
  CertificateTemplate t;
  t.common_name = "crypta control plane";
  t.organization = options_.trust_domain;
  t.not_before = now - 60;
  t.not_after = std::min(now + ttl_s, g->intermediate.not_after());
  if (t.not_after <= now) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "server certificate: the intermediate CA has expired; rotate the CA");
  }
  t.san_dns = dns;
  t.san_ips = ips;
  t.extended_key_usage = {"serverAuth"};
  CRYPTA_ASSIGN_OR_RETURN(Certificate leaf,
                          IssueCertificate(t, key, &g->intermediate, g->intermediate_key));
  return std::vector<Certificate>{std::move(leaf), g->intermediate};
}

Result<int> PlatformCa::RevokeWorkload(std::string_view tenant, std::string_view workload) {
  CRYPTA_RETURN_IF_ERROR(MakeSpiffeId(options_.trust_domain, tenant, workload));
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = Now();
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CRYPTA_ASSIGN_OR_RETURN(store::Statement mark,
                          db_->Prepare("INSERT INTO pki_revoked_workloads(tenant, workload, "
                                       "revoked_at) VALUES(?,?,?) ON CONFLICT DO NOTHING"));
  CRYPTA_RETURN_IF_ERROR(mark.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(mark.Bind(2, workload));
  CRYPTA_RETURN_IF_ERROR(mark.Bind(3, now));
  CRYPTA_RETURN_IF_ERROR(mark.Run());
  CRYPTA_ASSIGN_OR_RETURN(store::Statement revoke,
                          db_->Prepare("UPDATE pki_svids SET revoked_at = ? WHERE tenant = ? AND "
                                       "workload = ? AND revoked_at IS NULL"));
  CRYPTA_RETURN_IF_ERROR(revoke.Bind(1, now));
  CRYPTA_RETURN_IF_ERROR(revoke.Bind(2, tenant));
  CRYPTA_RETURN_IF_ERROR(revoke.Bind(3, workload));
  CRYPTA_RETURN_IF_ERROR(revoke.Run());
  const int count = revoke.changes();
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return count;
}

Status PlatformCa::AllowWorkload(std::string_view tenant, std::string_view workload) {
  CRYPTA_RETURN_IF_ERROR(MakeSpiffeId(options_.trust_domain, tenant, workload));
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("DELETE FROM pki_revoked_workloads WHERE tenant = ? AND workload = ?"));
  CRYPTA_RETURN_IF_ERROR(st.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(st.Bind(2, workload));
  return st.Run();
}

Result<bool> PlatformCa::IsWorkloadRevoked(std::string_view tenant, std::string_view workload) {
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT 1 FROM pki_revoked_workloads WHERE tenant = ? AND workload = ?"));
  CRYPTA_RETURN_IF_ERROR(st.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(st.Bind(2, workload));
  return st.Step();
}

Result<Bytes> PlatformCa::CrlForLocked(const Generation& g, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT serial, revoked_at FROM pki_svids WHERE generation = ? AND "
                   "revoked_at IS NOT NULL AND not_after > ? ORDER BY serial"));
  CRYPTA_RETURN_IF_ERROR(st.Bind(1, static_cast<int64_t>(g.generation)));
  CRYPTA_RETURN_IF_ERROR(st.Bind(2, now));
  std::vector<internal::RevokedSerial> revoked;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) break;
    revoked.push_back({st.ColumnText(0), st.ColumnInt(1)});
  }
  return internal::BuildCrl(g.intermediate, g.intermediate_key, revoked, now,
                            now + options_.crl_ttl_s);
}

Result<Bytes> PlatformCa::Crl() {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_RETURN_IF_ERROR(RefreshLocked());
  return CrlForLocked(*generations_.rbegin()->second, Now());
}

Result<std::vector<Bytes>> PlatformCa::Crls() {
  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_RETURN_IF_ERROR(RefreshLocked());
  const int64_t now = Now();
  std::vector<Bytes> out;
  for (auto it = generations_.rbegin(); it != generations_.rend(); ++it) {
    const Generation& g = *it->second;
    if (it != generations_.rbegin() && (now >= g.bundle_until || now > g.root.not_after()))
      continue;
    CRYPTA_ASSIGN_OR_RETURN(Bytes crl, CrlForLocked(g, now));
    out.push_back(std::move(crl));
  }
  return out;
}

}  // namespace crypta::pki
