#include "pki/platform_ca.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>

#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "pki/ca_store.h"
#include "pki/pki_test_util.h"
#include "pki/svid_verify.h"

namespace crypta::pki {
namespace {

using testing::kTestNow;
using testing::PkiTest;

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs a command, returns its exit status and combined output.
std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, ""};
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe)) output += buffer;
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

VerifyExpectations Expect(int64_t now) {
  VerifyExpectations e;
  e.trust_domain = "crypta.local";
  e.now = now;
  return e;
}

#ifdef CRYPTA_OPENSSL_BINARY
TEST_F(PkiTest, OpensslVerifiesAnIssuedSvid) {
  // `openssl verify` reads the system clock, so this CA does too.
  PkiOptions options;
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa(options));
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid svid, ca->IssueSvid(MakeCsr(), "hr", "payroll"));
  CRYPTA_ASSIGN_OR_FAIL(std::string bundle, ca->TrustBundle());
  WriteFile(dir_ / "bundle.pem", bundle);
  WriteFile(dir_ / "intermediate.pem", CertificatesToPem(svid.chain));
  WriteFile(dir_ / "svid.pem", CertificatesToPem({svid.leaf}));
  const std::string base = std::string(CRYPTA_OPENSSL_BINARY) + " verify -x509_strict -CAfile " +
                           (dir_ / "bundle.pem").string() + " -untrusted " +
                           (dir_ / "intermediate.pem").string() + " ";
  auto [rc, out] = RunCommand(base + (dir_ / "svid.pem").string());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("svid.pem: OK"), std::string::npos) << out;
  auto [rc_purpose, out_purpose] =
      RunCommand(base + "-purpose sslclient " + (dir_ / "svid.pem").string());
  EXPECT_EQ(rc_purpose, 0) << out_purpose;

  // After revocation, openssl with the CRL refuses it.
  CRYPTA_ASSIGN_OR_FAIL(int revoked, ca->RevokeWorkload("hr", "payroll"));
  EXPECT_EQ(revoked, 1);
  CRYPTA_ASSIGN_OR_FAIL(Bytes crl, ca->Crl());
  std::string crl_pem =
      "-----BEGIN X509 CRL-----\n" + Base64Encode(crl) + "\n-----END X509 CRL-----\n";
  // PEM lines must be at most 64 characters for some readers: re-wrap.
  {
    const std::string b64 = Base64Encode(crl);
    crl_pem = "-----BEGIN X509 CRL-----\n";
    for (size_t i = 0; i < b64.size(); i += 64) crl_pem += b64.substr(i, 64) + "\n";
    crl_pem += "-----END X509 CRL-----\n";
  }
  WriteFile(dir_ / "crl.pem", crl_pem);
  auto [rc_crl, out_crl] = RunCommand(base + "-crl_check -CRLfile " + (dir_ / "crl.pem").string() +
                                      " " + (dir_ / "svid.pem").string());
  EXPECT_NE(rc_crl, 0) << out_crl;
  EXPECT_NE(out_crl.find("revoked"), std::string::npos) << out_crl;
}
#endif

