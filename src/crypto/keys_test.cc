// Keys: PEM/DER/point/raw/JWK-coordinate round trips, validation of untrusted encodings,
// ECDH symmetry and the X25519 known answer of RFC 7748 §6.1.
#include "crypto/keys.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <string>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::Unhex;

constexpr KeyType kEcTypes[] = {KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521};

Bytes ToVec(const SecretBytes& s) { return Bytes(s.Reveal().begin(), s.Reveal().end()); }

TEST(KeysTest, TypeProperties) {
  EXPECT_EQ(KeyCoordinateSize(KeyType::kEcP256), 32u);
  EXPECT_EQ(KeyCoordinateSize(KeyType::kEcP384), 48u);
  EXPECT_EQ(KeyCoordinateSize(KeyType::kEcP521), 66u);
  EXPECT_EQ(KeyCoordinateSize(KeyType::kX25519), 32u);
  EXPECT_TRUE(IsEcKeyType(KeyType::kEcP521));
  EXPECT_FALSE(IsEcKeyType(KeyType::kEd25519));
  EXPECT_EQ(KeyTypeName(KeyType::kEcP384), "EC P-384");
}

TEST(KeysTest, EcPublicKeyRoundTripsThroughEveryEncoding) {
  for (KeyType type : kEcTypes) {
    SCOPED_TRACE(std::string(KeyTypeName(type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(type));
    EXPECT_EQ(priv.type(), type);
    PublicKey pub = priv.GetPublicKey();
    CRYPTA_ASSIGN_OR_FAIL(Bytes point, pub.EcPoint());
    const size_t n = KeyCoordinateSize(type);
    ASSERT_EQ(point.size(), 1 + 2 * n);
    EXPECT_EQ(point[0], 0x04);

    CRYPTA_ASSIGN_OR_FAIL(Bytes spki, pub.ToSpkiDer());
    CRYPTA_ASSIGN_OR_FAIL(PublicKey from_der, PublicKey::FromSpkiDer(spki));
    EXPECT_EQ(from_der.type(), type);
    EXPECT_EQ(from_der.EcPoint().value(), point);

    CRYPTA_ASSIGN_OR_FAIL(std::string pem, pub.ToPem());
    CRYPTA_ASSIGN_OR_FAIL(PublicKey from_pem, PublicKey::FromPem(pem));
    EXPECT_EQ(from_pem.ToSpkiDer().value(), spki);

    CRYPTA_ASSIGN_OR_FAIL(PublicKey from_point, PublicKey::FromEcPoint(type, point));
    EXPECT_EQ(from_point.ToSpkiDer().value(), spki);

    ByteSpan x = ByteSpan(point).subspan(1, n), y = ByteSpan(point).subspan(1 + n, n);
    CRYPTA_ASSIGN_OR_FAIL(PublicKey from_xy, PublicKey::FromEcCoordinates(type, x, y));
    EXPECT_EQ(from_xy.EcPoint().value(), point);
  }
}

TEST(KeysTest, EcPrivateKeyRoundTrips) {
  for (KeyType type : kEcTypes) {
    SCOPED_TRACE(std::string(KeyTypeName(type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(type));
    Bytes point = priv.GetPublicKey().EcPoint().value();
    CRYPTA_ASSIGN_OR_FAIL(std::string pem, priv.ToPkcs8Pem());
    EXPECT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey from_pem, PrivateKey::FromPem(pem));
    EXPECT_EQ(from_pem.type(), type);
    EXPECT_EQ(from_pem.GetPublicKey().EcPoint().value(), point);
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes d, priv.RawSecret());
    EXPECT_EQ(d.size(), KeyCoordinateSize(type));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey from_scalar, PrivateKey::FromEcScalar(type, d.Reveal()));
    EXPECT_EQ(from_scalar.GetPublicKey().EcPoint().value(), point);
  }
}

TEST(KeysTest, EcScalarKnownAnswerRfc6979A25) {
  // RFC 6979 §A.2.5 P-256 key: x and its public point (Ux, Uy) — JWK "d", "x", "y".
  Bytes d = Unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
  Bytes ux = Unhex("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6");
  Bytes uy = Unhex("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::FromEcScalar(KeyType::kEcP256, d));
  EXPECT_EQ(priv.GetPublicKey().EcPoint().value(), Concat(Bytes{0x04}, ux, uy));
  CRYPTA_ASSIGN_OR_FAIL(PublicKey pub, PublicKey::FromEcCoordinates(KeyType::kEcP256, ux, uy));
  EXPECT_EQ(pub.ToSpkiDer().value(), priv.GetPublicKey().ToSpkiDer().value());
  EXPECT_EQ(ToVec(priv.RawSecret().value()), d);
}

TEST(KeysTest, InvalidEcPointsAreRejected) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(KeyType::kEcP256));
  Bytes point = priv.GetPublicKey().EcPoint().value();
  Bytes off_curve = point;
  off_curve.back() ^= 1;
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kEcP256, off_curve).has_value());
  Bytes compressed(point.begin(), point.begin() + 33);
  compressed[0] = 0x02;
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kEcP256, compressed).has_value());
  Bytes wrong_prefix = point;
  wrong_prefix[0] = 0x05;
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kEcP256, wrong_prefix).has_value());
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kEcP256, Bytes{0x00}).has_value());
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kEcP256, Concat(point, Bytes{0})).has_value());
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kEcP384, point).has_value());  // wrong curve size
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kX25519, point).has_value());
  Bytes zeros(65, 0);
  zeros[0] = 0x04;
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyType::kEcP256, zeros).has_value());
  auto bad = PublicKey::FromEcCoordinates(KeyType::kEcP256, Bytes(31, 1), Bytes(32, 1));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(PublicKey::FromEcCoordinates(KeyType::kEcP256, Bytes(32, 1), Bytes(33, 1)));
}

