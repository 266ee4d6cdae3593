#include "attest/snp/vcek.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "common/byte_reader.h"
#include "common/constant_time.h"
#include "common/encoding.h"

namespace crypta::attest::snp {
namespace {

Error ExtError(std::string_view oid, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument,
               "certificate extension " + std::string(oid) + ": " + std::string(what));
}

// A short-form DER TLV with the given tag, the whole input (X.690 §8.1; AMD's values are
// short, so a long-form length is rejected).
Result<ByteSpan> ReadShortTlv(ByteSpan der, uint8_t tag, std::string_view oid) {
  ByteReader r(der);
  auto t = r.ReadU8("tag");
  if (!t || *t != tag) return MakeError(ExtError(oid, "unexpected DER tag"));
  auto len = r.ReadU8("length");
  if (!len || *len >= 0x80) return MakeError(ExtError(oid, "unsupported DER length"));
  auto content = r.ReadBytes(*len, "content");
  if (!content || !r.empty()) return MakeError(ExtError(oid, "DER length mismatch"));
  return *content;
}

// A DER INTEGER (X.690 §8.3) holding 0..255, minimally encoded: "02 01 73", "02 02 00 d9".
Result<uint8_t> ParseSpl(const Certificate& cert, std::string_view oid) {
  CRYPTA_ASSIGN_OR_RETURN(CertificateExtension ext, cert.FindExtension(oid));
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan content, ReadShortTlv(ext.value, 0x02, oid));
  if (content.empty()) return MakeError(ExtError(oid, "empty INTEGER"));
  if (content[0] & 0x80) return MakeError(ExtError(oid, "negative SPL"));
  if (content.size() > 1 && content[0] == 0 && !(content[1] & 0x80)) {
    return MakeError(ExtError(oid, "non-minimal INTEGER encoding"));
  }
  if (content.size() > 2 || (content.size() == 2 && content[0] != 0)) {
    return MakeError(ExtError(oid, "SPL out of range 0..255"));
  }
  return content.back();
}

Result<std::optional<std::string>> ParseOptionalIa5(const Certificate& cert, std::string_view oid) {
  auto ext = cert.FindExtension(oid);
  if (!ext) {
    if (ext.error().code() == ErrorCode::kNotFound) return std::optional<std::string>();
    return MakeError(ext.error());
  }
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan content, ReadShortTlv(ext->value, 0x16, oid));
  for (uint8_t c : content) {
    if (c < 0x20 || c > 0x7E) return MakeError(ExtError(oid, "non-printable character"));
  }
  return std::optional<std::string>(ToString(content));
}

bool LooksLikePem(ByteSpan data) {
  std::string_view s = AsStringView(data);
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i).starts_with("-----BEGIN");
}

}  // namespace

std::string_view SnpCertKindName(SnpCertKind kind) {
  return kind == SnpCertKind::kVcek ? "VCEK" : "VLEK";
}

Result<SnpCertExtensions> ParseSnpCertExtensions(const Certificate& cert) {
  SnpCertExtensions out;
  if (auto v = cert.FindExtension(kOidStructVersion)) {
    CRYPTA_ASSIGN_OR_RETURN(ByteSpan content, ReadShortTlv(v->value, 0x02, kOidStructVersion));
    if (content.size() != 1 || content[0] > 0x7F) {
      return MakeError(ExtError(kOidStructVersion, "struct version out of range"));
    }
    out.struct_version = content[0];
  } else if (v.error().code() != ErrorCode::kNotFound) {
    return MakeError(v.error());
  }
  CRYPTA_ASSIGN_OR_RETURN(out.product_name, ParseOptionalIa5(cert, kOidProductName));
  CRYPTA_ASSIGN_OR_RETURN(out.bl_spl, ParseSpl(cert, kOidBlSpl));
  CRYPTA_ASSIGN_OR_RETURN(out.tee_spl, ParseSpl(cert, kOidTeeSpl));
  CRYPTA_ASSIGN_OR_RETURN(out.snp_spl, ParseSpl(cert, kOidSnpSpl));
  CRYPTA_ASSIGN_OR_RETURN(out.ucode_spl, ParseSpl(cert, kOidUcodeSpl));
  if (auto fmc = cert.FindExtension(kOidFmcSpl)) {
    CRYPTA_ASSIGN_OR_RETURN(out.fmc_spl, ParseSpl(cert, kOidFmcSpl));
  } else if (fmc.error().code() != ErrorCode::kNotFound) {
    return MakeError(fmc.error());
  }
  if (auto hw = cert.FindExtension(kOidHwId)) {
    const Bytes& v = hw->value;
    // Raw 64 (Milan/Genoa) or 8 (Turin) bytes, or an OCTET STRING wrapping them.
    if (v.size() == 64 || v.size() == 8) {
      out.hwid = v;
    } else if (v.size() >= 2 && v[0] == 0x04 && v[1] == v.size() - 2 && (v[1] == 64 || v[1] == 8)) {
      out.hwid = Bytes(v.begin() + 2, v.end());
    } else {
      return MakeError(ExtError(kOidHwId, "hwID is " + std::to_string(v.size()) +
                                              " bytes, want 8 or 64 (optionally OCTET STRING)"));
    }
  } else if (hw.error().code() != ErrorCode::kNotFound) {
    return MakeError(hw.error());
  }
  CRYPTA_ASSIGN_OR_RETURN(out.csp_id, ParseOptionalIa5(cert, kOidCspId));
  return out;
}

