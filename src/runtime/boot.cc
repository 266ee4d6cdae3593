#include "runtime/boot.h"

#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwe.h"
#include "crypto/jwk.h"
#include "crypto/sealed_blob.h"
#include "runtime/attestation_service.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// RFC 3986 §2.1 percent-encoding of one path segment (unreserved characters kept).
std::string Segment(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<json> ParseAnswer(const FetchResponse& response, std::string_view what) {
  if (response.status < 200 || response.status > 299)
    return MakeError(ControlPlaneError(response, what));
  Result<json> body = ParseJsonStrict(response.body);
  if (!body || !body->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + ": answer is not a JSON object");
  }
  return body;
}

Result<std::string> StringMember(const json& object, const char* name, std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + ": \"" + name + "\" missing or not a string");
  }
  return it->get<std::string>();
}

// The kbs-session-id cookie value from Set-Cookie headers.
std::string SessionCookie(const FetchResponse& response) {
  for (const std::string& header : response.set_cookies) {
    constexpr std::string_view kName = "kbs-session-id=";
    if (!header.starts_with(kName)) continue;
    return header.substr(kName.size(), header.find(';') - kName.size());
  }
  return "";
}

FetchRequest Get(std::string path, const std::string& token, size_t max_bytes) {
  FetchRequest r;
  r.path = std::move(path);
  r.headers = {{"Authorization", "Bearer " + token}};
  r.max_response_bytes = max_bytes;
  return r;
}

}  // namespace

Error ControlPlaneError(const FetchResponse& response, std::string_view what) {
  std::string detail;
  if (Result<json> problem = ParseJsonStrict(response.body); problem && problem->is_object()) {
    for (const char* key : {"detail", "error", "title"}) {
      auto it = problem->find(key);
      if (it != problem->end() && it->is_string()) {
        detail = it->get<std::string>();
        break;
      }
    }
  }
  if (detail.empty()) detail = "no detail";
  ErrorCode code = ErrorCode::kFailedPrecondition;
  switch (response.status) {
    case 400:
      code = ErrorCode::kInvalidArgument;
      break;
    case 401:
      code = ErrorCode::kUnauthenticated;
      break;
    case 403:
      code = ErrorCode::kPermissionDenied;
      break;
    case 404:
      code = ErrorCode::kNotFound;
      break;
    case 413:
      code = ErrorCode::kResourceExhausted;
      break;
    default:
      if (response.status >= 500) code = ErrorCode::kUnavailable;
  }
  return Error(code, std::string(what) + ": HTTP " + std::to_string(response.status) + ": " +
                         detail.substr(0, 2000));
}

std::string ModelRef::ToString() const {
  return "store://" + tenant + "/" + name + "@sha256:" + digest_hex;
}

Result<ModelRef> ParseModelRef(std::string_view text) {
  constexpr std::string_view kScheme = "store://";
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--model: " + why + " (want store://<tenant>/<name>@sha256:<64 hex>)");
  };
  if (!text.starts_with(kScheme)) return bad("not a store:// reference");
  text.remove_prefix(kScheme.size());
  const size_t slash = text.find('/'), at = text.find("@sha256:");
  if (slash == std::string_view::npos || slash == 0) return bad("no tenant");
  if (at == std::string_view::npos || at <= slash + 1) return bad("no name or digest");
  ModelRef ref{std::string(text.substr(0, slash)),
               std::string(text.substr(slash + 1, at - slash - 1)),
               std::string(text.substr(at + 8))};
  if (ref.name.find('/') != std::string::npos) return bad("name holds '/'");
  if (ref.digest_hex.size() != 64 || !IsLowerHex(ref.digest_hex)) return bad("bad digest");
  return ref;
}

Result<std::string> RcarTeeName(attest::Attester& attester) {
  const std::string name = attester.name();
  if (name == "sim") return std::string("sim");
  if (name == "sev-guest") return std::string("sev-snp");
  if (name == "tdx-guest") return std::string("tdx");
  if (name == "gramine") return std::string("sgx");
  // configfs-tsm serves several TEEs: a probe report says which.
  CRYPTA_ASSIGN_OR_RETURN(attest::Evidence probe, attester.Collect(Bytes(64, 0)));
  return std::string(attest::TeeTypeName(probe.tee));
}

