// HPKE: Hybrid Public Key Encryption (RFC 9180), built on crypta's HKDF, AEAD and keys.
//
// Supported (RFC 9180 §7): KEMs DHKEM(P-256, HKDF-SHA256) 0x0010, DHKEM(P-521,
// HKDF-SHA512) 0x0012 and DHKEM(X25519, HKDF-SHA256) 0x0020; KDFs HKDF-SHA256 0x0001,
// HKDF-SHA384 0x0002, HKDF-SHA512 0x0003; AEADs AES-128-GCM 0x0001, AES-256-GCM 0x0002,
// ChaCha20-Poly1305 0x0003 and export-only 0xFFFF. All four modes (base, psk, auth,
// auth_psk, §5.1) and secret export (§5.3).
//
// Failures: unsupported identifiers → kUnimplemented; malformed keys, encapsulations,
// PSK inputs or oversized inputs → kInvalidArgument; a ciphertext that does not
// authenticate → kUnauthenticated; the sequence number exhausted → kResourceExhausted;
// Seal/Open on an export-only context → kFailedPrecondition.
//
// Thread-safety: free functions are thread-safe. A context is NOT thread-safe (it owns a
// keyed AEAD and a sequence number); use one per thread or lock around it.
#ifndef CRYPTA_CRYPTO_HPKE_H_
#define CRYPTA_CRYPTO_HPKE_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/aead.h"
#include "crypto/keys.h"

namespace crypta {

// Identifiers from RFC 9180 §7 (IANA "HPKE" registries). The enums have fixed
// underlying types, so a value parsed off the wire that names no enumerator is
// representable; HpkeIsSupported() tells whether crypta implements it.
enum class HpkeKem : uint16_t {
  kP256HkdfSha256 = 0x0010,
  kP521HkdfSha512 = 0x0012,
  kX25519HkdfSha256 = 0x0020,
};
enum class HpkeKdf : uint16_t { kHkdfSha256 = 0x0001, kHkdfSha384 = 0x0002, kHkdfSha512 = 0x0003 };
enum class HpkeAead : uint16_t {
  kAes128Gcm = 0x0001,
  kAes256Gcm = 0x0002,
  kChaCha20Poly1305 = 0x0003,
  kExportOnly = 0xFFFF,
};
enum class HpkeMode : uint8_t { kBase = 0, kPsk = 1, kAuth = 2, kAuthPsk = 3 };

struct HpkeSuite {
  HpkeKem kem;
  HpkeKdf kdf;
  HpkeAead aead;
};

bool HpkeIsSupported(HpkeKem kem);
bool HpkeIsSupported(HpkeKdf kdf);
bool HpkeIsSupported(HpkeAead aead);
// OK iff every component is supported; otherwise kUnimplemented naming the identifier.
Status ValidateHpkeSuite(const HpkeSuite& suite);

// Sizes from RFC 9180 §7 tables; 0 for unsupported identifiers.
size_t HpkeEncSize(HpkeKem kem);          // Nenc (= Npk for the DHKEMs)
size_t HpkePrivateKeySize(HpkeKem kem);   // Nsk
size_t HpkeKdfHashSize(HpkeKdf kdf);      // Nh
size_t HpkeAeadKeySize(HpkeAead aead);    // Nk (0 for export-only)
size_t HpkeAeadNonceSize(HpkeAead aead);  // Nn (0 for export-only)

// Caps applied to info, psk, psk_id and exporter_context (RFC 9180 §7.2.1 lets
// implementations bound these lengths).
inline constexpr size_t kHpkeMaxInputSize = 64 * 1024;

// ---------------------------------------------------------------- keys (§7.1)

// §7.1.1 SerializePublicKey / DeserializePublicKey: SEC 1 uncompressed points for the
// NIST curves, the raw 32 bytes for X25519. Deserialize validates the length and (EC)
// that the point is on the curve; it fails with kInvalidArgument otherwise.
Result<Bytes> SerializeHpkePublicKey(HpkeKem kem, const PublicKey& key);
Result<PublicKey> DeserializeHpkePublicKey(HpkeKem kem, ByteSpan encoded);
// §7.1.2: the big-endian scalar (NIST curves) or the raw 32 bytes (X25519).
Result<SecretBytes> SerializeHpkePrivateKey(HpkeKem kem, const PrivateKey& key);
Result<PrivateKey> DeserializeHpkePrivateKey(HpkeKem kem, ByteSpan encoded);

// A fresh random key pair for the KEM.
Result<PrivateKey> GenerateHpkeKeyPair(HpkeKem kem);
// §7.1.3 DeriveKeyPair: deterministic key pair from `ikm` (at least Nsk bytes).
Result<PrivateKey> DeriveHpkeKeyPair(HpkeKem kem, ByteSpan ikm);

// ---------------------------------------------------------------- building blocks

// DHKEM (§4.1) Encap / AuthEncap. `sender_key` selects AuthEncap. `fixed_ephemeral`
// replaces the random ephemeral key: for known-answer tests only, since reusing an
// ephemeral key across messages breaks HPKE's security.
struct HpkeEncapsulation {
  SecretBytes shared_secret;
  Bytes enc;
};
Result<HpkeEncapsulation> HpkeEncap(HpkeKem kem, const PublicKey& recipient,
                                    const PrivateKey* sender_key = nullptr,
                                    const PrivateKey* fixed_ephemeral = nullptr);
// DHKEM Decap / AuthDecap (`sender_public_key` selects AuthDecap). `recipient_public_key`,
// when non-empty, is SerializePublicKey(pkR) cached by the caller (a gateway holds its own
// key config): it goes into kem_context instead of serializing the key on every call. It
// must be the recipient key's own: any other value (wrong length included) only yields a
// shared secret the sender does not have, so every Open then fails.
Result<SecretBytes> HpkeDecap(HpkeKem kem, ByteSpan enc, const PrivateKey& recipient,
                              const PublicKey* sender_public_key = nullptr,
                              ByteSpan recipient_public_key = {});

// §5.1 KeySchedule, including VerifyPSKInputs: psk and psk_id must both be present
// (modes psk, auth_psk) or both empty (base, auth); PSKs shorter than 32 bytes are
// rejected (§5.1.2 asks for 32 bytes of entropy). key/base_nonce are empty for
// export-only suites.
struct HpkeKeyScheduleOutput {
  SecretBytes key;
  SecretBytes base_nonce;
  SecretBytes exporter_secret;
};
Result<HpkeKeyScheduleOutput> HpkeKeySchedule(const HpkeSuite& suite, HpkeMode mode,
                                              ByteSpan shared_secret, ByteSpan info, ByteSpan psk,
                                              ByteSpan psk_id);

// ---------------------------------------------------------------- contexts (§5.2, §5.3)

// State shared by both roles: the keyed AEAD (keyed once, at setup, in the one direction
// the role uses: a sender only seals, a recipient only opens), base nonce,
// exporter secret (wiped on destruction) and the sequence number. Movable, not copyable.
class HpkeContext {
 public:
  HpkeContext(HpkeContext&&) noexcept = default;
  HpkeContext& operator=(HpkeContext&&) noexcept = default;

