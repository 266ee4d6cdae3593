// ATTESTATION_REPORT parsing: the facts of the real reports in testdata/snp (MANIFEST.md),
// TCB_VERSION layouts per product, and rejection of malformed reports.
#include <gtest/gtest.h>

#include "attest/snp/product.h"
#include "attest/snp/report.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::attest::snp {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::Unhex;

std::string ErrorOf(const Result<AttestationReport>& r) {
  return r.has_value() ? "" : r.error().message();
}

TEST(SnpReportTest, ParsesTrusteeMilanReportFields) {
  Bytes raw = ReadTestdataBytes("snp/trustee-milan-vcek/report.bin");
  CRYPTA_ASSIGN_OR_FAIL(AttestationReport r, ParseAttestationReport(raw));
  EXPECT_EQ(r.version, 2u);
  EXPECT_EQ(r.guest_svn, 4u);
  EXPECT_EQ(r.policy.raw, 0x3001fu);
  EXPECT_EQ(r.policy.abi_major, 0);
  EXPECT_EQ(r.policy.abi_minor, 31);
  EXPECT_TRUE(r.policy.smt);
  EXPECT_FALSE(r.policy.debug);
  EXPECT_FALSE(r.policy.migrate_ma);
  EXPECT_EQ(r.vmpl, 0u);
  EXPECT_EQ(r.signature_algo, 1u);
  EXPECT_EQ(HexEncode(r.family_id), "01000000000000000000000000000000");
  EXPECT_EQ(HexEncode(r.image_id), "02000000000000000000000000000000");
  EXPECT_EQ(HexEncode(r.id_key_digest),
            "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2"
            "bb57af7a44a3");
  EXPECT_EQ(r.author_key_digest, Bytes(48, 0));
  EXPECT_EQ(HexEncode(r.measurement),
            "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be91"
            "7f9050d3d38c");
  EXPECT_EQ(r.report_data,
            Concat(Unhex("ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2"),
                   Bytes(32, 0)));
  EXPECT_EQ(r.host_data, Bytes(32, 0));
  EXPECT_EQ(r.platform_info.raw, 1u);
  EXPECT_TRUE(r.platform_info.smt_en);
  EXPECT_EQ(r.signer_info.raw, 0u);
  EXPECT_EQ(r.signer_info.signing_key, SigningKey::kVcek);
  EXPECT_FALSE(r.signer_info.mask_chip_key);
  EXPECT_EQ(r.current_tcb, 0xce08000000000003u);
  EXPECT_EQ(r.reported_tcb, 0x7308000000000003u);
  EXPECT_EQ(r.committed_tcb, 0x7308000000000003u);
  EXPECT_EQ(r.launch_tcb, 0x7308000000000003u);
  EXPECT_EQ(HexEncode(r.chip_id),
            "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612b"
            "ad4aadfb4426205a3b9e4fea82301135a170e477524e");
  EXPECT_EQ(r.current_fw.major, 1);
  EXPECT_EQ(r.current_fw.minor, 52);
  EXPECT_EQ(r.current_fw.build, 4);
  EXPECT_EQ(r.committed_fw.minor, 52);
  EXPECT_EQ(r.cpuid_fam_id, 0);
  EXPECT_FALSE(r.CpuidProduct().has_value());  // version 2: no CPUID fields
  EXPECT_EQ(r.signed_bytes, Bytes(raw.begin(), raw.begin() + 0x2A0));
  EXPECT_EQ(r.signature.size(), 144u);
  EXPECT_EQ(Bytes(r.signature.begin(), r.signature.begin() + 48),
            Bytes(raw.begin() + 0x2A0, raw.begin() + 0x2D0));

  TcbVersion reported = DecodeTcb(r.reported_tcb, SnpProduct::kMilan);
  EXPECT_EQ(reported.boot_loader, 3);
  EXPECT_EQ(reported.tee, 0);
  EXPECT_EQ(reported.snp, 8);
  EXPECT_EQ(reported.microcode, 115);
  EXPECT_FALSE(reported.fmc.has_value());
  EXPECT_EQ(DecodeTcb(r.current_tcb, SnpProduct::kMilan).microcode, 206);
}

