// Signatures: ECDSA in DER, raw r||s and SEV-SNP little-endian forms, RSA-PSS (AMD's
// SHA-384 / salt 48 parameters), RSA PKCS#1 v1.5, and Ed25519 (RFC 8032 §7.1 TEST 1).
#include "crypto/signature.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::Unhex;

const Bytes kMessage = ToBytes("attestation report bytes");

struct EcCase {
  KeyType type;
  HashAlg hash;
};
constexpr EcCase kEcCases[] = {{KeyType::kEcP256, HashAlg::kSha256},
                               {KeyType::kEcP384, HashAlg::kSha384}};

void ExpectUnauthenticated(const Status& s, const std::string& what) {
  ASSERT_FALSE(s.has_value()) << what;
  EXPECT_EQ(s.error().code(), ErrorCode::kUnauthenticated) << what;
}

TEST(EcdsaTest, RoundTripsInAllFormats) {
  for (const EcCase& c : kEcCases) {
    SCOPED_TRACE(std::string(KeyTypeName(c.type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(c.type));
    PublicKey pub = priv.GetPublicKey();
    const size_t n = KeyCoordinateSize(c.type);
    for (EcdsaOptions options :
         {EcdsaOptions{EcdsaFormat::kDer, 0}, EcdsaOptions{EcdsaFormat::kRaw, 0},
          EcdsaOptions{EcdsaFormat::kRawLE, 0}, EcdsaOptions{EcdsaFormat::kRawLE, 72}}) {
      CRYPTA_ASSIGN_OR_FAIL(Bytes sig, EcdsaSign(priv, c.hash, kMessage, options));
      if (options.format == EcdsaFormat::kRaw) {
        EXPECT_EQ(sig.size(), 2 * n);
      }
      if (options.format == EcdsaFormat::kRawLE) {
        EXPECT_EQ(sig.size(), 2 * (options.component_size ? options.component_size : n));
      }
      CRYPTA_EXPECT_OK(EcdsaVerify(pub, c.hash, kMessage, sig, options));
      Bytes changed = kMessage;
      changed[0] ^= 1;
      ExpectUnauthenticated(EcdsaVerify(pub, c.hash, changed, sig, options), "modified message");
      CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(c.type));
      ExpectUnauthenticated(EcdsaVerify(other.GetPublicKey(), c.hash, kMessage, sig, options),
                            "wrong key");
      EXPECT_FALSE(EcdsaVerify(pub, HashAlg::kSha512, kMessage, sig, options).has_value());
    }
  }
}

TEST(EcdsaTest, SevSnpLittleEndianIsReversedRawWithZeroPadding) {
  // SNP ABI §7.3: r and s little-endian, each zero-padded to 72 bytes (P-384 uses 48).
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(KeyType::kEcP384));
  PublicKey pub = priv.GetPublicKey();
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw,
                        EcdsaSign(priv, HashAlg::kSha384, kMessage, {.format = EcdsaFormat::kRaw}));
  Bytes le(144, 0);
  std::reverse_copy(raw.begin(), raw.begin() + 48, le.begin());
  std::reverse_copy(raw.begin() + 48, raw.end(), le.begin() + 72);
  const EcdsaOptions snp{.format = EcdsaFormat::kRawLE, .component_size = 72};
  CRYPTA_EXPECT_OK(EcdsaVerify(pub, HashAlg::kSha384, kMessage, le, snp));
  for (size_t pos : {size_t{48}, size_t{71}, size_t{72 + 48}, size_t{143}}) {
    Bytes padded = le;
    padded[pos] = 1;
    auto s = EcdsaVerify(pub, HashAlg::kSha384, kMessage, padded, snp);
    ASSERT_FALSE(s.has_value()) << pos;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument) << pos;
  }
  Bytes flipped = le;
  flipped[0] ^= 1;  // least significant byte of r
  ExpectUnauthenticated(EcdsaVerify(pub, HashAlg::kSha384, kMessage, flipped, snp), "r changed");
  EXPECT_FALSE(EcdsaVerify(pub, HashAlg::kSha384, kMessage, ByteSpan(le).first(143), snp));
  // A component size below the field size cannot hold r or s.
  EXPECT_FALSE(EcdsaVerify(pub, HashAlg::kSha384, kMessage, ByteSpan(le).first(64),
                           {.format = EcdsaFormat::kRawLE, .component_size = 32}));
}

