// Certificate/CRL parsing and VerifyChain against real AMD SEV-SNP and Intel DCAP chains
// (testdata/x509, from vectors whose MANIFEST gives the verification times), plus a small
// generated PKI for revocation, not-a-CA and validity cases the real data cannot show.
#include "crypto/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataString;
using ::crypta::testing::Unhex;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kSnpTime = 1748736000;           // 2025-06-01T00:00:00Z (sev-snp MANIFEST)
constexpr int64_t kDcapTime = 1688173200;          // 2023-07-01T01:00:00Z (tdx MANIFEST)
constexpr int64_t kAfterVcekExpiry = 1924992000;   // 2031-01-01T00:00:00Z
constexpr int64_t kBeforeVcek = 1640995200;        // 2022-01-01T00:00:00Z
constexpr int64_t kVcekNotBefore = 1674583106;     // 2023-01-24T17:58:26Z (x509 README)
constexpr int64_t kVcekNotAfter = 1895507906;      // 2030-01-24T17:58:26Z
constexpr int64_t kPckCrlThisUpdate = 1686209272;  // 2023-06-08T07:27:52Z
constexpr int64_t kPckCrlNextUpdate = 1688801272;  // 2023-07-08T07:27:52Z

std::vector<Certificate> LoadBundle(const std::string& file) {
  Result<std::vector<Certificate>> certs =
      Certificate::ParsePemBundle(ReadTestdataString("x509/" + file));
  EXPECT_TRUE(certs.has_value()) << file << ": " << certs.error().ToString();
  return certs ? *certs : std::vector<Certificate>{};
}

Certificate LoadCert(const std::string& file) {
  Result<Certificate> cert = Certificate::Parse(ReadTestdataBytes("x509/" + file));
  EXPECT_TRUE(cert.has_value()) << file << ": " << cert.error().ToString();
  return *cert;
}

Crl LoadCrl(const std::string& file) {
  Result<Crl> crl = Crl::Parse(ReadTestdataBytes("x509/" + file));
  EXPECT_TRUE(crl.has_value()) << file << ": " << crl.error().ToString();
  return *crl;
}

// ------------------------------------------------------------------ parsing

TEST(CertificateTest, ParsesMilanVcekFields) {
  Bytes der = ReadTestdataBytes("x509/milan_vcek.der");
  CRYPTA_ASSIGN_OR_FAIL(Certificate vcek, Certificate::FromDer(der));
  EXPECT_THAT(vcek.subject(), StartsWith("CN=SEV-VCEK,"));
  EXPECT_THAT(vcek.issuer(), StartsWith("CN=SEV-Milan,"));
  EXPECT_THAT(vcek.issuer(), HasSubstr("O=Advanced Micro Devices"));
  EXPECT_EQ(vcek.serial_hex(), "0");
  EXPECT_EQ(vcek.not_before(), 1674583106);  // 2023-01-24T17:58:26Z
  EXPECT_EQ(vcek.not_after(), 1895507906);   // 2030-01-24T17:58:26Z
  EXPECT_EQ(vcek.signature_algorithm(), "rsassaPss");
  EXPECT_EQ(vcek.der(), der);
  EXPECT_EQ(vcek.Sha256Fingerprint(), Sha256(der));
  EXPECT_FALSE(vcek.is_ca());
  EXPECT_FALSE(vcek.is_self_issued());
  CRYPTA_ASSIGN_OR_FAIL(PublicKey key, vcek.public_key());
  EXPECT_EQ(key.type(), KeyType::kEcP384);
}

