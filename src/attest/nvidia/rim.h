// NVIDIA reference integrity manifests (RIMs): signed SWID tags that carry the golden
// measurements of a GPU's driver and VBIOS (testdata/nvidia/LAYOUTS.md §7, §8).
//
// A RIM is an ISO/IEC 19770-2:2015 SoftwareIdentity document with TCG RIM-IM attributes
// (TCG "Reference Integrity Manifest Information Model") and an enveloped W3C XML
// Signature 1.1 (ECDSA P-384 / SHA-384, Canonical XML 1.1) whose KeyInfo/X509Data holds the
// signer chain "HCC RIM L4 Signer" -> "NVIDIA Reference Value L3 GH100 001" -> "NVIDIA
// Reference Value GH100 CA" -> RIM root.
//
// RimVerifier::Verify checks, in order:
//   1. size (kMaxRimXmlSize) and well-formedness; a DOCTYPE (internal or external subset)
//      is refused before anything in it is read, and the parser never touches the network;
//   2. the root element is SoftwareIdentity (SWID 2015 namespace) with exactly one
//      ds:Signature child;
//   3. the certificates of ds:KeyInfo/ds:X509Data (the first is the signer, the rest are
//      untrusted intermediates: the copy of the root in the file is never an anchor) chain
//      to the RIM root given to the constructor, at the verification time (crypto
//      VerifyChain: every signature, CA constraint and validity window, bounds inclusive);
//   4. the XML signature verifies with the signer certificate's key, through libxmlsec1
//      restricted to what NVIDIA's RIMs use: one Reference with URI="" (the whole document),
//      transforms enveloped-signature and Canonical XML 1.1 (1.0 and exclusive c14n are also
//      accepted), digest SHA-384, signature ECDSA-SHA384; no other URIs, transforms or key
//      sources (the document's KeyInfo is not used to find the key);
//   5. the payload reads as NVIDIA's verifier reads it (rim/__init__.py): Meta
//      colloquialVersion / product, and one Resource per measurement index with index,
//      active, alternatives, size and Hash0..Hash{alternatives-1} (namespace
//      http://www.w3.org/2001/04/xmlenc#sha384), each hash exactly `size` bytes of hex;
//      duplicate indices are an error.
//
// Successful results are cached per verifier, keyed by SHA-256 of the XML, together with
// the validity window of the chain that verified (latest notBefore .. earliest notAfter):
// verifying the same bytes again at a time inside the window returns the cached Rim
// without XML or signature work; outside the window the full check runs again. Failures
// are not cached.
//
// Errors: kResourceExhausted (size cap), kInvalidArgument (malformed XML, DOCTYPE, missing
// or malformed elements and attributes), kUnauthenticated (chain or signature failure; the
// message says which: "RIM signer chain: ...", "RIM XML signature does not verify ...").
//
// Thread-safe: Verify may be called concurrently (xmlsec1 is initialised once per process;
// the cache is guarded by a mutex). Copies of a RimVerifier share the cache.
#ifndef CRYPTA_ATTEST_NVIDIA_RIM_H_
#define CRYPTA_ATTEST_NVIDIA_RIM_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::nvidia {

// RIM files are about 20 KiB; anything above this is refused unparsed.
inline constexpr size_t kMaxRimXmlSize = 256 * 1024;
// Limits on the content of one RIM.
inline constexpr size_t kMaxRimMeasurements = 256;
inline constexpr uint32_t kMaxRimAlternatives = 16;
inline constexpr size_t kMaxRimCertificates = 8;

// One SWID Resource (LAYOUTS §7): golden values for measurement index `index`, which the
// appraisal compares with SPDM measurement block `index + 1` (LAYOUTS §8 rule 4).
struct RimMeasurement {
  uint32_t index = 0;
  bool active = false;              // "True" / "False"
  uint32_t size = 0;                // bytes of each value (48: SHA-384)
  std::string name;                 // e.g. "HashedMeasurement_35_GSP" (informative)
  std::vector<Bytes> alternatives;  // Hash0..HashN-1; any one is acceptable
};

