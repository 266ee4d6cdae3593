// NitroVerifier and ParseNitroDocument against the real documents in testdata/nitro/
// (MANIFEST.md: every case of the case table at its stated time, and every mutation
// recipe 1-8), plus structure cases built here with a tiny CBOR encoder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "attest/nitro/aws_root.h"
#include "attest/nitro/document.h"
#include "attest/nitro/verifier.h"
#include "attest/policy.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::attest::nitro {
namespace {

using ::crypta::testing::ReadTestdataBytes;
using ::crypta::testing::ReadTestdataString;
using ::crypta::testing::Unhex;
using ::testing::HasSubstr;

// MANIFEST.md case table, Unix seconds.
constexpr int64_t kNitriteTime = 1725719859;           // 2024-09-07T14:37:39Z (document time)
constexpr int64_t kNitriteLeafNotBefore = 1725719856;  // 2024-09-07T14:37:36Z
constexpr int64_t kNitriteLeafNotAfter = 1725730659;   // 2024-09-07T17:37:39Z
constexpr int64_t kSelfSignedTime = 1713379906;        // 2024-04-17T18:51:46Z
constexpr int64_t kEternisProdTime = 1722458896;       // 2024-07-31T20:48:16Z
constexpr int64_t kEternis0917Time = 1726606091;       // 2024-09-17T20:48:11Z
constexpr int64_t kEternis0909Time = 1725911352;       // 2024-09-09T19:49:12Z (document time)
constexpr int64_t kInvalidSigTime = 1721770180;        // 2024-07-23T21:29:40Z (document time)
constexpr int64_t kLater = 1735689600;                 // 2025-01-01T00:00:00Z
constexpr int64_t kYear10000 = 253402300800;           // 10000-01-01T00:00:00Z

constexpr char kNitrite[] = "nitro/nitrite-2024-09-07-prod/attestation.bin";
constexpr char kNitriteSelfSigned[] = "nitro/nitrite-selfsigned/attestation.bin";
constexpr char kEternisProd[] = "nitro/eternis-2024-07-31-prod/attestation.cbor";
constexpr char kEternis0917[] = "nitro/eternis-2024-09-17-debug/attestation.cbor";
constexpr char kEternis0909[] = "nitro/eternis-2024-09-09-debug/attestation.cbor";
constexpr char kEternisInvalidSig[] = "nitro/eternis-invalid-signature/attestation.cbor";

constexpr char kNitritePcr0[] =
    "e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9f"
    "e86a";
constexpr char kNitritePcr1[] =
    "0343b056cd8485ca7890ddd833476d78460aed2aa161548e4e26bedf321726696257d623e8805f3f605946b3d8b0"
    "c6aa";
constexpr char kNitritePcr2[] =
    "d5dcbdea0aa39c802f9d55ced2ea6e4d74ecec5f08fe40c508882639c9090642669106a062a3e24ee2805a3024b9"
    "b75c";
constexpr char kNitritePcr4[] =
    "45706d7b621e4620a332e147a5ddb000b049f73d47d3e61f6b03d2069152d4df6a4a786ad1c10102b955799a9dc9"
    "6b44";
constexpr char kEternisPcr0[] =
    "a873085089ae5e3c3c491c8e1e0ab46a713f4314b3c6401abb599ca36060922a3d6fc2a3e84d198a2131e80c6095"
    "9bb3";
constexpr char kEternisPcr1[] =
    "4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbd"
    "a493";
constexpr char kEternisPcr2[] =
    "e1853b9c159778310885479b764c0b277125ceca4688d858e0d9180c26fcc710141220ad7482bd524f3adefd5ff2"
    "af0f";
constexpr char kEternisPcr4[] =
    "7c0a65e1456f71483c68fcd39bd607b50da6ba790300cf117f16d47130984b40003b28895ecb25c143dff47ed951"
    "78f6";
constexpr char kDebugPcr3[] =
    "671ca1e328f75015b2aeee60639cc5252bc835d8bb690444d1f8e2bf4260f73dc1b71e07a14a770c7d0becac6eb3"
    "b53f";
constexpr char kDebugPcr4[] =
    "d352cfa31b8dc5f4856c9fa8181b19ed12f5da23883ac4ec729530f50dc1d37f1ac3876a7af39bd4de7a2aead14d"
    "14cb";
const std::string kZeroPcr(96, '0');

Bytes EternisNonce() {  // 00..01, 20 bytes
  Bytes n(20, 0);
  n.back() = 1;
  return n;
}

std::shared_ptr<NitroVerifier> Pinned(NitroVerifierOptions options = {}) {
  auto v = NitroVerifier::CreatePinned(options);
  EXPECT_TRUE(v.has_value()) << v.error().ToString();
  return v ? *v : nullptr;
}

Result<VerifiedEvidence> VerifyAt(const NitroVerifier& verifier, Bytes raw, int64_t time,
                                  std::optional<Bytes> nonce = std::nullopt) {
  Evidence evidence{.tee = TeeType::kNitro, .raw = std::move(raw), .collateral = {}};
  VerifyOptions options;
  options.verification_time = time;
  options.expected_report_data = std::move(nonce);
  return verifier.Verify(evidence, options);
}

void ExpectRejected(const Result<VerifiedEvidence>& r, const std::string& check) {
  ASSERT_FALSE(r.has_value()) << "verified, want an error naming \"" << check << "\"";
  EXPECT_THAT(r.error().message(), HasSubstr(check));
}

// ---- A tiny CBOR encoder (RFC 8949 §3.1, shortest heads) for building structure cases.

Bytes Head(uint8_t major, uint64_t arg) {
  Bytes out;
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out.push_back(m | static_cast<uint8_t>(arg));
  } else if (arg <= 0xff) {
    out = {static_cast<uint8_t>(m | 24), static_cast<uint8_t>(arg)};
  } else if (arg <= 0xffff) {
    out = {static_cast<uint8_t>(m | 25), static_cast<uint8_t>(arg >> 8), static_cast<uint8_t>(arg)};
  } else {
    out.push_back(m | 27);
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(arg >> (8 * i)));
  }
  return out;
}
Bytes Uint(uint64_t v) { return Head(0, v); }
Bytes Bstr(ByteSpan b) { return Concat(Head(2, b.size()), b); }
Bytes Tstr(std::string_view s) { return Concat(Head(3, s.size()), AsBytes(s)); }
const Bytes kNull = {0xf6};

