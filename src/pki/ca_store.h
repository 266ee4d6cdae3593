// Internal to src/pki: the platform CA's tables, CA key wrapping and CRL building.
// Not thread-safe by itself; PlatformCa serializes its use.
#ifndef CRYPTA_PKI_CA_STORE_H_
#define CRYPTA_PKI_CA_STORE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "store/database.h"

namespace crypta::pki::internal {

// Creates pki_ca_generations, pki_svids and pki_revoked_workloads if missing.
Status CreatePkiTables(store::Database& db);

// AES-256-GCM under the root key; wrapped = nonce(12) | ciphertext | tag(16); the AAD is
//   "crypta pki ca key v1" | u32 generation (big-endian) | u8 len, role | u8 len, key type
// so a wrapped key cannot be moved to another generation or role. The plaintext is the EC
// private scalar (SEC 1 §2.3.6 octet string of the field size).
Result<Bytes> WrapCaKey(ByteSpan root_key, uint32_t generation, std::string_view role,
                        const PrivateKey& key);
// kDataLoss when the wrap does not authenticate (another root key, or a moved row).
Result<PrivateKey> UnwrapCaKey(ByteSpan root_key, uint32_t generation, std::string_view role,
                               KeyType type, ByteSpan wrapped);

struct GenerationRow {
  uint32_t generation = 0;
  std::string trust_domain;
  KeyType key_type = KeyType::kEcP384;
  Bytes root_cert;
  Bytes root_key_wrapped;
  Bytes intermediate_cert;
  Bytes intermediate_key_wrapped;
  int64_t created = 0;
  int64_t bundle_until = 0;
};

Status InsertGeneration(store::Database& db, const GenerationRow& row);
// Ascending by generation.
Result<std::vector<GenerationRow>> LoadGenerations(store::Database& db);
// 0 when there is none.
Result<uint32_t> NewestGeneration(store::Database& db);
// Sets bundle_until = min(bundle_until, until) for generations below `below`.
Status LimitBundleWindow(store::Database& db, uint32_t below, int64_t until);

struct RevokedSerial {
  std::string serial_hex;  // as Certificate::serial_hex()
  int64_t revoked_at = 0;
};

// A v2 CRL (RFC 5280 §5.1) signed by `issuer_key`, with authorityKeyIdentifier (§5.2.1) and
// cRLNumber = this_update (§5.2.3: monotonically increasing while the clock is).
Result<Bytes> BuildCrl(const Certificate& issuer, const PrivateKey& issuer_key,
                       const std::vector<RevokedSerial>& revoked, int64_t this_update,
                       int64_t next_update);

}  // namespace crypta::pki::internal

#endif  // CRYPTA_PKI_CA_STORE_H_
