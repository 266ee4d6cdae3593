#include "crypto/hpke.h"

#include <algorithm>
#include <array>
#include <string>
#include <type_traits>

#include "crypto/hash.h"

namespace crypta {
namespace {

constexpr std::string_view kVersionLabel = "HPKE-v1";  // RFC 9180 §4

std::string Hex4(uint16_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) s.push_back(kDigits[(v >> shift) & 0xF]);
  return s;
}

// RFC 9180 §7.1 table: the DH group, KDF and sizes of each DHKEM.
struct KemParams {
  KeyType key_type;
  HashAlg hash;
  size_t n_secret;
  size_t n_enc;
  size_t n_sk;
  uint8_t bitmask;  // §7.1.3 DeriveKeyPair
};

std::optional<KemParams> GetKem(HpkeKem kem) {
  switch (kem) {
    case HpkeKem::kP256HkdfSha256:
      return KemParams{KeyType::kEcP256, HashAlg::kSha256, 32, 65, 32, 0xFF};
    case HpkeKem::kP521HkdfSha512:
      return KemParams{KeyType::kEcP521, HashAlg::kSha512, 64, 133, 66, 0x01};
    case HpkeKem::kX25519HkdfSha256:
      return KemParams{KeyType::kX25519, HashAlg::kSha256, 32, 32, 32, 0};
  }
  return std::nullopt;
}

Result<KemParams> RequireKem(HpkeKem kem) {
  std::optional<KemParams> p = GetKem(kem);
  if (!p) {
    return MakeError(ErrorCode::kUnimplemented,
                     "HPKE kem_id " + Hex4(static_cast<uint16_t>(kem)) + " is not supported");
  }
  return *p;
}

HashAlg KdfHash(HpkeKdf kdf) {
  switch (kdf) {
    case HpkeKdf::kHkdfSha384:
      return HashAlg::kSha384;
    case HpkeKdf::kHkdfSha512:
      return HashAlg::kSha512;
    default:
      return HashAlg::kSha256;
  }
}

std::optional<AeadAlg> AeadFor(HpkeAead aead) {
  switch (aead) {
    case HpkeAead::kAes128Gcm:
      return AeadAlg::kAes128Gcm;
    case HpkeAead::kAes256Gcm:
      return AeadAlg::kAes256Gcm;
    case HpkeAead::kChaCha20Poly1305:
      return AeadAlg::kChaCha20Poly1305;
    default:
      return std::nullopt;
  }
}

// suite_id for the KEM ("KEM" || kem_id, §4.1) and for the whole suite (§5.1).
using SuiteId = std::array<uint8_t, 10>;
struct SuiteIdView {
  SuiteId bytes{};
  size_t size = 0;
  ByteSpan span() const { return ByteSpan(bytes.data(), size); }
};
SuiteIdView KemSuiteId(HpkeKem kem) {
  auto k = static_cast<uint16_t>(kem);
  return {{'K', 'E', 'M', uint8_t(k >> 8), uint8_t(k)}, 5};
}
SuiteIdView HpkeSuiteId(const HpkeSuite& s) {
  auto k = static_cast<uint16_t>(s.kem), f = static_cast<uint16_t>(s.kdf),
       a = static_cast<uint16_t>(s.aead);
  return {{'H', 'P', 'K', 'E', uint8_t(k >> 8), uint8_t(k), uint8_t(f >> 8), uint8_t(f),
           uint8_t(a >> 8), uint8_t(a)},
          10};
}

SecretBytes ToSecret(Bytes&& b) {
  SecretBytes s(b);
  SecureWipe(b);
  return s;
}

// §4 LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm).
SecretBytes LabeledExtract(HashAlg h, ByteSpan suite_id, ByteSpan salt, std::string_view label,
                           ByteSpan ikm) {
  Bytes labeled_ikm = Concat(AsBytes(kVersionLabel), suite_id, AsBytes(label), ikm);
  SecretBytes prk = ToSecret(HkdfExtract(h, salt, labeled_ikm));
  SecureWipe(labeled_ikm);
  return prk;
}

// §4 LabeledExpand(prk, label, info, L) with labeled_info = I2OSP(L, 2) || "HPKE-v1" ||
// suite_id || label || info.
Result<SecretBytes> LabeledExpand(HashAlg h, ByteSpan suite_id, ByteSpan prk,
                                  std::string_view label, ByteSpan info, size_t length) {
  if (length > 0xFFFF) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE LabeledExpand: length " + std::to_string(length) + " exceeds 65535");
  }
  const uint8_t len_be[2] = {uint8_t(length >> 8), uint8_t(length)};
  Bytes labeled_info = Concat(len_be, AsBytes(kVersionLabel), suite_id, AsBytes(label), info);
  CRYPTA_ASSIGN_OR_RETURN(Bytes out, HkdfExpand(h, prk, labeled_info, length));
  return ToSecret(std::move(out));
}