TEST(CertificateTest, ReadsVcekAmdExtensionsAsDer) {
  Certificate vcek = LoadCert("milan_vcek.der");
  // blSPL (1.3.6.1.4.1.3704.1.3.1) = INTEGER 3, ucodeSPL (.3.8) = INTEGER 115.
  CRYPTA_ASSIGN_OR_FAIL(CertificateExtension bl, vcek.FindExtension("1.3.6.1.4.1.3704.1.3.1"));
  EXPECT_FALSE(bl.critical);
  EXPECT_EQ(bl.value, (Bytes{0x02, 0x01, 0x03}));
  CRYPTA_ASSIGN_OR_FAIL(CertificateExtension ucode, vcek.FindExtension("1.3.6.1.4.1.3704.1.3.8"));
  EXPECT_EQ(ucode.value, (Bytes{0x02, 0x01, 0x73}));
  // hwID (1.3.6.1.4.1.3704.1.4) is the raw 64-byte chip id in this "legacy" encoding.
  CRYPTA_ASSIGN_OR_FAIL(CertificateExtension hwid, vcek.FindExtension("1.3.6.1.4.1.3704.1.4"));
  EXPECT_EQ(HexEncode(hwid.value),
            "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f"
            "8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e");
}

TEST(CertificateTest, FindExtensionReportsAbsentAndMalformedOids) {
  Certificate vcek = LoadCert("milan_vcek.der");
  EXPECT_EQ(vcek.FindExtension("1.3.6.1.4.1.3704.1.5").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(vcek.FindExtension("not an oid").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(vcek.FindExtension("").error().code(), ErrorCode::kInvalidArgument);
}

TEST(CertificateTest, ParsesAmdAskArkAsvkBundleInOrder) {
  std::vector<Certificate> certs = LoadBundle("milan_ask_ark_asvk.pem");
  ASSERT_EQ(certs.size(), 3u);
  EXPECT_THAT(certs[0].subject(), StartsWith("CN=SEV-Milan,"));
  EXPECT_THAT(certs[1].subject(), StartsWith("CN=ARK-Milan,"));
  EXPECT_THAT(certs[2].subject(), StartsWith("CN=SEV-VLEK-Milan,"));
  EXPECT_TRUE(certs[0].is_ca());
  EXPECT_TRUE(certs[1].is_ca());
  EXPECT_TRUE(certs[1].is_self_issued());
  EXPECT_EQ(certs[1].serial_hex(), "10000");
  CRYPTA_ASSIGN_OR_FAIL(PublicKey ark_key, certs[1].public_key());
  EXPECT_EQ(ark_key.type(), KeyType::kRsa);
  EXPECT_EQ(ark_key.RsaBits(), 4096);
}

TEST(CertificateTest, ParsesPckChainCutFromQuotesWithAndWithoutTrailingNul) {
  std::string with_nul = ReadTestdataString("x509/pck_chain_debug_nul.pem");
  ASSERT_EQ(with_nul.back(), '\0');
  for (const char* file : {"pck_chain_debug_nul.pem", "pck_chain_spr.pem"}) {
    SCOPED_TRACE(file);
    std::vector<Certificate> chain = LoadBundle(file);
    ASSERT_EQ(chain.size(), 3u);
    EXPECT_EQ(chain[0].subject(),
              "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK Certificate");
    EXPECT_THAT(chain[1].subject(), EndsWith(",CN=Intel SGX PCK Platform CA"));
    EXPECT_THAT(chain[2].subject(), EndsWith(",CN=Intel SGX Root CA"));
    EXPECT_EQ(chain[0].signature_algorithm(), "ecdsa-with-SHA256");
  }
  EXPECT_EQ(LoadBundle("pck_chain_debug_nul.pem")[0].serial_hex(),
            "99c1712024a45e82ef4f19be96bf52ea98e95b19");
}

TEST(CertificateTest, ReadsPckSgxExtension) {
  Certificate pck = LoadBundle("pck_chain_spr.pem").at(0);
  CRYPTA_ASSIGN_OR_FAIL(CertificateExtension sgx, pck.FindExtension("1.2.840.113741.1.13.1"));
  EXPECT_FALSE(sgx.critical);
  ASSERT_FALSE(sgx.value.empty());
  EXPECT_EQ(sgx.value[0], 0x30);  // SEQUENCE of (OID, value) pairs
  std::string hex = HexEncode(sgx.value);
  // PPID element (OID 1.2.840.113741.1.13.1.1 then OCTET STRING) and the FMSPC value.
  EXPECT_THAT(hex, HasSubstr("060a2a864886f84d010d01010410089ddfdb9c0359c82a3bc7719239574e"));
  EXPECT_THAT(hex, HasSubstr("50806f000000"));
}

TEST(CertificateTest, IntelRootFingerprintMatchesManifest) {
  Certificate root = LoadCert("intel_sgx_root_ca.pem");
  EXPECT_EQ(HexEncode(root.Sha256Fingerprint()),
            "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
  EXPECT_TRUE(root.is_ca());
  EXPECT_TRUE(root.is_self_issued());
  EXPECT_EQ(root.not_after(), 2524607999);  // 2049-12-31T23:59:59Z
}

TEST(CertificateTest, ParseAcceptsDerAndPemOfTheSameCertificate) {
  Bytes der = ReadTestdataBytes("x509/milan_vcek.der");
  std::string pem =
      "-----BEGIN CERTIFICATE-----\n" + Base64Encode(der) + "\n-----END CERTIFICATE-----\n";
  CRYPTA_ASSIGN_OR_FAIL(Certificate from_pem, Certificate::Parse(AsBytes(pem)));
  EXPECT_EQ(from_pem.der(), der);
  CRYPTA_ASSIGN_OR_FAIL(Certificate from_pem2,
                        Certificate::FromPem("\r\n  " + pem + std::string(2, '\0')));
  EXPECT_EQ(from_pem2.der(), der);
}

TEST(CertificateTest, RejectsMalformedInputs) {
  Bytes der = ReadTestdataBytes("x509/milan_vcek.der");
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::FromDer(trailing).has_value());
  EXPECT_FALSE(Certificate::FromDer(ByteSpan(der).first(der.size() - 1)).has_value());
  EXPECT_FALSE(Certificate::FromDer({}).has_value());
  Bytes huge(kMaxCertificateDerSize + 1, 0x30);
  EXPECT_FALSE(Certificate::FromDer(huge).has_value());

  std::string body = Base64Encode(der);
  const std::string begin = "-----BEGIN CERTIFICATE-----\n";
  const std::string end = "\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(Certificate::FromPem("").has_value());
  EXPECT_FALSE(Certificate::FromPem(begin + body).has_value());                   // no END
  EXPECT_FALSE(Certificate::FromPem("junk\n" + begin + body + end).has_value());  // text
  EXPECT_FALSE(Certificate::FromPem(begin + body + end + "junk").has_value());
  EXPECT_FALSE(Certificate::FromPem(begin + "!" + body + end).has_value());  // bad base64
  EXPECT_FALSE(Certificate::FromPem(begin + body + end + begin + body + end).has_value());
  EXPECT_FALSE(
      Certificate::FromPem("-----BEGIN X509 CRL-----\n" + body + "\n-----END X509 CRL-----\n")
          .has_value());
  std::string nul_inside = begin + body + end;
  nul_inside.insert(begin.size() + 4, 1, '\0');
  EXPECT_FALSE(Certificate::FromPem(nul_inside).has_value());

  std::string many;
  for (size_t i = 0; i <= kMaxPemBundleCertificates; ++i) many += begin + body + end;
  Result<std::vector<Certificate>> too_many = Certificate::ParsePemBundle(many);
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().code(), ErrorCode::kResourceExhausted);
}

TEST(CrlTest, ParsesIntelPckPlatformCrl) {
  Crl crl = LoadCrl("pck_platform_crl.der");
  EXPECT_THAT(crl.issuer(), EndsWith(",CN=Intel SGX PCK Platform CA"));
  EXPECT_EQ(crl.this_update(), 1686209272);  // 2023-06-08T07:27:52Z
  ASSERT_TRUE(crl.next_update().has_value());
  EXPECT_EQ(*crl.next_update(), 1688801272);  // 2023-07-08T07:27:52Z
  EXPECT_EQ(crl.revoked_count(), 44u);
  EXPECT_TRUE(crl.ListsSerial("6fc34e5023e728923435d61aa4b83c618166ad35"));
  EXPECT_FALSE(crl.ListsSerial(LoadBundle("pck_chain_spr.pem").at(0).serial_hex()));

  Crl root_crl = LoadCrl("root_ca_crl.der");
  EXPECT_THAT(root_crl.issuer(), EndsWith(",CN=Intel SGX Root CA"));
  EXPECT_EQ(root_crl.revoked_count(), 0u);
  EXPECT_EQ(root_crl.this_update(), 1680517371);  // 2023-04-03T10:22:51Z
}

TEST(CrlTest, ParsesPemAndRejectsMalformed) {
  Bytes der = ReadTestdataBytes("x509/root_ca_crl.der");
  std::string pem = "-----BEGIN X509 CRL-----\n" + Base64Encode(der) + "\n-----END X509 CRL-----\n";
  CRYPTA_ASSIGN_OR_FAIL(Crl crl, Crl::Parse(AsBytes(pem)));
  EXPECT_EQ(crl.der(), der);
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(Crl::FromDer(trailing).has_value());
  EXPECT_FALSE(Crl::FromDer(ByteSpan(der).first(20)).has_value());
  EXPECT_FALSE(Crl::FromDer(ReadTestdataBytes("x509/milan_vcek.der")).has_value());
  EXPECT_FALSE(Crl::FromPem("-----BEGIN CERTIFICATE-----\n" + Base64Encode(der) +
                            "\n-----END CERTIFICATE-----\n")
                   .has_value());
}

// ------------------------------------------------------------------ real chains

class SnpChainTest : public ::testing::Test {
 protected:
  std::vector<Certificate> milan_ = LoadBundle("milan_ask_ark_asvk.pem");  // ASK, ARK, ASVK
  std::vector<Certificate> ark_ = {milan_.at(1)};
  std::vector<Certificate> ask_ = {milan_.at(0)};
};

TEST_F(SnpChainTest, MilanVcekChainVerifiesAtManifestTime) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedChain chain,
                        VerifyChain(LoadCert("milan_vcek.der"), ask_, ark_, kSnpTime));
  ASSERT_EQ(chain.certificates.size(), 3u);
  EXPECT_THAT(chain.leaf().subject(), StartsWith("CN=SEV-VCEK,"));
  EXPECT_THAT(chain.certificates[1].subject(), StartsWith("CN=SEV-Milan,"));
  EXPECT_EQ(chain.root().der(), milan_[1].der());
}