TEST(KeysTest, InvalidScalarsAndLengthsAreRejected) {
  EXPECT_FALSE(PrivateKey::FromEcScalar(KeyType::kEcP256, Bytes(32, 0)).has_value());
  EXPECT_FALSE(PrivateKey::FromEcScalar(KeyType::kEcP256, Bytes(32, 0xff)).has_value());  // >= n
  EXPECT_FALSE(PrivateKey::FromEcScalar(KeyType::kEcP256, Bytes(31, 1)).has_value());
  EXPECT_FALSE(PrivateKey::FromEcScalar(KeyType::kX25519, Bytes(32, 1)).has_value());
  for (KeyType type : {KeyType::kX25519, KeyType::kEd25519}) {
    EXPECT_FALSE(PrivateKey::FromRaw(type, Bytes(31, 1)).has_value());
    EXPECT_FALSE(PrivateKey::FromRaw(type, Bytes(33, 1)).has_value());
    EXPECT_FALSE(PublicKey::FromRaw(type, Bytes(31, 1)).has_value());
    EXPECT_FALSE(PublicKey::FromRaw(type, Bytes(33, 1)).has_value());
  }
  EXPECT_FALSE(PublicKey::FromRaw(KeyType::kEcP256, Bytes(32, 1)).has_value());
  EXPECT_FALSE(PublicKey::FromSpkiDer(Bytes{0x30, 0x00}).has_value());
  EXPECT_FALSE(PublicKey::FromPem("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"));
  EXPECT_FALSE(PrivateKey::FromPem("not a key").has_value());
  EXPECT_FALSE(PrivateKey::FromPkcs8Der(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}).has_value());
}

TEST(KeysTest, SpkiWithTrailingBytesIsRejected) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(KeyType::kEcP384));
  Bytes spki = priv.GetPublicKey().ToSpkiDer().value();
  spki.push_back(0);
  EXPECT_FALSE(PublicKey::FromSpkiDer(spki).has_value());
}

TEST(KeysTest, OkpKeysRoundTripRaw) {
  for (KeyType type : {KeyType::kX25519, KeyType::kEd25519}) {
    SCOPED_TRACE(std::string(KeyTypeName(type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(type));
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes raw, priv.RawSecret());
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey again, PrivateKey::FromRaw(type, raw.Reveal()));
    Bytes pub = priv.GetPublicKey().Raw().value();
    EXPECT_EQ(again.GetPublicKey().Raw().value(), pub);
    CRYPTA_ASSIGN_OR_FAIL(PublicKey from_raw, PublicKey::FromRaw(type, pub));
    CRYPTA_ASSIGN_OR_FAIL(PublicKey from_der, PublicKey::FromSpkiDer(from_raw.ToSpkiDer().value()));
    EXPECT_EQ(from_der.type(), type);
    EXPECT_EQ(from_der.Raw().value(), pub);
    EXPECT_FALSE(from_raw.EcPoint().has_value());
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey from_pem, PrivateKey::FromPem(priv.ToPkcs8Pem().value()));
    EXPECT_EQ(from_pem.GetPublicKey().Raw().value(), pub);
  }
}

TEST(KeysTest, RsaComponentsRoundTripAndShortModuliAreRejected) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::GenerateRsa(2048));
  PublicKey pub = priv.GetPublicKey();
  EXPECT_EQ(pub.type(), KeyType::kRsa);
  EXPECT_EQ(pub.RsaBits(), 2048);
  CRYPTA_ASSIGN_OR_FAIL(Bytes n, pub.RsaModulus());
  CRYPTA_ASSIGN_OR_FAIL(Bytes e, pub.RsaExponent());
  EXPECT_EQ(n.size(), 256u);
  EXPECT_EQ(e, (Bytes{0x01, 0x00, 0x01}));
  CRYPTA_ASSIGN_OR_FAIL(PublicKey rebuilt, PublicKey::FromRsaComponents(n, e));
  EXPECT_EQ(rebuilt.ToSpkiDer().value(), pub.ToSpkiDer().value());
  EXPECT_FALSE(PublicKey::FromRsaComponents(ByteSpan(n).first(128), e).has_value());
  EXPECT_FALSE(PublicKey::FromRsaComponents(n, {}).has_value());
  EXPECT_FALSE(PrivateKey::GenerateRsa(1024).has_value());
  EXPECT_FALSE(priv.RawSecret().has_value());
}

