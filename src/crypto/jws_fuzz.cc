// Fuzz target: compact JWS verification of untrusted tokens against fixed keys (the
// RFC 7515 A.3 P-256 key and the RFC 8037 A.2 Ed25519 key). Invariant: a token that
// verifies carries the alg that matches the key.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/jwk.h"
#include "crypto/jws.h"

namespace {

const crypta::PublicKey& EcKey() {
  static const crypta::PublicKey* key = new crypta::PublicKey(
      crypta::ParsePublicJwkText(
          R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
          R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})")
          ->key);
  return *key;
}

const crypta::PublicKey& EdKey() {
  static const crypta::PublicKey* key = new crypta::PublicKey(
      crypta::ParsePublicJwkText(
          R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})")
          ->key);
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  std::string_view token(reinterpret_cast<const char*>(data), size);
  JwsVerifyOptions options;
  options.allowed_algs = {JwsAlg::kEs256, JwsAlg::kEs384, JwsAlg::kEdDsa};
  if (Result<VerifiedJws> v = JwsVerifyCompact(token, EcKey(), options)) {
    if (v->alg != JwsAlg::kEs256) __builtin_trap();
  }
  if (Result<VerifiedJws> v = JwsVerifyCompact(token, EdKey(), options)) {
    if (v->alg != JwsAlg::kEdDsa) __builtin_trap();
  }
  (void)JwsPeekHeader(token);
  return 0;
}