Status CheckInputSize(ByteSpan b, std::string_view field) {
  if (b.size() > kHpkeMaxInputSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE " + std::string(field) + ": " + std::to_string(b.size()) +
                         " bytes exceeds the " + std::to_string(kHpkeMaxInputSize) + "-byte cap");
  }
  return OkStatus();
}

Status CheckKeyType(const KemParams& p, KeyType got, std::string_view which) {
  if (got != p.key_type) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE " + std::string(which) + ": got a " + std::string(KeyTypeName(got)) +
                         " key, the KEM wants " + std::string(KeyTypeName(p.key_type)));
  }
  return OkStatus();
}

// §4.1 ExtractAndExpand(dh, kem_context).
Result<SecretBytes> ExtractAndExpand(HpkeKem kem, const KemParams& p, ByteSpan dh,
                                     ByteSpan kem_context) {
  SuiteIdView sid = KemSuiteId(kem);
  SecretBytes eae_prk = LabeledExtract(p.hash, sid.span(), {}, "eae_prk", dh);
  return LabeledExpand(p.hash, sid.span(), eae_prk.Reveal(), "shared_secret", kem_context,
                       p.n_secret);
}

// dh (|| dh2) as one secret buffer.
SecretBytes JoinSecrets(const SecretBytes& a, const SecretBytes* b) {
  SecretBytes out(a.size() + (b ? b->size() : 0));
  std::copy(a.Reveal().begin(), a.Reveal().end(), out.RevealMutable().begin());
  if (b) std::copy(b->Reveal().begin(), b->Reveal().end(), out.RevealMutable().begin() + a.size());
  return out;
}

}  // namespace

// ---------------------------------------------------------------- identifiers

bool HpkeIsSupported(HpkeKem kem) { return GetKem(kem).has_value(); }
bool HpkeIsSupported(HpkeKdf kdf) {
  return kdf == HpkeKdf::kHkdfSha256 || kdf == HpkeKdf::kHkdfSha384 || kdf == HpkeKdf::kHkdfSha512;
}
bool HpkeIsSupported(HpkeAead aead) {
  return AeadFor(aead).has_value() || aead == HpkeAead::kExportOnly;
}

Status ValidateHpkeSuite(const HpkeSuite& suite) {
  if (!HpkeIsSupported(suite.kem)) {
    return MakeError(ErrorCode::kUnimplemented,
                     "HPKE kem_id " + Hex4(static_cast<uint16_t>(suite.kem)) + " is not supported");
  }
  if (!HpkeIsSupported(suite.kdf)) {
    return MakeError(ErrorCode::kUnimplemented,
                     "HPKE kdf_id " + Hex4(static_cast<uint16_t>(suite.kdf)) + " is not supported");
  }
  if (!HpkeIsSupported(suite.aead)) {
    return MakeError(
        ErrorCode::kUnimplemented,
        "HPKE aead_id " + Hex4(static_cast<uint16_t>(suite.aead)) + " is not supported");
  }
  return OkStatus();
}

size_t HpkeEncSize(HpkeKem kem) {
  std::optional<KemParams> p = GetKem(kem);
  return p ? p->n_enc : 0;
}
size_t HpkePrivateKeySize(HpkeKem kem) {
  std::optional<KemParams> p = GetKem(kem);
  return p ? p->n_sk : 0;
}
size_t HpkeKdfHashSize(HpkeKdf kdf) { return HpkeIsSupported(kdf) ? HashSize(KdfHash(kdf)) : 0; }
size_t HpkeAeadKeySize(HpkeAead aead) {
  std::optional<AeadAlg> a = AeadFor(aead);
  return a ? AeadKeySize(*a) : 0;
}
size_t HpkeAeadNonceSize(HpkeAead aead) { return AeadFor(aead) ? kAeadNonceSize : 0; }

