#include "pki/csr.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace crypta::pki {
namespace {

std::string ToPem(const Bytes& der) {
  std::string b64 = Base64Encode(der), pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END CERTIFICATE REQUEST-----\n";
}

TEST(Csr, AcceptsEcAndEd25519KeysInDerAndPem) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kEd25519}) {
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(type));
    CRYPTA_ASSIGN_OR_FAIL(Bytes der, CreateCsr(key, "payroll"));
    CRYPTA_ASSIGN_OR_FAIL(ParsedCsr csr, ParseCsr(der));
    CRYPTA_ASSIGN_OR_FAIL(Bytes spki, key.GetPublicKey().ToSpkiDer());
    EXPECT_EQ(csr.spki_der, spki);
    EXPECT_EQ(csr.public_key.type(), type);
    EXPECT_EQ(csr.subject, "CN=payroll");
    const std::string pem = ToPem(der);
    CRYPTA_ASSIGN_OR_FAIL(ParsedCsr from_pem, ParseCsr(AsBytes(pem)));
    EXPECT_EQ(from_pem.spki_der, spki);
    CRYPTA_ASSIGN_OR_FAIL(Bytes hash, CsrPublicKeyHash(der));
    EXPECT_EQ(hash, Sha256(spki));
  }
}

TEST(Csr, RefusesRsaKeys) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::GenerateRsa(2048));
  CRYPTA_ASSIGN_OR_FAIL(Bytes der, CreateCsr(key, "payroll"));
  auto csr = ParseCsr(der);
  ASSERT_FALSE(csr.has_value());
  EXPECT_EQ(csr.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(csr.error().message().find("RSA"), std::string::npos) << csr.error().message();
}

TEST(Csr, RefusesABadSignature) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(Bytes der, CreateCsr(key, "payroll"));
  der.back() ^= 0x01;  // the last byte of the signature BIT STRING
  auto csr = ParseCsr(der);
  ASSERT_FALSE(csr.has_value());
  EXPECT_EQ(csr.error().code(), ErrorCode::kUnauthenticated) << csr.error().message();
}

TEST(Csr, RefusesAnotherKeysSignature) {
  // The CSR names key A but is signed by key B: no proof of possession of A.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey a, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey b, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(Bytes der_a, CreateCsr(a, "x"));
  CRYPTA_ASSIGN_OR_FAIL(Bytes der_b, CreateCsr(b, "x"));
  CRYPTA_ASSIGN_OR_FAIL(Bytes spki_a, a.GetPublicKey().ToSpkiDer());
  CRYPTA_ASSIGN_OR_FAIL(Bytes spki_b, b.GetPublicKey().ToSpkiDer());
  // Same-size SPKIs at the same offset: swap A's key into B's CSR.
  auto it = std::search(der_b.begin(), der_b.end(), spki_b.begin(), spki_b.end());
  ASSERT_NE(it, der_b.end());
  std::copy(spki_a.begin(), spki_a.end(), it);
  auto csr = ParseCsr(der_b);
  ASSERT_FALSE(csr.has_value());
  EXPECT_EQ(csr.error().code(), ErrorCode::kUnauthenticated);
}

TEST(Csr, RefusesTrailingBytesGarbageAndOversizedInput) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(Bytes der, CreateCsr(key, "x"));
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(ParseCsr(trailing).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseCsr(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseCsr(Bytes{}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseCsr(Bytes(kMaxCsrSize + 1, 0x30)).error().code(), ErrorCode::kInvalidArgument);
  const std::string pem_then_junk = ToPem(der) + "junk";
  EXPECT_EQ(ParseCsr(AsBytes(pem_then_junk)).error().code(), ErrorCode::kInvalidArgument);
}

TEST(Csr, SvidRequestReportDataIsTheDocumentedHash) {
  const Bytes spki_hash = Sha256(AsBytes("spki"));
  const Bytes nonce = ToBytes("nonce-123");
  CRYPTA_ASSIGN_OR_FAIL(Bytes rd, SvidRequestReportData(spki_hash, nonce));
  ASSERT_EQ(rd.size(), 64u);
  Bytes input = ToBytes("crypta svid-request v1");
  input.insert(input.end(), spki_hash.begin(), spki_hash.end());
  input.insert(input.end(), nonce.begin(), nonce.end());
  Bytes expected = Sha384(input);
  expected.resize(64, 0);
  EXPECT_EQ(rd, expected);
  EXPECT_FALSE(SvidRequestReportData(Bytes(31, 0), nonce).has_value());
  EXPECT_FALSE(SvidRequestReportData(spki_hash, Bytes{}).has_value());
}

TEST(Csr, VerifiesTheBindingOfCsrAndNonce) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP384));
  CRYPTA_ASSIGN_OR_FAIL(Bytes csr, CreateCsr(key, "x"));
  const Bytes nonce = ToBytes("server-nonce");
  CRYPTA_ASSIGN_OR_FAIL(Bytes hash, CsrPublicKeyHash(csr));
  CRYPTA_ASSIGN_OR_FAIL(Bytes rd, SvidRequestReportData(hash, nonce));
  CRYPTA_EXPECT_OK(VerifySvidRequestBinding(rd, csr, nonce));
  EXPECT_EQ(VerifySvidRequestBinding(rd, csr, ToBytes("other-nonce")).error().code(),
            ErrorCode::kPermissionDenied);
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEcP384));
  CRYPTA_ASSIGN_OR_FAIL(Bytes other_csr, CreateCsr(other, "x"));
  EXPECT_EQ(VerifySvidRequestBinding(rd, other_csr, nonce).error().code(),
            ErrorCode::kPermissionDenied);
  rd[63] ^= 1;  // the padding is part of the binding
  EXPECT_EQ(VerifySvidRequestBinding(rd, csr, nonce).error().code(), ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace crypta::pki
