// DCAP quote parser; offsets follow LAYOUTS.md §2 (Intel SGX/TDX DCAP quote formats).
#include "attest/dcap/quote.h"

#include <string>

#include "common/byte_reader.h"

namespace crypta::attest::dcap {
namespace {

// Reads n bytes as an owned copy.
Result<Bytes> Take(ByteReader& r, size_t n, std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan s, r.ReadBytes(n, field));
  return Bytes(s.begin(), s.end());
}

Error Invalid(std::string_view context, std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::string(context) + ": " + message);
}

Result<QuoteHeader> ParseHeader(ByteReader& r) {
  QuoteHeader h;
  // 0: version (u16 LE)
  CRYPTA_ASSIGN_OR_RETURN(h.version, r.ReadU16LE("quote header: version"));
  if (h.version < 3 || h.version > 5) {
    return MakeError(
        Invalid("quote header: version", "got " + std::to_string(h.version) + ", want 3, 4 or 5"));
  }
  // 2: attestation key type
  CRYPTA_ASSIGN_OR_RETURN(h.attestation_key_type,
                          r.ReadU16LE("quote header: attestation key type"));
  if (h.attestation_key_type != kAttestationKeyTypeEcdsaP256) {
    return MakeError(Invalid(
        "quote header: attestation key type",
        "got " + std::to_string(h.attestation_key_type) + ", want 2 (ECDSA-256-with-P-256)"));
  }
  // 4: v3 reserved (zero), v4/v5 TEE type
  CRYPTA_ASSIGN_OR_RETURN(h.tee_type, r.ReadU32LE("quote header: TEE type"));
  if (h.tee_type != kTeeTypeSgx && h.tee_type != kTeeTypeTdx) {
    return MakeError(Invalid("quote header: TEE type",
                             "got " + std::to_string(h.tee_type) + ", want 0 or 0x81"));
  }
  if (h.version == 3 && h.tee_type != kTeeTypeSgx) {
    return MakeError(Invalid("quote header: reserved (v3 offset 4)", "must be zero"));
  }
  // 8: QE SVN, 10: PCE SVN (v3); reserved in v4/v5 (not checked: signed, and QEs differ)
  CRYPTA_ASSIGN_OR_RETURN(h.qe_svn, r.ReadU16LE("quote header: QE SVN"));
  CRYPTA_ASSIGN_OR_RETURN(h.pce_svn, r.ReadU16LE("quote header: PCE SVN"));
  // 12: QE vendor id (16), 28: user data (20)
  CRYPTA_ASSIGN_OR_RETURN(h.qe_vendor_id, Take(r, 16, "quote header: QE vendor id"));
  CRYPTA_ASSIGN_OR_RETURN(h.user_data, Take(r, 20, "quote header: user data"));
  return h;
}

// Certification data (u16 type, u32 size, data) of type 5 at the end of the QE report
// certification data, or of a v3 quote. Other types parse but cannot be verified.
Status ParseInnerCertData(ByteReader& r, ParsedQuote& q) {
  CRYPTA_ASSIGN_OR_RETURN(q.cert_data_type, r.ReadU16LE("certification data: type"));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t size, r.ReadU32LE("certification data: size"));
  if (size > r.remaining()) {
    return MakeError(Invalid("certification data", "size " + std::to_string(size) +
                                                       " exceeds the remaining " +
                                                       std::to_string(r.remaining()) + " bytes"));
  }
  CRYPTA_ASSIGN_OR_RETURN(q.cert_data, Take(r, size, "certification data: data"));
  return OkStatus();
}

// QE report (384), its signature (64), QE auth data (u16 + n), certification data.
Status ParseQeReportAndCertData(ByteReader& r, ParsedQuote& q) {
  CRYPTA_ASSIGN_OR_RETURN(q.qe_report, Take(r, kSgxReportBodySize, "QE report"));
  CRYPTA_ASSIGN_OR_RETURN(q.qe_report_body, ParseSgxReportBody(q.qe_report, "QE report"));
  CRYPTA_ASSIGN_OR_RETURN(q.qe_report_signature, Take(r, 64, "QE report signature"));
  CRYPTA_ASSIGN_OR_RETURN(uint16_t auth_size, r.ReadU16LE("QE authentication data: size"));
  CRYPTA_ASSIGN_OR_RETURN(q.qe_auth_data, Take(r, auth_size, "QE authentication data"));
  return ParseInnerCertData(r, q);
}

}  // namespace

