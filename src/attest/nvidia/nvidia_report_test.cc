// Hopper report and evidence-envelope parsing, on NVIDIA's published sample
// (testdata/nvidia/nvtrust-hopper-sample, MANIFEST.md) and on edited copies of it.
#include <gtest/gtest.h>

#include <string>

#include "attest/nvidia/report.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::attest::nvidia {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::ReadTestdataString;
using ::crypta::testing::Unhex;

constexpr char kSampleNonce[] = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";

Bytes SampleReport() { return ReadTestdataBytes("nvidia/nvtrust-hopper-sample/report.bin"); }

TEST(NvidiaReport, ParsesTheNvtrustSample) {
  const Bytes raw = SampleReport();
  ASSERT_EQ(raw.size(), 4117u);
  CRYPTA_ASSIGN_OR_FAIL(GpuReport r, ParseGpuReport(raw));
  EXPECT_EQ(HexEncode(r.nonce), kSampleNonce);
  EXPECT_EQ(r.request_param1, 0x01);
  EXPECT_EQ(r.request_param2, 0xFF);
  EXPECT_EQ(r.slot_id, 0);
  ASSERT_EQ(r.blocks.size(), 64u);
  int non_zero = 0;
  for (size_t i = 0; i < r.blocks.size(); ++i) {
    EXPECT_EQ(r.blocks[i].index, i + 1);
    EXPECT_EQ(r.blocks[i].value_type, 0x01);
    ASSERT_EQ(r.blocks[i].value.size(), 48u);
    if (r.blocks[i].value != Bytes(48, 0)) ++non_zero;
  }
  EXPECT_EQ(non_zero, 26);
  EXPECT_EQ(HexEncode(r.blocks[1].value),
            "8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e"
            "3d07de51da338");
  EXPECT_EQ(HexEncode(r.responder_nonce),
            "b4b8a06aaaa35542839388e159d447a5d6f6194998fd86513e2d591ccf640985");
  EXPECT_EQ(r.signed_bytes.size(), 4021u);
  EXPECT_EQ(r.signature.size(), 96u);
  EXPECT_EQ(Bytes(raw.begin() + 4021, raw.end()), r.signature);

  const GpuOpaqueData& o = r.opaque;
  EXPECT_EQ(o.driver_version, "550.90.07");
  EXPECT_EQ(o.vbios_version, "96.00.9f.00.01");
  EXPECT_EQ(HexEncode(o.vbios_raw), "009f009601000000");
  ASSERT_TRUE(o.fwid);
  EXPECT_EQ(HexEncode(*o.fwid),
            "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055e"
            "e051762b1f75d");
  EXPECT_EQ(o.chip_sku, "882");
  EXPECT_EQ(o.chip_sku_mod, "0");
  EXPECT_EQ(o.project, "1010");
  EXPECT_EQ(o.project_sku, "0200");
  EXPECT_EQ(HexEncode(*o.project_sku_mod), "0000");
  EXPECT_EQ(HexEncode(*o.board_id), "b1030000");
  EXPECT_EQ(HexEncode(*o.gpu_info), "8001000000000000");
  EXPECT_EQ(HexEncode(*o.cpr_info), "00c00100");
  EXPECT_EQ(o.nvdec0_status, 0x55);
  EXPECT_EQ(o.protected_pcie_status, 0x55);
  EXPECT_EQ(o.msrs_cnt.size(), 64u);
  EXPECT_FALSE(o.feature_flag);
  EXPECT_FALSE(o.opaque_data_version);
  EXPECT_EQ(o.raw_fields.size(), 14u);
}