using Entries = std::vector<std::pair<Bytes, Bytes>>;  // encoded key, encoded value
Bytes Map(const Entries& entries) {
  Bytes out = Head(5, entries.size());
  for (const auto& [k, v] : entries) out = Concat(out, k, v);
  return out;
}
Bytes Array(const std::vector<Bytes>& items) {
  Bytes out = Head(4, items.size());
  for (const Bytes& i : items) out = Concat(out, i);
  return out;
}

// The nitrite document's payload as editable (key, value) pairs, in AWS's order.
struct PayloadBuilder {
  std::vector<std::pair<std::string, Bytes>> fields;

  explicit PayloadBuilder(const NitroDocument& doc) {
    Entries pcrs;
    for (const auto& [i, v] : doc.pcrs) pcrs.emplace_back(Uint(i), Bstr(v));
    std::vector<Bytes> bundle;
    for (const Bytes& c : doc.cabundle) bundle.push_back(Bstr(c));
    fields = {{"module_id", Tstr(doc.module_id)},
              {"digest", Tstr(doc.digest)},
              {"timestamp", Uint(doc.timestamp_ms)},
              {"pcrs", Map(pcrs)},
              {"certificate", Bstr(doc.certificate)},
              {"cabundle", Array(bundle)},
              {"public_key", Bstr(*doc.public_key)},
              {"user_data", Bstr(*doc.user_data)},
              {"nonce", Bstr(*doc.nonce)}};
  }
  PayloadBuilder& Set(const std::string& key, Bytes value) {
    for (auto& [k, v] : fields) {
      if (k == key) {
        v = std::move(value);
        return *this;
      }
    }
    fields.emplace_back(key, std::move(value));
    return *this;
  }
  PayloadBuilder& Remove(const std::string& key) {
    std::erase_if(fields, [&](const auto& f) { return f.first == key; });
    return *this;
  }
  Bytes Encode() const {
    Entries e;
    for (const auto& [k, v] : fields) e.emplace_back(Tstr(k), v);
    return Map(e);
  }
};

// COSE_Sign1 [protected {1:-35}, {}, payload, signature].
Bytes CoseSign1(ByteSpan payload, ByteSpan signature, Bytes unprotected = {0xa0},
                Bytes protected_header = {0xa1, 0x01, 0x38, 0x22}) {
  return Array({Bstr(protected_header), unprotected, Bstr(payload), Bstr(signature)});
}

class NitroTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raw_ = ReadTestdataBytes(kNitrite);
    auto doc = ParseNitroDocument(raw_);
    ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
    doc_ = std::move(*doc);
  }
  // Parses COSE around a payload built from the nitrite document.
  Status ParsePayload(const PayloadBuilder& b) {
    auto d = ParseNitroDocument(CoseSign1(b.Encode(), doc_.signature));
    if (!d) return MakeError(d.error());
    return OkStatus();
  }
  void ExpectPayloadRejected(const PayloadBuilder& b, const std::string& check) {
    Status s = ParsePayload(b);
    ASSERT_FALSE(s.has_value()) << "parsed, want an error naming \"" << check << "\"";
    EXPECT_THAT(s.error().message(), HasSubstr(check));
  }

  Bytes raw_;
  NitroDocument doc_;
};

// ---- Root of trust.

