// The broker's two wrap formats and name validation (declared in kbs/broker.h).
//
// Both are AES-256-GCM (NIST SP 800-38D) with a fresh random 96-bit nonce per wrap; the
// wrapped form is nonce(12) | ciphertext | tag(16). The AAD is a domain label followed by
// length-prefixed fields, so a KEK wrap can never be mistaken for a DEK wrap (or for
// crypta::WrapDataKey's format) and no field boundary is ambiguous:
//   KEK: "crypta kbs kek v1" | u8 len, tenant | u8 len, key name | u32 version
//   DEK: "crypta kbs dek v1" | u8 len, tenant | u8 len, key name | u32 version
//        | u16 len, object id
#include <string>

#include "common/byte_writer.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "kbs/broker.h"

namespace crypta::kbs {
namespace {

constexpr std::string_view kKekLabel = "crypta kbs kek v1";
constexpr std::string_view kDekLabel = "crypta kbs dek v1";

Result<Bytes> BuildAad(std::string_view label, const KeyReference& ref,
                       std::optional<std::string_view> object_id) {
  ByteWriter w;
  w.WriteString(label);
  CRYPTA_RETURN_IF_ERROR(w.WriteLengthPrefixed(1, AsBytes(ref.tenant)));
  CRYPTA_RETURN_IF_ERROR(w.WriteLengthPrefixed(1, AsBytes(ref.key_name)));
  w.WriteU32BE(ref.kek_version);
  if (object_id) CRYPTA_RETURN_IF_ERROR(w.WriteLengthPrefixed(2, AsBytes(*object_id)));
  return w.Take();
}

Result<Bytes> Wrap(ByteSpan key, ByteSpan aad, const SecretBytes& secret) {
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, key));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kAeadNonceSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed, aead.Seal(nonce, aad, secret.Reveal()));
  nonce.insert(nonce.end(), sealed.begin(), sealed.end());
  return nonce;
}

Result<SecretBytes> Unwrap(ByteSpan key, ByteSpan aad, ByteSpan wrapped, size_t secret_size,
                           std::string_view what) {
  if (wrapped.size() != kAeadNonceSize + secret_size + kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + ": wrapped length " + std::to_string(wrapped.size()) +
                         ", expected " +
                         std::to_string(kAeadNonceSize + secret_size + kAeadTagSize));
  }
  CRYPTA_ASSIGN_OR_RETURN(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, key));
  SecretBytes out(secret_size);
  ByteSpan nonce = wrapped.subspan(0, kAeadNonceSize);
  ByteSpan ct = wrapped.subspan(kAeadNonceSize, secret_size);
  ByteSpan tag = wrapped.subspan(kAeadNonceSize + secret_size);
  auto opened = aead.OpenInPlace(nonce, aad, ct, tag, out.RevealMutable());
  if (!opened) {
    return MakeError(ErrorCode::kUnauthenticated,
                     std::string(what) +
                         " does not authenticate (wrong key, or bound to another tenant, "
                         "key name, version or object)");
  }
  return out;
}

}  // namespace

Status ValidateName(std::string_view name, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + " \"" +
                                                      std::string(name.substr(0, 80)) + "\" " +
                                                      why + " (allowed: [a-z0-9][a-z0-9-]{0,62})");
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 63) return bad("is longer than 63 characters");
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return bad("has a character not allowed at position " + std::to_string(i));
  }
  return OkStatus();
}

Result<Bytes> WrapKek(ByteSpan root_key, const KeyReference& ref, const SecretBytes& kek) {
  if (kek.size() != kKekSize) return MakeError(ErrorCode::kInvalidArgument, "KEK must be 32 bytes");
  CRYPTA_ASSIGN_OR_RETURN(Bytes aad, BuildAad(kKekLabel, ref, std::nullopt));
  return Wrap(root_key, aad, kek);
}

Result<SecretBytes> UnwrapKek(ByteSpan root_key, const KeyReference& ref, ByteSpan wrapped) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes aad, BuildAad(kKekLabel, ref, std::nullopt));
  return Unwrap(
      root_key, aad, wrapped, kKekSize,
      "wrapped KEK " + ref.tenant + "/" + ref.key_name + " v" + std::to_string(ref.kek_version));
}

Result<Bytes> WrapDekUnderKek(ByteSpan kek, const KeyReference& ref, std::string_view object_id,
                              const SecretBytes& dek) {
  if (dek.size() != kDataKeySize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "DEK must be " + std::to_string(kDataKeySize) + " bytes");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes aad, BuildAad(kDekLabel, ref, object_id));
  return Wrap(kek, aad, dek);
}

Result<SecretBytes> UnwrapDekUnderKek(ByteSpan kek, const KeyReference& ref,
                                      std::string_view object_id, ByteSpan wrapped) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes aad, BuildAad(kDekLabel, ref, object_id));
  return Unwrap(kek, aad, wrapped, kDataKeySize,
                "wrapped DEK of " + std::string(object_id.substr(0, 80)));
}

}  // namespace crypta::kbs