TEST(NvidiaReport, MeasurementsAndCountsEqualTrusteeClaims) {
  const Bytes raw = SampleReport();
  CRYPTA_ASSIGN_OR_FAIL(GpuReport r, ParseGpuReport(raw));
  const nlohmann::json claims =
      ReadTestdataJson("nvidia/nvtrust-hopper-sample/hopperAttestationReport-claims.txt");
  const std::map<uint32_t, Bytes> m = r.Measurements();
  ASSERT_EQ(m.size(), 64u);
  ASSERT_EQ(claims["measurements"].size(), 64u);
  for (const auto& [index, value] : m) {
    EXPECT_EQ(HexEncode(value), claims["measurements"][std::to_string(index)].get<std::string>())
        << "block " << index;
  }
  for (size_t i = 0; i < r.opaque.msrs_cnt.size(); ++i) {
    EXPECT_EQ(r.opaque.msrs_cnt[i],
              claims["config"]["measurement_count"][std::to_string(i + 1)].get<uint32_t>());
  }
  const nlohmann::json& config = claims["config"];
  EXPECT_EQ(config["driver_version"], r.opaque.driver_version);
  EXPECT_EQ(config["vbios_version"], r.opaque.vbios_version);
  EXPECT_EQ(config["fwid"], HexEncode(*r.opaque.fwid));
  EXPECT_EQ(config["board_id"], HexEncode(*r.opaque.board_id));
  EXPECT_EQ(config["chip_sku"], *r.opaque.chip_sku);
  EXPECT_EQ(config["chip_sku_mod"], *r.opaque.chip_sku_mod);
  EXPECT_EQ(config["project"], *r.opaque.project);
  EXPECT_EQ(config["project_sku"], *r.opaque.project_sku);
  EXPECT_EQ(config["project_sku_mod"], HexEncode(*r.opaque.project_sku_mod));
  EXPECT_EQ(config["gpu_info"], HexEncode(*r.opaque.gpu_info));
  EXPECT_EQ(config["cpr_info"], HexEncode(*r.opaque.cpr_info));
  // Trustee renders the one-byte status fields as characters: 0x55 = "U".
  EXPECT_EQ(config["nvdec0_status"], std::string(1, static_cast<char>(*r.opaque.nvdec0_status)));
  EXPECT_EQ(config["protected_pcie_status"],
            std::string(1, static_cast<char>(*r.opaque.protected_pcie_status)));
}

TEST(NvidiaReport, HexTextDecodesToTheBinary) {
  const std::string hex =
      ReadTestdataString("nvidia/nvtrust-hopper-sample/hopperAttestationReport.txt");
  CRYPTA_ASSIGN_OR_FAIL(Bytes from_hex, DecodeGpuReportBytes(AsBytes(hex)));
  EXPECT_EQ(from_hex, SampleReport());
  CRYPTA_ASSIGN_OR_FAIL(Bytes with_ws, DecodeGpuReportBytes(AsBytes("\n " + hex + "\r\n")));
  EXPECT_EQ(with_ws, SampleReport());
  CRYPTA_ASSIGN_OR_FAIL(Bytes binary, DecodeGpuReportBytes(SampleReport()));
  EXPECT_EQ(binary, SampleReport());
  EXPECT_FALSE(DecodeGpuReportBytes(AsBytes("11e0zz")));
  EXPECT_FALSE(DecodeGpuReportBytes(AsBytes("11e")));
  EXPECT_FALSE(DecodeGpuReportBytes({}));
}

TEST(NvidiaReport, VbiosVersionFormatsLikeNvidia) {
  EXPECT_EQ(*FormatVbiosVersion(Unhex("009f009601000000")), "96.00.9f.00.01");
  EXPECT_EQ(HexEncode(*EncodeVbiosVersion("96.00.9f.00.01")), "009f009601000000");
  EXPECT_FALSE(FormatVbiosVersion(Unhex("009f0096010000")));
  EXPECT_FALSE(EncodeVbiosVersion("96.00.9f.00"));
  EXPECT_FALSE(EncodeVbiosVersion("96-00-9f-00-01"));
}

struct Mutation {
  const char* name;
  size_t offset;
  uint8_t value;  // replaces the byte
  const char* message;
};

