// PCK certificate SGX extension parser (Intel "SGX PCK Certificate and CRL Profile").
#include "attest/dcap/pck.h"

#include <string>

#include "common/byte_reader.h"

namespace crypta::attest::dcap {
namespace {

constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagEnumerated = 0x0a;
constexpr uint8_t kTagSequence = 0x30;

// DER content of OID 1.2.840.113741.1.13.1 (the SGX extension's arc).
constexpr uint8_t kSgxArc[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

struct Tlv {
  uint8_t tag;
  ByteSpan content;
};

// One DER TLV (X.690 §8.1): single-byte tags, definite lengths of at most 4 bytes.
Result<Tlv> ReadTlv(ByteReader& r, std::string_view field) {
  const std::string f = "PCK extension: " + std::string(field);
  CRYPTA_ASSIGN_OR_RETURN(uint8_t tag, r.ReadU8(f));
  if ((tag & 0x1f) == 0x1f) {
    return MakeError(ErrorCode::kInvalidArgument, f + ": multi-byte tag");
  }
  CRYPTA_ASSIGN_OR_RETURN(uint8_t first, r.ReadU8(f + ": length"));
  size_t len = first;
  if (first & 0x80) {
    int n = first & 0x7f;
    if (n == 0 || n > 4) {
      return MakeError(ErrorCode::kInvalidArgument, f + ": unsupported length encoding");
    }
    len = 0;
    for (int i = 0; i < n; ++i) {
      CRYPTA_ASSIGN_OR_RETURN(uint8_t b, r.ReadU8(f + ": length"));
      len = (len << 8) | b;
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan content, r.ReadBytes(len, f));
  return Tlv{tag, content};
}

Result<Tlv> ReadTagged(ByteReader& r, uint8_t tag, std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(Tlv t, ReadTlv(r, field));
  if (t.tag != tag) {
    return MakeError(ErrorCode::kInvalidArgument, "PCK extension: " + std::string(field) +
                                                      ": unexpected tag " + std::to_string(t.tag));
  }
  return t;
}

// A small non-negative INTEGER/ENUMERATED (at most 0xffff).
Result<uint32_t> SmallUint(ByteSpan content, std::string_view field) {
  if (content.empty() || content.size() > 3 || (content[0] & 0x80)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "PCK extension: " + std::string(field) + ": not a small non-negative integer");
  }
  uint32_t v = 0;
  for (uint8_t b : content) v = (v << 8) | b;
  if (v > 0xffff) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "PCK extension: " + std::string(field) + ": value out of range");
  }
  return v;
}

// If `oid` is the SGX arc followed by `suffix_len` more single-byte arcs, returns them.
bool MatchArc(ByteSpan oid, size_t suffix_len, uint8_t* suffix) {
  if (oid.size() != sizeof(kSgxArc) + suffix_len) return false;
  for (size_t i = 0; i < sizeof(kSgxArc); ++i) {
    if (oid[i] != kSgxArc[i]) return false;
  }
  for (size_t i = 0; i < suffix_len; ++i) suffix[i] = oid[sizeof(kSgxArc) + i];
  return true;
}

Result<Bytes> FixedOctets(const Tlv& v, size_t size, std::string_view field) {
  if (v.tag != kTagOctetString || v.content.size() != size) {
    return MakeError(ErrorCode::kInvalidArgument, "PCK extension: " + std::string(field) +
                                                      ": want an OCTET STRING of " +
                                                      std::to_string(size) + " bytes");
  }
  return Bytes(v.content.begin(), v.content.end());
}

// The TCB member (.2): SEQUENCE of SEQUENCE { OID .2.N, INTEGER / OCTET STRING }.
Status ParseTcb(ByteSpan content, PckExtensions& out, bool& have_pcesvn) {
  ByteReader r(content);
  while (!r.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Tlv item, ReadTagged(r, kTagSequence, "TCB entry"));
    ByteReader ir(item.content);
    CRYPTA_ASSIGN_OR_RETURN(Tlv oid, ReadTagged(ir, kTagOid, "TCB entry OID"));
    CRYPTA_ASSIGN_OR_RETURN(Tlv value, ReadTlv(ir, "TCB entry value"));
    uint8_t arc[2];
    if (!MatchArc(oid.content, 2, arc) || arc[0] != 2) continue;
    if (arc[1] >= 1 && arc[1] <= 16) {
      if (value.tag != kTagInteger) {
        return MakeError(ErrorCode::kInvalidArgument, "PCK extension: TCB component not INTEGER");
      }
      CRYPTA_ASSIGN_OR_RETURN(uint32_t svn, SmallUint(value.content, "TCB component SVN"));
      if (svn > 255) {
        return MakeError(ErrorCode::kInvalidArgument, "PCK extension: TCB component SVN > 255");
      }
      out.tcb_components[arc[1] - 1] = static_cast<uint8_t>(svn);
    } else if (arc[1] == 17) {
      if (value.tag != kTagInteger) {
        return MakeError(ErrorCode::kInvalidArgument, "PCK extension: PCESVN not INTEGER");
      }
      CRYPTA_ASSIGN_OR_RETURN(uint32_t svn, SmallUint(value.content, "PCESVN"));
      out.pce_svn = static_cast<uint16_t>(svn);
      have_pcesvn = true;
    } else if (arc[1] == 18) {
      CRYPTA_ASSIGN_OR_RETURN(out.cpu_svn, FixedOctets(value, 16, "CPUSVN"));
    }
  }
  return OkStatus();
}

}  // namespace