  const HpkeSuite& suite() const { return suite_; }
  uint64_t sequence_number() const { return seq_; }

  // §5.3 Export: LabeledExpand(exporter_secret, "sec", exporter_context, length).
  // Fails when length > 255 * Nh or exporter_context exceeds kHpkeMaxInputSize.
  Result<SecretBytes> Export(ByteSpan exporter_context, size_t length) const;

  // Sets the sequence number, to replay the known-answer vectors or test overflow. A
  // sender that moves its sequence number backwards reuses nonces: tests only.
  void SetSequenceNumberForTesting(uint64_t seq) { seq_ = seq; }

 protected:
  HpkeContext(const HpkeSuite& suite, std::optional<Aead> aead, SecretBytes base_nonce,
              SecretBytes exporter_secret);
  // §5.2 ComputeNonce for the current sequence number; fails at the limit (the 64-bit
  // counter's maximum, far below the RFC's 2^96 - 1 for Nn = 12).
  Status CheckCanEncrypt() const;
  void ComputeNonce(uint8_t nonce[kAeadNonceSize]) const;

  HpkeSuite suite_;
  std::optional<Aead> aead_;
  SecretBytes base_nonce_;
  SecretBytes exporter_secret_;
  uint64_t seq_ = 0;
};

class HpkeSenderContext : public HpkeContext {
 public:
  // §5.2 ContextS.Seal: ciphertext || tag under the next nonce, then seq += 1.
  Result<Bytes> Seal(ByteSpan aad, ByteSpan plaintext);
  // The same in place: `plaintext` becomes the ciphertext and `tag` (16 bytes) gets the tag.
  Status SealInPlace(ByteSpan aad, MutableByteSpan plaintext, MutableByteSpan tag);
  // The same into `ciphertext` (plaintext.size() bytes; may be `plaintext` itself).
  Status SealInto(ByteSpan aad, ByteSpan plaintext, MutableByteSpan ciphertext,
                  MutableByteSpan tag);