TEST(NitroRootTest, PinnedRootHasAwsFingerprintAndMatchesTestdata) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate root, LoadPinnedAwsNitroRoot());
  std::string fp = HexEncode(root.Sha256Fingerprint());
  for (char& c : fp) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(fp, "641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B");
  EXPECT_EQ(fp, kAwsNitroRootG1Sha256);
  EXPECT_EQ(root.subject(), "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US");
  CRYPTA_ASSIGN_OR_FAIL(Certificate file,
                        Certificate::FromPem(ReadTestdataString("nitro/aws_nitro_root.pem")));
  EXPECT_EQ(root.der(), file.der());
  // Byte-identical to cabundle[0] of every document.
  for (const char* path : {kNitrite, kEternisProd, kEternis0917, kEternis0909}) {
    CRYPTA_ASSIGN_OR_FAIL(NitroDocument doc, ParseNitroDocument(ReadTestdataBytes(path)));
    EXPECT_EQ(doc.cabundle.front(), root.der()) << path;
  }
}

TEST(NitroRootTest, InvalidRootDoesNotLoad) {
  // MANIFEST case "eternis-2024-07-31-prod with aws_root_invalid.pem": rejected, the root
  // does not load (its point is not on the curve).
  auto cert = Certificate::FromPem(ReadTestdataString("nitro/aws_root_invalid.pem"));
  if (!cert) SUCCEED() << "refused at parse: " << cert.error().ToString();
  if (cert) {
    auto verifier = NitroVerifier::CreateWithRoots({*cert});
    ASSERT_FALSE(verifier.has_value());
    EXPECT_THAT(verifier.error().message(), HasSubstr("public key does not load"));
  }
  EXPECT_FALSE(NitroVerifier::CreateWithRoots({}).has_value());
}

// ---- Case table.

TEST_F(NitroTest, CreatePinnedVerifiesNitriteProdDocument) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  EXPECT_EQ(verifier->tee(), TeeType::kNitro);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyAt(*verifier, raw_, kNitriteTime));
  const Claims& c = v.claims();
  EXPECT_EQ(c.tee, TeeType::kNitro);
  EXPECT_FALSE(c.simulated);
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(HexEncode(c.measurement), kNitritePcr0);
  // BN TestExec expects PCR0 as this base64.
  EXPECT_EQ(Base64Encode(c.measurement),
            "5ypGyoCiYPsEShJUQvDH4zGBO8uvlyTZ84V3WJknZvLWVxCieqlK45Sd1U58n+hq");
  EXPECT_TRUE(c.host_data.empty());
  EXPECT_EQ(c.report_data, Bytes(1024, 0x01));
  EXPECT_EQ(c.tcb_status, TcbStatus::kUnknown);
  EXPECT_EQ(c.revocation, Revocation::kNotApplicable);
  EXPECT_EQ(AsStringView(c.platform_id), "i-0a22e5c5f24d22174-enc0191cceb4289903f");
  EXPECT_EQ(c.signer, "aws-nitro:i-0a22e5c5f24d22174-enc0191cceb4289903f.us-east-1.aws");
  EXPECT_EQ(c.extra["module_id"], "i-0a22e5c5f24d22174-enc0191cceb4289903f");
  EXPECT_EQ(c.extra["timestamp_ms"], 1725719859545u);
  EXPECT_EQ(c.extra["digest"], "SHA384");
  const auto& pcrs = c.extra["pcrs"];
  ASSERT_EQ(pcrs.size(), 16u);
  EXPECT_EQ(pcrs["0"], kNitritePcr0);
  EXPECT_EQ(pcrs["1"], kNitritePcr1);
  EXPECT_EQ(pcrs["2"], kNitritePcr2);
  EXPECT_EQ(pcrs["4"], kNitritePcr4);
  for (const char* zero : {"3", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"}) {
    EXPECT_EQ(pcrs[zero], kZeroPcr) << "PCR" << zero;
  }
  EXPECT_EQ(c.extra["nonce"], HexEncode(Bytes(1024, 0x01)));
  EXPECT_EQ(c.extra["user_data"], HexEncode(Bytes(1024, 0x01)));
  EXPECT_EQ(c.extra["public_key"], HexEncode(Bytes(1024, 0x01)));
  const auto& chain = c.extra["certificate_chain"];
  ASSERT_EQ(chain.size(), 5u);
  EXPECT_EQ(chain[0],
            "CN=i-0a22e5c5f24d22174-enc0191cceb4289903f.us-east-1.aws,OU=AWS,"
            "O=Amazon,L=Seattle,ST=Washington,C=US")
      << chain.dump();
  EXPECT_THAT(chain[1].get<std::string>(),
              HasSubstr("CN=i-0a22e5c5f24d22174.us-east-1.aws.nitro-enclaves"));
  EXPECT_THAT(chain[2].get<std::string>(),
              HasSubstr("CN=68a8a693dd2153f6.zonal.us-east-1.aws.nitro-enclaves"));
  EXPECT_THAT(chain[3].get<std::string>(),
              HasSubstr("CN=ec28cbbaae08094d.us-east-1.aws.nitro-enclaves"));
  EXPECT_EQ(chain[4], "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US");
  EXPECT_EQ(v.verified_at(), kNitriteTime);
  EXPECT_NO_THROW(c.ToJson().dump());
}