Result<PckExtensions> ParsePckExtensionValue(ByteSpan der) {
  ByteReader outer(der);
  CRYPTA_ASSIGN_OR_RETURN(Tlv seq, ReadTagged(outer, kTagSequence, "outer SEQUENCE"));
  CRYPTA_RETURN_IF_ERROR(outer.Finish("PCK extension"));
  PckExtensions out;
  bool have_tcb = false, have_pcesvn = false;
  ByteReader r(seq.content);
  while (!r.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Tlv item, ReadTagged(r, kTagSequence, "member"));
    ByteReader ir(item.content);
    CRYPTA_ASSIGN_OR_RETURN(Tlv oid, ReadTagged(ir, kTagOid, "member OID"));
    CRYPTA_ASSIGN_OR_RETURN(Tlv value, ReadTlv(ir, "member value"));
    uint8_t arc[1];
    if (!MatchArc(oid.content, 1, arc)) continue;
    switch (arc[0]) {
      case 1: {
        CRYPTA_ASSIGN_OR_RETURN(out.ppid, FixedOctets(value, 16, "PPID"));
        break;
      }
      case 2:
        if (value.tag != kTagSequence) {
          return MakeError(ErrorCode::kInvalidArgument, "PCK extension: TCB: not a SEQUENCE");
        }
        CRYPTA_RETURN_IF_ERROR(ParseTcb(value.content, out, have_pcesvn));
        have_tcb = true;
        break;
      case 3: {
        CRYPTA_ASSIGN_OR_RETURN(out.pce_id, FixedOctets(value, 2, "PCE-ID"));
        break;
      }
      case 4: {
        CRYPTA_ASSIGN_OR_RETURN(out.fmspc, FixedOctets(value, 6, "FMSPC"));
        break;
      }
      case 5: {
        if (value.tag != kTagEnumerated) {
          return MakeError(ErrorCode::kInvalidArgument, "PCK extension: SGX type: not ENUMERATED");
        }
        CRYPTA_ASSIGN_OR_RETURN(uint32_t t, SmallUint(value.content, "SGX type"));
        out.sgx_type = static_cast<int>(t);
        break;
      }
      default:
        break;  // platform instance id, configuration: not needed for TCB matching
    }
  }
  if (!have_tcb || !have_pcesvn) {
    return MakeError(ErrorCode::kInvalidArgument, "PCK extension: TCB or PCESVN missing");
  }
  if (out.fmspc.empty() || out.pce_id.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "PCK extension: FMSPC or PCE-ID missing");
  }
  return out;
}

Result<PckExtensions> ParsePckExtensions(const Certificate& pck) {
  CRYPTA_ASSIGN_OR_RETURN(CertificateExtension ext, pck.FindExtension(kSgxExtensionsOid));
  return ParsePckExtensionValue(ext.value);
}

}  // namespace crypta::attest::dcap
