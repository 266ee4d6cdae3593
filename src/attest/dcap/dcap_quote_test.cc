// DCAP quote parsing and cryptographic verification against the real vectors
// (testdata/dcap/{tdx,sgx}/, MANIFEST.md there), each at its MANIFEST verification time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "attest/dcap/quote.h"
#include "attest/sgx/sgx_verifier.h"
#include "attest/tdx/tdx_verifier.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "testing/test_util.h"

namespace crypta::attest::dcap {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::testing::HasSubstr;

int64_t T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

struct Vector {
  const char* path;
  TeeType tee;
  int version;
  const char* time;
  const char* measurement_prefix;  // first bytes of MRTD / MRENCLAVE, hex
  size_t trailing;
  bool debug;
  const char* fmspc;
};

const Vector kVectors[] = {
    {"dcap/tdx/go-tdx-guest-spr-v4/quote.dat", TeeType::kTdx, 4, "2023-07-01T01:00:00Z",
     "6363b8043668a3ad", 39, false, "50806f000000"},
    {"dcap/tdx/trustee-v4-debug/tdx_quote_4.dat", TeeType::kTdx, 4, "2023-07-01T01:00:00Z",
     "705ee9381b8633a9", 0, true, "50806f000000"},
    {"dcap/tdx/go-tdx-guest-v5/quote_v5.dat", TeeType::kTdx, 5, "2026-02-03T01:00:00Z",
     "7348651a34b2d2d3", 0, false, "90c06f000000"},
    {"dcap/tdx/trustee-v5/tdx_quote_5.dat", TeeType::kTdx, 5, "2026-02-03T01:00:00Z",
     "dfba221b48a22af8", 0, false, "90c06f000000"},
    {"dcap/tdx/trustee-v4-00a06d080000/tdx_quote_6.dat", TeeType::kTdx, 4, "2025-11-01T00:00:00Z",
     "21e8dead92d6c69d", 70, false, "00a06d080000"},
    {"dcap/tdx/trustee-azure-v4/td-quote.bin", TeeType::kTdx, 4, "2025-01-01T00:00:00Z",
     "024a32b070383331", 70, false, "00806f050000"},
    {"dcap/tdx/go-tdx-guest-cos113/cos-113-tdx-quote.dat", TeeType::kTdx, 4, "2025-01-01T00:00:00Z",
     "dae67181d3d65e07", 3065, false, "00806f050000"},
    {"dcap/sgx/dcap-qvl-00a067110000/sgx_quote.dat", TeeType::kSgx, 3, "2025-07-01T00:00:00Z",
     "33d8736db756ed49", 0, false, "00a067110000"},
    {"dcap/sgx/trustee-occlum-debug/occlum_quote.dat", TeeType::kSgx, 3, "2025-01-01T00:00:00Z",
     "8f173e4613ff05c5", 0, true, "00606a000000"},
};

std::shared_ptr<Verifier> MakeVerifier(TeeType tee) {
  if (tee == TeeType::kTdx) return *tdx::TdxVerifier::CreatePinned();
  return *sgx::SgxVerifier::CreatePinned();
}

TEST(DcapQuote, EveryVectorParsesAndVerifiesAtItsTime) {
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.path);
    Bytes raw = ReadTestdataBytes(v.path);
    CRYPTA_ASSIGN_OR_FAIL(ParsedQuote q, ParseQuote(raw));
    EXPECT_EQ(q.header.version, v.version);
    EXPECT_EQ(q.is_tdx(), v.tee == TeeType::kTdx);
    EXPECT_EQ(q.trailing_bytes, v.trailing);
    EXPECT_EQ(q.cert_data_type, kCertDataPckChain);
    EXPECT_EQ(q.qe_auth_data.size(), 32u);

    auto verifier = MakeVerifier(v.tee);
    Evidence ev{v.tee, raw, {}};
    VerifyOptions options;
    options.verification_time = T(v.time);
    CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence verified, verifier->Verify(ev, options));
    const Claims& c = verified.claims();
    EXPECT_EQ(HexEncode(c.measurement).substr(0, 16), v.measurement_prefix);
    EXPECT_EQ(c.debug, v.debug);
    EXPECT_EQ(c.tcb_status, TcbStatus::kUnknown);  // no collateral
    EXPECT_EQ(HexEncode(c.platform_id), v.fmspc);
    EXPECT_EQ(c.signer, "PCK");
    EXPECT_FALSE(c.simulated);
    EXPECT_EQ(c.report_data, q.report_data());
  }
}

TEST(DcapQuote, TdxClaimsOfSprQuote) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/go-tdx-guest-spr-v4/quote.dat");
  auto verifier = MakeVerifier(TeeType::kTdx);
  VerifyOptions options;
  options.verification_time = T("2023-07-01T01:00:00Z");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify({TeeType::kTdx, raw, {}}, options));
  const Claims& c = v.claims();
  EXPECT_EQ(c.extra["rtmr0"],
            "2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976"
            "823adf08f833c1e50b51779c6593f32a");
  EXPECT_EQ(c.extra["td_attributes"], "0000004000000000");
  EXPECT_EQ(c.extra["xfam"], "e71a060000000000");
  EXPECT_EQ(c.extra["tee_tcb_svn"], "03000400000000000000000000000000");
  EXPECT_EQ(c.extra["mr_seam"].get<std::string>().substr(0, 16), "2fd279c16164a93d");
  EXPECT_EQ(c.extra["qe"]["isv_svn"], 4);
  EXPECT_EQ(c.extra["pck_issuer"], "Intel SGX PCK Platform CA");
  EXPECT_EQ(c.tcb["pce_svn"], 11);
  EXPECT_EQ(HexEncode(c.host_data), std::string(96, '0'));
  EXPECT_EQ(HexEncode(c.report_data).substr(0, 16), "6c62dec1b8191749");
}