TEST_F(SnpChainTest, IntermediatesMayBeUnorderedAndIncludeExtraCertificates) {
  // The whole bundle (ASK, self-signed ARK, ASVK) as untrusted intermediates, reversed.
  std::vector<Certificate> extra = {milan_[2], milan_[1], milan_[0]};
  CRYPTA_ASSIGN_OR_FAIL(VerifiedChain chain,
                        VerifyChain(LoadCert("milan_vcek.der"), extra, ark_, kSnpTime));
  EXPECT_EQ(chain.certificates.size(), 3u);
}

TEST_F(SnpChainTest, GenoaVcekChainVerifies) {
  std::vector<Certificate> genoa = LoadBundle("genoa_ask_ark_asvk.pem");
  CRYPTA_ASSIGN_OR_FAIL(VerifiedChain chain,
                        VerifyChain(LoadCert("genoa_vcek.pem"), genoa, {&genoa[1], 1}, kSnpTime));
  EXPECT_THAT(chain.certificates[1].subject(), StartsWith("CN=SEV-Genoa,"));
}

TEST_F(SnpChainTest, FailsAfterVcekExpiryNamingTheCertificateAndTimes) {
  auto result = VerifyChain(LoadCert("milan_vcek.der"), ask_, ark_, kAfterVcekExpiry);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(result.error().message(), HasSubstr("CN=SEV-VCEK"));
  EXPECT_THAT(result.error().message(), HasSubstr("expired"));
  EXPECT_THAT(result.error().message(), HasSubstr("2030-01-24T17:58:26Z"));
  EXPECT_THAT(result.error().message(), HasSubstr("2031-01-01T00:00:00Z"));
}