TEST(NvidiaReport, RejectsMalformedFields) {
  const Mutation cases[] = {
      {"SPDM version", 0, 0x12, "request SPDMVersion"},
      {"request code", 1, 0xE1, "request code"},
      {"no signature requested", 2, 0x00, "no signature"},
      {"response version", 37, 0x10, "response SPDMVersion"},
      {"response code", 38, 0x61, "response code"},
      {"response slot", 40, 0x01, "response slot"},
      {"zero blocks", 41, 0x00, "NumberOfBlocks is 0"},
      // MANIFEST recipe 6: one block fewer leaves record bytes over.
      {"63 blocks", 41, 63, "left after 63 blocks"},
      // recipe 6: record length 3521 swallows the first responder-nonce byte.
      {"record length", 42, 0xC1, "left after 64 blocks"},
      {"block spec", 46, 0x02, "MeasurementSpecification"},
      {"block index order", 45 + 55, 0x01, "not ascending"},
      {"block index reserved", 45, 0x00, "reserved"},
      {"block size", 47, 52, "DMTF value size"},
  };
  for (const Mutation& m : cases) {
    Bytes raw = SampleReport();
    raw[m.offset] = m.value;
    auto r = ParseGpuReport(raw);
    ASSERT_FALSE(r) << m.name;
    EXPECT_NE(r.error().message().find(m.message), std::string::npos)
        << m.name << ": " << r.error().message();
  }
}

TEST(NvidiaReport, RejectsTruncationAndTrailingBytes) {
  Bytes raw = SampleReport();
  for (size_t n : {size_t{0}, size_t{36}, size_t{37}, size_t{44}, size_t{3000}, size_t{3600},
                   size_t{4021}, size_t{4116}}) {
    EXPECT_FALSE(ParseGpuReport(ByteSpan(raw).first(n))) << n;
  }
  Bytes longer = raw;
  longer.push_back(0);
  auto r = ParseGpuReport(longer);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("want exactly the 96-byte"), std::string::npos);
  Bytes huge(kMaxGpuReportSize + 1, 0x11);
  EXPECT_EQ(ParseGpuReport(huge).error().code(), ErrorCode::kResourceExhausted);
}

// Opaque data starts at 3599 with VBIOS_VERSION (type 6, length 8).
TEST(NvidiaReport, RejectsBadOpaqueFields) {
  {
    Bytes raw = SampleReport();
    raw[3599] = 99;  // unknown type
    auto r = ParseGpuReport(raw);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("unknown opaque field type 99"), std::string::npos);
  }
  {
    Bytes raw = SampleReport();
    raw[3599] = 14;  // VBIOS_VERSION retyped as BOARD_ID, which comes again later
    auto r = ParseGpuReport(raw);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("occurs twice"), std::string::npos);
  }
  {
    Bytes raw = SampleReport();
    raw[3601] = 9;  // VBIOS_VERSION length 9 overruns into the next field
    EXPECT_FALSE(ParseGpuReport(raw));
  }
  {
    Bytes raw = SampleReport();
    raw[3597] = 0xA7;  // OpaqueLength 423: the signature loses a byte
    EXPECT_FALSE(ParseGpuReport(raw));
  }
  {
    Bytes raw = SampleReport();
    raw[3669] = 0x01;  // a control character inside DRIVER_VERSION
    auto r = ParseGpuReport(raw);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("DRIVER_VERSION"), std::string::npos);
  }
}

GpuDeviceEvidence SampleDevice() {
  return GpuDeviceEvidence{SampleReport(),
                           ReadTestdataString("nvidia/nvtrust-hopper-sample/hopperCertChain.txt"),
                           "hopper", "1111-2222-33333-444444-555555"};
}

TEST(NvidiaEvidence, EnvelopeRoundTripsSeveralDevices) {
  std::vector<GpuDeviceEvidence> devices = {SampleDevice(), SampleDevice()};
  devices[1].uuid = "GPU-2";
  devices[1].report.back() ^= 1;  // any bytes: the envelope does not parse reports
  const Bytes encoded = EncodeGpuEvidence(devices);
  CRYPTA_ASSIGN_OR_FAIL(auto parsed, ParseGpuEvidence(encoded));
  ASSERT_EQ(parsed.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(parsed[i].report, devices[i].report);
    EXPECT_EQ(parsed[i].certificate_chain_pem, devices[i].certificate_chain_pem);
    EXPECT_EQ(parsed[i].arch, "hopper");
    EXPECT_EQ(parsed[i].uuid, devices[i].uuid);
  }
  const nlohmann::json doc = nlohmann::json::parse(ToString(encoded));
  EXPECT_EQ(doc["device_evidence_list"][0]["arch"], "HOPPER");
}