TEST_F(NitroTest, NitriteDocumentBindsItsNonceExactly) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  CRYPTA_EXPECT_OK(VerifyAt(*verifier, raw_, kNitriteTime, Bytes(1024, 0x01)));
  // Recipe 3: another nonce.
  ExpectRejected(VerifyAt(*verifier, raw_, kNitriteTime, Bytes(1024, 0x02)),
                 "nonce does not match");
  // No zero padding and no prefix matching: only the full byte string binds.
  ExpectRejected(VerifyAt(*verifier, raw_, kNitriteTime, Bytes(64, 0x01)), "nonce does not match");
  Bytes longer(1025, 0x01);
  ExpectRejected(VerifyAt(*verifier, raw_, kNitriteTime, longer), "nonce does not match");
}

TEST_F(NitroTest, NitriteWithSelfSignedRootAsOnlyRootIsRejected) {
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate root,
      Certificate::FromDer(ReadTestdataBytes("nitro/nitrite-selfsigned/selfsigned_cert.der")));
  CRYPTA_ASSIGN_OR_FAIL(auto verifier, NitroVerifier::CreateWithRoots({root}));
  ExpectRejected(VerifyAt(*verifier, raw_, kNitriteTime), "certificate chain");
}

TEST(NitroCaseTest, NitriteSelfSignedDocumentIsRejectedUnderTheAwsRoot) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  const Bytes raw = ReadTestdataBytes(kNitriteSelfSigned);
  // Its unprotected header is CBOR null (and its cabundle is null too).
  ExpectRejected(VerifyAt(*verifier, raw, kSelfSignedTime), "COSE unprotected header");
  // Not even with its own certificate as the root: there is no self-signed mode.
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate own,
      Certificate::FromDer(ReadTestdataBytes("nitro/nitrite-selfsigned/selfsigned_cert.der")));
  CRYPTA_ASSIGN_OR_FAIL(auto with_own, NitroVerifier::CreateWithRoots({own}));
  ExpectRejected(VerifyAt(*with_own, raw, kSelfSignedTime), "COSE unprotected header");
}

TEST(NitroCaseTest, EternisProdDocumentVerifiesAtItsTimeOnly) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  const Bytes raw = ReadTestdataBytes(kEternisProd);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v,
                        VerifyAt(*verifier, raw, kEternisProdTime, EternisNonce()));
  const Claims& c = v.claims();
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(HexEncode(c.measurement), kEternisPcr0);
  EXPECT_EQ(c.report_data, EternisNonce());
  EXPECT_EQ(AsStringView(c.platform_id), "i-0809070ca8037095f-enc01910a5cff6ce304");
  EXPECT_EQ(c.extra["timestamp_ms"], 1722455771686u);
  EXPECT_EQ(c.extra["pcrs"]["1"], kEternisPcr1);
  EXPECT_EQ(c.extra["pcrs"]["2"], kEternisPcr2);
  EXPECT_EQ(c.extra["pcrs"]["4"], kEternisPcr4);
  EXPECT_EQ(c.extra["pcrs"]["3"], kZeroPcr);
  EXPECT_EQ(c.extra["public_key"], "64756d6d79");  // "dummy"
  EXPECT_EQ(c.extra["user_data"],
            "12207e991a88fee0f1797486f4520d2a74f6616d94cc6018442fa67e6330ab91e9f51220" +
                std::string(64, '0'));
  // "Now" (any later time) fails: the leaf lives ~3 hours.
  ExpectRejected(VerifyAt(*verifier, raw, kLater, EternisNonce()), "expired");
}

TEST(NitroCaseTest, EternisDebugDocumentsVerifyAndReportDebug) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  struct Case {
    const char* path;
    int64_t time;
    const char* module_id;
  };
  for (const Case& k :
       {Case{kEternis0917, kEternis0917Time, "i-0bbf1bfe232b8c2ce-enc019201afdaee4f17"},
        Case{kEternis0909, kEternis0909Time, "i-0bbf1bfe232b8c2ce-enc0191ba35c9d1b77a"}}) {
    SCOPED_TRACE(k.path);
    CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v,
                          VerifyAt(*verifier, ReadTestdataBytes(k.path), k.time, EternisNonce()));
    const Claims& c = v.claims();
    EXPECT_TRUE(c.debug);
    EXPECT_EQ(AsStringView(c.platform_id), k.module_id);
    EXPECT_EQ(c.measurement, Bytes(48, 0));
    EXPECT_EQ(c.extra["pcrs"]["1"], kZeroPcr);
    EXPECT_EQ(c.extra["pcrs"]["2"], kZeroPcr);
    EXPECT_EQ(c.extra["pcrs"]["3"], kDebugPcr3);
    EXPECT_EQ(c.extra["pcrs"]["4"], kDebugPcr4);
  }
}

