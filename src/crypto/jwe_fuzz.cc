// Fuzz target: flattened JSON JWE decryption of untrusted text with a fixed P-256 key
// (Bob's key from RFC 7518 Appendix C). Invariant: nothing crashes; a decrypted JWE's
// header names the only supported alg/enc for this key.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/jwe.h"
#include "crypto/jwk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  static const PrivateKey* bob = new PrivateKey(*ParsePrivateJwk(nlohmann::json::parse(
      R"({"kty":"EC","crv":"P-256","x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",)"
      R"("y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",)"
      R"("d":"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"})")));
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (Result<DecryptedJwe> d = JweDecryptText(text, *bob)) {
    if (d->protected_header["alg"] != "ECDH-ES+A256KW" || d->protected_header["enc"] != "A256GCM") {
      __builtin_trap();
    }
  }
  return 0;
}
