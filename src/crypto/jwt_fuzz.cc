// Fuzz target: JWT verification (signature, then claims) of untrusted tokens with the
// RFC 7515 A.3 key at a fixed time before the A.3 token's expiry. Invariant: accepted
// claims are an object whose "exp" is after now - skew.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/jwk.h"
#include "crypto/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  static const PublicKey* key = new PublicKey(
      ParsePublicJwkText(
          R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
          R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})")
          ->key);
  std::string_view token(reinterpret_cast<const char*>(data), size);
  JwtVerifyOptions options;
  options.jws.allowed_algs = {JwsAlg::kEs256};
  options.now_unix_s = 1300819000;
  options.expected_issuer = "joe";
  if (Result<nlohmann::json> claims = JwtVerify(token, *key, options)) {
    if (!claims->is_object() || !(*claims)["exp"].is_number() ||
        (*claims)["exp"].get<double>() + 60 <= 1300819000) {
      __builtin_trap();
    }
  }
  options.expected_issuer.reset();
  options.expected_audience = "kbs";
  options.require_exp = false;
  (void)JwtVerify(token, *key, options);
  return 0;
}