Result<SgxReportBody> ParseSgxReportBody(ByteSpan data, std::string_view what) {
  if (data.size() != kSgxReportBodySize) {
    return MakeError(Invalid(what, "size " + std::to_string(data.size()) + ", want 384"));
  }
  const std::string w(what);
  ByteReader r(data);
  SgxReportBody b;
  CRYPTA_ASSIGN_OR_RETURN(b.cpu_svn, Take(r, 16, w + ": CPUSVN"));                // 0
  CRYPTA_ASSIGN_OR_RETURN(b.misc_select, r.ReadU32LE(w + ": MISCSELECT"));        // 16
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(12, w + ": reserved (offset 20)"));         // 20
  CRYPTA_ASSIGN_OR_RETURN(b.isv_ext_prod_id, Take(r, 16, w + ": ISVEXTPRODID"));  // 32
  CRYPTA_ASSIGN_OR_RETURN(b.attributes, Take(r, 16, w + ": ATTRIBUTES"));         // 48
  {
    ByteReader a(b.attributes);
    b.attributes_flags = *a.ReadU64LE("flags");
    b.xfrm = *a.ReadU64LE("xfrm");
  }
  CRYPTA_ASSIGN_OR_RETURN(b.mr_enclave, Take(r, 32, w + ": MRENCLAVE"));       // 64
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(32, w + ": reserved (offset 96)"));      // 96
  CRYPTA_ASSIGN_OR_RETURN(b.mr_signer, Take(r, 32, w + ": MRSIGNER"));         // 128
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(32, w + ": reserved (offset 160)"));     // 160
  CRYPTA_ASSIGN_OR_RETURN(b.config_id, Take(r, 64, w + ": CONFIGID"));         // 192
  CRYPTA_ASSIGN_OR_RETURN(b.isv_prod_id, r.ReadU16LE(w + ": ISVPRODID"));      // 256
  CRYPTA_ASSIGN_OR_RETURN(b.isv_svn, r.ReadU16LE(w + ": ISVSVN"));             // 258
  CRYPTA_ASSIGN_OR_RETURN(b.config_svn, r.ReadU16LE(w + ": CONFIGSVN"));       // 260
  CRYPTA_RETURN_IF_ERROR(r.ExpectZero(42, w + ": reserved (offset 262)"));     // 262
  CRYPTA_ASSIGN_OR_RETURN(b.isv_family_id, Take(r, 16, w + ": ISVFAMILYID"));  // 304
  CRYPTA_ASSIGN_OR_RETURN(b.report_data, Take(r, 64, w + ": REPORTDATA"));     // 320
  CRYPTA_RETURN_IF_ERROR(r.Finish(what));
  return b;
}

Result<TdReportBody> ParseTdReportBody(ByteSpan data) {
  if (data.size() != kTdReport10Size && data.size() != kTdReport15Size) {
    return MakeError(
        Invalid("TD report body", "size " + std::to_string(data.size()) + ", want 584 or 648"));
  }
  ByteReader r(data);
  TdReportBody b;
  CRYPTA_ASSIGN_OR_RETURN(b.tee_tcb_svn, Take(r, 16, "TD report: TEE_TCB_SVN"));         // 0
  CRYPTA_ASSIGN_OR_RETURN(b.mr_seam, Take(r, 48, "TD report: MRSEAM"));                  // 16
  CRYPTA_ASSIGN_OR_RETURN(b.mr_signer_seam, Take(r, 48, "TD report: MRSIGNERSEAM"));     // 64
  CRYPTA_ASSIGN_OR_RETURN(b.seam_attributes, Take(r, 8, "TD report: SEAM_ATTRIBUTES"));  // 112
  CRYPTA_ASSIGN_OR_RETURN(b.td_attributes, Take(r, 8, "TD report: TD_ATTRIBUTES"));      // 120
  b.td_attributes_value = *ByteReader(b.td_attributes).ReadU64LE("TD_ATTRIBUTES");
  CRYPTA_ASSIGN_OR_RETURN(b.xfam, Take(r, 8, "TD report: XFAM"));                       // 128
  CRYPTA_ASSIGN_OR_RETURN(b.mr_td, Take(r, 48, "TD report: MRTD"));                     // 136
  CRYPTA_ASSIGN_OR_RETURN(b.mr_config_id, Take(r, 48, "TD report: MRCONFIGID"));        // 184
  CRYPTA_ASSIGN_OR_RETURN(b.mr_owner, Take(r, 48, "TD report: MROWNER"));               // 232
  CRYPTA_ASSIGN_OR_RETURN(b.mr_owner_config, Take(r, 48, "TD report: MROWNERCONFIG"));  // 280
  for (int i = 0; i < 4; ++i) {                                                         // 328..
    CRYPTA_ASSIGN_OR_RETURN(b.rtmr[i], Take(r, 48, "TD report: RTMR" + std::to_string(i)));
  }
  CRYPTA_ASSIGN_OR_RETURN(b.report_data, Take(r, 64, "TD report: REPORTDATA"));  // 520
  if (data.size() == kTdReport15Size) {
    b.tdx15 = true;
    CRYPTA_ASSIGN_OR_RETURN(b.tee_tcb_svn2, Take(r, 16, "TD report: TEE_TCB_SVN2"));  // 584
    CRYPTA_ASSIGN_OR_RETURN(b.mr_service_td, Take(r, 48, "TD report: MRSERVICETD"));  // 600
  }
  CRYPTA_RETURN_IF_ERROR(r.Finish("TD report body"));
  return b;
}