TEST(KeysTest, EcdhIsSymmetric) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521, KeyType::kX25519}) {
    SCOPED_TRACE(std::string(KeyTypeName(type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey a, PrivateKey::Generate(type));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey b, PrivateKey::Generate(type));
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes ab, DeriveSharedSecret(a, b.GetPublicKey()));
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes ba, DeriveSharedSecret(b, a.GetPublicKey()));
    EXPECT_EQ(ab.size(), KeyCoordinateSize(type));
    EXPECT_EQ(ToVec(ab), ToVec(ba));
  }
}

TEST(KeysTest, MismatchedAgreementIsRejected) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p256, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p384, PrivateKey::Generate(KeyType::kEcP384));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ed, PrivateKey::Generate(KeyType::kEd25519));
  EXPECT_FALSE(DeriveSharedSecret(p256, p384.GetPublicKey()).has_value());
  EXPECT_FALSE(DeriveSharedSecret(ed, ed.GetPublicKey()).has_value());
}

TEST(KeysTest, X25519Rfc7748Section61KnownAnswer) {
  Bytes alice_priv = Unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  Bytes alice_pub = Unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  Bytes bob_priv = Unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  Bytes bob_pub = Unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  Bytes shared = Unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey alice, PrivateKey::FromRaw(KeyType::kX25519, alice_priv));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey bob, PrivateKey::FromRaw(KeyType::kX25519, bob_priv));
  EXPECT_EQ(alice.GetPublicKey().Raw().value(), alice_pub);
  EXPECT_EQ(bob.GetPublicKey().Raw().value(), bob_pub);
  CRYPTA_ASSIGN_OR_FAIL(PublicKey bob_public, PublicKey::FromRaw(KeyType::kX25519, bob_pub));
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes k, DeriveSharedSecret(alice, bob_public));
  EXPECT_EQ(ToVec(k), shared);
}

TEST(KeysTest, X25519LowOrderPeerIsRejected) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey own, PrivateKey::Generate(KeyType::kX25519));
  // u = 0 and u = 1 are low-order points: the shared secret would be all zeros.
  for (uint8_t u : {0, 1}) {
    Bytes point(32, 0);
    point[0] = u;
    CRYPTA_ASSIGN_OR_FAIL(PublicKey peer, PublicKey::FromRaw(KeyType::kX25519, point));
    EXPECT_FALSE(DeriveSharedSecret(own, peer).has_value()) << int{u};
  }
}

TEST(KeysTest, SpkiWithCompressedPointExportsTheUncompressedPoint) {
  // SEC 1 §2.3.3 allows compressed points (02/03 || X) in an SPKI; EcPoint() must still
  // return 0x04 || X || Y. The DER is assembled here: SEQUENCE { AlgorithmIdentifier
  // { id-ecPublicKey, curve }, BIT STRING }.
  const char* prefixes[] = {
      "3039301306072a8648ce3d020106082a8648ce3d030107032200",  // P-256
      "3046301006072a8648ce3d020106052b81040022033200",        // P-384
      "3058301006072a8648ce3d020106052b81040023034400",        // P-521
  };
  for (int i = 0; i < 3; ++i) {
    KeyType type = kEcTypes[i];
    SCOPED_TRACE(std::string(KeyTypeName(type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(type));
    Bytes point = priv.GetPublicKey().EcPoint().value();
    const size_t n = KeyCoordinateSize(type);
    Bytes compressed = {static_cast<uint8_t>(point.back() & 1 ? 0x03 : 0x02)};
    compressed.insert(compressed.end(), point.begin() + 1, point.begin() + 1 + n);
    CRYPTA_ASSIGN_OR_FAIL(PublicKey from_der,
                          PublicKey::FromSpkiDer(Concat(Unhex(prefixes[i]), compressed)));
    CRYPTA_ASSIGN_OR_FAIL(Bytes exported, from_der.EcPoint());
    EXPECT_EQ(exported, point);
  }
}

TEST(KeysTest, EncryptedPrivateKeyPemIsRejectedWithoutPrompting) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(KeyType::kEcP256));
  BioPtr bio(BIO_new(BIO_s_mem()));
  const char kPassword[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), priv.pkey(), EVP_aes_256_cbc(), kPassword,
                                          sizeof(kPassword) - 1, nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(len));
  ASSERT_NE(pem.find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  auto parsed = PrivateKey::FromPem(pem);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace crypta
