// The Intel SGX PCK certificate extension (OID 1.2.840.113741.1.13.1; LAYOUTS.md §2.7,
// Intel "SGX PCK Certificate and CRL Profile" §1.3.5): PPID, TCB component SVNs, PCESVN,
// CPUSVN, PCE-ID, FMSPC and SGX type, which TCB matching needs.
//
// ParsePckExtensions reads the DER with a bounded TLV reader (definite lengths only,
// nesting fixed by the profile); unknown members are skipped. Fails with
// kInvalidArgument naming the member ("PCK extension: FMSPC: want 6 bytes, got 5"), or
// kNotFound if the certificate has no SGX extension. Pure and thread-safe.
#ifndef CRYPTA_ATTEST_DCAP_PCK_H_
#define CRYPTA_ATTEST_DCAP_PCK_H_

#include <array>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::dcap {

inline constexpr char kSgxExtensionsOid[] = "1.2.840.113741.1.13.1";

struct PckExtensions {
  Bytes ppid;                                // 16
  std::array<uint8_t, 16> tcb_components{};  // SGX TCB comp01..16 SVNs
  uint16_t pce_svn = 0;
  Bytes cpu_svn;      // 16
  Bytes pce_id;       // 2
  Bytes fmspc;        // 6
  int sgx_type = -1;  // 0 Standard, 1 Scalable, 2 Scalable+integrity
};

// Parses the content of the SGX extension's extnValue.
Result<PckExtensions> ParsePckExtensionValue(ByteSpan der);
// Finds and parses the SGX extension of a PCK certificate.
Result<PckExtensions> ParsePckExtensions(const Certificate& pck);

}  // namespace crypta::attest::dcap

#endif  // CRYPTA_ATTEST_DCAP_PCK_H_