// Recipe 7 and the case table's "rejected under a no-debug policy": the verdict is the
// policy's, over the claims.
TEST(NitroCaseTest, NoDebugPolicyRefusesDebugDocumentsAndAllowsProd) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  const std::string measurements = std::string("[") + kNitritePcr0 + ", " + kZeroPcr + "]";
  CRYPTA_ASSIGN_OR_FAIL(AppraisalPolicy no_debug,
                        ParseAppraisalPolicy("tee: [nitro]\nmeasurements: " + measurements));
  CRYPTA_ASSIGN_OR_FAIL(
      AppraisalPolicy debug_ok,
      ParseAppraisalPolicy("tee: [nitro]\nallow_debug: true\nmeasurements: " + measurements));
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence prod,
                        VerifyAt(*verifier, ReadTestdataBytes(kNitrite), kNitriteTime));
  Verdict prod_verdict = Appraise(no_debug, prod.claims());
  EXPECT_TRUE(prod_verdict.allowed) << ::testing::PrintToString(prod_verdict.violations);
  for (auto [path, time] :
       {std::pair{kEternis0917, kEternis0917Time}, std::pair{kEternis0909, kEternis0909Time}}) {
    CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v,
                          VerifyAt(*verifier, ReadTestdataBytes(path), time, EternisNonce()));
    Verdict refused = Appraise(no_debug, v.claims());
    EXPECT_FALSE(refused.allowed) << path;
    EXPECT_THAT(::testing::PrintToString(refused.violations), HasSubstr("debug")) << path;
    EXPECT_TRUE(Appraise(debug_ok, v.claims()).allowed) << path;
  }
}

TEST(NitroCaseTest, EternisInvalidSignatureIsRejectedWithAValidChain) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  auto r = VerifyAt(*verifier, ReadTestdataBytes(kEternisInvalidSig), kInvalidSigTime);
  ExpectRejected(r, "COSE signature does not verify");
  // The chain verified (and was cached) before the signature failed.
  EXPECT_EQ(verifier->cached_chain_count(), 1u);
}

// ---- Mutation recipes 1-6 on the nitrite document.

TEST_F(NitroTest, ByteFlipsBreakTheCoseSignature) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  // 1: last byte of s; 2: first byte of PCR0's and PCR4's values; 3: last nonce byte.
  for (size_t offset : {7538u, 104u, 308u, 7440u}) {
    SCOPED_TRACE(offset);
    Bytes b = raw_;
    b[offset] ^= 0x01;
    ExpectRejected(VerifyAt(*verifier, b, kNitriteTime), "COSE signature does not verify");
  }
  // The PCR flips do change what the document claims.
  Bytes b = raw_;
  b[104] ^= 0x01;
  CRYPTA_ASSIGN_OR_FAIL(NitroDocument flipped, ParseNitroDocument(b));
  EXPECT_NE(HexEncode(*flipped.FindPcr(0)), kNitritePcr0);
  b = raw_;
  b[308] ^= 0x01;
  CRYPTA_ASSIGN_OR_FAIL(NitroDocument flipped4, ParseNitroDocument(b));
  EXPECT_NE(HexEncode(*flipped4.FindPcr(4)), kNitritePcr4);
}

TEST_F(NitroTest, AlgorithmFlipIsRefusedNamingTheAlgorithm) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  // MANIFEST recipe 4 says b[6], but the protected header is at 1..5 (44 a1 01 38 22) and
  // the alg's argument byte is b[5]; b[6] is the unprotected map's head (a0 -> a1), which
  // breaks the envelope. Both are refused.
  Bytes b = raw_;
  b[5] ^= 0x01;  // 38 22 -> 38 23: -35 -> -36
  ExpectRejected(VerifyAt(*verifier, b, kNitriteTime), "unsupported algorithm -36");
  b = raw_;
  b[6] ^= 0x01;
  ExpectRejected(VerifyAt(*verifier, b, kNitriteTime), "COSE_Sign1");
  // Other protected headers: ES256, a text alg, an extra label, an empty header.
  const std::vector<std::pair<Bytes, std::string>> cases = {
      {{0xa1, 0x01, 0x26}, "unsupported algorithm -7"},
      {Concat(Bytes{0xa1, 0x01}, Tstr("ES384")), "unsupported algorithm \"ES384\""},
      {{0xa2, 0x01, 0x38, 0x22, 0x04, 0x40}, "want exactly {1: -35}"},
      {{0xa1, 0x04, 0x40}, "no algorithm"},
      {{}, "empty"},
      {{0x80}, "want a map"},
  };
  for (const auto& [header, check] : cases) {
    auto d = ParseNitroDocument(CoseSign1(doc_.payload, doc_.signature, {0xa0}, header));
    ASSERT_FALSE(d.has_value()) << check;
    EXPECT_THAT(d.error().message(), HasSubstr("COSE protected header")) << check;
    EXPECT_THAT(d.error().message(), HasSubstr(check));
  }
}