// ---------------------------------------------------------------- keys

Result<Bytes> SerializeHpkePublicKey(HpkeKem kem, const PublicKey& key) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  CRYPTA_RETURN_IF_ERROR(CheckKeyType(p, key.type(), "public key"));
  return p.key_type == KeyType::kX25519 ? key.Raw() : key.EcPoint();
}

Result<PublicKey> DeserializeHpkePublicKey(HpkeKem kem, ByteSpan encoded) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  if (encoded.size() != p.n_enc) {
    return MakeError(ErrorCode::kInvalidArgument, "HPKE public key (" +
                                                      std::string(KeyTypeName(p.key_type)) +
                                                      "): got " + std::to_string(encoded.size()) +
                                                      " bytes, want " + std::to_string(p.n_enc));
  }
  Result<PublicKey> key = p.key_type == KeyType::kX25519
                              ? PublicKey::FromRaw(p.key_type, encoded)
                              : PublicKey::FromEcPoint(p.key_type, encoded);
  if (!key) return MakeError(key.error().WithContext("HPKE public key"));
  return key;
}

Result<SecretBytes> SerializeHpkePrivateKey(HpkeKem kem, const PrivateKey& key) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  CRYPTA_RETURN_IF_ERROR(CheckKeyType(p, key.type(), "private key"));
  return key.RawSecret();
}

Result<PrivateKey> DeserializeHpkePrivateKey(HpkeKem kem, ByteSpan encoded) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  if (encoded.size() != p.n_sk) {
    return MakeError(ErrorCode::kInvalidArgument, "HPKE private key: got " +
                                                      std::to_string(encoded.size()) +
                                                      " bytes, want " + std::to_string(p.n_sk));
  }
  return p.key_type == KeyType::kX25519 ? PrivateKey::FromRaw(p.key_type, encoded)
                                        : PrivateKey::FromEcScalar(p.key_type, encoded);
}

Result<PrivateKey> GenerateHpkeKeyPair(HpkeKem kem) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  return PrivateKey::Generate(p.key_type);
}

Result<PrivateKey> DeriveHpkeKeyPair(HpkeKem kem, ByteSpan ikm) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  // §7.1.3: ikm SHOULD carry at least Nsk bytes of entropy; shorter ikm is refused.
  if (ikm.size() < p.n_sk || ikm.size() > kHpkeMaxInputSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE DeriveKeyPair: ikm of " + std::to_string(ikm.size()) + " bytes, want " +
                         std::to_string(p.n_sk) + " to " + std::to_string(kHpkeMaxInputSize));
  }
  SuiteIdView sid = KemSuiteId(kem);
  SecretBytes dkp_prk = LabeledExtract(p.hash, sid.span(), {}, "dkp_prk", ikm);
  if (p.key_type == KeyType::kX25519) {
    CRYPTA_ASSIGN_OR_RETURN(SecretBytes sk,
                            LabeledExpand(p.hash, sid.span(), dkp_prk.Reveal(), "sk", {}, p.n_sk));
    return PrivateKey::FromRaw(p.key_type, sk.Reveal());
  }
  // NIST curves: rejection sampling over candidate scalars until one is in [1, n-1].
  for (int counter = 0; counter < 256; ++counter) {
    const uint8_t ctr[1] = {static_cast<uint8_t>(counter)};
    CRYPTA_ASSIGN_OR_RETURN(
        SecretBytes candidate,
        LabeledExpand(p.hash, sid.span(), dkp_prk.Reveal(), "candidate", ctr, p.n_sk));
    candidate.RevealMutable()[0] &= p.bitmask;
    Result<PrivateKey> key = PrivateKey::FromEcScalar(p.key_type, candidate.Reveal());
    if (key) return key;
    // FromEcScalar reports zero or >= order as kInvalidArgument: try the next candidate.
    if (key.error().code() != ErrorCode::kInvalidArgument) return MakeError(key.error());
  }
  return MakeError(ErrorCode::kInternal, "HPKE DeriveKeyPair: no valid candidate in 256 tries");
}

