// NitroVerifier: verifies an AWS Nitro Enclaves attestation document (Evidence::raw, the
// COSE_Sign1 bytes the NSM returns), following AWS's "Nitro Enclaves attestation process"
// (aws-nitro-enclaves-nsm-api docs/attestation_process.md; testdata/nitro/LAYOUTS.md §6):
//
//   1. parse (document.h: COSE_Sign1 with protected header exactly {1: -35}, the payload's
//      fields and size limits); PCR0, PCR1 and PCR2 must be present;
//   2. chain: `certificate` <- cabundle[n-1] <- ... <- cabundle[1] <- a pinned root, at
//      VerifyOptions::verification_time (RFC 5280 §6.1, windows inclusive to the second).
//      Only the roots given to the verifier are trust anchors; the document's own root copy
//      (cabundle[0]) is never one. The intermediate part (cabundle[n-1] up to the root) is
//      checked with crypto VerifyChain; the leaf against cabundle[n-1] with the same RFC
//      5280 §6.1.3 checks (issuer name / key identifier / keyUsage keyCertSign through
//      OpenSSL's X509_check_issued, ecdsa-with-SHA384 signature, validity window, no
//      unhandled critical extension), and it must hold a P-384 key;
//   3. the COSE signature (RFC 9052 §4.4, RFC 9053 §2.1): ECDSA P-384 / SHA-384 over the
//      Sig_structure ["Signature1", protected, h'', payload] with the leaf's key, raw r||s;
//   4. report_data binding: when VerifyOptions::expected_report_data is set, the
//      document's `nonce` must be present and equal it EXACTLY (full byte string, constant
//      time). This deliberately deviates from CheckReportData's rule (shorter values
//      zero-padded to 64 bytes): Nitro nonces are caller-chosen byte strings of 0..1024
//      bytes, so padding would let a document carrying nonce N also match N || 00...
//
// Errors name the failed check ("COSE protected header: unsupported algorithm -36 ...",
// "X.509 chain: certificate ... expired", "leaf certificate ... not yet valid",
// "COSE signature does not verify with the leaf certificate's key", "nonce does not match
// the expected report_data"). A debug-mode enclave is not an error: Claims::debug is set
// and the appraisal policy decides.
//
// Claims: tee kNitro; measurement = PCR0; host_data empty; report_data = the nonce (empty
// when absent); debug = PCR0, PCR1 or PCR2 is all zero (AWS: an enclave started with
// --debug-mode reports all three as zeros; flagging any one of them is the fail-closed
// superset, no production image measures to zero); tcb_status kUnknown (Nitro has no TCB
// information to appraise: UpToDate is not claimable); revocation kNotApplicable (AWS
// publishes no CRLs for this chain: its certificates live hours to weeks, the leaf ~3 h);
// platform_id = module_id as ASCII bytes; signer "aws-nitro:<leaf CN>"; tcb {}; extra =
// {module_id, timestamp_ms, digest, pcrs {"0": hex, ...} (every PCR present),
// public_key, user_data, nonce (hex, or null when absent), certificate_chain (subjects,
// leaf first, pinned root last)}.
//
// Caches (thread-safe, guarded by one mutex; each is cleared when full): verified
// intermediate chains keyed by SHA-256 over the cabundle DERs, valid while the
// verification time lies inside every window on that chain; and verified leaves keyed by
// the leaf DER's SHA-256 and its chain's key, valid inside the leaf's and the chain's
// windows. So a document from a known instance CA costs one certificate signature and the
// COSE signature; re-verifying a document (or one sharing its leaf) costs only the COSE
// signature. A time outside a cached window re-runs the full check.
#ifndef CRYPTA_ATTEST_NITRO_VERIFIER_H_
#define CRYPTA_ATTEST_NITRO_VERIFIER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "attest/nitro/document.h"
#include "attest/verifier.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta::attest::nitro {

struct NitroVerifierOptions {
  size_t chain_cache_capacity = 256;  // verified intermediate chains; 0 disables the cache
  size_t leaf_cache_capacity = 256;   // verified leaves; 0 disables the cache
};

class NitroVerifier : public Verifier {
 public:
  // With the pinned AWS Nitro Enclaves Root-G1 (aws_root.h), whose SHA-256 fingerprint is
  // checked first. Fails (kInternal) only if the pinned root is corrupted.
  static Result<std::shared_ptr<NitroVerifier>> CreatePinned(NitroVerifierOptions options = {});
  // With other trust roots (tests). Fails with kInvalidArgument when `roots` is empty or a
  // root's public key does not load (e.g. a point not on the curve).
  static Result<std::shared_ptr<NitroVerifier>> CreateWithRoots(std::vector<Certificate> roots,
                                                                NitroVerifierOptions options = {});

  TeeType tee() const override { return TeeType::kNitro; }
  Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                  const VerifyOptions& options) const override;

  size_t cached_chain_count() const;
  size_t cached_leaf_count() const;

 private:
  // cabundle[n-1] and what it chained to, verified up to a pinned root.
  struct VerifiedIssuer {
    Certificate issuer;
    std::vector<std::string> subjects;  // cabundle[n-1] first, the pinned root last
    int64_t valid_from;                 // latest notBefore on the chain
    int64_t valid_until;                // earliest notAfter on the chain
  };
  struct VerifiedLeaf {
    PublicKey key;
    std::string common_name;
    std::vector<std::string> subjects;  // the leaf first, the pinned root last
    int64_t valid_from;
    int64_t valid_until;
  };

  NitroVerifier(std::vector<Certificate> roots, NitroVerifierOptions options)
      : roots_(std::move(roots)), options_(options) {}

  Result<std::shared_ptr<const VerifiedIssuer>> VerifyIssuer(const NitroDocument& doc,
                                                             const std::string& key,
                                                             int64_t time) const;
  Result<std::shared_ptr<const VerifiedLeaf>> VerifyLeaf(const NitroDocument& doc,
                                                         int64_t time) const;

  const std::vector<Certificate> roots_;
  const NitroVerifierOptions options_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<const VerifiedIssuer>>
      issuer_cache_;  // guarded by mu_
  mutable std::unordered_map<std::string, std::shared_ptr<const VerifiedLeaf>>
      leaf_cache_;  // guarded by mu_
};

// The normalized claims of a document whose leaf (common name `leaf_cn`, chain
// `subjects`) has been verified. Exposed for tests and tools; verifies nothing.
Claims NitroClaims(const NitroDocument& doc, const std::string& leaf_cn,
                   const std::vector<std::string>& subjects);

}  // namespace crypta::attest::nitro

#endif  // CRYPTA_ATTEST_NITRO_VERIFIER_H_
