#include "pki/attested_tls.h"

#include <cbor.h>

#include <memory>

#include "common/constant_time.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/x509_builder.h"
#include "pki/csr.h"

namespace crypta::pki {
namespace {

constexpr std::string_view kAttestedTlsLabel = "crypta attested-tls v1";

struct CborDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborDeleter>;

// Intel DCAP quote header (v4 and v5): offset 4, u32 little-endian tee_type.
Result<attest::TeeType> IntelQuoteTee(ByteSpan quote) {
  if (quote.size() < 8) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attested-TLS extension: Intel quote shorter than its header");
  }
  const uint32_t tee_type = static_cast<uint32_t>(quote[4]) | static_cast<uint32_t>(quote[5]) << 8 |
                            static_cast<uint32_t>(quote[6]) << 16 |
                            static_cast<uint32_t>(quote[7]) << 24;
  if (tee_type == 0x00) return attest::TeeType::kSgx;
  if (tee_type == 0x81) return attest::TeeType::kTdx;
  return MakeError(ErrorCode::kInvalidArgument, "attested-TLS extension: Intel quote tee_type " +
                                                    std::to_string(tee_type) +
                                                    " is neither SGX (0) nor TDX (0x81)");
}

// True when VALUE starts with a CBOR tag head followed by a definite-length byte-string head
// (major types 6 and 2). libcbor 0.8 (Debian 12) allocates a definite array or map for its
// declared size before reading the elements, so cbor_load on the 5 bytes of an array head
// claiming 2^32 items (even as a chunk of an indefinite byte string) asks malloc for 32 GiB;
// with this check first it never meets an array or a map.
bool StartsWithTaggedByteString(ByteSpan value) {
  if (value.empty() || value[0] >> 5 != 6) return false;
  const uint8_t info = value[0] & 0x1f;
  if (info > 27) return false;  // reserved, or indefinite (not allowed for a tag)
  const size_t head = info < 24 ? 1 : 1 + (size_t{1} << (info - 24));
  return value.size() > head && value[head] >> 5 == 2 && (value[head] & 0x1f) != 31;
}

}  // namespace

uint64_t CborTagForTee(attest::TeeType tee) {
  switch (tee) {
    case attest::TeeType::kSevSnp:
      return kCborTagSevSnpReport;
    case attest::TeeType::kTdx:
    case attest::TeeType::kSgx:
      return kCborTagIntelTeeQuote;
    case attest::TeeType::kNitro:
      return kCborTagCryptaNitro;
    case attest::TeeType::kCca:
      return kCborTagCryptaCca;
    case attest::TeeType::kSim:
    case attest::TeeType::kNvidiaGpu:  // refused by AttestedCertExtension
      break;
  }
  return kCborTagCryptaSim;
}

Result<Bytes> AttestedCertExtension(attest::TeeType tee, ByteSpan evidence) {
  if (tee == attest::TeeType::kNvidiaGpu) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attested-TLS extension: GPU evidence accompanies a CPU TEE's evidence; it "
                     "cannot be the certificate's evidence");
  }
  if (evidence.empty() || evidence.size() > kMaxAttestedEvidenceSize) {
    return MakeError(ErrorCode::kInvalidArgument, "attested-TLS extension: evidence must be 1.." +
                                                      std::to_string(kMaxAttestedEvidenceSize) +
                                                      " bytes, got " +
                                                      std::to_string(evidence.size()));
  }
  if (tee == attest::TeeType::kTdx || tee == attest::TeeType::kSgx) {
    // The tag does not say which; the header must, or the parser could not round-trip.
    CRYPTA_ASSIGN_OR_RETURN(attest::TeeType from_header, IntelQuoteTee(evidence));
    if (from_header != tee) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "attested-TLS extension: the Intel quote's header says " +
                           std::string(attest::TeeTypeName(from_header)) + ", not " +
                           std::string(attest::TeeTypeName(tee)));
    }
  }
  CborPtr bytes(cbor_build_bytestring(evidence.data(), evidence.size()));
  if (!bytes) return MakeError(ErrorCode::kInternal, "cbor_build_bytestring");
  CborPtr tagged(cbor_build_tag(CborTagForTee(tee), bytes.get()));
  if (!tagged) return MakeError(ErrorCode::kInternal, "cbor_build_tag");
  unsigned char* buffer = nullptr;
  size_t buffer_size = 0;
  size_t length = cbor_serialize_alloc(tagged.get(), &buffer, &buffer_size);
  if (length == 0 || buffer == nullptr) {
    return MakeError(ErrorCode::kInternal, "cbor_serialize_alloc");
  }
  Bytes out(buffer, buffer + length);
  free(buffer);  // libcbor allocates with malloc (its default allocator)
  return out;
}