// ---------------------------------------------------------------- DHKEM (§4.1)

Result<HpkeEncapsulation> HpkeEncap(HpkeKem kem, const PublicKey& recipient,
                                    const PrivateKey* sender_key,
                                    const PrivateKey* fixed_ephemeral) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  CRYPTA_RETURN_IF_ERROR(CheckKeyType(p, recipient.type(), "recipient public key"));
  std::optional<PrivateKey> generated;
  if (!fixed_ephemeral) {
    CRYPTA_ASSIGN_OR_RETURN(PrivateKey e, PrivateKey::Generate(p.key_type));
    generated.emplace(std::move(e));
  }
  const PrivateKey& ephemeral = fixed_ephemeral ? *fixed_ephemeral : *generated;
  CRYPTA_RETURN_IF_ERROR(CheckKeyType(p, ephemeral.type(), "ephemeral key"));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dh_e, DeriveSharedSecret(ephemeral, recipient));
  std::optional<SecretBytes> dh_s;
  Bytes pk_sm;
  if (sender_key) {
    CRYPTA_RETURN_IF_ERROR(CheckKeyType(p, sender_key->type(), "sender private key"));
    CRYPTA_ASSIGN_OR_RETURN(SecretBytes s, DeriveSharedSecret(*sender_key, recipient));
    dh_s.emplace(std::move(s));
    CRYPTA_ASSIGN_OR_RETURN(pk_sm, SerializeHpkePublicKey(kem, sender_key->GetPublicKey()));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes enc, SerializeHpkePublicKey(kem, ephemeral.GetPublicKey()));
  CRYPTA_ASSIGN_OR_RETURN(Bytes pk_rm, SerializeHpkePublicKey(kem, recipient));
  SecretBytes dh = JoinSecrets(dh_e, dh_s ? &*dh_s : nullptr);
  Bytes kem_context = Concat(enc, pk_rm, pk_sm);
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes shared, ExtractAndExpand(kem, p, dh.Reveal(), kem_context));
  return HpkeEncapsulation{std::move(shared), std::move(enc)};
}

Result<SecretBytes> HpkeDecap(HpkeKem kem, ByteSpan enc, const PrivateKey& recipient,
                              const PublicKey* sender_public_key, ByteSpan recipient_public_key) {
  CRYPTA_ASSIGN_OR_RETURN(KemParams p, RequireKem(kem));
  CRYPTA_RETURN_IF_ERROR(CheckKeyType(p, recipient.type(), "recipient private key"));
  Result<PublicKey> pk_e = DeserializeHpkePublicKey(kem, enc);
  if (!pk_e) return MakeError(pk_e.error().WithContext("HPKE enc"));
  Result<SecretBytes> dh_e = DeriveSharedSecret(recipient, *pk_e);
  if (!dh_e) return MakeError(dh_e.error().WithContext("HPKE enc"));
  std::optional<SecretBytes> dh_s;
  Bytes pk_sm;
  if (sender_public_key) {
    CRYPTA_RETURN_IF_ERROR(CheckKeyType(p, sender_public_key->type(), "sender public key"));
    CRYPTA_ASSIGN_OR_RETURN(SecretBytes s, DeriveSharedSecret(recipient, *sender_public_key));
    dh_s.emplace(std::move(s));
    CRYPTA_ASSIGN_OR_RETURN(pk_sm, SerializeHpkePublicKey(kem, *sender_public_key));
  }
  Bytes pk_rm_serialized;
  if (recipient_public_key.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(pk_rm_serialized,
                            SerializeHpkePublicKey(kem, recipient.GetPublicKey()));
  }
  const ByteSpan pk_rm =
      recipient_public_key.empty() ? ByteSpan(pk_rm_serialized) : recipient_public_key;
  SecretBytes dh = JoinSecrets(*dh_e, dh_s ? &*dh_s : nullptr);
  Bytes kem_context = Concat(enc, pk_rm, pk_sm);
  return ExtractAndExpand(kem, p, dh.Reveal(), kem_context);
}

