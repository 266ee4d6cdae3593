// The platform CA's SQLite tables and CA key wrapping (declared in pki/ca_store.h).
#include <array>

#include "crypto/aead.h"
#include "crypto/random.h"
#include "pki/ca_store.h"

namespace crypta::pki::internal {
namespace {

constexpr std::string_view kCaKeyLabel = "crypta pki ca key v1";

Result<Bytes> CaKeyAad(uint32_t generation, std::string_view role, KeyType type) {
  std::string_view type_name = KeyTypeName(type);
  if (role.size() > 255 || type_name.size() > 255) {
    return MakeError(ErrorCode::kInvalidArgument, "CA key AAD: field too long");
  }
  Bytes aad(kCaKeyLabel.begin(), kCaKeyLabel.end());
  for (int shift = 24; shift >= 0; shift -= 8)
    aad.push_back(static_cast<uint8_t>(generation >> shift));
  aad.push_back(static_cast<uint8_t>(role.size()));
  aad.insert(aad.end(), role.begin(), role.end());
  aad.push_back(static_cast<uint8_t>(type_name.size()));
  aad.insert(aad.end(), type_name.begin(), type_name.end());
  return aad;
}

Result<KeyType> ParseCaKeyType(std::string_view name) {
  if (name == KeyTypeName(KeyType::kEcP256)) return KeyType::kEcP256;
  if (name == KeyTypeName(KeyType::kEcP384)) return KeyType::kEcP384;
  return MakeError(ErrorCode::kDataLoss, "pki_ca_generations: unknown key type \"" +
                                             std::string(name.substr(0, 40)) + "\"");
}

}  // namespace

Status CreatePkiTables(store::Database& db) {
  return db.Exec(R"sql(
    CREATE TABLE IF NOT EXISTS pki_ca_generations(
      generation INTEGER PRIMARY KEY,
      trust_domain TEXT NOT NULL,
      key_type TEXT NOT NULL,
      root_cert BLOB NOT NULL,
      root_key_wrapped BLOB NOT NULL,
      intermediate_cert BLOB NOT NULL,
      intermediate_key_wrapped BLOB NOT NULL,
      created INTEGER NOT NULL,
      bundle_until INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS pki_svids(
      serial TEXT PRIMARY KEY,
      generation INTEGER NOT NULL REFERENCES pki_ca_generations(generation),
      tenant TEXT NOT NULL,
      workload TEXT NOT NULL,
      spki_sha256 BLOB NOT NULL,
      issued_at INTEGER NOT NULL,
      not_after INTEGER NOT NULL,
      revoked_at INTEGER);
    CREATE INDEX IF NOT EXISTS pki_svids_by_workload ON pki_svids(tenant, workload);
    CREATE INDEX IF NOT EXISTS pki_svids_revoked ON pki_svids(generation, revoked_at);
    CREATE TABLE IF NOT EXISTS pki_revoked_workloads(
      tenant TEXT NOT NULL,
      workload TEXT NOT NULL,
      revoked_at INTEGER NOT NULL,
      PRIMARY KEY(tenant, workload));
  )sql");
}

Result<Bytes> WrapCaKey(ByteSpan root_key, uint32_t generation, std::string_view role,
                        const PrivateKey& key) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes aad, CaKeyAad(generation, role, key.type()));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes scalar, key.RawSecret());
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, root_key));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kAeadNonceSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed, aead.Seal(nonce, aad, scalar.Reveal()));
  nonce.insert(nonce.end(), sealed.begin(), sealed.end());
  return nonce;
}

Result<PrivateKey> UnwrapCaKey(ByteSpan root_key, uint32_t generation, std::string_view role,
                               KeyType type, ByteSpan wrapped) {
  const std::string what =
      std::string(role) + " CA key of generation " + std::to_string(generation);
  const size_t scalar_size = KeyCoordinateSize(type);
  if (wrapped.size() != kAeadNonceSize + scalar_size + kAeadTagSize) {
    return MakeError(ErrorCode::kDataLoss,
                     "wrapped " + what + ": length " + std::to_string(wrapped.size()) +
                         ", expected " +
                         std::to_string(kAeadNonceSize + scalar_size + kAeadTagSize));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes aad, CaKeyAad(generation, role, type));
  SecretBytes scalar(scalar_size);
  auto opened = AeadOpenOnce(AeadAlg::kAes256Gcm, root_key, wrapped.subspan(0, kAeadNonceSize), aad,
                             wrapped.subspan(kAeadNonceSize, scalar_size),
                             wrapped.subspan(kAeadNonceSize + scalar_size), scalar.RevealMutable());
  if (!opened) {
    return MakeError(
        ErrorCode::kDataLoss,
        "wrapped " + what + " does not authenticate (a different root key, or a moved row)");
  }
  auto key = PrivateKey::FromEcScalar(type, scalar.Reveal());
  if (!key) return MakeError(ErrorCode::kDataLoss, what + ": " + key.error().message());
  return key;
}

