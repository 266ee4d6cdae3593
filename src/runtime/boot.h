// crypta-runtime's boot sequence (DESIGN.md §3 "Boot inside the TEE"), over an injected
// HttpFetcher and Attester:
//   1. RCAR (§4.3): POST /kbs/v0/auth -> nonce + kbs-session-id cookie; runtime-data =
//      {"nonce", "tee-pubkey": JWK of an ephemeral P-256 key}; evidence over
//      SHA-384(JCS(runtime-data)); POST /kbs/v0/attest -> {"token": EAR}.
//   2. GET /v1/tenants/<t>/models/<name>?digest=<hex> and .../blob (Bearer EAR): the sealed
//      blob, whose SHA-256 must equal the reference's digest.
//   3. GET /kbs/v0/resource/<t>/<key>/<object_id> (Bearer EAR): a JWE (ECDH-ES+A256KW) of
//      the DEK to the ephemeral key, decrypted here.
//   4. OpenBuffer: the plaintext model in memory only (SecretBytes, wiped when dropped).
// Every failure is an Error whose message says which step failed and why (the control
// plane's RFC 7807 "detail" included), e.g. a key release refused by policy.
#ifndef CRYPTA_RUNTIME_BOOT_H_
#define CRYPTA_RUNTIME_BOOT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "attest/collector.h"
#include "attest/gpu_collector.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "runtime/http_fetcher.h"

namespace crypta::runtime {

// store://<tenant>/<name>@sha256:<64 lowercase hex>
struct ModelRef {
  std::string tenant;
  std::string name;
  std::string digest_hex;
  std::string ToString() const;
};
// kInvalidArgument naming what is wrong.
Result<ModelRef> ParseModelRef(std::string_view text);

// The RCAR "tee" name for an attester ("sim", "sev-snp", "tdx", "sgx"); for configfs-tsm,
// which serves SNP and TDX alike, `probe` evidence decides.
Result<std::string> RcarTeeName(attest::Attester& attester);

// An attested RCAR session: the EAR token and the runtime-data object the evidence bound
// (report_data = SHA-384(JCS(runtime_data))), which the SVID endpoint wants back verbatim.
struct RcarSession {
  std::string ear_token;
  nlohmann::json runtime_data;
};

// Runs RCAR. `tee_key` is the ephemeral P-256 key whose public half goes into runtime-data
// as "tee-pubkey"; the members of `extra_runtime_data` (an object, e.g.
// {"svid-spki-sha256": hex}) are added to runtime-data (they cannot replace "nonce" or
// "tee-pubkey": kInvalidArgument). With `gpus`, the body is composite (KBS protocol 0.4):
// the GPUs' evidence over the first 32 bytes of SHA-384(JCS({nonce, tee-pubkey})) is the
// "nvidia" additional evidence, and the CPU evidence binds it (runtime-data plus the
// additional evidence as sent).
Result<RcarSession> RunRcarSession(HttpFetcher& broker, attest::Attester& attester,
                                   const PrivateKey& tee_key,
                                   const nlohmann::json& extra_runtime_data,
                                   attest::GpuAttester* gpus = nullptr);
// The same without extra members; returns the EAR token only.
Result<std::string> RunRcar(HttpFetcher& broker, attest::Attester& attester,
                            const PrivateKey& tee_key);

struct BootOptions {
  uint64_t max_model_bytes = uint64_t{4} << 30;
  int unseal_threads = 0;  // 0 = every core
  // Added to the RCAR runtime-data (e.g. "svid-spki-sha256" when the runtime wants an
  // SVID for its TLS key through this session).
  nlohmann::json extra_runtime_data = nlohmann::json::object();
  // The GPUs whose evidence accompanies the CPU's (nullptr: none).
  attest::GpuAttester* gpus = nullptr;
};

struct BootedModel {
  SecretBytes plaintext;    // the model file, in memory only
  nlohmann::json metadata;  // the control plane's model record
  std::string ear_token;
  nlohmann::json runtime_data;  // what the RCAR evidence bound
};

// Step 3 alone: the DEK recorded under <tenant>/<key>/<object_id>, released to the session
// `ear_token` (whose runtime-data carried `tee_key`'s public half) as a JWE and decrypted.
Result<SecretBytes> ReleaseDataKey(HttpFetcher& broker, const std::string& ear_token,
                                   const PrivateKey& tee_key, const std::string& tenant,
                                   const std::string& key, const std::string& object_id);

// Steps 1-4 above.
Result<BootedModel> BootModel(HttpFetcher& broker, attest::Attester& attester, const ModelRef& ref,
                              const BootOptions& options);

// The Error for a non-2xx control-plane answer: "<what>: HTTP <status>: <problem detail>",
// coded by status (401 kUnauthenticated, 403 kPermissionDenied, 404 kNotFound, ...).
Error ControlPlaneError(const FetchResponse& response, std::string_view what);

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_BOOT_H_