// ---------------------------------------------------------------- key schedule (§5.1)

namespace {

// key_schedule_context = mode || psk_id_hash || info_hash (§5.1). It depends only on
// public inputs, and a recipient usually sees the same info for every message (OHTTP's
// info is fixed per key config), so each thread memoizes the last one it computed.
const Bytes& KeyScheduleContext(HashAlg h, const SuiteIdView& sid, HpkeMode mode, ByteSpan psk_id,
                                ByteSpan info) {
  constexpr size_t kMaxMemoizedInput = 1024;
  struct Memo {
    SuiteId suite_id{};
    HpkeMode mode = HpkeMode::kBase;
    Bytes psk_id, info, context;
  };
  thread_local Memo memo;
  auto same = [](const Bytes& a, ByteSpan b) { return std::ranges::equal(a, b); };
  if (!memo.context.empty() && memo.suite_id == sid.bytes && memo.mode == mode &&
      same(memo.psk_id, psk_id) && same(memo.info, info)) {
    return memo.context;
  }
  SecretBytes psk_id_hash = LabeledExtract(h, sid.span(), {}, "psk_id_hash", psk_id);
  SecretBytes info_hash = LabeledExtract(h, sid.span(), {}, "info_hash", info);
  const uint8_t mode_byte[1] = {static_cast<uint8_t>(mode)};
  memo.context = Concat(mode_byte, psk_id_hash.Reveal(), info_hash.Reveal());
  memo.suite_id = sid.bytes;
  memo.mode = mode;
  const bool keep = psk_id.size() <= kMaxMemoizedInput && info.size() <= kMaxMemoizedInput;
  memo.psk_id.assign(psk_id.begin(), keep ? psk_id.end() : psk_id.begin());
  memo.info.assign(info.begin(), keep ? info.end() : info.begin());
  if (!keep) memo.suite_id = {};  // never matches: large inputs are not memoized
  return memo.context;
}

Result<HpkeKeyScheduleOutput> KeyScheduleImpl(const HpkeSuite& suite, HpkeMode mode,
                                              ByteSpan shared_secret, ByteSpan info, ByteSpan psk,
                                              ByteSpan psk_id, bool want_exporter) {
  CRYPTA_RETURN_IF_ERROR(ValidateHpkeSuite(suite));
  CRYPTA_RETURN_IF_ERROR(CheckInputSize(info, "info"));
  CRYPTA_RETURN_IF_ERROR(CheckInputSize(psk, "psk"));
  CRYPTA_RETURN_IF_ERROR(CheckInputSize(psk_id, "psk_id"));
  // §5.1 VerifyPSKInputs.
  const bool got_psk = !psk.empty(), got_psk_id = !psk_id.empty();
  if (got_psk != got_psk_id) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "HPKE: inconsistent PSK inputs (psk and psk_id must both be set or both empty)");
  }
  const bool psk_mode = mode == HpkeMode::kPsk || mode == HpkeMode::kAuthPsk;
  if (got_psk && !psk_mode) {
    return MakeError(ErrorCode::kInvalidArgument, "HPKE: PSK input provided when not needed");
  }
  if (!got_psk && psk_mode) {
    return MakeError(ErrorCode::kInvalidArgument, "HPKE: missing required PSK input");
  }
  if (got_psk && psk.size() < 32) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE psk: " + std::to_string(psk.size()) + " bytes, want at least 32");
  }
  const HashAlg h = KdfHash(suite.kdf);
  SuiteIdView sid = HpkeSuiteId(suite);
  const Bytes& context = KeyScheduleContext(h, sid, mode, psk_id, info);
  SecretBytes secret = LabeledExtract(h, sid.span(), shared_secret, "secret", psk);

  HpkeKeyScheduleOutput out;
  if (suite.aead != HpkeAead::kExportOnly) {
    CRYPTA_ASSIGN_OR_RETURN(out.key, LabeledExpand(h, sid.span(), secret.Reveal(), "key", context,
                                                   HpkeAeadKeySize(suite.aead)));
    CRYPTA_ASSIGN_OR_RETURN(out.base_nonce,
                            LabeledExpand(h, sid.span(), secret.Reveal(), "base_nonce", context,
                                          HpkeAeadNonceSize(suite.aead)));
  }
  if (want_exporter) {
    CRYPTA_ASSIGN_OR_RETURN(out.exporter_secret, LabeledExpand(h, sid.span(), secret.Reveal(),
                                                               "exp", context, HashSize(h)));
  }
  return out;
}