TEST_F(NitroTest, LeafWindowIsInclusiveToTheSecond) {
  // One verifier throughout, so the cached chain and leaf must not outlive their windows.
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  CRYPTA_EXPECT_OK(VerifyAt(*verifier, raw_, kNitriteTime));
  CRYPTA_EXPECT_OK(VerifyAt(*verifier, raw_, kNitriteLeafNotBefore));
  CRYPTA_EXPECT_OK(VerifyAt(*verifier, raw_, kNitriteLeafNotAfter));
  EXPECT_EQ(verifier->cached_chain_count(), 1u);
  EXPECT_EQ(verifier->cached_leaf_count(), 1u);
  // Recipe 6: one second outside the leaf's window either way.
  ExpectRejected(VerifyAt(*verifier, raw_, kNitriteLeafNotAfter + 1), "expired");
  ExpectRejected(VerifyAt(*verifier, raw_, kNitriteLeafNotBefore - 1), "not yet valid");
  ExpectRejected(VerifyAt(*verifier, raw_, kYear10000), "expired");
  ExpectRejected(VerifyAt(*verifier, raw_, 1), "not yet valid");
  ExpectRejected(VerifyAt(*verifier, raw_, 0), "verification time not set");
}

TEST_F(NitroTest, UncachedVerifierGivesTheSameVerdicts) {
  auto verifier = Pinned({.chain_cache_capacity = 0, .leaf_cache_capacity = 0});
  ASSERT_TRUE(verifier);
  CRYPTA_EXPECT_OK(VerifyAt(*verifier, raw_, kNitriteTime));
  CRYPTA_EXPECT_OK(VerifyAt(*verifier, raw_, kNitriteTime));
  EXPECT_EQ(verifier->cached_chain_count(), 0u);
  ExpectRejected(VerifyAt(*verifier, raw_, kNitriteLeafNotAfter + 1), "expired");
  // Chain-only caching (a new leaf per document, the common case in production).
  auto chain_only = Pinned({.chain_cache_capacity = 4, .leaf_cache_capacity = 0});
  CRYPTA_EXPECT_OK(VerifyAt(*chain_only, raw_, kNitriteTime));
  CRYPTA_EXPECT_OK(VerifyAt(*chain_only, raw_, kNitriteTime));
  EXPECT_EQ(chain_only->cached_chain_count(), 1u);
  EXPECT_EQ(chain_only->cached_leaf_count(), 0u);
  ExpectRejected(VerifyAt(*chain_only, raw_, kNitriteLeafNotBefore - 1), "not yet valid");
}

TEST_F(NitroTest, WrongTeeTypeIsRefused) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  Evidence e{.tee = TeeType::kSevSnp, .raw = raw_, .collateral = {}};
  VerifyOptions o;
  o.verification_time = kNitriteTime;
  EXPECT_FALSE(verifier->Verify(e, o).has_value());
}

// ---- Recipe 8: structure.

TEST_F(NitroTest, ReEncodedPayloadIsByteIdenticalAndTaggedFormVerifies) {
  // The builder reproduces AWS's encoding exactly, so the structure cases below differ from
  // a valid document only in what each one changes.
  EXPECT_EQ(PayloadBuilder(doc_).Encode(), doc_.payload);
  EXPECT_EQ(CoseSign1(doc_.payload, doc_.signature), raw_);
  EXPECT_FALSE(doc_.tagged);
  // COSE_Sign1_Tagged (tag 18) carries the same signed content.
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  Bytes tagged = Concat(Bytes{0xd2}, raw_);
  CRYPTA_ASSIGN_OR_FAIL(NitroDocument d, ParseNitroDocument(tagged));
  EXPECT_TRUE(d.tagged);
  CRYPTA_EXPECT_OK(VerifyAt(*verifier, tagged, kNitriteTime));
  ExpectRejected(VerifyAt(*verifier, Concat(Bytes{0xd1}, raw_), kNitriteTime), "tag 17");
}