TEST_F(PkiTest, SvidHasTheX509SvidProfile) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP384));
  CRYPTA_ASSIGN_OR_FAIL(Bytes csr, CreateCsr(key, "ignored-name"));
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid svid, ca->IssueSvid(csr, "hr", "payroll"));
  const Certificate& leaf = svid.leaf;
  EXPECT_EQ(svid.id.ToString(), "spiffe://crypta.local/tenant/hr/workload/payroll");
  CRYPTA_ASSIGN_OR_FAIL(auto uris, leaf.SanUris());
  EXPECT_EQ(uris, std::vector<std::string>{"spiffe://crypta.local/tenant/hr/workload/payroll"});
  CRYPTA_ASSIGN_OR_FAIL(auto dns, leaf.SanDnsNames());
  EXPECT_TRUE(dns.empty());
  EXPECT_FALSE(leaf.is_ca());
  CRYPTA_ASSIGN_OR_FAIL(auto bc, leaf.FindExtension("2.5.29.19"));
  EXPECT_TRUE(bc.critical);
  CRYPTA_ASSIGN_OR_FAIL(auto ku, leaf.FindExtension("2.5.29.15"));
  EXPECT_TRUE(ku.critical);
  EXPECT_EQ(X509_get_key_usage(leaf.x509()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf.x509()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  CRYPTA_ASSIGN_OR_FAIL(PublicKey leaf_key, leaf.public_key());
  EXPECT_EQ(*leaf_key.ToSpkiDer(), *key.GetPublicKey().ToSpkiDer());
  EXPECT_EQ(leaf.not_before(), kTestNow - 60);
  EXPECT_EQ(leaf.not_after(), kTestNow + 3600);
  EXPECT_GE(leaf.serial_hex().size(), 31u);  // 128 random bits
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid second, ca->IssueSvid(csr, "hr", "payroll"));
  EXPECT_NE(second.leaf.serial_hex(), leaf.serial_hex());

  // The hierarchy: root pathlen 1, intermediate pathlen 0 constrained to the trust domain.
  CRYPTA_ASSIGN_OR_FAIL(CaGeneration g, ca->Current());
  EXPECT_EQ(g.generation, 1u);
  EXPECT_TRUE(g.root.is_ca() && g.root.is_self_issued());
  EXPECT_EQ(X509_get_pathlen(g.root.x509()), 1);
  EXPECT_TRUE(g.intermediate.is_ca());
  EXPECT_EQ(X509_get_pathlen(g.intermediate.x509()), 0);
  CRYPTA_ASSIGN_OR_FAIL(auto nc, g.intermediate.FindExtension("2.5.29.30"));
  EXPECT_TRUE(nc.critical);
  CRYPTA_ASSIGN_OR_FAIL(PublicKey root_key, g.root.public_key());
  EXPECT_EQ(root_key.type(), KeyType::kEcP384);
  EXPECT_EQ(g.root.not_after(), kTestNow + 10 * 365 * 24 * 3600);
  EXPECT_EQ(svid.chain.size(), 1u);
  EXPECT_EQ(svid.chain[0].der(), g.intermediate.der());

  CRYPTA_ASSIGN_OR_FAIL(auto short_svid, ca->IssueSvid(csr, "hr", "payroll", 300));
  EXPECT_EQ(short_svid.leaf.not_after(), kTestNow + 300);
  EXPECT_EQ(ca->IssueSvid(csr, "hr", "payroll", 30).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ca->IssueSvid(csr, "HR", "payroll").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ca->IssueSvid(MakeCsr(KeyType::kRsa), "hr", "payroll").error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(PkiTest, RevokingAWorkloadListsItsSvidsAndRefusesRenewal) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  const Bytes csr = MakeCsr();
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid a, ca->IssueSvid(csr, "hr", "payroll"));
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid b, ca->IssueSvid(csr, "hr", "payroll"));
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid other, ca->IssueSvid(csr, "hr", "frontend"));
  CRYPTA_ASSIGN_OR_FAIL(auto roots, ca->TrustBundleCertificates());
  *now_ += 10;
  CRYPTA_ASSIGN_OR_FAIL(int count, ca->RevokeWorkload("hr", "payroll"));
  EXPECT_EQ(count, 2);
  EXPECT_EQ(*ca->RevokeWorkload("hr", "payroll"), 0);  // idempotent
  EXPECT_TRUE(*ca->IsWorkloadRevoked("hr", "payroll"));
  auto refused = ca->IssueSvid(csr, "hr", "payroll");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);

  CRYPTA_ASSIGN_OR_FAIL(Bytes crl_der, ca->Crl());
  CRYPTA_ASSIGN_OR_FAIL(Crl crl, Crl::FromDer(crl_der));
  EXPECT_EQ(crl.revoked_count(), 2u);
  EXPECT_TRUE(crl.ListsSerial(a.leaf.serial_hex()));
  EXPECT_TRUE(crl.ListsSerial(b.leaf.serial_hex()));
  EXPECT_FALSE(crl.ListsSerial(other.leaf.serial_hex()));
  EXPECT_EQ(crl.this_update(), kTestNow + 10);
  EXPECT_EQ(crl.next_update(), kTestNow + 10 + 3600);
  EXPECT_EQ(crl.issuer(), a.chain[0].subject());

  std::vector<Crl> crls{crl};
  auto verdict = VerifySvid(a.FullChain(), roots, crls, Expect(*now_));
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(verdict.error().message().find("revoked"), std::string::npos)
      << verdict.error().message();
  CRYPTA_EXPECT_OK(VerifySvid(other.FullChain(), roots, crls, Expect(*now_)));

  // Re-enabled: new SVIDs verify against the new CRL, the old ones stay revoked.
  CRYPTA_ASSERT_OK(ca->AllowWorkload("hr", "payroll"));
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid c, ca->IssueSvid(csr, "hr", "payroll"));
  CRYPTA_ASSIGN_OR_FAIL(Crl crl2, Crl::FromDer(*ca->Crl()));
  EXPECT_TRUE(crl2.ListsSerial(a.leaf.serial_hex()));
  std::vector<Crl> crls2{crl2};
  CRYPTA_EXPECT_OK(VerifySvid(c.FullChain(), roots, crls2, Expect(*now_)));
  // Once the revoked SVIDs expire they drop off the CRL.
  *now_ += 4000;
  CRYPTA_ASSIGN_OR_FAIL(Crl later, Crl::FromDer(*ca->Crl()));
  EXPECT_EQ(later.revoked_count(), 0u);
}