HpkeMode ModeFor(bool psk, bool auth) {
  if (auth) return psk ? HpkeMode::kAuthPsk : HpkeMode::kAuth;
  return psk ? HpkeMode::kPsk : HpkeMode::kBase;
}

}  // namespace

Result<HpkeKeyScheduleOutput> HpkeKeySchedule(const HpkeSuite& suite, HpkeMode mode,
                                              ByteSpan shared_secret, ByteSpan info, ByteSpan psk,
                                              ByteSpan psk_id) {
  return KeyScheduleImpl(suite, mode, shared_secret, info, psk, psk_id, true);
}

// Builds contexts from a key schedule output (the contexts' constructors are private).
class HpkeContextFactory {
 public:
  template <typename Context>
  static Result<Context> Make(const HpkeSuite& suite, HpkeKeyScheduleOutput ks) {
    // A sender only seals and a recipient only opens (§5.2): one keyed context each.
    constexpr AeadDirection kDirection = std::is_same_v<Context, HpkeSenderContext>
                                             ? AeadDirection::kSealOnly
                                             : AeadDirection::kOpenOnly;
    std::optional<Aead> aead;
    if (std::optional<AeadAlg> alg = AeadFor(suite.aead)) {
      CRYPTA_ASSIGN_OR_RETURN(Aead a, Aead::Create(*alg, ks.key.Reveal(), kDirection));
      aead.emplace(std::move(a));
    }
    return Context(suite, std::move(aead), std::move(ks.base_nonce), std::move(ks.exporter_secret));
  }

  static Result<HpkeSenderSetup> Sender(const HpkeSuite& suite, const PublicKey& recipient,
                                        ByteSpan info, const HpkeSenderOptions& o, HpkeMode mode) {
    CRYPTA_RETURN_IF_ERROR(ValidateHpkeSuite(suite));
    CRYPTA_ASSIGN_OR_RETURN(HpkeEncapsulation encap,
                            HpkeEncap(suite.kem, recipient, o.auth_key, o.ephemeral_key));
    CRYPTA_ASSIGN_OR_RETURN(
        HpkeKeyScheduleOutput ks,
        KeyScheduleImpl(suite, mode, encap.shared_secret.Reveal(), info, o.psk, o.psk_id, true));
    CRYPTA_ASSIGN_OR_RETURN(HpkeSenderContext ctx, Make<HpkeSenderContext>(suite, std::move(ks)));
    return HpkeSenderSetup{std::move(encap.enc), std::move(ctx)};
  }

  static Result<HpkeRecipientContext> Recipient(const HpkeSuite& suite, ByteSpan enc,
                                                const PrivateKey& recipient, ByteSpan info,
                                                const HpkeRecipientOptions& o, HpkeMode mode,
                                                bool want_exporter) {
    CRYPTA_RETURN_IF_ERROR(ValidateHpkeSuite(suite));
    CRYPTA_ASSIGN_OR_RETURN(
        SecretBytes shared,
        HpkeDecap(suite.kem, enc, recipient, o.auth_public_key, o.recipient_public_key));
    CRYPTA_ASSIGN_OR_RETURN(
        HpkeKeyScheduleOutput ks,
        KeyScheduleImpl(suite, mode, shared.Reveal(), info, o.psk, o.psk_id, want_exporter));
    return Make<HpkeRecipientContext>(suite, std::move(ks));
  }
};

// ---------------------------------------------------------------- contexts

HpkeContext::HpkeContext(const HpkeSuite& suite, std::optional<Aead> aead, SecretBytes base_nonce,
                         SecretBytes exporter_secret)
    : suite_(suite),
      aead_(std::move(aead)),
      base_nonce_(std::move(base_nonce)),
      exporter_secret_(std::move(exporter_secret)) {}