TEST_F(NitroTest, MalformedEnvelopesAreRefused) {
  const std::vector<std::pair<Bytes, std::string>> cases = {
      {ToBytes("invalid CoseSign1 structure"), "COSE_Sign1"},
      {{}, "CBOR truncated"},
      {Concat(raw_, Bytes{0x00}), "1 trailing bytes"},
      {Bytes(raw_.begin(), raw_.end() - 1), "exceeds the input"},
      // libcbor allocation bombs: an array / a map claiming 2^64-1 and 2^32 entries.
      {{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "exceeds the input"},
      {{0xba, 0x00, 0x01, 0x00, 0x00, 0xa0}, "exceeds the input"},
      {{0x84, 0x5f, 0x41, 0x00, 0xff, 0xa0, 0x40, 0x40}, "indefinite"},
      {{0x9f, 0xff}, "indefinite"},
      {{0x1c}, "reserved"},
      {CoseSign1(doc_.payload, doc_.signature, Bytes{0xc1, 0xa0}), "CBOR tag 1"},
      {Array({Bstr(doc_.protected_bstr), Bytes{0xa0}, Bstr(doc_.payload)}), "array of 4"},
      {Map({}), "array of 4"},
      {CoseSign1(doc_.payload, doc_.signature, kNull), "COSE unprotected header: want a map"},
      {CoseSign1(doc_.payload, doc_.signature, Map({{Uint(4), Bstr(Bytes{1})}})),
       "COSE unprotected header: 1 entries"},
      {CoseSign1(doc_.payload, Bytes(95, 1)), "COSE signature: 95 bytes"},
      {Array({Bstr(doc_.protected_bstr), Bytes{0xa0}, kNull, Bstr(doc_.signature)}),
       "COSE payload"},
      // BN: payload replaced by the bytes "not a valid document".
      {CoseSign1(ToBytes("not a valid document"), doc_.signature), "payload"},
      {CoseSign1(Array({}), doc_.signature), "payload: want a map"},
  };
  for (const auto& [input, check] : cases) {
    auto d = ParseNitroDocument(input);
    ASSERT_FALSE(d.has_value()) << check;
    EXPECT_THAT(d.error().message(), HasSubstr(check));
  }
  // Deep nesting stops at the depth cap (no recursion blow-up).
  Bytes deep(10000, 0x81);
  deep.push_back(0x00);
  auto d = ParseNitroDocument(deep);
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message(), HasSubstr("nested deeper"));
  // The size cap.
  auto big = ParseNitroDocument(Bytes(kMaxNitroDocumentSize + 1, 0));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
}

TEST_F(NitroTest, MissingRequiredFieldsAreRefused) {
  for (const char* key : {"module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle"}) {
    SCOPED_TRACE(key);
    ExpectPayloadRejected(PayloadBuilder(doc_).Remove(key), std::string("missing \"") + key);
  }
  // The optional fields may be absent or null.
  CRYPTA_EXPECT_OK(
      ParsePayload(PayloadBuilder(doc_).Remove("public_key").Remove("user_data").Remove("nonce")));
  CRYPTA_EXPECT_OK(ParsePayload(
      PayloadBuilder(doc_).Set("public_key", kNull).Set("user_data", kNull).Set("nonce", kNull)));
  CRYPTA_EXPECT_OK(ParsePayload(PayloadBuilder(doc_).Set("nonce", Bstr(Bytes()))));
}

TEST_F(NitroTest, DocumentWithoutNonceClaimsEmptyReportData) {
  // A payload without a nonce (its signature no longer verifies, so only the claims are
  // checked here).
  CRYPTA_ASSIGN_OR_FAIL(
      NitroDocument d,
      ParseNitroDocument(CoseSign1(PayloadBuilder(doc_).Remove("nonce").Encode(), doc_.signature)));
  EXPECT_FALSE(d.nonce.has_value());
  Claims c = NitroClaims(d, "cn", {});
  EXPECT_TRUE(c.report_data.empty());
  EXPECT_TRUE(c.extra["nonce"].is_null());
}