TEST(EcdsaTest, RawSignatureLengthMustBeTwiceTheFieldSize) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw,
                        EcdsaSign(priv, HashAlg::kSha256, kMessage, {.format = EcdsaFormat::kRaw}));
  auto s = EcdsaVerify(priv.GetPublicKey(), HashAlg::kSha256, kMessage, ByteSpan(raw).first(63),
                       {.format = EcdsaFormat::kRaw});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(EcdsaVerify(priv.GetPublicKey(), HashAlg::kSha256, kMessage, Concat(raw, Bytes{0}),
                           {.format = EcdsaFormat::kRaw}));
}

TEST(EcdsaTest, DerAndRawConvertBothWays) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(KeyType::kEcP384));
  for (int i = 0; i < 8; ++i) {  // several signatures, so short r/s values get exercised too
    CRYPTA_ASSIGN_OR_FAIL(Bytes der, EcdsaSign(priv, HashAlg::kSha384, kMessage));
    CRYPTA_ASSIGN_OR_FAIL(Bytes raw, EcdsaDerToRaw(der, 48));
    EXPECT_EQ(raw.size(), 96u);
    CRYPTA_ASSIGN_OR_FAIL(Bytes back, EcdsaRawToDer(raw));
    EXPECT_EQ(back, der);  // DER is canonical: one encoding per (r, s)
    CRYPTA_EXPECT_OK(EcdsaVerify(priv.GetPublicKey(), HashAlg::kSha384, kMessage, raw,
                                 {.format = EcdsaFormat::kRaw}));
  }
  // Small known values: r = 1, s = 2 in a 4-byte field.
  CRYPTA_ASSIGN_OR_FAIL(Bytes der, EcdsaRawToDer(Unhex("0000000100000002")));
  EXPECT_EQ(HexEncode(der), "3006020101020102");
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, EcdsaDerToRaw(der, 4));
  EXPECT_EQ(HexEncode(raw), "0000000100000002");
  // High bit set: DER needs a leading zero.
  CRYPTA_ASSIGN_OR_FAIL(Bytes der_hi, EcdsaRawToDer(Unhex("80ff")));
  EXPECT_EQ(HexEncode(der_hi),
            "3008020200800202"
            "00ff");
  EXPECT_FALSE(EcdsaDerToRaw(Concat(der, Bytes{0}), 4).has_value());      // trailing byte
  EXPECT_FALSE(EcdsaDerToRaw(Unhex("3006020101020102"), 0).has_value());  // too small
  EXPECT_FALSE(EcdsaDerToRaw(Unhex("30060201"), 4).has_value());
  EXPECT_FALSE(EcdsaRawToDer({}).has_value());
  EXPECT_FALSE(EcdsaRawToDer(Bytes(3, 1)).has_value());
}

TEST(EcdsaTest, WrongKeyTypeIsRejected) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ed, PrivateKey::Generate(KeyType::kEd25519));
  EXPECT_FALSE(EcdsaSign(ed, HashAlg::kSha256, kMessage).has_value());
  auto s = EcdsaVerify(ed.GetPublicKey(), HashAlg::kSha256, kMessage, Bytes(64, 1));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
}