Result<SecretBytes> HpkeContext::Export(ByteSpan exporter_context, size_t length) const {
  CRYPTA_RETURN_IF_ERROR(CheckInputSize(exporter_context, "exporter_context"));
  if (exporter_secret_.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "HPKE Export: context has no exporter");
  }
  const HashAlg h = KdfHash(suite_.kdf);
  if (length > 255 * HashSize(h)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE Export: length " + std::to_string(length) + " exceeds 255*Nh");
  }
  SuiteIdView sid = HpkeSuiteId(suite_);
  return LabeledExpand(h, sid.span(), exporter_secret_.Reveal(), "sec", exporter_context, length);
}

Status HpkeContext::CheckCanEncrypt() const {
  if (!aead_) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "HPKE: export-only context cannot seal or open");
  }
  // §5.2: fail before the nonce would repeat. A 64-bit counter stops at its maximum.
  if (seq_ == UINT64_MAX) {
    return MakeError(ErrorCode::kResourceExhausted, "HPKE: message limit reached");
  }
  return OkStatus();
}

void HpkeContext::ComputeNonce(uint8_t nonce[kAeadNonceSize]) const {
  // §5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn).
  ByteSpan base = base_nonce_.Reveal();
  for (size_t i = 0; i < kAeadNonceSize; ++i) nonce[i] = base[i];
  for (int i = 0; i < 8; ++i)
    nonce[kAeadNonceSize - 1 - i] ^= static_cast<uint8_t>(seq_ >> (8 * i));
}

Result<Bytes> HpkeSenderContext::Seal(ByteSpan aad, ByteSpan plaintext) {
  CRYPTA_RETURN_IF_ERROR(CheckCanEncrypt());
  uint8_t nonce[kAeadNonceSize];
  ComputeNonce(nonce);
  CRYPTA_ASSIGN_OR_RETURN(Bytes ct, aead_->Seal(ByteSpan(nonce, kAeadNonceSize), aad, plaintext));
  ++seq_;
  return ct;
}

Result<Bytes> HpkeRecipientContext::Open(ByteSpan aad, ByteSpan ciphertext) {
  CRYPTA_RETURN_IF_ERROR(CheckCanEncrypt());
  if (ciphertext.size() < kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE ciphertext: " + std::to_string(ciphertext.size()) +
                         " bytes is shorter than the 16-byte tag");
  }
  uint8_t nonce[kAeadNonceSize];
  ComputeNonce(nonce);
  CRYPTA_ASSIGN_OR_RETURN(Bytes pt, aead_->Open(ByteSpan(nonce, kAeadNonceSize), aad, ciphertext));
  ++seq_;
  return pt;
}

Status HpkeSenderContext::SealInPlace(ByteSpan aad, MutableByteSpan plaintext,
                                      MutableByteSpan tag) {
  return SealInto(aad, plaintext, plaintext, tag);
}

Status HpkeSenderContext::SealInto(ByteSpan aad, ByteSpan plaintext, MutableByteSpan ciphertext,
                                   MutableByteSpan tag) {
  CRYPTA_RETURN_IF_ERROR(CheckCanEncrypt());
  uint8_t nonce[kAeadNonceSize];
  ComputeNonce(nonce);
  CRYPTA_RETURN_IF_ERROR(
      aead_->SealInPlace(ByteSpan(nonce, kAeadNonceSize), aad, plaintext, ciphertext, tag));
  ++seq_;
  return OkStatus();
}

Result<MutableByteSpan> HpkeRecipientContext::OpenInPlace(ByteSpan aad,
                                                          MutableByteSpan ciphertext) {
  return OpenInto(aad, ciphertext, ciphertext);
}