TEST(DcapQuote, SgxClaims) {
  Bytes raw = ReadTestdataBytes("dcap/sgx/trustee-occlum-debug/occlum_quote.dat");
  auto verifier = MakeVerifier(TeeType::kSgx);
  VerifyOptions options;
  options.verification_time = T("2025-01-01T00:00:00Z");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, verifier->Verify({TeeType::kSgx, raw, {}}, options));
  const Claims& c = v.claims();
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.extra["mr_signer"],
            "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e");
  EXPECT_EQ(c.extra["isv_prod_id"], 0);
  EXPECT_EQ(c.extra["misc_select"], 1);
  EXPECT_EQ(c.extra["attributes"], "0700000000000000e700000000000000");
  EXPECT_EQ(ToString(ByteSpan(c.report_data).first(4)), "test");
}

TEST(DcapQuote, ExpiredPckRejected) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/go-tdx-guest-spr-v4/quote.dat");
  VerifyOptions options;
  options.verification_time = T("2053-07-01T01:00:00Z");
  auto r = MakeVerifier(TeeType::kTdx)->Verify({TeeType::kTdx, raw, {}}, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("expired"));
}

TEST(DcapQuote, MissingTimeRejected) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/go-tdx-guest-spr-v4/quote.dat");
  auto r = MakeVerifier(TeeType::kTdx)->Verify({TeeType::kTdx, raw, {}}, VerifyOptions{});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(DcapQuote, WrongTeeRejected) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/go-tdx-guest-spr-v4/quote.dat");
  VerifyOptions options;
  options.verification_time = T("2023-07-01T01:00:00Z");
  EXPECT_FALSE(MakeVerifier(TeeType::kSgx)->Verify({TeeType::kSgx, raw, {}}, options));
  EXPECT_FALSE(MakeVerifier(TeeType::kTdx)->Verify({TeeType::kSgx, raw, {}}, options));
}

TEST(DcapQuote, ExpectedReportDataChecked) {
  Bytes raw = ReadTestdataBytes("dcap/sgx/dcap-qvl-00a067110000/sgx_quote.dat");
  VerifyOptions options;
  options.verification_time = T("2025-07-01T00:00:00Z");
  options.expected_report_data = ToBytes("Hello, world!");
  auto verifier = MakeVerifier(TeeType::kSgx);
  CRYPTA_EXPECT_OK(verifier->Verify({TeeType::kSgx, raw, {}}, options));
  options.expected_report_data = ToBytes("Hello, world?");
  EXPECT_FALSE(verifier->Verify({TeeType::kSgx, raw, {}}, options));
}

// Flipping one byte every 16 bytes across the signed range, the QE report and the
// signatures must fail verification.
TEST(DcapQuote, ByteFlipsRejected) {
  for (const Vector& v : {kVectors[0], kVectors[2], kVectors[7]}) {
    SCOPED_TRACE(v.path);
    Bytes raw = ReadTestdataBytes(v.path);
    CRYPTA_ASSIGN_OR_FAIL(ParsedQuote q, ParseQuote(raw));
    auto verifier = MakeVerifier(v.tee);  // its chain cache keeps this fast
    VerifyOptions options;
    options.verification_time = T(v.time);
    CRYPTA_ASSERT_OK(verifier->Verify({v.tee, raw, {}}, options));
    // signed range + u32 length + quote sig + att key + (v4/5: 6-byte cert header) + QE report
    // + QE report signature.
    const size_t end = q.signed_data.size() + 4 + 128 + (v.version == 3 ? 0 : 6) + 384 + 64;
    int flips = 0;
    for (size_t i = 0; i < end; i += 16) {
      Bytes bad = raw;
      bad[i] ^= 0x01;
      auto r = verifier->Verify({v.tee, bad, {}}, options);
      EXPECT_FALSE(r.has_value()) << "flip at offset " << i;
      ++flips;
    }
    EXPECT_GT(flips, 60);
  }
}

TEST(DcapQuote, TruncationsRejectedWithFieldNames) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/go-tdx-guest-v5/quote_v5.dat");
  CRYPTA_ASSIGN_OR_FAIL(ParsedQuote q, ParseQuote(raw));
  const size_t quote_end = raw.size() - q.trailing_bytes;
  for (size_t n = 0; n < quote_end; n += 7) {
    auto r = ParseQuote(ByteSpan(raw).first(n));
    ASSERT_FALSE(r.has_value()) << n;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  auto r = ParseQuote(ByteSpan(raw).first(100));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("quote body"));
}

TEST(DcapQuote, HeaderFieldsValidated) {
  Bytes raw = ReadTestdataBytes("dcap/tdx/go-tdx-guest-spr-v4/quote.dat");
  Bytes bad = raw;
  bad[0] = 7;
  EXPECT_THAT(ParseQuote(bad).error().message(), HasSubstr("version"));
  bad = raw;
  bad[2] = 3;
  EXPECT_THAT(ParseQuote(bad).error().message(), HasSubstr("attestation key type"));
  bad = raw;
  bad[4] = 0x82;
  EXPECT_THAT(ParseQuote(bad).error().message(), HasSubstr("TEE type"));
  bad = raw;
  bad[632] = 0xff;  // signature data length far too large
  EXPECT_THAT(ParseQuote(bad).error().message(), HasSubstr("signature data"));
  // v5 body descriptor: unknown body type.
  Bytes v5 = ReadTestdataBytes("dcap/tdx/go-tdx-guest-v5/quote_v5.dat");
  v5[48] = 9;
  EXPECT_THAT(ParseQuote(v5).error().message(), HasSubstr("body descriptor: type"));
}

}  // namespace
}  // namespace crypta::attest::dcap