// The shape of Trustee's test (mod.rs test_evaluation): evidence as the hex text of the
// sample, certificate as base64 of the PEM chain, arch "Hopper".
TEST(NvidiaEvidence, ParsesTrusteeShapedEnvelope) {
  const std::string hex =
      ReadTestdataString("nvidia/nvtrust-hopper-sample/hopperAttestationReport.txt");
  const std::string pem = ReadTestdataString("nvidia/nvtrust-hopper-sample/hopperCertChain.txt");
  nlohmann::json doc = {{"device_evidence_list",
                         {{{"arch", "Hopper"},
                           {"uuid", "1111-2222-33333-444444-555555"},
                           {"evidence", hex},
                           {"certificate", Base64Encode(AsBytes(pem))}}}}};
  CRYPTA_ASSIGN_OR_FAIL(auto parsed, ParseGpuEvidence(AsBytes(doc.dump())));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].report, SampleReport());
  EXPECT_EQ(parsed[0].certificate_chain_pem, pem);
  EXPECT_EQ(parsed[0].arch, "hopper");
  // base64 evidence (Trustee's newer encoding) works too.
  doc["device_evidence_list"][0]["evidence"] = Base64Encode(SampleReport());
  CRYPTA_ASSIGN_OR_FAIL(auto b64, ParseGpuEvidence(AsBytes(doc.dump())));
  EXPECT_EQ(b64[0].report, SampleReport());
}

TEST(NvidiaEvidence, SingleReportHasNoChain) {
  CRYPTA_ASSIGN_OR_FAIL(auto bin, ParseGpuEvidence(SampleReport()));
  ASSERT_EQ(bin.size(), 1u);
  EXPECT_TRUE(bin[0].certificate_chain_pem.empty());
  EXPECT_EQ(bin[0].arch, "hopper");
  CRYPTA_ASSIGN_OR_FAIL(auto hex,
                        ParseGpuEvidence(AsBytes(ReadTestdataString(
                            "nvidia/nvtrust-hopper-sample/hopperAttestationReport.txt"))));
  EXPECT_EQ(hex[0].report, SampleReport());
}

TEST(NvidiaEvidence, RejectsMalformedEnvelopes) {
  const std::string ok_dev = R"({"arch":"HOPPER","uuid":"u","evidence":"EeA=","certificate":""})";
  const char* bad[] = {
      R"({})",
      R"({"device_evidence_list":[]})",
      R"({"device_evidence_list":{}})",
      R"({"device_evidence_list":[1]})",
      R"({"device_evidence_list":[{"arch":"HOPPER","evidence":"EeA="}]})",
      R"({"device_evidence_list":[{"arch":"AMPERE","evidence":"EeA=","certificate":""}]})",
      R"({"device_evidence_list":[{"arch":"HOPPER","evidence":"!!","certificate":""}]})",
      R"({"device_evidence_list":[{"arch":"HOPPER","evidence":"EeA=","certificate":"%%"}]})",
      R"({"device_evidence_list":[{"arch":"HOPPER","evidence":"EeA=","certificate":"","x":1}]})",
      R"({"device_evidence_list":[],"extra":1})",
      R"({"device_evidence_list":[{"arch":"HOPPER","evidence":"EeA=","certificate":""}]} x)",
  };
  for (const char* text : bad) EXPECT_FALSE(ParseGpuEvidence(AsBytes(text))) << text;
  std::string nine = R"({"device_evidence_list":[)";
  for (int i = 0; i < 9; ++i) nine += (i ? "," : "") + ok_dev;
  nine += "]}";
  EXPECT_FALSE(ParseGpuEvidence(AsBytes(nine)));
  std::string eight = R"({"device_evidence_list":[)";
  for (int i = 0; i < 8; ++i) eight += (i ? "," : "") + ok_dev;
  eight += "]}";
  CRYPTA_ASSIGN_OR_FAIL(auto parsed, ParseGpuEvidence(AsBytes(eight)));
  EXPECT_EQ(parsed.size(), 8u);
}

}  // namespace
}  // namespace crypta::attest::nvidia