TEST_F(SnpChainTest, FailsBeforeVcekValidity) {
  auto result = VerifyChain(LoadCert("milan_vcek.der"), ask_, ark_, kBeforeVcek);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("CN=SEV-VCEK"));
  EXPECT_THAT(result.error().message(), HasSubstr("not yet valid"));
  EXPECT_THAT(result.error().message(), HasSubstr("2023-01-24T17:58:26Z"));
}

TEST_F(SnpChainTest, MilanVcekIsValidFromExactlyNotBeforeThroughExactlyNotAfter) {
  const Certificate vcek = LoadCert("milan_vcek.der");
  ASSERT_EQ(vcek.not_before(), kVcekNotBefore);
  ASSERT_EQ(vcek.not_after(), kVcekNotAfter);
  auto before = VerifyChain(vcek, ask_, ark_, kVcekNotBefore - 1);
  ASSERT_FALSE(before.has_value());
  EXPECT_THAT(before.error().message(), HasSubstr("not yet valid"));
  CRYPTA_EXPECT_OK(VerifyChain(vcek, ask_, ark_, kVcekNotBefore));
  CRYPTA_EXPECT_OK(VerifyChain(vcek, ask_, ark_, kVcekNotAfter));
  auto after = VerifyChain(vcek, ask_, ark_, kVcekNotAfter + 1);
  ASSERT_FALSE(after.has_value());
  EXPECT_THAT(after.error().message(), HasSubstr("expired: notAfter 2030-01-24T17:58:26Z"));
}

