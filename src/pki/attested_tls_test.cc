#include "pki/attested_tls.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "crypto/hash.h"
#include "crypto/x509_builder.h"
#include "pki/csr.h"
#include "testing/test_util.h"

namespace crypta::pki {
namespace {

using attest::TeeType;

TEST(AttestedTls, ExtensionIsATaggedByteString) {
  // RFC 8949 §3: 0xDA = major type 6 (tag) with a 4-byte argument; 0x43 = byte string, 3.
  CRYPTA_ASSIGN_OR_FAIL(Bytes sim, AttestedCertExtension(TeeType::kSim, ToBytes("abc")));
  EXPECT_EQ(sim, (Bytes{0xDA, 0x63, 0x72, 0x79, 0x01, 0x43, 'a', 'b', 'c'}));
  CRYPTA_ASSIGN_OR_FAIL(Bytes snp, AttestedCertExtension(TeeType::kSevSnp, ToBytes("abc")));
  EXPECT_EQ(snp, (Bytes{0xDA, 0x00, 0x1A, 0x75, 0x04, 0x43, 'a', 'b', 'c'}));
  CRYPTA_ASSIGN_OR_FAIL(AttestedEvidence back, ParseAttestedExtensionValue(snp));
  EXPECT_EQ(back.tee, TeeType::kSevSnp);
  EXPECT_EQ(back.evidence, ToBytes("abc"));
}

TEST(AttestedTls, IntelQuotesAreToldApartByTheirHeader) {
  Bytes tdx_quote = {0x04, 0x00, 0x02, 0x00, 0x81, 0x00, 0x00, 0x00, 0xAA};
  Bytes sgx_quote = {0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xBB};
  CRYPTA_ASSIGN_OR_FAIL(Bytes tdx, AttestedCertExtension(TeeType::kTdx, tdx_quote));
  CRYPTA_ASSIGN_OR_FAIL(Bytes sgx, AttestedCertExtension(TeeType::kSgx, sgx_quote));
  EXPECT_EQ(ParseAttestedExtensionValue(tdx)->tee, TeeType::kTdx);
  EXPECT_EQ(ParseAttestedExtensionValue(sgx)->tee, TeeType::kSgx);
  EXPECT_FALSE(AttestedCertExtension(TeeType::kTdx, sgx_quote).has_value());
}

TEST(AttestedTls, ParserRefusesMalformedValues) {
  const std::vector<Bytes> bad = {
      {},                                                      // empty
      {0x43, 'a', 'b', 'c'},                                   // untagged
      {0xDA, 0x63, 0x72, 0x79, 0x01, 0x63, 'a', 'b', 'c'},     // text, not bytes
      {0xDA, 0x63, 0x72, 0x79, 0x01, 0x43, 'a', 'b', 'c', 0},  // trailing byte
      {0xDA, 0x63, 0x72, 0x79, 0x01, 0x44, 'a', 'b', 'c'},     // truncated
      {0xDA, 0x63, 0x72, 0x79, 0x01, 0x40},                    // empty evidence
      {0xDA, 0x63, 0x72, 0x79, 0x01, 0x5F, 0x41, 'a', 0xFF},   // indefinite length
      {0xD8, 0x2A, 0x43, 'a', 'b', 'c'},                       // unknown tag 42
      {0xDA, 0x00, 0x1A, 0x75, 0x01, 0x43, 'a', 'b', 'c'},     // Intel quote without header
  };
  for (const Bytes& value : bad) {
    auto parsed = ParseAttestedExtensionValue(value);
    ASSERT_FALSE(parsed.has_value()) << value.size();
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(AttestedCertExtension(TeeType::kSim, Bytes(kMaxAttestedEvidenceSize + 1, 1)));
}

TEST(AttestedTls, ReportDataIsTheDomainSeparatedHashOfTheSpki) {
  const Bytes spki = ToBytes("\x30\x59 pretend spki");
  const Bytes rd = AttestedTlsReportData(spki);
  Bytes input = ToBytes("crypta attested-tls v1");
  input.insert(input.end(), spki.begin(), spki.end());
  Bytes expected = Sha384(input);
  expected.resize(64, 0);
  EXPECT_EQ(rd, expected);
  // Distinct from the SVID-request binding of the same key.
  CRYPTA_ASSIGN_OR_FAIL(Bytes svid_rd, SvidRequestReportData(Sha256(spki), ToBytes("n")));
  EXPECT_NE(rd, svid_rd);
}

TEST(AttestedTls, CertificateCarriesEvidenceBindingItsKey) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  Bytes seen_report_data;
  EvidenceCollector collect = [&](ByteSpan report_data) -> Result<attest::Evidence> {
    seen_report_data.assign(report_data.begin(), report_data.end());
    Bytes raw = ToBytes("sim-report:");
    raw.insert(raw.end(), report_data.begin(), report_data.end());
    return attest::Evidence{TeeType::kSim, raw, {}};
  };
  AttestedCertificateOptions options;
  options.dns_names = {"model.example"};
  options.now = 1'750'000'000;
  CRYPTA_ASSIGN_OR_FAIL(Certificate cert, MakeAttestedCertificate(key, collect, options));
  CRYPTA_ASSIGN_OR_FAIL(Bytes spki, key.GetPublicKey().ToSpkiDer());
  EXPECT_EQ(seen_report_data, AttestedTlsReportData(spki));
  EXPECT_FALSE(cert.is_ca());
  EXPECT_EQ(cert.not_before(), options.now - 60);
  CRYPTA_ASSIGN_OR_FAIL(auto ext, cert.FindExtension(kTcgDiceTaggedEvidenceOid));
  EXPECT_FALSE(ext.critical);  // a critical unknown extension breaks OpenSSL/mbedTLS clients
  CRYPTA_ASSIGN_OR_FAIL(AttestedEvidence evidence, ParseAttestedCertExtension(cert));
  EXPECT_EQ(evidence.tee, TeeType::kSim);
  EXPECT_EQ(Bytes(evidence.evidence.begin() + 11, evidence.evidence.end()), seen_report_data);
  CRYPTA_EXPECT_OK(CheckAttestedTlsBinding(cert, seen_report_data));

  // Evidence for another key does not bind this certificate.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(Bytes other_spki, other.GetPublicKey().ToSpkiDer());
  auto mismatch = CheckAttestedTlsBinding(cert, AttestedTlsReportData(other_spki));
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code(), ErrorCode::kPermissionDenied);
}

TEST(AttestedTls, CollectorFailureAndMissingExtensionAreErrors) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEd25519));
  EvidenceCollector failing = [](ByteSpan) -> Result<attest::Evidence> {
    return MakeError(ErrorCode::kUnavailable, "no TEE");
  };
  auto cert = MakeAttestedCertificate(key, failing);
  ASSERT_FALSE(cert.has_value());
  EXPECT_EQ(cert.error().code(), ErrorCode::kUnavailable);

  CertificateTemplate t;
  t.common_name = "plain";
  t.not_before = 1;
  t.not_after = 2'000'000'000;
  CRYPTA_ASSIGN_OR_FAIL(Certificate plain, IssueCertificate(t, key.GetPublicKey(), nullptr, key));
  EXPECT_EQ(ParseAttestedCertExtension(plain).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace crypta::pki