Result<ParsedQuote> ParseQuote(ByteSpan quote) {
  if (quote.size() > kMaxQuoteSize) {
    return MakeError(ErrorCode::kResourceExhausted, "quote: " + std::to_string(quote.size()) +
                                                        " bytes exceeds the cap of " +
                                                        std::to_string(kMaxQuoteSize));
  }
  ByteReader r(quote);
  ParsedQuote q;
  CRYPTA_ASSIGN_OR_RETURN(q.header, ParseHeader(r));

  // Body (§2.2): v3 SGX; v4 by TEE type; v5 with a (u16 type, u32 size) descriptor.
  size_t body_size = 0;
  if (q.header.version == 5) {
    CRYPTA_ASSIGN_OR_RETURN(uint16_t type, r.ReadU16LE("quote v5 body descriptor: type"));
    CRYPTA_ASSIGN_OR_RETURN(uint32_t size, r.ReadU32LE("quote v5 body descriptor: size"));
    size_t want = 0;
    switch (type) {
      case 1:
        want = kSgxReportBodySize;
        q.body_type = BodyType::kSgx;
        break;
      case 2:
        want = kTdReport10Size;
        q.body_type = BodyType::kTd10;
        break;
      case 3:
        want = kTdReport15Size;
        q.body_type = BodyType::kTd15;
        break;
      default:
        return MakeError(Invalid("quote v5 body descriptor: type",
                                 "got " + std::to_string(type) + ", want 1, 2 or 3"));
    }
    if (size != want) {
      return MakeError(Invalid("quote v5 body descriptor: size",
                               "got " + std::to_string(size) + ", want " + std::to_string(want) +
                                   " for body type " + std::to_string(type)));
    }
    body_size = want;
  } else if (q.header.version == 4 && q.header.tee_type == kTeeTypeTdx) {
    q.body_type = BodyType::kTd10;
    body_size = kTdReport10Size;
  } else {
    q.body_type = BodyType::kSgx;
    body_size = kSgxReportBodySize;
  }
  if ((q.body_type == BodyType::kSgx) != (q.header.tee_type == kTeeTypeSgx)) {
    return MakeError(Invalid("quote body", "body type does not match the header's TEE type"));
  }
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan body, r.ReadBytes(body_size, "quote body"));
  if (q.body_type == BodyType::kSgx) {
    CRYPTA_ASSIGN_OR_RETURN(q.sgx_body, ParseSgxReportBody(body, "enclave report"));
  } else {
    CRYPTA_ASSIGN_OR_RETURN(q.td_body, ParseTdReportBody(body));
  }
  q.signed_data.assign(quote.begin(), quote.begin() + r.position());

  // Signature data (§2.5): u32 length, then exactly that many bytes.
  CRYPTA_ASSIGN_OR_RETURN(uint32_t sig_len, r.ReadU32LE("signature data length"));
  if (sig_len > r.remaining()) {
    return MakeError(Invalid("signature data", "length " + std::to_string(sig_len) +
                                                   " exceeds the remaining " +
                                                   std::to_string(r.remaining()) + " bytes"));
  }
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan sig_data, r.ReadBytes(sig_len, "signature data"));
  q.trailing_bytes = r.remaining();

  ByteReader s(sig_data);
  CRYPTA_ASSIGN_OR_RETURN(q.quote_signature, Take(s, 64, "quote signature"));
  CRYPTA_ASSIGN_OR_RETURN(q.attestation_key, Take(s, 64, "attestation public key"));
  if (q.header.version == 3) {
    CRYPTA_RETURN_IF_ERROR(ParseQeReportAndCertData(s, q));
  } else {
    CRYPTA_ASSIGN_OR_RETURN(uint16_t outer_type, s.ReadU16LE("certification data: type"));
    if (outer_type != kCertDataQeReport) {
      return MakeError(
          Invalid("certification data: type",
                  "got " + std::to_string(outer_type) + ", want 6 (QE report certification data)"));
    }
    CRYPTA_ASSIGN_OR_RETURN(uint32_t outer_size, s.ReadU32LE("certification data: size"));
    if (outer_size > s.remaining()) {
      return MakeError(Invalid("QE report certification data",
                               "size " + std::to_string(outer_size) + " exceeds the remaining " +
                                   std::to_string(s.remaining()) + " bytes"));
    }
    CRYPTA_ASSIGN_OR_RETURN(ByteSpan inner, s.ReadBytes(outer_size, "QE report cert data"));
    ByteReader in(inner);
    CRYPTA_RETURN_IF_ERROR(ParseQeReportAndCertData(in, q));
    CRYPTA_RETURN_IF_ERROR(in.Finish("QE report certification data"));
  }
  CRYPTA_RETURN_IF_ERROR(s.Finish("signature data"));
  return q;
}

}  // namespace crypta::attest::dcap
