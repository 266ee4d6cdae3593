// Attesters against fake directory trees and a fake ioctl: each collector writes
// report_data where the kernel interface expects it and returns the evidence it reads.
#include "attest/collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "attest/snp/cert_table.h"
#include "common/file_util.h"
#include "testing/test_util.h"

namespace crypta::attest {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A certificate table with one VCEK entry at offset 48 (after the entry and terminator).
Bytes CertTable(const std::string& vcek) {
  const uint8_t kVcekGuid[16] = {0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
                                 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
  Bytes t(48 + vcek.size(), 0);  // entry, all-zero terminator entry, certificate
  std::copy(std::begin(kVcekGuid), std::end(kVcekGuid), t.begin());
  t[16] = 48;                                 // offset (u32 LE)
  t[20] = static_cast<uint8_t>(vcek.size());  // length (u32 LE)
  std::copy(vcek.begin(), vcek.end(), t.begin() + 48);
  return t;
}

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("crypta_collector_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
  }
  fs::path root_;
};

// configfs creates an entry's attribute files when the entry directory is made; the fake
// tree holds an entry that already has them (the attester accepts an existing entry).
TEST_F(CollectorTest, ConfigfsTsmWritesInblobAndReadsOutblob) {
  fs::path entry = root_ / "sys/kernel/config/tsm/report/test";
  Write(entry / "inblob", "");
  Write(entry / "generation", "1\n");
  Write(entry / "provider", "sev_guest\n");
  Write(entry / "outblob", std::string(1184, 'R'));
  Bytes table = CertTable("VCEK-DER");
  Write(entry / "auxblob", ToString(table));
  ConfigfsTsmAttester attester(entry.parent_path().string(), "test");
  CRYPTA_ASSIGN_OR_FAIL(Evidence ev, attester.Collect(Bytes(64, 0x42)));
  EXPECT_EQ(ev.tee, TeeType::kSevSnp);
  EXPECT_EQ(ev.raw, Bytes(1184, 'R'));
  ASSERT_NE(ev.collateral.Find("vcek"), nullptr);
  EXPECT_EQ(ToString(*ev.collateral.Find("vcek")), "VCEK-DER");
  EXPECT_EQ(*ReadFileBytes((entry / "inblob").string(), 100), Bytes(64, 0x42));

  Write(entry / "provider", "tdx_guest\n");
  CRYPTA_ASSIGN_OR_FAIL(Evidence tdx, attester.Collect(Bytes(64, 0x42)));
  EXPECT_EQ(tdx.tee, TeeType::kTdx);
  Write(entry / "provider", "arm_cca\n");
  EXPECT_THAT(attester.Collect(Bytes(64, 0)).error().message(), HasSubstr("unknown provider"));
}

TEST_F(CollectorTest, ConfigfsTsmFailsClearlyWithoutTheInterface) {
  ConfigfsTsmAttester attester((root_ / "missing").string());
  Result<Evidence> ev = attester.Collect(Bytes(64, 1));
  ASSERT_FALSE(ev.has_value());
  EXPECT_THAT(ev.error().message(), HasSubstr("configfs-tsm"));
  EXPECT_FALSE(attester.Collect(Bytes(65, 1)).has_value());
}

TEST_F(CollectorTest, GramineWritesUserReportDataAndReadsTheQuote) {
  Write(root_ / "dev/attestation/user_report_data", "");
  Write(root_ / "dev/attestation/quote", "QUOTE");
  GramineAttester attester((root_ / "dev/attestation").string());
  CRYPTA_ASSIGN_OR_FAIL(Evidence ev, attester.Collect(Bytes{1, 2, 3}));
  EXPECT_EQ(ev.tee, TeeType::kSgx);
  EXPECT_EQ(ToString(ev.raw), "QUOTE");
  Bytes written = *ReadFileBytes((root_ / "dev/attestation/user_report_data").string(), 100);
  Bytes want(64, 0);
  want[0] = 1, want[1] = 2, want[2] = 3;
  EXPECT_EQ(written, want);
}

TEST_F(CollectorTest, SevGuestParsesTheFirmwareResponseAndCertificateTable) {
  struct Io {
    uint8_t msg_version;
    uint64_t req_data;
    uint64_t resp_data;
    uint64_t exitinfo2;
  };
  Bytes seen_user_data;
  SevGuestAttester attester("/dev/sev-guest", [&](unsigned long, void* arg) {
    auto* io = static_cast<Io*>(arg);
    auto* req = reinterpret_cast<uint8_t*>(io->req_data);  // user_data[64], vmpl, rsvd, certs
    seen_user_data.assign(req, req + 64);
    uint64_t certs_address;
    uint32_t certs_len;
    std::memcpy(&certs_address, req + 96, 8);
    std::memcpy(&certs_len, req + 104, 4);
    Bytes table = CertTable("VCEK-DER");
    std::memcpy(reinterpret_cast<void*>(certs_address), table.data(), table.size());
    certs_len = static_cast<uint32_t>(table.size());
    std::memcpy(req + 104, &certs_len, 4);
    auto* resp = reinterpret_cast<uint8_t*>(io->resp_data);
    uint32_t status = 0, size = 1184;
    std::memcpy(resp, &status, 4);
    std::memcpy(resp + 4, &size, 4);
    std::memset(resp + 32, 'S', 1184);
    return 0;
  });
  CRYPTA_ASSIGN_OR_FAIL(Evidence ev, attester.Collect(Bytes(64, 0x33)));
  EXPECT_EQ(ev.raw, Bytes(1184, 'S'));
  EXPECT_EQ(seen_user_data, Bytes(64, 0x33));
  ASSERT_NE(ev.collateral.Find("vcek"), nullptr);
  EXPECT_EQ(ToString(*ev.collateral.Find("vcek")), "VCEK-DER");

  SevGuestAttester failing("/dev/sev-guest", [](unsigned long, void*) { return -EIO; });
  Result<Evidence> bad = failing.Collect(Bytes(64, 0));
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message(), HasSubstr("SNP_GET_REPORT failed"));

