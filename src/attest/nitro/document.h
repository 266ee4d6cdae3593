// AWS Nitro Enclaves attestation document: a COSE_Sign1 (RFC 9052 §4.2) whose payload is
// the CBOR map AWS specifies (aws-nitro-enclaves-nsm-api docs/attestation_process.md,
// "Attestation document specification" and "Syntactical validation";
// testdata/nitro/LAYOUTS.md §1 and §3).
//
// ParseNitroDocument checks structure only; it verifies no signature and no certificate
// (that is NitroVerifier's job, verifier.h). What it refuses, each time with an error that
// names the field (kInvalidArgument, or kResourceExhausted for the size cap):
//   * input over kMaxNitroDocumentSize (16 KiB; real documents are 4.5-7.5 KB);
//   * CBOR that is not well formed, uses indefinite lengths, declares more items or bytes
//     than the input holds, nests deeper than 8, or has trailing bytes (checked by our own
//     pre-scan before libcbor sees the bytes: libcbor 0.8 allocates a definite array or
//     map for its declared size before reading it, see pki/attested_tls.cc);
//   * an envelope that is not a 4-item array (untagged, or under COSE_Sign1 tag 18);
//   * a protected header other than the serialized map {1: -35} (alg ES384, RFC 9053
//     §2.1), naming the algorithm found; an unprotected header that is not a map (CBOR
//     null, as BN's self-signed sample has, is refused); a signature that is not 96 bytes;
//   * a payload that is not a map with text keys, or has a duplicate or unknown key;
//     missing module_id / digest / timestamp / pcrs / certificate / cabundle; a module_id
//     that is empty, over 1024 bytes or not printable ASCII; digest != "SHA384"; timestamp not an
//     unsigned integer; pcrs not a map of 1..32 entries with unsigned index <= 31 (no duplicates)
//     and byte-string values of 32, 48, 64 or 96 bytes; certificate not a byte string of 1..1024
//     bytes; cabundle not an array of 1..kMaxCabundleEntries byte strings of 1..1024 bytes each;
//     public_key / user_data / nonce neither absent, null, nor a byte string of
//     <= 1024 bytes.
//
// Thread-safe (no shared state). NitroDocument owns copies of everything it needs.
#ifndef CRYPTA_ATTEST_NITRO_DOCUMENT_H_
#define CRYPTA_ATTEST_NITRO_DOCUMENT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::nitro {

inline constexpr size_t kMaxNitroDocumentSize = 16 * 1024;
// AWS "Syntactical validation": certificate, cabundle entries and the three optional
// caller-supplied fields are at most 1024 bytes.
inline constexpr size_t kMaxNitroFieldSize = 1024;
inline constexpr size_t kMaxPcrCount = 32;
inline constexpr uint32_t kMaxPcrIndex = 31;
// Real chains have 4 entries (root, regional, zonal, instance CA).
inline constexpr size_t kMaxCabundleEntries = 16;
// COSE alg ES384 (RFC 9053 §2.1): ECDSA P-384 with SHA-384, r || s of 48 bytes each.
inline constexpr int64_t kCoseAlgEs384 = -35;
inline constexpr size_t kEs384SignatureSize = 96;

struct NitroDocument {
  bool tagged = false;   // the envelope carried COSE_Sign1 tag 18
  Bytes protected_bstr;  // item 0's contents exactly as received (a1 01 38 22)
  Bytes payload;         // item 2's contents exactly as received
  Bytes signature;       // item 3: r || s, 96 bytes

  // The payload (LAYOUTS.md §3).
  std::string module_id;
  std::string digest;  // always "SHA384"
  uint64_t timestamp_ms = 0;
  std::map<uint32_t, Bytes> pcrs;  // index -> value
  Bytes certificate;               // DER, the enclave leaf
  std::vector<Bytes> cabundle;     // DER, root first: cabundle.back() issued `certificate`
  std::optional<Bytes> public_key, user_data, nonce;  // nullopt when absent or null

  // The COSE Sig_structure (RFC 9052 §4.4): the definite-length array
  // ["Signature1", protected_bstr, h'', payload], over the received bytes.
  Bytes SigStructure() const;
  // The PCR's value, or nullptr when the document has no such PCR.
  const Bytes* FindPcr(uint32_t index) const;
};

Result<NitroDocument> ParseNitroDocument(ByteSpan data);

}  // namespace crypta::attest::nitro

#endif  // CRYPTA_ATTEST_NITRO_DOCUMENT_H_