Result<MutableByteSpan> HpkeRecipientContext::OpenInto(ByteSpan aad, ByteSpan ciphertext,
                                                       MutableByteSpan out) {
  CRYPTA_RETURN_IF_ERROR(CheckCanEncrypt());
  if (ciphertext.size() < kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "HPKE ciphertext: " + std::to_string(ciphertext.size()) +
                         " bytes is shorter than the 16-byte tag");
  }
  const size_t n = ciphertext.size() - kAeadTagSize;
  if (out.size() < n) {
    return MakeError(ErrorCode::kInvalidArgument, "HPKE open: the output holds " +
                                                      std::to_string(out.size()) + " of " +
                                                      std::to_string(n) + " plaintext bytes");
  }
  uint8_t nonce[kAeadNonceSize];
  ComputeNonce(nonce);
  MutableByteSpan plaintext = out.first(n);
  CRYPTA_RETURN_IF_ERROR(aead_->OpenInPlace(ByteSpan(nonce, kAeadNonceSize), aad,
                                            ciphertext.first(n), ciphertext.subspan(n), plaintext));
  ++seq_;
  return plaintext;
}

// ---------------------------------------------------------------- setup

Result<HpkeSenderSetup> SetupHpkeSender(const HpkeSuite& suite, const PublicKey& recipient,
                                        ByteSpan info, const HpkeSenderOptions& options) {
  HpkeMode mode = ModeFor(!options.psk.empty() || !options.psk_id.empty(), options.auth_key);
  return HpkeContextFactory::Sender(suite, recipient, info, options, mode);
}

Result<HpkeRecipientContext> SetupHpkeRecipient(const HpkeSuite& suite, ByteSpan enc,
                                                const PrivateKey& recipient, ByteSpan info,
                                                const HpkeRecipientOptions& options) {
  HpkeMode mode = ModeFor(!options.psk.empty() || !options.psk_id.empty(), options.auth_public_key);
  return HpkeContextFactory::Recipient(suite, enc, recipient, info, options, mode, true);
}

Result<HpkeSenderSetup> SetupBaseS(const HpkeSuite& suite, const PublicKey& recipient,
                                   ByteSpan info) {
  return HpkeContextFactory::Sender(suite, recipient, info, {}, HpkeMode::kBase);
}

Result<HpkeRecipientContext> SetupBaseR(const HpkeSuite& suite, ByteSpan enc,
                                        const PrivateKey& recipient, ByteSpan info) {
  return HpkeContextFactory::Recipient(suite, enc, recipient, info, {}, HpkeMode::kBase, true);
}

Result<HpkeSenderSetup> SetupPSKS(const HpkeSuite& suite, const PublicKey& recipient, ByteSpan info,
                                  ByteSpan psk, ByteSpan psk_id) {
  HpkeSenderOptions o;
  o.psk = psk;
  o.psk_id = psk_id;
  return HpkeContextFactory::Sender(suite, recipient, info, o, HpkeMode::kPsk);
}

Result<HpkeRecipientContext> SetupPSKR(const HpkeSuite& suite, ByteSpan enc,
                                       const PrivateKey& recipient, ByteSpan info, ByteSpan psk,
                                       ByteSpan psk_id) {
  HpkeRecipientOptions o;
  o.psk = psk;
  o.psk_id = psk_id;
  return HpkeContextFactory::Recipient(suite, enc, recipient, info, o, HpkeMode::kPsk, true);
}

Result<HpkeSealed> HpkeSeal(const HpkeSuite& suite, const PublicKey& recipient, ByteSpan info,
                            ByteSpan aad, ByteSpan plaintext, const HpkeSenderOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(HpkeSenderSetup setup, SetupHpkeSender(suite, recipient, info, options));
  CRYPTA_ASSIGN_OR_RETURN(Bytes ct, setup.context.Seal(aad, plaintext));
  return HpkeSealed{std::move(setup.enc), std::move(ct)};
}

Result<Bytes> HpkeOpen(const HpkeSuite& suite, ByteSpan enc, const PrivateKey& recipient,
                       ByteSpan info, ByteSpan aad, ByteSpan ciphertext,
                       const HpkeRecipientOptions& options) {
  HpkeMode mode = ModeFor(!options.psk.empty() || !options.psk_id.empty(), options.auth_public_key);
  // A single-shot open never exports, so the exporter secret is not derived.
  CRYPTA_ASSIGN_OR_RETURN(HpkeRecipientContext ctx,
                          HpkeContextFactory::Recipient(suite, enc, recipient, info, options, mode,
                                                        /*want_exporter=*/false));
  return ctx.Open(aad, ciphertext);
}

}  // namespace crypta