TEST(RsaTest, PssSha384Salt48RoundTrip) {
  // AMD ARK/ASK/VCEK certificate parameters: RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::GenerateRsa(2048));
  PublicKey pub = priv.GetPublicKey();
  CRYPTA_ASSIGN_OR_FAIL(Bytes sig, RsaPssSign(priv, HashAlg::kSha384, kMessage, 48));
  EXPECT_EQ(sig.size(), 256u);
  CRYPTA_EXPECT_OK(RsaPssVerify(pub, HashAlg::kSha384, kMessage, sig, 48));
  Bytes changed = kMessage;
  changed.back() ^= 1;
  ExpectUnauthenticated(RsaPssVerify(pub, HashAlg::kSha384, changed, sig, 48), "message");
  ExpectUnauthenticated(RsaPssVerify(pub, HashAlg::kSha384, kMessage, sig, 32), "salt length");
  ExpectUnauthenticated(RsaPssVerify(pub, HashAlg::kSha256, kMessage, sig, 48), "hash");
  Bytes bad_sig = sig;
  bad_sig[100] ^= 1;
  ExpectUnauthenticated(RsaPssVerify(pub, HashAlg::kSha384, kMessage, bad_sig, 48), "signature");
  // PSS is randomized: two signatures differ but both verify.
  CRYPTA_ASSIGN_OR_FAIL(Bytes sig2, RsaPssSign(priv, HashAlg::kSha384, kMessage, 48));
  EXPECT_NE(sig, sig2);
  CRYPTA_EXPECT_OK(RsaPssVerify(pub, HashAlg::kSha384, kMessage, sig2, 48));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::GenerateRsa(2048));
  ExpectUnauthenticated(RsaPssVerify(other.GetPublicKey(), HashAlg::kSha384, kMessage, sig, 48),
                        "wrong key");
  // A PSS signature is not a PKCS#1 v1.5 signature.
  ExpectUnauthenticated(RsaPkcs1Verify(pub, HashAlg::kSha384, kMessage, sig), "pkcs1");
}

TEST(RsaTest, Pkcs1VerifiesAnEvpSignature) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::GenerateRsa(2048));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  ASSERT_EQ(
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA2-256", nullptr, nullptr, priv.pkey(), nullptr),
      1);
  size_t len = 256;
  Bytes sig(len);
  ASSERT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, kMessage.data(), kMessage.size()), 1);
  CRYPTA_EXPECT_OK(RsaPkcs1Verify(priv.GetPublicKey(), HashAlg::kSha256, kMessage, sig));
  ExpectUnauthenticated(RsaPkcs1Verify(priv.GetPublicKey(), HashAlg::kSha256, AsBytes("x"), sig),
                        "message");
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ec, PrivateKey::Generate(KeyType::kEcP256));
  EXPECT_FALSE(RsaPkcs1Verify(ec.GetPublicKey(), HashAlg::kSha256, kMessage, sig).has_value());
  EXPECT_FALSE(RsaPssSign(ec, HashAlg::kSha256, kMessage, 32).has_value());
}

TEST(Ed25519Test, Rfc8032Section71Test1) {
  Bytes secret = Unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  Bytes public_key = Unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string expected =
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
      "f9b46bd25bf5f0595bbe24655141438e7a100b";
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::FromRaw(KeyType::kEd25519, secret));
  EXPECT_EQ(priv.GetPublicKey().Raw().value(), public_key);
  CRYPTA_ASSIGN_OR_FAIL(Bytes sig, Ed25519Sign(priv, {}));  // empty message
  EXPECT_EQ(HexEncode(sig), expected);
  CRYPTA_ASSIGN_OR_FAIL(PublicKey pub, PublicKey::FromRaw(KeyType::kEd25519, public_key));
  CRYPTA_EXPECT_OK(Ed25519Verify(pub, {}, sig));
  ExpectUnauthenticated(Ed25519Verify(pub, AsBytes("x"), sig), "modified message");
  Bytes bad = sig;
  bad[0] ^= 1;
  ExpectUnauthenticated(Ed25519Verify(pub, {}, bad), "modified signature");
  auto short_sig = Ed25519Verify(pub, {}, ByteSpan(sig).first(63));
  ASSERT_FALSE(short_sig.has_value());
  EXPECT_EQ(short_sig.error().code(), ErrorCode::kInvalidArgument);
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEd25519));
  ExpectUnauthenticated(Ed25519Verify(other.GetPublicKey(), {}, sig), "wrong key");
}

TEST(Ed25519Test, RoundTripAndWrongKeyType) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(Bytes sig, Ed25519Sign(priv, kMessage));
  EXPECT_EQ(sig.size(), 64u);
  CRYPTA_EXPECT_OK(Ed25519Verify(priv.GetPublicKey(), kMessage, sig));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ec, PrivateKey::Generate(KeyType::kEcP256));
  EXPECT_FALSE(Ed25519Sign(ec, kMessage).has_value());
  EXPECT_FALSE(Ed25519Verify(ec.GetPublicKey(), kMessage, sig).has_value());
}

}  // namespace
}  // namespace crypta
