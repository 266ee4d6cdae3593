// Fuzzes the attested-TLS extension parser (TCG DICE tagged evidence, CBOR) with untrusted
// bytes: it must return an error or a value, never crash, and a value must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "pki/attested_tls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = crypta::pki::ParseAttestedExtensionValue(crypta::ByteSpan(data, size));
  if (parsed) {
    auto again = crypta::pki::AttestedCertExtension(parsed->tee, parsed->evidence);
    if (!again) abort();
    auto reparsed = crypta::pki::ParseAttestedExtensionValue(*again);
    if (!reparsed || reparsed->tee != parsed->tee || reparsed->evidence != parsed->evidence) {
      abort();
    }
  }
  return 0;
}
