// Fuzzes the CSR parser (PKCS #10 DER or PEM, signature check, key type policy) with
// untrusted bytes: it must return an error or an accepted key, never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/hash.h"
#include "pki/csr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crypta::ByteSpan input(data, size);
  auto csr = crypta::pki::ParseCsr(input);
  if (csr) {
    auto type = csr->public_key.type();
    if (type != crypta::KeyType::kEcP256 && type != crypta::KeyType::kEcP384 &&
        type != crypta::KeyType::kEd25519) {
      abort();
    }
    auto hash = crypta::pki::CsrPublicKeyHash(input);
    if (!hash || *hash != crypta::Sha256(csr->spki_der)) abort();
  }
  return 0;
}