TEST_F(SnpChainTest, BadSignatureVceksFail) {
  for (const char* file : {"bad_vcek_legacy.der", "bad_vcek_new.der"}) {
    SCOPED_TRACE(file);
    auto result = VerifyChain(LoadCert(file), ask_, ark_, kSnpTime);
    ASSERT_FALSE(result.has_value());
    EXPECT_THAT(result.error().message(), HasSubstr("CN=SEV-VCEK"));
    EXPECT_THAT(result.error().message(), HasSubstr("bad signature"));
  }
}

TEST_F(SnpChainTest, VcekWithOneByteChangedFails) {
  // MANIFEST: adding 1 to byte 42 of vcek.der still parses but must not chain.
  Bytes der = ReadTestdataBytes("x509/milan_vcek.der");
  der[42] += 1;
  Result<Certificate> tampered = Certificate::FromDer(der);
  if (tampered) {
    EXPECT_FALSE(VerifyChain(*tampered, ask_, ark_, kSnpTime).has_value());
  }
}

TEST_F(SnpChainTest, WrongRootFailsAsUnknownIssuer) {
  std::vector<Certificate> genoa_ark = {LoadBundle("genoa_ask_ark_asvk.pem").at(1)};
  auto result = VerifyChain(LoadCert("milan_vcek.der"), ask_, genoa_ark, kSnpTime);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("CN=SEV-Milan"));
  EXPECT_THAT(result.error().message(), HasSubstr("unknown issuer"));
}

TEST_F(SnpChainTest, VcekChainedThroughAsvkFails) {
  std::vector<Certificate> asvk = {milan_[2]};
  auto result = VerifyChain(LoadCert("milan_vcek.der"), asvk, ark_, kSnpTime);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("unknown issuer"));
}

TEST_F(SnpChainTest, RejectsUnusableArguments) {
  Certificate vcek = LoadCert("milan_vcek.der");
  EXPECT_EQ(VerifyChain(vcek, ask_, {}, kSnpTime).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(VerifyChain(vcek, ask_, ark_, -1).error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SnpChainTest, RequireCrlsFailsWithoutAmdCrls) {
  auto result = VerifyChain(LoadCert("milan_vcek.der"), ask_, ark_, kSnpTime, {},
                            ChainVerifyOptions{.require_crls = true});
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("no CRL"));
}

class DcapChainTest : public ::testing::Test {
 protected:
  std::vector<Certificate> quote_chain_ = LoadBundle("pck_chain_spr.pem");  // PCK, Platform, Root
  std::vector<Certificate> root_ = {LoadCert("intel_sgx_root_ca.pem")};
  std::vector<Crl> crls_ = {LoadCrl("pck_platform_crl.der"), LoadCrl("root_ca_crl.der")};
};

TEST_F(DcapChainTest, PckChainVerifiesWithRequiredCrls) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedChain chain,
                        VerifyChain(quote_chain_[0], quote_chain_, root_, kDcapTime, crls_,
                                    ChainVerifyOptions{.require_crls = true}));
  ASSERT_EQ(chain.certificates.size(), 3u);
  EXPECT_THAT(chain.certificates[1].subject(), EndsWith(",CN=Intel SGX PCK Platform CA"));
  // The root is the pinned one, not the copy the quote carried.
  EXPECT_EQ(chain.root().x509(), root_[0].x509());
}