Result<AttestedEvidence> ParseAttestedExtensionValue(ByteSpan value) {
  constexpr size_t kMaxValue = kMaxAttestedEvidenceSize + 16;  // tag and length heads
  if (value.empty() || value.size() > kMaxValue) {
    return MakeError(ErrorCode::kInvalidArgument, "attested-TLS extension: value must be 1.." +
                                                      std::to_string(kMaxValue) + " bytes, got " +
                                                      std::to_string(value.size()));
  }
  if (!StartsWithTaggedByteString(value)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attested-TLS extension: not a CBOR tag over a definite-length byte string");
  }
  cbor_load_result result{};
  CborPtr item(cbor_load(value.data(), value.size(), &result));
  if (!item || result.error.code != CBOR_ERR_NONE) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attested-TLS extension: not a well-formed CBOR item (libcbor error " +
                         std::to_string(static_cast<int>(result.error.code)) + " at byte " +
                         std::to_string(result.error.position) + ")");
  }
  if (result.read != value.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attested-TLS extension: " + std::to_string(value.size() - result.read) +
                         " bytes after the CBOR item");
  }
  if (!cbor_isa_tag(item.get())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attested-TLS extension: the CBOR item is not a tag (RFC 8949 §3.4)");
  }
  const uint64_t tag = cbor_tag_value(item.get());
  CborPtr content(cbor_tag_item(item.get()));
  if (!content || !cbor_isa_bytestring(content.get()) ||
      !cbor_bytestring_is_definite(content.get())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attested-TLS extension: the tagged item is not a definite-length byte "
                     "string");
  }
  ByteSpan evidence(cbor_bytestring_handle(content.get()), cbor_bytestring_length(content.get()));
  if (evidence.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "attested-TLS extension: empty evidence");
  }
  AttestedEvidence out;
  switch (tag) {
    case kCborTagIntelTeeQuote: {
      CRYPTA_ASSIGN_OR_RETURN(out.tee, IntelQuoteTee(evidence));
      break;
    }
    case kCborTagSevSnpReport:
      out.tee = attest::TeeType::kSevSnp;
      break;
    case kCborTagCryptaSim:
      out.tee = attest::TeeType::kSim;
      break;
    case kCborTagCryptaNitro:
      out.tee = attest::TeeType::kNitro;
      break;
    case kCborTagCryptaCca:
      out.tee = attest::TeeType::kCca;
      break;
    default:
      return MakeError(
          ErrorCode::kInvalidArgument,
          "attested-TLS extension: unknown evidence format tag " + std::to_string(tag));
  }
  out.evidence.assign(evidence.begin(), evidence.end());
  return out;
}

Result<AttestedEvidence> ParseAttestedCertExtension(const Certificate& cert) {
  auto ext = cert.FindExtension(kTcgDiceTaggedEvidenceOid);
  if (!ext) {
    return MakeError(ext.error().WithContext("certificate \"" + cert.subject() + "\""));
  }
  return ParseAttestedExtensionValue(ext->value);
}

Bytes AttestedTlsReportData(ByteSpan spki_der) {
  Hasher hasher(HashAlg::kSha384);
  hasher.Update(AsBytes(kAttestedTlsLabel));
  hasher.Update(spki_der);
  Bytes out = hasher.Finish();
  out.resize(kReportDataSize, 0);
  return out;
}

Status CheckAttestedTlsBinding(const Certificate& cert, ByteSpan report_data) {
  CRYPTA_ASSIGN_OR_RETURN(PublicKey key, cert.public_key());
  CRYPTA_ASSIGN_OR_RETURN(Bytes spki, key.ToSpkiDer());
  const Bytes expected = AttestedTlsReportData(spki);
  if (report_data.size() != kReportDataSize || !ConstantTimeEquals(report_data, expected)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "attested TLS: the evidence's report_data does not bind the public key of "
                     "certificate \"" +
                         cert.subject() + "\"");
  }
  return OkStatus();
}

Result<Certificate> MakeAttestedCertificate(const PrivateKey& key, const EvidenceCollector& collect,
                                            const AttestedCertificateOptions& options) {
  if (!collect) return MakeError(ErrorCode::kInvalidArgument, "attested TLS: no collector");
  if (options.ttl_s <= 60 || options.ttl_s > 366 * 24 * 3600) {
    return MakeError(ErrorCode::kInvalidArgument, "attested TLS: ttl_s must be 61..31622400");
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes spki, key.GetPublicKey().ToSpkiDer());
  const Bytes report_data = AttestedTlsReportData(spki);
  auto evidence = collect(report_data);
  if (!evidence)
    return MakeError(evidence.error().WithContext("attested TLS: collecting evidence"));
  CRYPTA_ASSIGN_OR_RETURN(Bytes ext, AttestedCertExtension(evidence->tee, evidence->raw));
  const int64_t now = options.now != 0 ? options.now : UnixNow();
  CertificateTemplate t;
  t.common_name = options.common_name;
  t.not_before = now - 60;
  t.not_after = now + options.ttl_s;
  t.is_ca = false;
  t.san_dns = options.dns_names;
  t.san_ips = options.ip_addresses;
  t.extended_key_usage = {"serverAuth", "clientAuth"};
  t.extensions.push_back(CustomExtension{kTcgDiceTaggedEvidenceOid, false, std::move(ext)});
  return IssueCertificate(t, key.GetPublicKey(), nullptr, key);
}

}  // namespace crypta::pki