struct Rim {
  // "driver" or "vbios", from Meta colloquialVersion: a VBIOS version is five dot-separated
  // two-digit hex groups ("96.00.5E.00.01"), a driver version is dot-separated decimal
  // numbers ("545.00", "550.90.07"). Nothing else in NVIDIA's tags tells them apart (NV's
  // verifier knows which file it asked for); anything else is an error.
  std::string kind;
  std::string tag_id;                        // SoftwareIdentity tagId
  std::string version;                       // Meta colloquialVersion, as written
  std::string product;                       // Meta product, e.g. "GH100"
  std::vector<RimMeasurement> measurements;  // in document order
  std::vector<std::string> signer_chain;     // verified chain's subjects, signer first, root last
  int64_t signer_not_after = 0;              // the signer (L4) certificate's notAfter
  // Window in which the verified chain is valid (latest notBefore .. earliest notAfter).
  int64_t chain_not_before = 0;
  int64_t chain_not_after = 0;

  // The measurement with this index, or nullptr.
  const RimMeasurement* Find(uint32_t index) const;
};

class RimVerifier {
 public:
  // `rim_root` is the only trust anchor (NVIDIA's "NVIDIA CoRIM signing Root CA",
  // testdata/nvidia/nvidia-roots/verifier_RIM_root.pem; pinned by the caller).
  explicit RimVerifier(Certificate rim_root);

  // Verifies a signed RIM at `verification_time` (Unix seconds; the clock is never read)
  // and returns its content. See the file comment for the checks and errors.
  Result<Rim> Verify(ByteSpan swidtag_xml, int64_t verification_time) const;

  // Successful verifications currently cached.
  size_t cached_count() const;

 private:
  struct Cache;
  Result<Rim> VerifyUncached(ByteSpan swidtag_xml, int64_t verification_time) const;

  Certificate rim_root_;
  std::shared_ptr<Cache> cache_;
};

// The outcome of comparing a report's measurements with a driver and a VBIOS RIM. Problems
// are data, so that a policy can list them all; ok() only when there are none.
struct RimAppraisal {
  // One entry per failing RIM index, e.g. "driver RIM index 7: no alternative matches the
  // report's block 8"; driver entries first, each RIM in index order.
  std::vector<std::string> mismatches;
  // The failing indices, per RIM (the same entries as `mismatches`).
  std::vector<uint32_t> driver_mismatched_indices;
  std::vector<uint32_t> vbios_mismatched_indices;
  // Everything else: version mismatches, more golden entries than report blocks.
  std::vector<std::string> problems;

  bool ok() const { return mismatches.empty() && problems.empty(); }
};

// Compares the report's SPDM measurement blocks (block index 1..254 -> value) with the
// golden values of verified RIMs, with NVIDIA's rules (LAYOUTS §8): RIM index i compares
// with block i + 1; every ACTIVE entry of either RIM must have its block in the report, of
// `size` bytes, equal to one of its alternatives; the driver RIM's version must equal
// `report_driver_version` and the VBIOS RIM's `report_vbios_version`, compared
// case-insensitively. (NV means to skip index 35 when NVDEC0 is disabled but, as written,
// never does; neither does this.)
// Errors (kInvalidArgument): `driver` is not a driver RIM or `vbios` not a VBIOS RIM; an
// index active in both ("driver and vbios RIM have measurement at the same index 7").
Result<RimAppraisal> AppraiseMeasurements(const std::map<uint32_t, Bytes>& report_blocks,
                                          const Rim& driver, const Rim& vbios,
                                          std::string_view report_driver_version,
                                          std::string_view report_vbios_version);

namespace internal {
// Reads a RIM document's payload (steps 1, 2 without the Signature requirement, and 5)
// WITHOUT verifying its signature or chain: for the reader's unit tests and the fuzz
// target only. The result is untrusted; never appraise with it. signer_* fields stay empty.
Result<Rim> ReadRimUnverifiedForTesting(ByteSpan swidtag_xml);
}  // namespace internal

}  // namespace crypta::attest::nvidia

#endif  // CRYPTA_ATTEST_NVIDIA_RIM_H_