TEST(SnpReportTest, ParsesVlekReportSignerAndCpuid) {
  CRYPTA_ASSIGN_OR_FAIL(
      AttestationReport r,
      ParseAttestationReport(ReadTestdataBytes("snp/trustee-milan-vlek/report.bin")));
  EXPECT_EQ(r.version, 3u);
  EXPECT_EQ(r.vmpl, 1u);
  EXPECT_EQ(r.policy.raw, 0x30000u);
  EXPECT_EQ(r.signer_info.raw, 4u);
  EXPECT_EQ(r.signer_info.signing_key, SigningKey::kVlek);
  EXPECT_TRUE(r.ChipIdIsZero());
  EXPECT_EQ(r.cpuid_fam_id, 0x19);
  EXPECT_EQ(r.cpuid_mod_id, 0x01);
  EXPECT_EQ(r.cpuid_step, 0x01);
  EXPECT_EQ(r.CpuidProduct(), SnpProduct::kMilan);
  EXPECT_EQ(r.platform_info.raw, 0x27u);
  EXPECT_TRUE(r.platform_info.tsme_en);
  EXPECT_TRUE(r.platform_info.ecc_en);
  EXPECT_TRUE(r.platform_info.alias_check_complete);
  EXPECT_FALSE(r.platform_info.rapl_dis);
  EXPECT_EQ(r.reported_tcb, 0xd918000000000004u);
  TcbVersion t = DecodeTcb(r.reported_tcb, SnpProduct::kMilan);
  EXPECT_EQ(t.boot_loader, 4);
  EXPECT_EQ(t.snp, 24);
  EXPECT_EQ(t.microcode, 217);
  EXPECT_EQ(r.current_fw.minor, 55);
  EXPECT_EQ(r.current_fw.build, 29);
}

TEST(SnpReportTest, ParsesGenoaReportCpuidAndTcb) {
  CRYPTA_ASSIGN_OR_FAIL(AttestationReport r,
                        ParseAttestationReport(ReadTestdataBytes("snp/azure-genoa/report.bin")));
  EXPECT_EQ(r.version, 3u);
  EXPECT_EQ(r.CpuidProduct(), SnpProduct::kGenoa);
  EXPECT_EQ(r.guest_svn, 65547u);
  EXPECT_EQ(r.platform_info.raw, 0x24u);
  EXPECT_EQ(HexEncode(r.family_id), "01232000000000000000000000000000");
  for (uint64_t tcb : {r.current_tcb, r.reported_tcb, r.committed_tcb, r.launch_tcb}) {
    EXPECT_EQ(tcb, 0x541700000000000au);
  }
  TcbVersion t = DecodeTcb(r.reported_tcb, SnpProduct::kGenoa);
  EXPECT_EQ(t.boot_loader, 10);
  EXPECT_EQ(t.snp, 23);
  EXPECT_EQ(t.microcode, 84);
  EXPECT_EQ(r.current_fw.build, 40);
}

TEST(SnpReportTest, ParsesAzureMilanReport) {
  CRYPTA_ASSIGN_OR_FAIL(AttestationReport r,
                        ParseAttestationReport(ReadTestdataBytes("snp/azure-milan/report.bin")));
  EXPECT_EQ(r.guest_svn, 5u);
  EXPECT_EQ(HexEncode(r.chip_id).substr(0, 16), "19752a447db501a3");
  EXPECT_EQ(DecodeTcb(r.current_tcb, SnpProduct::kMilan).microcode, 210);
}

TEST(SnpReportTest, TurinTcbLayoutPutsFmcFirst) {
  // Turin: byte 0 FMC, 1 BL, 2 TEE, 3 SNP, 7 UCODE.
  TcbVersion t = DecodeTcb(0x0900000004030201u, SnpProduct::kTurin);
  EXPECT_EQ(t.fmc, 1);
  EXPECT_EQ(t.boot_loader, 2);
  EXPECT_EQ(t.tee, 3);
  EXPECT_EQ(t.snp, 4);
  EXPECT_EQ(t.microcode, 9);
  EXPECT_EQ(EncodeTcb(t, SnpProduct::kTurin), 0x0900000004030201u);
  EXPECT_TRUE(TcbReservedBitsZero(0x0900000004030201u, SnpProduct::kTurin));
  EXPECT_FALSE(TcbReservedBitsZero(0x0900000004030201u, SnpProduct::kMilan));
  EXPECT_EQ(EncodeTcb(DecodeTcb(0x7308000000000003u, SnpProduct::kMilan), SnpProduct::kMilan),
            0x7308000000000003u);
  EXPECT_EQ(t.ToJson()["fmc_spl"], 1);
}

TEST(SnpReportTest, ProductNamesAndCpuidMapping) {
  EXPECT_EQ(ParseSnpProductName("Milan-B0"), SnpProduct::kMilan);
  EXPECT_EQ(ParseSnpProductName("Milan"), SnpProduct::kMilan);
  EXPECT_EQ(ParseSnpProductName("Genoa"), SnpProduct::kGenoa);
  EXPECT_EQ(ParseSnpProductName("Turin"), SnpProduct::kTurin);
  EXPECT_FALSE(ParseSnpProductName("Rome").has_value());
  EXPECT_FALSE(ParseSnpProductName("").has_value());
  EXPECT_EQ(SnpProductFromCpuid(0x19, 0x01), SnpProduct::kMilan);
  EXPECT_EQ(SnpProductFromCpuid(0x19, 0x11), SnpProduct::kGenoa);
  EXPECT_EQ(SnpProductFromCpuid(0x1A, 0x02), SnpProduct::kTurin);
  EXPECT_FALSE(SnpProductFromCpuid(0x17, 0x31).has_value());
  EXPECT_FALSE(SnpProductFromCpuid(0, 0).has_value());
}