Result<std::string> RunRcar(HttpFetcher& broker, attest::Attester& attester,
                            const PrivateKey& tee_key) {
  CRYPTA_ASSIGN_OR_RETURN(RcarSession session,
                          RunRcarSession(broker, attester, tee_key, json::object()));
  return std::move(session.ear_token);
}

Result<RcarSession> RunRcarSession(HttpFetcher& broker, attest::Attester& attester,
                                   const PrivateKey& tee_key, const json& extra_runtime_data,
                                   attest::GpuAttester* gpus) {
  if (!extra_runtime_data.is_object() || extra_runtime_data.contains("nonce") ||
      extra_runtime_data.contains("tee-pubkey")) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "RCAR: extra runtime-data must be an object without nonce or tee-pubkey");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string tee, RcarTeeName(attester));
  FetchRequest auth;
  auth.method = "POST";
  auth.path = "/kbs/v0/auth";
  auth.content_type = "application/json";
  // Composite evidence is KBS protocol 0.4.
  auth.body = json{{"version", gpus != nullptr ? "0.4.0" : "0.1.1"},
                   {"tee", tee},
                   {"extra-params", json::object()}}
                  .dump();
  CRYPTA_ASSIGN_OR_RETURN(FetchResponse auth_response, broker.Send(auth));
  CRYPTA_ASSIGN_OR_RETURN(json challenge, ParseAnswer(auth_response, "RCAR auth"));
  CRYPTA_ASSIGN_OR_RETURN(std::string nonce, StringMember(challenge, "nonce", "RCAR auth"));
  const std::string cookie = SessionCookie(auth_response);
  if (cookie.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "RCAR auth: no kbs-session-id cookie");
  }

  CRYPTA_ASSIGN_OR_RETURN(json jwk, PublicKeyToJwk(tee_key.GetPublicKey()));
  json runtime_data = {{"nonce", nonce}, {"tee-pubkey", jwk}};
  for (const auto& [name, value] : extra_runtime_data.items()) runtime_data[name] = value;
  // Composite evidence: the GPUs' nonce derives from the session's nonce and the TEE key,
  // and the CPU evidence binds the GPUs' evidence as sent.
  json binding = runtime_data;
  json additional;
  if (gpus != nullptr) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes gpu_rd, ReportDataFor({{"nonce", nonce}, {"tee-pubkey", jwk}}));
    Result<Bytes> gpu = gpus->Collect(ByteSpan(gpu_rd).first(attest::kGpuNonceSize));
    if (!gpu) return MakeError(gpu.error().WithContext("collecting GPU evidence"));
    additional = json{{"nvidia", ToString(*gpu)}}.dump();
    binding["additional-evidence"] = additional;
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes report_data, ReportDataFor(binding));
  Result<attest::Evidence> evidence = attester.Collect(report_data);
  if (!evidence) return MakeError(evidence.error().WithContext("collecting TEE evidence"));
  const bool text_evidence = evidence->tee == attest::TeeType::kSim;
  json tee_evidence = text_evidence ? ToString(evidence->raw) : Base64Encode(evidence->raw);
  if (gpus != nullptr) {
    tee_evidence = {{"primary_evidence", tee_evidence}, {"additional_evidence", additional}};
  }

  FetchRequest attest;
  attest.method = "POST";
  attest.path = "/kbs/v0/attest";
  attest.content_type = "application/json";
  attest.headers = {{"Cookie", "kbs-session-id=" + cookie}};
  attest.body = json{{"runtime-data", runtime_data}, {"tee-evidence", tee_evidence}}.dump();
  CRYPTA_ASSIGN_OR_RETURN(FetchResponse attest_response, broker.Send(attest));
  // 401: the evidence verified but no policy of the platform trusts it (or it did not verify).
  CRYPTA_ASSIGN_OR_RETURN(
      json result, ParseAnswer(attest_response, attest_response.status == 401
                                                    ? "attestation refused by the control plane"
                                                    : "RCAR attest"));
  CRYPTA_ASSIGN_OR_RETURN(std::string token, StringMember(result, "token", "RCAR attest"));
  // What the evidence bound: with GPUs, runtime-data plus the additional evidence as sent.
  return RcarSession{std::move(token), std::move(binding)};
}

