// The cryptographic checks of a DCAP quote (LAYOUTS.md §2.6 steps 1-4; Intel "SGX DCAP
// ECDSA Quote Verification" / QVL QuoteVerifier):
//
//   1. PCK chain: the type-5 certification data (PEM, any order, trailing NULs allowed)
//      holds exactly one non-CA certificate, "Intel SGX PCK Certificate", which must chain
//      through the other certificates to one of the pinned roots at the verification
//      time, with the given CRLs (crypta::VerifyChain);
//   2. QE report signature: ECDSA P-256/SHA-256 (raw r||s) by the PCK leaf key;
//   3. QE report binding: REPORTDATA[0:32] == SHA-256(attestation key || QE auth data)
//      and REPORTDATA[32:64] == 0;
//   4. quote signature: ECDSA P-256/SHA-256 (raw r||s) over header||body by the
//      attestation key.
//
// Errors are kUnauthenticated (or the chain's own error) and name the failed step,
// e.g. "PCK chain: ... revoked", "QE report signature does not verify".
//
// PckChainCache remembers verified chains (key: SHA-256 over the PEM and the CRLs) with
// the window in which every certificate and CRL on them is valid, so a later quote from
// the same platform costs two ECDSA verifications. Thread-safe (mutex).
#ifndef CRYPTA_ATTEST_DCAP_QUOTE_VERIFY_H_
#define CRYPTA_ATTEST_DCAP_QUOTE_VERIFY_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "attest/dcap/intel_roots.h"
#include "attest/dcap/pck.h"
#include "attest/dcap/quote.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta::attest::dcap {

// What a verified PCK chain yields.
struct PckChainInfo {
  Certificate leaf;
  PublicKey leaf_key;
  std::string issuer_cn;                    // "Intel SGX PCK Platform CA" / "... Processor CA"
  std::optional<PckExtensions> extensions;  // empty if the SGX extension did not parse
  std::string extensions_error;             // why, when empty
};

class PckChainCache {
 public:
  explicit PckChainCache(size_t capacity = 256) : capacity_(capacity) {}
  // Returns the cached chain for `key` if `time` lies in its validity window.
  std::optional<PckChainInfo> Lookup(const Bytes& key, int64_t time) const;
  void Insert(const Bytes& key, PckChainInfo info, int64_t not_before, int64_t not_after);
  // Imported attestation keys by their 64-byte x||y (importing costs as much as a verify).
  std::optional<PublicKey> LookupAttestationKey(const Bytes& xy) const;
  void InsertAttestationKey(const Bytes& xy, const PublicKey& key);

 private:
  struct Entry {
    PckChainInfo info;
    int64_t not_before;
    int64_t not_after;
  };
  size_t capacity_;
  mutable std::mutex mu_;
  std::map<Bytes, Entry> entries_;
  std::map<Bytes, PublicKey> keys_;
};

struct QuoteCryptoOptions {
  int64_t verification_time = 0;
  std::span<const Crl> crls;
  bool require_crls = false;       // every certificate below the root needs a CRL
  PckChainCache* cache = nullptr;  // optional
};

// Step 1 only: verifies the PCK chain of a parsed quote (type-5 certification data).
Result<PckChainInfo> VerifyPckChain(const ParsedQuote& quote, const DcapTrustRoots& roots,
                                    const QuoteCryptoOptions& options);

// Steps 1-4. Returns the verified PCK chain information.
Result<PckChainInfo> VerifyQuoteSignatures(const ParsedQuote& quote, const DcapTrustRoots& roots,
                                           const QuoteCryptoOptions& options);

}  // namespace crypta::attest::dcap

#endif  // CRYPTA_ATTEST_DCAP_QUOTE_VERIFY_H_
