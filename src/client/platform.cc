#include "client/platform.h"

#include <cstdio>
#include <cstdlib>

#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"
#include "crypto/sealed_file.h"

namespace crypta::client {
namespace {

using nlohmann::json;

std::string Seg(const std::string& s) { return api::ApiClient::EncodeSegment(s); }

std::string KeyPath(const std::string& tenant, const std::string& key) {
  return "/v1/tenants/" + Seg(tenant) + "/keys/" + Seg(key);
}

// The key's rotation schedule must be at least as frequent as `rotate_days`.
Status CheckRotation(const api::ApiClient& c, const std::string& tenant, const std::string& key,
                     int64_t rotate_days) {
  CRYPTA_ASSIGN_OR_RETURN(json k, c.Get("/v1/tenants/" + Seg(tenant) + "/keys"));
  int64_t key_days = 0;
  if (k.contains("keys") && k["keys"].is_array()) {
    for (const auto& entry : k["keys"]) {
      if (entry.is_object() && entry.value("name", json()) == key &&
          entry.contains("rotate_days") && entry["rotate_days"].is_number_integer()) {
        key_days = entry["rotate_days"].get<int64_t>();
      }
    }
  }
  if (key_days != 0 && key_days <= rotate_days) return OkStatus();
  return MakeError(
      ErrorCode::kFailedPrecondition,
      "rotate days " + std::to_string(rotate_days) + ": key " + tenant + "/" + key + " rotates " +
          (key_days == 0 ? std::string("only by hand")
                         : "every " + std::to_string(key_days) + " days") +
          "; use a key created with rotate days " + std::to_string(rotate_days) + " or less");
}

struct WrappedDek {
  SecretBytes dek;
  KeyReference ref;
  Bytes wrapped;
};

// A fresh DEK, wrapped by the broker under the key's current version and recorded under
// `object_id`.
Result<WrappedDek> NewWrappedDek(const api::ApiClient& c, const std::string& tenant,
                                 const std::string& key, const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek, RandomSecret(kDataKeySize));
  CRYPTA_ASSIGN_OR_RETURN(
      json wrapped, c.Post(KeyPath(tenant, key) + "/deks",
                           {{"object_id", object_id}, {"dek_b64", Base64Encode(dek.Reveal())}}));
  auto version = wrapped.find("kek_version");
  auto wrapped_b64 = wrapped.find("wrapped_b64");
  if (version == wrapped.end() || !version->is_number_unsigned() || wrapped_b64 == wrapped.end() ||
      !wrapped_b64->is_string()) {
    return MakeError(ErrorCode::kDataLoss, "control plane answered without the wrapped DEK");
  }
  Result<Bytes> bytes = Base64Decode(wrapped_b64->get<std::string>());
  if (!bytes) return MakeError(bytes.error().WithContext("wrapped_b64"));
  return WrappedDek{std::move(dek), KeyReference{tenant, key, version->get<uint32_t>()},
                    std::move(*bytes)};
}

}  // namespace

Result<PushedModel> PushModel(const api::ApiClient& c, const PushModelRequest& r) {
  if (r.rotate_days > 0) CRYPTA_RETURN_IF_ERROR(CheckRotation(c, r.tenant, r.key, r.rotate_days));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(16));
  const std::string object_id = r.name + "@" + HexEncode(nonce);
  CRYPTA_ASSIGN_OR_RETURN(WrappedDek dek, NewWrappedDek(c, r.tenant, r.key, object_id));

  std::string tmp_dir = r.tmp_dir;
  if (tmp_dir.empty()) {
    const char* env = std::getenv("TMPDIR");
    tmp_dir = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  const std::string sealed = tmp_dir + "/crypta-model-" + HexEncode(nonce) + ".sealed";
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove_sealed{sealed};
  SealedFileOptions options;
  options.output_mode = 0600;
  if (Status s =
          SealFileWithDataKey(dek.dek, dek.ref, std::move(dek.wrapped), r.file, sealed, options);
      !s) {
    return MakeError(s.error().WithContext("sealing " + r.file));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed_digest, HashFile(HashAlg::kSha256, sealed));
  const std::string digest = HexEncode(sealed_digest);
  std::string tees;
  for (const std::string& t : r.tees) tees += (tees.empty() ? "" : ",") + t;
  CRYPTA_ASSIGN_OR_RETURN(
      json record,
      c.PutFile("/v1/tenants/" + Seg(r.tenant) + "/models/" + Seg(r.name) + "?key=" + Seg(r.key) +
                    "&object_id=" + Seg(object_id) + "&digest=sha256:" + digest +
                    (tees.empty() ? "" : "&tees=" + Seg(tees)),
                sealed));
  PushedModel pushed;
  pushed.reference = "store://" + r.tenant + "/" + r.name + "@sha256:" + digest;
  if (record.value("reference", json()) != pushed.reference) {
    return MakeError(ErrorCode::kDataLoss, "control plane stored a different reference: " +
                                               record.value("reference", json()).dump());
  }
  if (record.contains("size") && record["size"].is_number_unsigned()) {
    pushed.size = record["size"].get<uint64_t>();
  }
  pushed.kek_version = dek.ref.kek_version;
  pushed.record = std::move(record);
  return pushed;
}

Result<SealedData> SealDataForWorkload(const api::ApiClient& c, const std::string& tenant,
                                       const std::string& key, ByteSpan plaintext,
                                       std::string object_id) {
  if (object_id.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(16));
    object_id = "data@" + HexEncode(nonce);
  }
  CRYPTA_ASSIGN_OR_RETURN(WrappedDek dek, NewWrappedDek(c, tenant, key, object_id));
  CRYPTA_ASSIGN_OR_RETURN(
      SealedHeader header,
      NewSealedHeader(dek.ref, std::move(dek.wrapped), plaintext.size(), kDefaultChunkSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes blob, SealBuffer(dek.dek, header, plaintext, 0));
  return SealedData{std::move(blob), std::move(object_id)};
}

}  // namespace crypta::client