Result<SecretBytes> ReleaseDataKey(HttpFetcher& broker, const std::string& ear_token,
                                   const PrivateKey& tee_key, const std::string& tenant,
                                   const std::string& key, const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(FetchResponse release,
                          broker.Send(Get("/kbs/v0/resource/" + Segment(tenant) + "/" +
                                              Segment(key) + "/" + Segment(object_id),
                                          ear_token, 1 << 20)));
  if (release.status != 200) {
    return MakeError(ControlPlaneError(release, "key release denied by the control plane"));
  }
  Result<DecryptedJwe> dek = JweDecryptText(release.body, tee_key);
  if (!dek) return MakeError(dek.error().WithContext("released key"));
  if (dek->plaintext.size() != kDataKeySize) {
    return MakeError(ErrorCode::kInvalidArgument, "released key: not a 32-byte data key");
  }
  return std::move(dek->plaintext);
}

Result<BootedModel> BootModel(HttpFetcher& broker, attest::Attester& attester, const ModelRef& ref,
                              const BootOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey tee_key, PrivateKey::Generate(KeyType::kEcP256));
  BootedModel out;
  CRYPTA_ASSIGN_OR_RETURN(
      RcarSession session,
      RunRcarSession(broker, attester, tee_key, options.extra_runtime_data, options.gpus));
  out.ear_token = std::move(session.ear_token);
  out.runtime_data = std::move(session.runtime_data);

  const std::string model_path =
      "/v1/tenants/" + Segment(ref.tenant) + "/models/" + Segment(ref.name);
  CRYPTA_ASSIGN_OR_RETURN(
      FetchResponse meta_response,
      broker.Send(Get(model_path + "?digest=" + ref.digest_hex, out.ear_token, 1 << 20)));
  if (meta_response.status == 403) {
    // The control plane hands the sealed model only to a TEE its key policy would release
    // the key to: a refusal here is the policy's verdict on this TEE.
    return MakeError(ControlPlaneError(meta_response, "key release denied by the control plane"));
  }
  CRYPTA_ASSIGN_OR_RETURN(out.metadata, ParseAnswer(meta_response, "model metadata"));
  CRYPTA_ASSIGN_OR_RETURN(std::string digest,
                          StringMember(out.metadata, "digest", "model metadata"));
  if (digest != "sha256:" + ref.digest_hex) {
    return MakeError(ErrorCode::kDataLoss,
                     "model metadata: digest " + digest + " is not the one in --model");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string key, StringMember(out.metadata, "key", "model metadata"));
  CRYPTA_ASSIGN_OR_RETURN(std::string object_id,
                          StringMember(out.metadata, "object_id", "model metadata"));

  CRYPTA_ASSIGN_OR_RETURN(
      FetchResponse blob,
      broker.Send(Get(model_path + "/blob?digest=" + ref.digest_hex, out.ear_token,
                      static_cast<size_t>(options.max_model_bytes) + (64u << 20))));
  if (blob.status != 200) return MakeError(ControlPlaneError(blob, "sealed model download"));
  const Bytes want = *HexDecode(ref.digest_hex);
  if (!ConstantTimeEquals(Sha256(AsBytes(blob.body)), want)) {
    return MakeError(ErrorCode::kDataLoss,
                     "sealed model: its SHA-256 is not the digest in --model");
  }

  CRYPTA_ASSIGN_OR_RETURN(
      SecretBytes dek, ReleaseDataKey(broker, out.ear_token, tee_key, ref.tenant, key, object_id));

  const ByteSpan sealed = AsBytes(blob.body);
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader header, ReadSealedHeader(sealed));
  if (header.header.plaintext_length > options.max_model_bytes) {
    return MakeError(ErrorCode::kResourceExhausted, "model: larger than --max-model-bytes");
  }
  out.plaintext = SecretBytes(static_cast<size_t>(header.header.plaintext_length));
  Status opened =
      OpenBufferInto(dek, sealed, out.plaintext.RevealMutable(), options.unseal_threads);
  if (!opened) return MakeError(opened.error().WithContext("unsealing the model"));
  return out;
}

}  // namespace crypta::runtime