Status InsertGeneration(store::Database& db, const GenerationRow& row) {
  CRYPTA_ASSIGN_OR_RETURN(store::Statement st,
                          db.Prepare("INSERT INTO pki_ca_generations(generation, trust_domain, "
                                     "key_type, root_cert, root_key_wrapped, intermediate_cert, "
                                     "intermediate_key_wrapped, created, bundle_until) "
                                     "VALUES(?,?,?,?,?,?,?,?,?)"));
  CRYPTA_RETURN_IF_ERROR(st.Bind(1, static_cast<int64_t>(row.generation)));
  CRYPTA_RETURN_IF_ERROR(st.Bind(2, row.trust_domain));
  CRYPTA_RETURN_IF_ERROR(st.Bind(3, KeyTypeName(row.key_type)));
  CRYPTA_RETURN_IF_ERROR(st.BindBlob(4, row.root_cert));
  CRYPTA_RETURN_IF_ERROR(st.BindBlob(5, row.root_key_wrapped));
  CRYPTA_RETURN_IF_ERROR(st.BindBlob(6, row.intermediate_cert));
  CRYPTA_RETURN_IF_ERROR(st.BindBlob(7, row.intermediate_key_wrapped));
  CRYPTA_RETURN_IF_ERROR(st.Bind(8, row.created));
  CRYPTA_RETURN_IF_ERROR(st.Bind(9, row.bundle_until));
  return st.Run();
}

Result<std::vector<GenerationRow>> LoadGenerations(store::Database& db) {
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement st,
      db.Prepare("SELECT generation, trust_domain, key_type, root_cert, root_key_wrapped, "
                 "intermediate_cert, intermediate_key_wrapped, created, bundle_until "
                 "FROM pki_ca_generations ORDER BY generation"));
  std::vector<GenerationRow> rows;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) break;
    GenerationRow row;
    const int64_t generation = st.ColumnInt(0);
    if (generation <= 0 || generation > UINT32_MAX) {
      return MakeError(ErrorCode::kDataLoss, "pki_ca_generations: bad generation number");
    }
    row.generation = static_cast<uint32_t>(generation);
    row.trust_domain = st.ColumnText(1);
    CRYPTA_ASSIGN_OR_RETURN(row.key_type, ParseCaKeyType(st.ColumnText(2)));
    row.root_cert = st.ColumnBlob(3);
    row.root_key_wrapped = st.ColumnBlob(4);
    row.intermediate_cert = st.ColumnBlob(5);
    row.intermediate_key_wrapped = st.ColumnBlob(6);
    row.created = st.ColumnInt(7);
    row.bundle_until = st.ColumnInt(8);
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<uint32_t> NewestGeneration(store::Database& db) {
  CRYPTA_ASSIGN_OR_RETURN(
      store::Statement st,
      db.Prepare("SELECT COALESCE(MAX(generation), 0) FROM pki_ca_generations"));
  CRYPTA_ASSIGN_OR_RETURN(bool has_row, st.Step());
  if (!has_row) return 0u;
  return static_cast<uint32_t>(st.ColumnInt(0));
}

Status LimitBundleWindow(store::Database& db, uint32_t below, int64_t until) {
  CRYPTA_ASSIGN_OR_RETURN(store::Statement st,
                          db.Prepare("UPDATE pki_ca_generations SET bundle_until = ? "
                                     "WHERE generation < ? AND bundle_until > ?"));
  CRYPTA_RETURN_IF_ERROR(st.Bind(1, until));
  CRYPTA_RETURN_IF_ERROR(st.Bind(2, static_cast<int64_t>(below)));
  CRYPTA_RETURN_IF_ERROR(st.Bind(3, until));
  return st.Run();
}

}  // namespace crypta::pki::internal