Result<Certificate> SelectLeafCertificate(ByteSpan der_or_pem) {
  if (!LooksLikePem(der_or_pem)) return Certificate::FromDer(der_or_pem);
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Certificate> certs,
                          Certificate::ParsePemBundle(AsStringView(der_or_pem)));
  std::optional<Certificate> leaf;
  for (const Certificate& c : certs) {
    if (c.is_ca()) continue;
    if (leaf) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "certificate bundle holds more than one end-entity certificate");
    }
    leaf = c;
  }
  if (!leaf) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "certificate bundle holds no end-entity (VCEK/VLEK) certificate");
  }
  return *leaf;
}

Result<VerifiedChain> VerifySnpCertChain(const Certificate& leaf, SnpCertKind kind,
                                         const SnpProductRoots& roots, int64_t verification_time) {
  const Certificate intermediates[] = {kind == SnpCertKind::kVcek ? roots.ask : roots.asvk};
  const Certificate anchors[] = {roots.ark};
  auto chain = VerifyChain(leaf, intermediates, anchors, verification_time);
  if (!chain)
    return MakeError(chain.error().WithContext(std::string(SnpCertKindName(kind)) + " chain"));
  // The path must be leaf -> the expected intermediate -> ARK, never leaf -> ARK directly.
  if (chain->certificates.size() != 3 || chain->certificates[1].der() != intermediates[0].der()) {
    return MakeError(ErrorCode::kUnauthenticated,
                     std::string(SnpCertKindName(kind)) + " chain: not issued by the " +
                         (kind == SnpCertKind::kVcek ? "ASK" : "ASVK"));
  }
  return chain;
}

TcbVersion CertTcb(const SnpCertExtensions& ext, SnpProduct product) {
  TcbVersion t;
  if (HasFmcSpl(product)) t.fmc = ext.fmc_spl.value_or(0);
  t.boot_loader = ext.bl_spl;
  t.tee = ext.tee_spl;
  t.snp = ext.snp_spl;
  t.microcode = ext.ucode_spl;
  t.raw = EncodeTcb(t, product);
  return t;
}

Status CheckReportedTcbMatchesCert(uint64_t reported_tcb, const SnpCertExtensions& ext,
                                   SnpProduct product, SnpCertKind kind) {
  TcbVersion got = DecodeTcb(reported_tcb, product);
  std::string cert = std::string(SnpCertKindName(kind));
  auto mismatch = [&](std::string_view field, int reported, std::string_view ext_name,
                      int want) -> Status {
    return MakeError(ErrorCode::kUnauthenticated,
                     "reported TCB " + std::string(field) + " " + std::to_string(reported) +
                         " != " + cert + " " + std::string(ext_name) + " " + std::to_string(want));
  };
  if (HasFmcSpl(product)) {
    if (!ext.fmc_spl) {
      return MakeError(ErrorCode::kUnauthenticated, cert + " has no fmcSPL extension (Turin)");
    }
    if (*got.fmc != *ext.fmc_spl) return mismatch("fmc_spl", *got.fmc, "fmcSPL", *ext.fmc_spl);
  }
  if (got.boot_loader != ext.bl_spl)
    return mismatch("bl_spl", got.boot_loader, "blSPL", ext.bl_spl);
  if (got.tee != ext.tee_spl) return mismatch("tee_spl", got.tee, "teeSPL", ext.tee_spl);
  if (got.snp != ext.snp_spl) return mismatch("snp_spl", got.snp, "snpSPL", ext.snp_spl);
  if (got.microcode != ext.ucode_spl) {
    return mismatch("ucode_spl", got.microcode, "ucodeSPL", ext.ucode_spl);
  }
  if (!TcbReservedBitsZero(reported_tcb, product)) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "REPORTED_TCB (0x180): reserved bytes are not zero");
  }
  return OkStatus();
}

Status CheckHwIdMatchesChipId(const SnpCertExtensions& ext, ByteSpan chip_id, SnpProduct product) {
  if (!ext.hwid) {
    return MakeError(ErrorCode::kUnauthenticated, "VCEK has no hwID extension");
  }
  size_t n = ChipIdLength(product);
  if (ext.hwid->size() != n || chip_id.size() < n) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "VCEK hwID is " + std::to_string(ext.hwid->size()) + " bytes, want " +
                         std::to_string(n) + " for " + std::string(SnpProductName(product)));
  }
  if (!ConstantTimeEquals(*ext.hwid, chip_id.first(n))) {
    return MakeError(
        ErrorCode::kUnauthenticated,
        "VCEK hwID " + HexEncode(*ext.hwid) + " != report CHIP_ID " + HexEncode(chip_id.first(n)));
  }
  return OkStatus();
}

}  // namespace crypta::attest::snp