TEST_F(DcapChainTest, DebugQuotePckChainVerifies) {
  std::vector<Certificate> chain = LoadBundle("pck_chain_debug_nul.pem");
  CRYPTA_EXPECT_OK(VerifyChain(chain[0], chain, root_, kDcapTime, crls_));
}

TEST_F(DcapChainTest, ExpiredPckCrlFails) {
  auto result = VerifyChain(quote_chain_[0], quote_chain_, root_, 1735689600, crls_);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("CN=Intel SGX PCK Certificate"));
  EXPECT_THAT(result.error().message(), HasSubstr("CRL expired"));
  EXPECT_THAT(result.error().message(), HasSubstr("2023-07-08T07:27:52Z"));
}

TEST_F(DcapChainTest, PckCrlIsCurrentFromExactlyThisUpdateThroughExactlyNextUpdate) {
  ASSERT_EQ(crls_[0].this_update(), kPckCrlThisUpdate);
  ASSERT_EQ(crls_[0].next_update(), kPckCrlNextUpdate);
  const ChainVerifyOptions required{.require_crls = true};
  auto before =
      VerifyChain(quote_chain_[0], quote_chain_, root_, kPckCrlThisUpdate - 1, crls_, required);
  ASSERT_FALSE(before.has_value());
  EXPECT_THAT(before.error().message(), HasSubstr("CRL not yet valid"));
  CRYPTA_EXPECT_OK(
      VerifyChain(quote_chain_[0], quote_chain_, root_, kPckCrlThisUpdate, crls_, required));
  CRYPTA_EXPECT_OK(
      VerifyChain(quote_chain_[0], quote_chain_, root_, kPckCrlNextUpdate, crls_, required));
  auto after =
      VerifyChain(quote_chain_[0], quote_chain_, root_, kPckCrlNextUpdate + 1, crls_, required);
  ASSERT_FALSE(after.has_value());
  EXPECT_THAT(after.error().message(), HasSubstr("CRL expired"));
  EXPECT_THAT(after.error().message(), HasSubstr("2023-07-08T07:27:52Z"));
}

TEST_F(DcapChainTest, MissingPlatformCrlIsExcusedUnlessRequired) {
  std::vector<Crl> root_only = {crls_[1]};
  CRYPTA_EXPECT_OK(VerifyChain(quote_chain_[0], quote_chain_, root_, kDcapTime, root_only));
  auto result = VerifyChain(quote_chain_[0], quote_chain_, root_, kDcapTime, root_only,
                            ChainVerifyOptions{.require_crls = true});
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("CN=Intel SGX PCK Certificate"));
  EXPECT_THAT(result.error().message(), HasSubstr("no CRL"));
}

TEST_F(DcapChainTest, PckExpiresIn2029) {
  auto result = VerifyChain(quote_chain_[0], quote_chain_, root_, 2003690431);  // 2033-07-01
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("expired"));
}

TEST_F(DcapChainTest, AmdRootDoesNotAnchorIntelChain) {
  std::vector<Certificate> ark = {LoadBundle("milan_ask_ark_asvk.pem").at(1)};
  auto result = VerifyChain(quote_chain_[0], quote_chain_, ark, kDcapTime);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("unknown issuer"));
}

}  // namespace
}  // namespace crypta
