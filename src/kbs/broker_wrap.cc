// The broker's two wrap formats and name validation (declared in kbs/broker.h).
//
// Both are AES-256-GCM (NIST SP 800-38D) with a fresh random 96-bit nonce per wrap; the
// wrapped form is nonce(12) | ciphertext | tag(16). The AAD is a domain label followed by
// length-prefixed fields, so a KEK wrap can never be mistaken for a DEK wrap (or for
// crypta::WrapDataKey's format) and no field boundary is ambiguous:
//   KEK: "crypta kbs kek v1" | u8 len, tenant | u8 len, key name | u32 version
//   DEK: "crypta kbs dek v1" | u8 len, tenant | u8 len, key name | u32 version
//        | u16 len, object id
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "crypto/aead.h"
#include "crypto/random.h"
#include "kbs/broker.h"

namespace crypta::kbs {
namespace {

constexpr std::string_view kKekLabel = "crypta kbs kek v1";
constexpr std::string_view kDekLabel = "crypta kbs dek v1";

// The AAD, built on the stack (releases are hot): names are at most 63 bytes and object ids
// 256 once validated, so 512 bytes always suffice; longer inputs are refused.
class Aad {
 public:
  Status Build(std::string_view label, const KeyReference& ref,
               std::optional<std::string_view> object_id) {
    Aad& aad = *this;
    size_ = 0;
    if (ref.tenant.size() > 255 || ref.key_name.size() > 255 ||
        (object_id && object_id->size() > 256)) {
      return MakeError(ErrorCode::kInvalidArgument, "key reference or object id too long");
    }
    aad.Put(AsBytes(label));
    aad.PutPrefixed(1, AsBytes(ref.tenant));
    aad.PutPrefixed(1, AsBytes(ref.key_name));
    const uint8_t version[4] = {
        static_cast<uint8_t>(ref.kek_version >> 24), static_cast<uint8_t>(ref.kek_version >> 16),
        static_cast<uint8_t>(ref.kek_version >> 8), static_cast<uint8_t>(ref.kek_version)};
    aad.Put(version);
    if (object_id) aad.PutPrefixed(2, AsBytes(*object_id));
    return OkStatus();
  }
  ByteSpan span() const { return ByteSpan(bytes_.data(), size_); }

 private:
  void Put(ByteSpan b) {
    std::copy(b.begin(), b.end(), bytes_.begin() + size_);
    size_ += b.size();
  }
  void PutPrefixed(size_t prefix, ByteSpan b) {
    if (prefix == 2) bytes_[size_++] = static_cast<uint8_t>(b.size() >> 8);
    bytes_[size_++] = static_cast<uint8_t>(b.size());
    Put(b);
  }
  std::array<uint8_t, 512> bytes_;
  size_t size_ = 0;
};

Result<Bytes> Wrap(ByteSpan key, ByteSpan aad, const SecretBytes& secret) {
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, key));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kAeadNonceSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed, aead.Seal(nonce, aad, secret.Reveal()));
  nonce.insert(nonce.end(), sealed.begin(), sealed.end());
  return nonce;
}

// `what` names the wrapped key in errors; it is only called on failure (releases are hot).
template <typename What>
Result<SecretBytes> Unwrap(ByteSpan key, ByteSpan aad, ByteSpan wrapped, size_t secret_size,
                           What what) {
  if (wrapped.size() != kAeadNonceSize + secret_size + kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what() + ": wrapped length " + std::to_string(wrapped.size()) + ", expected " +
                         std::to_string(kAeadNonceSize + secret_size + kAeadTagSize));
  }
  SecretBytes out(secret_size);
  ByteSpan nonce = wrapped.subspan(0, kAeadNonceSize);
  ByteSpan ct = wrapped.subspan(kAeadNonceSize, secret_size);
  ByteSpan tag = wrapped.subspan(kAeadNonceSize + secret_size);
  auto opened = AeadOpenOnce(AeadAlg::kAes256Gcm, key, nonce, aad, ct, tag, out.RevealMutable());
  if (!opened) {
    if (opened.error().code() != ErrorCode::kUnauthenticated) return MakeError(opened.error());
    return MakeError(ErrorCode::kUnauthenticated,
                     what() +
                         " does not authenticate (wrong key, or bound to another tenant, "
                         "key name, version or object)");
  }
  return out;
}

}  // namespace

Result<Bytes> WrapKek(ByteSpan root_key, const KeyReference& ref, const SecretBytes& kek) {
  if (kek.size() != kKekSize) return MakeError(ErrorCode::kInvalidArgument, "KEK must be 32 bytes");
  Aad aad;
  CRYPTA_RETURN_IF_ERROR(aad.Build(kKekLabel, ref, std::nullopt));
  return Wrap(root_key, aad.span(), kek);
}

Result<SecretBytes> UnwrapKek(ByteSpan root_key, const KeyReference& ref, ByteSpan wrapped) {
  Aad aad;
  CRYPTA_RETURN_IF_ERROR(aad.Build(kKekLabel, ref, std::nullopt));
  return Unwrap(root_key, aad.span(), wrapped, kKekSize, [&ref] {
    return "wrapped KEK " + ref.tenant + "/" + ref.key_name + " v" +
           std::to_string(ref.kek_version);
  });
}

Result<Bytes> WrapDekUnderKek(ByteSpan kek, const KeyReference& ref, std::string_view object_id,
                              const SecretBytes& dek) {
  if (dek.size() != kDataKeySize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "DEK must be " + std::to_string(kDataKeySize) + " bytes");
  }
  Aad aad;
  CRYPTA_RETURN_IF_ERROR(aad.Build(kDekLabel, ref, object_id));
  return Wrap(kek, aad.span(), dek);
}

Result<SecretBytes> UnwrapDekUnderKek(ByteSpan kek, const KeyReference& ref,
                                      std::string_view object_id, ByteSpan wrapped) {
  Aad aad;
  CRYPTA_RETURN_IF_ERROR(aad.Build(kDekLabel, ref, object_id));
  return Unwrap(kek, aad.span(), wrapped, kDataKeySize,
                [object_id] { return "wrapped DEK of " + std::string(object_id.substr(0, 80)); });
}

}  // namespace crypta::kbs
