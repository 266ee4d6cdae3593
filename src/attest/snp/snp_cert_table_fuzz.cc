// Fuzz target: the host-supplied SEV-SNP certificate table (extended report certs, auxblob).
#include <cstddef>
#include <cstdint>

#include "attest/snp/cert_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crypta::attest::Collateral collateral;
  crypta::Status s =
      crypta::attest::snp::AddSnpCertTable(crypta::ByteSpan(data, size), &collateral);
  // Whatever was accepted lies inside the input.
  for (const auto& [name, bytes] : collateral.items) {
    if (bytes.size() > size) __builtin_trap();
  }
  (void)s;
  return 0;
}
