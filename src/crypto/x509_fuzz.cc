// Fuzz target: X.509 certificate, CRL and PEM-bundle parsing from untrusted bytes, and the
// accessors a verifier calls on what parsed. Must never crash, leak or read out of bounds.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  ByteSpan input(data, size);
  if (Result<Certificate> cert = Certificate::Parse(input)) {
    // DER input (first byte 0x30, never PEM) is kept byte for byte.
    if (data[0] == 0x30 &&
        !std::equal(input.begin(), input.end(), cert->der().begin(), cert->der().end())) {
      __builtin_trap();
    }
    (void)cert->Sha256Fingerprint();
    (void)cert->public_key();
    (void)cert->FindExtension("1.3.6.1.4.1.3704.1.3.1");
    (void)cert->FindExtension("1.2.840.113741.1.13.1");
    (void)cert->SanUris();
    (void)cert->SanDnsNames();
    // Pinned as its own root: exercises the store and the self-signature check.
    Certificate roots[] = {*cert};
    (void)VerifyChain(*cert, {}, roots, cert->not_before());
  }
  if (Result<Crl> crl = Crl::Parse(input)) {
    (void)crl->revoked_count();
    (void)crl->ListsSerial("1");
  }
  (void)Certificate::ParsePemBundle(AsStringView(input));
  return 0;
}