TEST_F(PkiTest, RootRotationKeepsOldSvidsVerifyingDuringTheOverlap) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  const Bytes csr = MakeCsr();
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid old_svid, ca->IssueSvid(csr, "hr", "payroll"));
  CRYPTA_ASSIGN_OR_FAIL(CaGeneration g1, ca->Current());
  CRYPTA_ASSIGN_OR_FAIL(uint32_t generation, ca->RotateRoot(/*overlap_s=*/1800));
  EXPECT_EQ(generation, 2u);
  CRYPTA_ASSIGN_OR_FAIL(CaGeneration g2, ca->Current());
  EXPECT_NE(g2.root.der(), g1.root.der());

  CRYPTA_ASSIGN_OR_FAIL(auto bundle, ca->TrustBundleCertificates());
  ASSERT_EQ(bundle.size(), 2u);
  EXPECT_EQ(bundle[0].der(), g2.root.der());  // newest first
  EXPECT_EQ(bundle[1].der(), g1.root.der());
  CRYPTA_ASSIGN_OR_FAIL(std::string bundle_pem, ca->TrustBundle());
  CRYPTA_ASSIGN_OR_FAIL(auto parsed_bundle, Certificate::ParsePemBundle(bundle_pem));
  EXPECT_EQ(parsed_bundle.size(), 2u);

  // The old SVID verifies with the overlap bundle; the new one chains to the new root.
  *now_ += 600;
  CRYPTA_EXPECT_OK(VerifySvid(old_svid.FullChain(), bundle, {}, Expect(*now_)));
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid new_svid, ca->IssueSvid(csr, "hr", "payroll"));
  EXPECT_EQ(new_svid.generation, 2u);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedChain chain,
                        VerifyChain(new_svid.leaf, new_svid.chain, bundle, *now_));
  EXPECT_EQ(chain.root().der(), g2.root.der());
  std::vector<Certificate> only_old{g1.root};
  EXPECT_FALSE(VerifySvid(new_svid.FullChain(), only_old, {}, Expect(*now_)));
  // Both generations publish CRLs during the overlap.
  CRYPTA_ASSIGN_OR_FAIL(auto crls, ca->Crls());
  EXPECT_EQ(crls.size(), 2u);

  // After the overlap the old root leaves the bundle and its SVIDs stop verifying.
  *now_ += 1201;
  CRYPTA_ASSIGN_OR_FAIL(auto after, ca->TrustBundleCertificates());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].der(), g2.root.der());
  auto refused = VerifySvid(old_svid.FullChain(), after, {}, Expect(*now_));
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("unknown issuer"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(ca->Crls()->size(), 1u);
}

TEST_F(PkiTest, RotationWithoutOverlapKeepsTheOldRootUntilItExpires) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  CRYPTA_ASSERT_OK(ca->RotateRoot());
  *now_ += 5LL * 365 * 24 * 3600;
  EXPECT_EQ(ca->TrustBundleCertificates()->size(), 2u);
  *now_ += 6LL * 365 * 24 * 3600;  // generation 1's root has expired
  EXPECT_EQ(ca->TrustBundleCertificates()->size(), 1u);
}