  // A host without certificates: the extended request fails, the plain one works.
  int calls = 0;
  SevGuestAttester plain("/dev/sev-guest", [&](unsigned long, void* arg) {
    if (++calls == 1) return -EINVAL;
    auto* resp = reinterpret_cast<uint8_t*>(static_cast<Io*>(arg)->resp_data);
    uint32_t status = 0, size = 1184;
    std::memcpy(resp, &status, 4);
    std::memcpy(resp + 4, &size, 4);
    return 0;
  });
  CRYPTA_ASSIGN_OR_FAIL(Evidence plain_ev, plain.Collect(Bytes(64, 1)));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(plain_ev.collateral.Find("vcek"), nullptr);
}

TEST_F(CollectorTest, MalformedCertificateTablesAreRejected) {
  Collateral c;
  Bytes table = CertTable("X");
  table[16] = 200;  // offset beyond the table
  EXPECT_THAT(snp::AddSnpCertTable(table, &c).error().message(), HasSubstr("outside"));
  EXPECT_FALSE(snp::AddSnpCertTable(Bytes(30, 1), &c).has_value()) << "no terminator";
  CRYPTA_EXPECT_OK(snp::AddSnpCertTable(Bytes(24, 0), &c));  // empty table
}

TEST_F(CollectorTest, TdxGuestGetsATdreportAndHasTheQgsQuoteIt) {
  Bytes seen_reportdata, seen_request;
  TdxGuestAttester attester(
      [&](unsigned long, void* arg) {
        auto* req = static_cast<uint8_t*>(arg);  // reportdata[64] then tdreport[1024]
        seen_reportdata.assign(req, req + 64);
        std::memset(req + 64, 'T', 1024);
        return 0;
      },
      [&](ByteSpan request) -> Result<Bytes> {
        seen_request.assign(request.begin(), request.end());
        // GET_QUOTE_RESP: header (major 1, minor 0, type 1, size, error 0), id size 0,
        // quote size 5, quote.
        Bytes body = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0,   0,   0,   0,   0,  0,
                      0, 0, 0, 0, 0, 5, 0, 0, 0, 'Q', 'U', 'O', 'T', 'E'};
        body[8] = static_cast<uint8_t>(body.size());
        Bytes framed = {0, 0, 0, static_cast<uint8_t>(body.size())};
        framed.insert(framed.end(), body.begin(), body.end());
        return framed;
      });
  CRYPTA_ASSIGN_OR_FAIL(Evidence ev, attester.Collect(Bytes(64, 0x21)));
  EXPECT_EQ(ev.tee, TeeType::kTdx);
  EXPECT_EQ(ToString(ev.raw), "QUOTE");
  EXPECT_EQ(seen_reportdata, Bytes(64, 0x21));
  // The request frames a GET_QUOTE_REQ carrying the TDREPORT.
  ASSERT_EQ(seen_request.size(), 4u + 16 + 8 + 1024);
  EXPECT_EQ(seen_request[4 + 4], 0);  // type GET_QUOTE_REQ
  EXPECT_EQ(Bytes(seen_request.end() - 1024, seen_request.end()), Bytes(1024, 'T'));

  Bytes refused = TdxGuestAttester::EncodeQgsGetQuote(Bytes(8, 0));
  EXPECT_FALSE(TdxGuestAttester::ParseQgsQuoteResponse(refused).has_value())
      << "a request is not a response";
  TdxGuestAttester no_device([](unsigned long, void*) { return -ENOTTY; },
                             [](ByteSpan) -> Result<Bytes> { return Bytes{}; });
  EXPECT_THAT(no_device.Collect(Bytes(64, 0)).error().message(), HasSubstr("TDX_CMD_GET_REPORT0"));
}

TEST_F(CollectorTest, DetectionPicksWhatExistsAndNamesWhatItLookedFor) {
  Result<std::unique_ptr<Attester>> none = DetectAttester(root_.string(), "");
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message(), HasSubstr("no TEE found"));
  Write(root_ / "dev/attestation/quote", "Q");
  CRYPTA_ASSIGN_OR_FAIL(auto gramine, DetectAttester(root_.string(), ""));
  EXPECT_EQ(gramine->name(), "gramine");
  fs::create_directories(root_ / "sys/kernel/config/tsm/report");
  CRYPTA_ASSIGN_OR_FAIL(auto tsm, DetectAttester(root_.string(), ""));
  EXPECT_EQ(tsm->name(), "configfs-tsm");
}

}  // namespace
}  // namespace crypta::attest