 private:
  friend class HpkeContextFactory;
  using HpkeContext::HpkeContext;
};

class HpkeRecipientContext : public HpkeContext {
 public:
  // §5.2 ContextR.Open: kUnauthenticated (seq unchanged) when the tag does not verify.
  Result<Bytes> Open(ByteSpan aad, ByteSpan ciphertext);
  // The same in place: `ciphertext` is ct || tag; on success its first size() - 16 bytes
  // hold the plaintext (returned); on failure they are zeroed.
  Result<MutableByteSpan> OpenInPlace(ByteSpan aad, MutableByteSpan ciphertext);
  // The same into `out` (at least size() - 16 bytes; may be `ciphertext` itself): returns
  // the plaintext, its first size() - 16 bytes; on failure they are zeroed.
  Result<MutableByteSpan> OpenInto(ByteSpan aad, ByteSpan ciphertext, MutableByteSpan out);

 private:
  friend class HpkeContextFactory;
  using HpkeContext::HpkeContext;
};

// ---------------------------------------------------------------- setup (§5.1)

// Mode inputs. Empty psk and psk_id select a mode without PSK; a set auth key selects
// an auth mode. `ephemeral_key` fixes the sender's ephemeral key (tests only).
struct HpkeSenderOptions {
  ByteSpan psk;
  ByteSpan psk_id;
  const PrivateKey* auth_key = nullptr;       // skS (auth, auth_psk)
  const PrivateKey* ephemeral_key = nullptr;  // skE override: known-answer tests only
};
struct HpkeRecipientOptions {
  ByteSpan psk;
  ByteSpan psk_id;
  const PublicKey* auth_public_key = nullptr;  // pkS (auth, auth_psk)
  ByteSpan recipient_public_key;  // cached SerializePublicKey(pkR), as in HpkeDecap; optional
};

struct HpkeSenderSetup {
  Bytes enc;
  HpkeSenderContext context;
};

// The general forms: the mode follows from the options.
Result<HpkeSenderSetup> SetupHpkeSender(const HpkeSuite& suite, const PublicKey& recipient,
                                        ByteSpan info, const HpkeSenderOptions& options = {});
Result<HpkeRecipientContext> SetupHpkeRecipient(const HpkeSuite& suite, ByteSpan enc,
                                                const PrivateKey& recipient, ByteSpan info,
                                                const HpkeRecipientOptions& options = {});

// The RFC's named forms (§5.1.1, §5.1.2). The PSK forms require both psk and psk_id.
Result<HpkeSenderSetup> SetupBaseS(const HpkeSuite& suite, const PublicKey& recipient,
                                   ByteSpan info);
Result<HpkeRecipientContext> SetupBaseR(const HpkeSuite& suite, ByteSpan enc,
                                        const PrivateKey& recipient, ByteSpan info);
Result<HpkeSenderSetup> SetupPSKS(const HpkeSuite& suite, const PublicKey& recipient, ByteSpan info,
                                  ByteSpan psk, ByteSpan psk_id);
Result<HpkeRecipientContext> SetupPSKR(const HpkeSuite& suite, ByteSpan enc,
                                       const PrivateKey& recipient, ByteSpan info, ByteSpan psk,
                                       ByteSpan psk_id);

// §6.1 single-shot encryption: setup then one Seal/Open at sequence number 0.
struct HpkeSealed {
  Bytes enc;
  Bytes ciphertext;
};
Result<HpkeSealed> HpkeSeal(const HpkeSuite& suite, const PublicKey& recipient, ByteSpan info,
                            ByteSpan aad, ByteSpan plaintext,
                            const HpkeSenderOptions& options = {});
Result<Bytes> HpkeOpen(const HpkeSuite& suite, ByteSpan enc, const PrivateKey& recipient,
                       ByteSpan info, ByteSpan aad, ByteSpan ciphertext,
                       const HpkeRecipientOptions& options = {});

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_HPKE_H_