TEST_F(NitroTest, FieldConstraintsAreEnforced) {
  auto pcrs_with = [&](Entries e) { return PayloadBuilder(doc_).Set("pcrs", Map(e)); };
  Entries many;
  for (uint64_t i = 0; i < 33; ++i) many.emplace_back(Uint(i), Bstr(Bytes(48, 0)));
  Entries max32(many.begin(), many.begin() + 32);
  const std::vector<std::pair<PayloadBuilder, std::string>> cases = {
      {PayloadBuilder(doc_).Set("digest", Tstr("SHA256")), "digest: \"SHA256\""},
      {PayloadBuilder(doc_).Set("digest", Uint(384)), "digest: want a text string"},
      {PayloadBuilder(doc_).Set("module_id", Tstr("")), "module_id"},
      {PayloadBuilder(doc_).Set("module_id", Bstr(ToBytes("i-0"))), "module_id: want a text"},
      {PayloadBuilder(doc_).Set("module_id", Tstr("i-0\n")), "module_id: not printable"},
      {PayloadBuilder(doc_).Set("timestamp", Tstr("2024")), "timestamp: want an unsigned"},
      {PayloadBuilder(doc_).Set("timestamp", Bytes{0x20}), "timestamp: want an unsigned"},
      {pcrs_with({}), "pcrs: 0 entries"},
      {pcrs_with(many), "pcrs: 33 entries"},
      {pcrs_with({{Uint(32), Bstr(Bytes(48, 0))}}), "pcrs: index 32 > 31"},
      {pcrs_with({{Bytes{0x20}, Bstr(Bytes(48, 0))}}), "pcrs: index is a negative"},
      {pcrs_with({{Tstr("0"), Bstr(Bytes(48, 0))}}), "pcrs: index is a text"},
      {pcrs_with({{Uint(0), Bstr(Bytes(47, 0))}}), "pcrs[0]: 47 bytes"},
      {pcrs_with({{Uint(0), Bstr(Bytes(0, 0))}}), "pcrs[0]: 0 bytes"},
      {pcrs_with({{Uint(0), Tstr(std::string(48, 'a'))}}), "pcrs[0]: want a byte string"},
      {pcrs_with({{Uint(1), Bstr(Bytes(48, 0))}, {Uint(1), Bstr(Bytes(48, 0))}}),
       "duplicate index 1"},
      {PayloadBuilder(doc_).Set("pcrs", Array({})), "pcrs: want a map"},
      {PayloadBuilder(doc_).Set("certificate", Bstr(Bytes())), "certificate: 0 bytes"},
      {PayloadBuilder(doc_).Set("certificate", Bstr(Bytes(1025, 0))), "certificate: 1025 bytes"},
      {PayloadBuilder(doc_).Set("cabundle", Array({})), "cabundle: 0 entries"},
      {PayloadBuilder(doc_).Set("cabundle", kNull), "cabundle: want an array, got a null"},
      {PayloadBuilder(doc_).Set("cabundle", Array({Bstr(doc_.cabundle[0]), Bstr(Bytes())})),
       "cabundle[1]: 0 bytes"},
      {PayloadBuilder(doc_).Set("cabundle", Array({Bstr(Bytes(1025, 0))})),
       "cabundle[0]: 1025 bytes"},
      {PayloadBuilder(doc_).Set("public_key", Bstr(Bytes(1025, 1))), "public_key: 1025 bytes"},
      {PayloadBuilder(doc_).Set("user_data", Bstr(Bytes(1025, 1))), "user_data: 1025 bytes"},
      {PayloadBuilder(doc_).Set("nonce", Bstr(Bytes(1025, 1))), "nonce: 1025 bytes"},
      {PayloadBuilder(doc_).Set("nonce", Tstr("abc")), "nonce: want a byte string"},
      {PayloadBuilder(doc_).Set("extra", Uint(1)), "unknown key \"extra\""},
  };
  for (const auto& [builder, check] : cases) {
    SCOPED_TRACE(check);
    ExpectPayloadRejected(builder, check);
  }
  // The limits themselves are accepted: 32 PCRs 0..31 of every allowed length.
  CRYPTA_EXPECT_OK(ParsePayload(pcrs_with(max32)));
  for (size_t len : {32u, 48u, 64u, 96u}) {
    CRYPTA_EXPECT_OK(ParsePayload(pcrs_with({{Uint(0), Bstr(Bytes(len, 1))}})));
  }
  // Duplicate and non-text payload keys.
  Bytes dup = PayloadBuilder(doc_).Encode();
  dup[0] = 0xaa;  // map(10): one more entry than there are, then add a duplicate
  dup = Concat(dup, Tstr("nonce"), Bstr(Bytes(1, 1)));
  auto d = ParseNitroDocument(CoseSign1(dup, doc_.signature));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message(), HasSubstr("duplicate key \"nonce\""));
  Bytes int_key = Map({{Uint(1), Uint(1)}});
  d = ParseNitroDocument(CoseSign1(int_key, doc_.signature));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message(), HasSubstr("payload key: want a text string"));
}

TEST_F(NitroTest, DocumentWithoutImagePcrsIsRefusedByTheVerifier) {
  auto verifier = Pinned();
  ASSERT_TRUE(verifier);
  Bytes raw =
      CoseSign1(PayloadBuilder(doc_).Set("pcrs", Map({{Uint(0), Bstr(Bytes(48, 1))}})).Encode(),
                doc_.signature);
  ExpectRejected(VerifyAt(*verifier, raw, kNitriteTime), "PCR1 missing");
}

TEST_F(NitroTest, SigStructureMatchesRfc9052) {
  Bytes s = doc_.SigStructure();
  // 84 6a "Signature1" 44 a1013822 40 59 1d07 <payload>
  Bytes prefix = Concat(Bytes{0x84, 0x6a}, ToBytes("Signature1"),
                        Bytes{0x44, 0xa1, 0x01, 0x38, 0x22, 0x40, 0x59, 0x1d, 0x07});
  ASSERT_EQ(s.size(), prefix.size() + 7431);
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), s.begin()));
  EXPECT_TRUE(std::equal(doc_.payload.begin(), doc_.payload.end(), s.begin() + prefix.size()));
}

}  // namespace
}  // namespace crypta::attest::nitro