TEST_F(PkiTest, ReopeningKeepsTheCaAndAnotherInstanceSeesRotations) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  CRYPTA_ASSIGN_OR_FAIL(CaGeneration g1, ca->Current());
  CRYPTA_ASSIGN_OR_FAIL(auto again, OpenCa());
  CRYPTA_ASSIGN_OR_FAIL(CaGeneration g1_again, again->Current());
  EXPECT_EQ(g1_again.root.der(), g1.root.der());
  EXPECT_EQ(g1_again.intermediate.der(), g1.intermediate.der());
  CRYPTA_ASSERT_OK(ca->RotateRoot());
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid svid, again->IssueSvid(MakeCsr(), "hr", "payroll"));
  EXPECT_EQ(svid.generation, 2u);
}

TEST_F(PkiTest, CaKeysAreStoredWrapped) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  CRYPTA_ASSERT_OK(ca->RotateRoot());
  CRYPTA_ASSIGN_OR_FAIL(auto rows, internal::LoadGenerations(*db_));
  ASSERT_EQ(rows.size(), 2u);
  std::string file_bytes;
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(dir_ / ("control.db" + std::string(suffix)), std::ios::binary);
    file_bytes += std::string(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_FALSE(file_bytes.empty());
  for (const auto& row : rows) {
    for (auto [role, wrapped] : {std::pair{"root", &row.root_key_wrapped},
                                 std::pair{"intermediate", &row.intermediate_key_wrapped}}) {
      CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, internal::UnwrapCaKey(root_key_, row.generation, role,
                                                                  row.key_type, *wrapped));
      CRYPTA_ASSIGN_OR_FAIL(SecretBytes scalar, key.RawSecret());
      const std::string needle(scalar.Reveal().begin(), scalar.Reveal().end());
      EXPECT_EQ(file_bytes.find(needle), std::string::npos) << role << " key in plaintext";
      // The wrap is bound to its generation and role.
      EXPECT_EQ(internal::UnwrapCaKey(root_key_, row.generation + 7, role, row.key_type, *wrapped)
                    .error()
                    .code(),
                ErrorCode::kDataLoss);
    }
    EXPECT_EQ(internal::UnwrapCaKey(root_key_, row.generation, "intermediate", row.key_type,
                                    row.root_key_wrapped)
                  .error()
                  .code(),
              ErrorCode::kDataLoss);
  }
}

TEST_F(PkiTest, ReopeningWithAnotherRootKeyIsDataLoss) {
  CRYPTA_ASSERT_OK(OpenCa());
  root_key_ = *RandomBytes(32);
  auto reopened = OpenCa();
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.error().code(), ErrorCode::kDataLoss) << reopened.error().ToString();
}

TEST_F(PkiTest, ReopeningForAnotherTrustDomainIsRefused) {
  CRYPTA_ASSERT_OK(OpenCa());
  PkiOptions options = Options();
  options.trust_domain = "other.local";
  auto reopened = OpenCa(options);
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(PkiTest, OptionsAreValidated) {
  PkiOptions options = Options();
  options.trust_domain = "Bad Domain";
  EXPECT_EQ(OpenCa(options).error().code(), ErrorCode::kInvalidArgument);
  options = Options();
  options.ca_key_type = KeyType::kEd25519;
  EXPECT_EQ(OpenCa(options).error().code(), ErrorCode::kInvalidArgument);
  options = Options();
  options.svid_ttl_s = options.max_svid_ttl_s + 1;
  EXPECT_EQ(OpenCa(options).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(PlatformCa::Open(db_, SecretBytes(Bytes(16, 1)), Options()).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(PkiTest, P256CaWorksToo) {
  PkiOptions options = Options();
  options.ca_key_type = KeyType::kEcP256;
  options.trust_domain = "p256.example";
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa(options));
  CRYPTA_ASSIGN_OR_FAIL(IssuedSvid svid, ca->IssueSvid(MakeCsr(KeyType::kEd25519), "t", "w"));
  VerifyExpectations e = Expect(*now_);
  e.trust_domain = "p256.example";
  CRYPTA_ASSIGN_OR_FAIL(std::string bundle, ca->TrustBundle());
  CRYPTA_ASSIGN_OR_FAIL(VerifiedSvid v, VerifySvidEncoded(AsBytes(svid.ChainPem()), bundle, {}, e));
  EXPECT_EQ(v.uri, "spiffe://p256.example/tenant/t/workload/w");
}

}  // namespace
}  // namespace crypta::pki