class SnpReportMutationTest : public ::testing::Test {
 protected:
  Bytes raw_ = ReadTestdataBytes("snp/trustee-milan-vcek/report.bin");
  std::string ParseError() { return ErrorOf(ParseAttestationReport(raw_)); }
};

TEST_F(SnpReportMutationTest, RejectsWrongLength) {
  raw_.pop_back();
  EXPECT_NE(ParseError().find("length 1183"), std::string::npos);
  raw_.push_back(0);
  raw_.push_back(0);
  EXPECT_NE(ParseError().find("length 1185"), std::string::npos);
  EXPECT_FALSE(ParseAttestationReport({}).has_value());
}

TEST_F(SnpReportMutationTest, RejectsUnsupportedVersions) {
  for (uint8_t v : {0, 1, 6, 0xFF}) {
    raw_[0] = v;
    EXPECT_NE(ParseError().find("unsupported report version"), std::string::npos) << int(v);
  }
}

TEST_F(SnpReportMutationTest, RejectsUnknownSignatureAlgo) {
  raw_[0x34] = 2;
  EXPECT_NE(ParseError().find("SIGNATURE_ALGO (0x034)"), std::string::npos);
  raw_[0x34] = 0;
  EXPECT_NE(ParseError().find("SIGNATURE_ALGO"), std::string::npos);
}

TEST_F(SnpReportMutationTest, RejectsNonZeroReservedRanges) {
  struct Case {
    size_t offset;
    const char* field;
  };
  const Case cases[] = {
      {0x04C, "reserved 0x04C"},          {0x188, "reserved 0x188"},
      {0x19F, "reserved 0x188"},          {0x1EB, "reserved 0x1EB"},
      {0x1EF, "reserved 0x1EF"},          {0x1F8, "reserved 0x1F8"},
      {0x208, "reserved 0x208"},          {0x29F, "reserved 0x208"},
      {0x2D0, "signature R padding"},     {0x2E7, "signature R padding"},
      {0x318, "signature S padding"},     {0x330, "reserved signature area"},
      {0x49F, "reserved signature area"},
  };
  for (const Case& c : cases) {
    Bytes saved = raw_;
    raw_[c.offset] = 1;
    std::string err = ParseError();
    EXPECT_NE(err.find(c.field), std::string::npos) << std::hex << c.offset << ": " << err;
    EXPECT_NE(err.find("offset " + std::to_string(c.offset)), std::string::npos) << err;
    raw_ = saved;
  }
}

TEST_F(SnpReportMutationTest, RejectsReservedBitsInPolicyAndSignerInfo) {
  raw_[0x008 + 2] &= ~0x02;  // clear policy bit 17 (must be 1)
  EXPECT_NE(ParseError().find("bit 17"), std::string::npos);
  raw_[0x008 + 2] |= 0x02;
  raw_[0x008 + 3] |= 0x04;  // policy bit 26
  EXPECT_NE(ParseError().find("63:26"), std::string::npos);
  raw_[0x008 + 3] &= ~0x04;
  raw_[0x048] = 0x20;  // signer info bit 5
  EXPECT_NE(ParseError().find("31:5"), std::string::npos);
  raw_[0x048] = 2 << 2;  // SIGNING_KEY 2 is reserved
  EXPECT_NE(ParseError().find("reserved SIGNING_KEY value 2"), std::string::npos);
  raw_[0x048] = 7 << 2;
  CRYPTA_ASSIGN_OR_FAIL(AttestationReport r, ParseAttestationReport(raw_));
  EXPECT_EQ(r.signer_info.signing_key, SigningKey::kNone);
}

TEST_F(SnpReportMutationTest, RejectsVmplAboveThree) {
  raw_[0x030] = 4;
  EXPECT_NE(ParseError().find("VMPL (0x030)"), std::string::npos);
}

TEST_F(SnpReportMutationTest, DecodesDebugAndOtherPolicyBits) {
  raw_[0x008 + 2] |= 0x08 | 0x04 | 0x10;  // bits 19 DEBUG, 18 MIGRATE_MA, 20 SINGLE_SOCKET
  CRYPTA_ASSIGN_OR_FAIL(AttestationReport r, ParseAttestationReport(raw_));
  EXPECT_TRUE(r.policy.debug);
  EXPECT_TRUE(r.policy.migrate_ma);
  EXPECT_TRUE(r.policy.single_socket);
  EXPECT_FALSE(r.policy.cxl_allow);
}

TEST_F(SnpReportMutationTest, Version5ReadsMitigationVectors) {
  raw_[0] = 5;
  raw_[0x1F8] = 0x11;
  raw_[0x200] = 0x22;
  CRYPTA_ASSIGN_OR_FAIL(AttestationReport r, ParseAttestationReport(raw_));
  EXPECT_EQ(r.launch_mit_vector, 0x11u);
  EXPECT_EQ(r.current_mit_vector, 0x22u);
}

}  // namespace
}  // namespace crypta::attest::snp
