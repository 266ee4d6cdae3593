// RimVerifier and AppraiseMeasurements on NVIDIA's signed RIMs (testdata/nvidia/MANIFEST.md):
// every RIM's verdict and content at 2025-06-01, the signer expiries, recipes 10-13, the
// sample report's appraisal against the 545.00 / 96.00.5E.00.01 RIMs, and hostile XML.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "attest/nvidia/rim.h"
#include "common/time_util.h"
#include "testing/test_util.h"

namespace crypta::attest::nvidia {
namespace {

using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::ReadTestdataString;
using ::crypta::testing::Unhex;

constexpr int64_t k20250601 = 1748736000;  // MANIFEST's verification time
constexpr int64_t k20250906 = 1757116800;  // after every L4 signer's notAfter (recipe 10)

constexpr char kDriverRim[] = "nvidia/nvtrust-rims/Driver_RIM_test_no_gpu.swidtag";
constexpr char kVbiosProd[] = "nvidia/nvtrust-rims/1010_0200_882_96005E0001_PROD.swidtag";
constexpr char kVbiosTest[] = "nvidia/nvtrust-rims/1010_0200_882_96005E0001_test_no_gpu.swidtag";

int64_t Time(const char* rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(0);
}

Certificate LoadCert(const std::string& relative) {
  auto c = Certificate::FromPem(ReadTestdataString(relative));
  EXPECT_TRUE(c.has_value()) << relative << ": " << c.error().ToString();
  return *c;
}
Certificate RimRoot() { return LoadCert("nvidia/nvidia-roots/verifier_RIM_root.pem"); }
Certificate DeviceRoot() { return LoadCert("nvidia/nvidia-roots/verifier_device_root.pem"); }

std::string Rfc3339(int64_t t) { return FormatRfc3339(t); }

std::vector<uint32_t> Range(uint32_t first, uint32_t last) {
  std::vector<uint32_t> out;
  for (uint32_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

std::vector<uint32_t> ActiveIndices(const Rim& rim) {
  std::vector<uint32_t> out;
  for (const RimMeasurement& m : rim.measurements) {
    if (m.active) out.push_back(m.index);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The sample report's 64 measurement blocks, from TR's claims file (block index 1..64).
std::map<uint32_t, Bytes> SampleReportBlocks() {
  const nlohmann::json claims =
      ReadTestdataJson("nvidia/nvtrust-hopper-sample/hopperAttestationReport-claims.txt");
  std::map<uint32_t, Bytes> blocks;
  for (const auto& [key, value] : claims.at("measurements").items()) {
    blocks[static_cast<uint32_t>(std::stoul(key))] = Unhex(value.get<std::string>());
  }
  return blocks;
}

struct RimCase {
  const char* file;
  const char* kind;
  const char* version;
  const char* signer_not_after;  // MANIFEST: "rejected after ..."
};

const RimCase kRims[] = {
    {kDriverRim, "driver", "545.00", "2025-06-26T06:10:12Z"},
    {kVbiosTest, "vbios", "96.00.5E.00.01", "2025-06-22T09:38:54Z"},
    {kVbiosProd, "vbios", "96.00.5E.00.01", "2025-06-22T09:30:33Z"},
    {"nvidia/nvtrust-rims/1010_0205_862_960074001F_PROD.swidtag", "vbios", "96.00.74.00.1F",
     "2025-09-05T08:45:21Z"},
    {"nvidia/nvtrust-rims/g520_0200_885_9600740001_PROD.swidtag", "vbios", "96.00.74.00.01",
     "2025-08-24T09:52:07Z"},
    {"nvidia/nvtrust-rims/g520_0228_889_96006D0029_PROD.swidtag", "vbios", "96.00.6D.00.29",
     "2025-08-24T10:14:49Z"},
};

class RimTest : public ::testing::Test {
 protected:
  Result<Rim> Verify(const std::string& xml, int64_t time = k20250601) const {
    return verifier_.Verify(AsBytes(xml), time);
  }
  Result<Rim> VerifyFile(const char* file, int64_t time = k20250601) const {
    return Verify(ReadTestdataString(file), time);
  }
  std::string ErrorOf(const std::string& xml, int64_t time = k20250601) const {
    auto r = Verify(xml, time);
    return r.has_value() ? "(verified)" : r.error().message();
  }

  RimVerifier verifier_{RimRoot()};
};

TEST_F(RimTest, VerifiesAllSixRimsWithTheirManifestContent) {
  for (const RimCase& c : kRims) {
    SCOPED_TRACE(c.file);
    CRYPTA_ASSIGN_OR_FAIL(Rim rim, VerifyFile(c.file));
    EXPECT_EQ(rim.kind, c.kind);
    EXPECT_EQ(rim.version, c.version);
    EXPECT_EQ(rim.product, "GH100");
    EXPECT_EQ(rim.tag_id.size(), 96u);
    ASSERT_EQ(rim.measurements.size(), 64u);
    for (uint32_t i = 0; i < 64; ++i) {
      EXPECT_EQ(rim.measurements[i].index, i);
      EXPECT_EQ(rim.measurements[i].size, 48u);
    }
    std::map<uint32_t, size_t> multi;  // index -> alternatives, where more than one
    for (const RimMeasurement& m : rim.measurements) {
      for (const Bytes& v : m.alternatives) EXPECT_EQ(v.size(), 48u);
      if (m.alternatives.size() != 1) multi[m.index] = m.alternatives.size();
    }
    if (rim.kind == std::string("driver")) {
      std::vector<uint32_t> want = {7};
      for (uint32_t i : Range(21, 40)) want.push_back(i);
      EXPECT_EQ(ActiveIndices(rim), want);
      EXPECT_EQ(multi, (std::map<uint32_t, size_t>{{23, 2}, {24, 2}, {35, 2}}));
    } else {
      std::vector<uint32_t> want = Range(0, 6);
      for (uint32_t i : Range(8, 12)) want.push_back(i);
      EXPECT_EQ(ActiveIndices(rim), want);
      EXPECT_EQ(multi, (std::map<uint32_t, size_t>{{12, 4}}));
      EXPECT_EQ(rim.Find(12)->alternatives[0], Bytes(48, 0));  // "the first all zero"
    }
    EXPECT_EQ(Rfc3339(rim.signer_not_after), c.signer_not_after);
    ASSERT_EQ(rim.signer_chain.size(), 4u);
    EXPECT_NE(rim.signer_chain[0].find("CN=HCC RIM L4 Signer"), std::string::npos);
    EXPECT_NE(rim.signer_chain[1].find("CN=NVIDIA Reference Value L3 GH100 001"),
              std::string::npos);
    EXPECT_NE(rim.signer_chain[2].find("CN=NVIDIA Reference Value GH100 CA"), std::string::npos);
    EXPECT_EQ(rim.signer_chain[3], RimRoot().subject());
    EXPECT_EQ(rim.chain_not_after, rim.signer_not_after);
  }
}

// MANIFEST says the two differ "at indices 3 and 9"; the files differ at 1, 2, 3 and 9
// (all four are active; 1, 2 and 9 fail against the sample report with either file).
TEST_F(RimTest, TestVariantDiffersFromProdAtIndices1To3And9) {
  CRYPTA_ASSIGN_OR_FAIL(Rim prod, VerifyFile(kVbiosProd));
  CRYPTA_ASSIGN_OR_FAIL(Rim test, VerifyFile(kVbiosTest));
  EXPECT_EQ(prod.tag_id, test.tag_id);
  std::vector<uint32_t> differ;
  for (uint32_t i = 0; i < 64; ++i) {
    if (prod.measurements[i].alternatives != test.measurements[i].alternatives) differ.push_back(i);
  }
  EXPECT_EQ(differ, (std::vector<uint32_t>{1, 2, 3, 9}));
}

TEST_F(RimTest, RejectsEveryRimAfterItsSignerExpired) {
  for (const RimCase& c : kRims) {
    SCOPED_TRACE(c.file);
    // Recipe 10: 2025-09-06 is after every L4 signer.
    auto late = VerifyFile(c.file, k20250906);
    ASSERT_FALSE(late.has_value());
    EXPECT_EQ(late.error().code(), ErrorCode::kUnauthenticated);
    EXPECT_NE(late.error().message().find("RIM signer chain"), std::string::npos)
        << late.error().message();
    EXPECT_NE(late.error().message().find("expired"), std::string::npos) << late.error().message();
    // One second after the stated expiry, even with a cached success from before it.
    CRYPTA_EXPECT_OK(VerifyFile(c.file));
    EXPECT_FALSE(VerifyFile(c.file, Time(c.signer_not_after) + 1).has_value());
  }
}

TEST(RimBoundaryTest, DriverRimSignerIsValidThroughItsLastSecond) {
  const std::string xml = ReadTestdataString(kDriverRim);
  const int64_t not_after = Time("2025-06-26T06:10:12Z");
  RimVerifier fresh(RimRoot());
  CRYPTA_EXPECT_OK(fresh.Verify(AsBytes(xml), not_after));
  RimVerifier fresh2(RimRoot());
  auto after = fresh2.Verify(AsBytes(xml), not_after + 1);
  ASSERT_FALSE(after.has_value());
  EXPECT_NE(after.error().message().find("HCC RIM L4 Signer"), std::string::npos)
      << after.error().message();
  // The L4 signer's notBefore (2023-06-27T06:10:12Z) bounds the other side.
  RimVerifier fresh3(RimRoot());
  CRYPTA_EXPECT_OK(fresh3.Verify(AsBytes(xml), Time("2023-06-27T06:10:12Z")));
  EXPECT_FALSE(fresh3.Verify(AsBytes(xml), Time("2023-06-27T06:10:11Z")).has_value());
}

TEST_F(RimTest, Recipe11EditedHash0FailsTheReferenceDigest) {
  std::string xml = ReadTestdataString(kDriverRim);
  const size_t at = xml.find("0e0ee161b59bf124");
  ASSERT_NE(at, std::string::npos);
  xml[at] = '1';
  auto r = Verify(xml);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(r.error().message().find("reference digest does not match"), std::string::npos)
      << r.error().message();
}

TEST_F(RimTest, EditedVersionAndActiveFlagFailTheDigest) {
  std::string xml = ReadTestdataString(kVbiosProd);
  std::string v = xml;
  v.replace(v.find("96.00.5E.00.01"), 14, "96.00.9F.00.01");
  EXPECT_NE(ErrorOf(v).find("reference digest"), std::string::npos);
  std::string a = xml;
  const std::string active = "index=\"3\" active=\"True\"";
  const size_t at = a.find(active);
  ASSERT_NE(at, std::string::npos);
  a.replace(at, active.size(), "index=\"3\" active=\"False\"");
  EXPECT_NE(ErrorOf(a).find("reference digest"), std::string::npos);
}

TEST_F(RimTest, EditedSignatureValueFails) {
  std::string xml = ReadTestdataString(kDriverRim);
  const size_t at = xml.find("<ds:SignatureValue>");
  ASSERT_NE(at, std::string::npos);
  const size_t pos = at + std::string("<ds:SignatureValue>").size() + 10;
  xml[pos] = xml[pos] == 'A' ? 'B' : 'A';
  const std::string error = ErrorOf(xml);
  EXPECT_NE(error.find("signature value does not verify"), std::string::npos) << error;
}

TEST_F(RimTest, RefusesAlgorithmsAndReferencesNvidiaDoesNotUse) {
  const std::string xml = ReadTestdataString(kDriverRim);
  auto edit = [&xml](const std::string& from, const std::string& to) {
    std::string out = xml;
    const size_t at = out.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) out.replace(at, from.size(), to);
    return out;
  };
  for (const std::string& bad : {
           edit("xmldsig-more#ecdsa-sha384", "xmldsig-more#ecdsa-sha256"),
           edit("xmldsig-more#sha384", "xmldsig#sha1"),
           edit("Reference URI=\"\"", "Reference URI=\"#x\""),
           edit("Reference URI=\"\"", "Reference URI=\"file:///etc/passwd\""),
           edit("<ds:Transforms>",
                "<ds:Transforms><ds:Transform "
                "Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>"),
       }) {
    const std::string error = ErrorOf(bad);
    EXPECT_NE(error.find("RIM XML signature cannot be processed (xmlsec: "), std::string::npos)
        << error;
  }
}

TEST_F(RimTest, Recipe12DeviceRootAsAnchorFailsTheChain) {
  RimVerifier wrong(DeviceRoot());
  auto r = wrong.Verify(AsBytes(ReadTestdataString(kDriverRim)), k20250601);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(r.error().message().find("RIM signer chain"), std::string::npos) << r.error().message();
  EXPECT_EQ(wrong.cached_count(), 0u);
}

TEST_F(RimTest, SignerMustBeTheFirstCertificateAndNotACa) {
  // Drop the L4 signer from X509Data: the first certificate is then the L3 CA.
  std::string xml = ReadTestdataString(kDriverRim);
  const size_t first = xml.find("<ds:X509Certificate>");
  const size_t end = xml.find("</ds:X509Certificate>", first);
  ASSERT_NE(end, std::string::npos);
  xml.erase(first, end + std::string("</ds:X509Certificate>").size() - first);
  EXPECT_NE(ErrorOf(xml).find("is a CA certificate"), std::string::npos) << ErrorOf(xml);
}

TEST_F(RimTest, TheFilesCopyOfTheRootIsNeitherNeededNorTrusted) {
  // Without the last X509Certificate (the root) the chain still reaches the pinned root.
  std::string xml = ReadTestdataString(kDriverRim);
  const size_t last = xml.rfind("<ds:X509Certificate>");
  const size_t end = xml.find("</ds:X509Certificate>", last);
  xml.erase(last, end + std::string("</ds:X509Certificate>").size() - last);
  CRYPTA_ASSIGN_OR_FAIL(Rim rim, Verify(xml));
  EXPECT_EQ(rim.signer_chain.back(), RimRoot().subject());
}

TEST(RimConcurrencyTest, ConcurrentVerificationsAgree) {
  std::vector<std::string> files;
  for (const RimCase& c : kRims) files.push_back(ReadTestdataString(c.file));
  std::vector<std::thread> threads;
  std::atomic<int> verified{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&files, &verified, t] {
      for (int round = 0; round < 3; ++round) {
        RimVerifier fresh(RimRoot());  // no cache: every call does the XML-DSig work
        const std::string& xml = files[(t + round) % files.size()];
        if (fresh.Verify(AsBytes(xml), k20250601).has_value()) ++verified;
        std::string edited = xml;
        edited[edited.find("ns2:Hash0=\"") + 11] ^= 0x01;
        if (fresh.Verify(AsBytes(edited), k20250601).has_value()) --verified;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(verified.load(), 12);
}

TEST_F(RimTest, CachedVerificationReturnsTheSameRim) {
  const std::string xml = ReadTestdataString(kDriverRim);
  CRYPTA_ASSIGN_OR_FAIL(Rim first, Verify(xml));
  EXPECT_EQ(verifier_.cached_count(), 1u);
  CRYPTA_ASSIGN_OR_FAIL(Rim second, Verify(xml, k20250601 + 3600));
  EXPECT_EQ(verifier_.cached_count(), 1u);
  EXPECT_EQ(second.kind, first.kind);
  EXPECT_EQ(second.tag_id, first.tag_id);
  EXPECT_EQ(second.version, first.version);
  EXPECT_EQ(second.signer_chain, first.signer_chain);
  ASSERT_EQ(second.measurements.size(), first.measurements.size());
  for (size_t i = 0; i < first.measurements.size(); ++i) {
    EXPECT_EQ(second.measurements[i].alternatives, first.measurements[i].alternatives);
    EXPECT_EQ(second.measurements[i].active, first.measurements[i].active);
  }
  // A copy of the verifier shares the cache; failures are not cached.
  RimVerifier copy = verifier_;
  EXPECT_EQ(copy.cached_count(), 1u);
  EXPECT_FALSE(Verify("<x/>").has_value());
  EXPECT_EQ(verifier_.cached_count(), 1u);
}

TEST_F(RimTest, RefusesMalformedAndOversizedInput) {
  const std::string xml = ReadTestdataString(kDriverRim);
  EXPECT_EQ(Verify("").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(ErrorOf(xml.substr(0, xml.size() / 2)).find("not well-formed"), std::string::npos);
  EXPECT_NE(ErrorOf("not xml at all").find("not well-formed"), std::string::npos);
  EXPECT_NE(ErrorOf("<SoftwareIdentity/>").find("not a SWID 2015 SoftwareIdentity"),
            std::string::npos);
  std::string big = xml;
  big.insert(big.find("<ns0:Entity"), std::string(kMaxRimXmlSize, ' '));
  auto r = Verify(big);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  // Two signatures, or none.
  std::string two = xml;
  const size_t sig = two.find("<ds:Signature ");
  two.insert(sig, two.substr(sig, two.find("</SoftwareIdentity>") - sig));
  EXPECT_NE(ErrorOf(two).find("more than one Signature"), std::string::npos) << ErrorOf(two);
  std::string none = xml.substr(0, sig) + "</SoftwareIdentity>";
  EXPECT_NE(ErrorOf(none).find("no Signature"), std::string::npos) << ErrorOf(none);
}

TEST_F(RimTest, RefusesAnyDoctype) {
  const std::string xml = ReadTestdataString(kDriverRim);
  const std::string xxe =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE SoftwareIdentity [<!ENTITY xxe SYSTEM "
      "\"file:///etc/passwd\">]>\n";
  std::string with_xxe = xxe + xml;
  // Put a reference to the entity into an attribute-free place: the tag's text.
  with_xxe.insert(with_xxe.find("<ns0:Entity"), "&xxe;");
  EXPECT_NE(ErrorOf(with_xxe).find("DOCTYPE is not allowed"), std::string::npos)
      << ErrorOf(with_xxe);
  const std::string external =
      "<!DOCTYPE SoftwareIdentity SYSTEM \"http://127.0.0.1:9/evil.dtd\">\n" + xml;
  EXPECT_NE(ErrorOf(external).find("DOCTYPE is not allowed"), std::string::npos);
  const std::string laughs =
      "<!DOCTYPE a [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><a>&c;</a>";
  EXPECT_NE(ErrorOf(laughs).find("DOCTYPE is not allowed"), std::string::npos);
  // An entity reference without a DTD is not well-formed.
  std::string undeclared = xml;
  undeclared.insert(undeclared.find("<ns0:Entity"), "&xxe;");
  EXPECT_NE(ErrorOf(undeclared).find("not well-formed"), std::string::npos);
}

TEST_F(RimTest, PayloadEditsNeverReachTheReader) {
  // The payload is read only after the signature verified: a bad attribute fails the digest.
  std::string xml = ReadTestdataString(kDriverRim);
  xml.replace(xml.find("alternatives=\"2\""), 16, "alternatives=\"x\"");
  EXPECT_NE(ErrorOf(xml).find("reference digest"), std::string::npos);
}

// The payload reader on its own (unsigned documents, through the testing entry point).
std::string MiniRim(const std::string& meta, const std::string& resources) {
  return "<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" "
         "xmlns:h=\"http://www.w3.org/2001/04/xmlenc#sha384\" tagId=\"ab\">" +
         meta + "<Payload>" + resources + "</Payload></SoftwareIdentity>";
}
const std::string kMeta = "<Meta colloquialVersion=\"550.90.07\" product=\"GH100\"/>";
std::string Resource(const std::string& attrs) {
  return "<Resource type=\"Measurement\" " + attrs + "/>";
}
const std::string kHashA = "h:Hash0=\"" + std::string(96, 'a') + "\"";

std::string ReadError(const std::string& xml) {
  auto r = internal::ReadRimUnverifiedForTesting(AsBytes(xml));
  return r.has_value() ? "(read)" : r.error().message();
}

TEST(RimReaderTest, ReadsAMinimalDocument) {
  const std::string xml = MiniRim(
      kMeta, Resource("index=\"5\" active=\"True\" alternatives=\"2\" size=\"48\" " + kHashA +
                      " h:Hash1=\"" + std::string(96, 'B') + "\" name=\"m5\"") +
                 "<!-- a comment -->" +
                 Resource("index=\"6\" active=\"False\" alternatives=\"1\" size=\"48\" " + kHashA));
  CRYPTA_ASSIGN_OR_FAIL(Rim rim, internal::ReadRimUnverifiedForTesting(AsBytes(xml)));
  EXPECT_EQ(rim.kind, "driver");
  EXPECT_EQ(rim.version, "550.90.07");
  EXPECT_EQ(rim.tag_id, "ab");
  ASSERT_EQ(rim.measurements.size(), 2u);
  EXPECT_EQ(rim.measurements[0].name, "m5");
  EXPECT_TRUE(rim.measurements[0].active);
  EXPECT_EQ(rim.measurements[0].alternatives[1], Bytes(48, 0xBB));
  EXPECT_FALSE(rim.measurements[1].active);
  EXPECT_TRUE(rim.signer_chain.empty());
}

TEST(RimReaderTest, DecidesTheKindFromTheVersion) {
  auto kind = [](const std::string& version) {
    auto r = internal::ReadRimUnverifiedForTesting(AsBytes(
        MiniRim("<Meta colloquialVersion=\"" + version + "\"/>",
                Resource("index=\"0\" active=\"True\" alternatives=\"1\" size=\"48\" " + kHashA))));
    return r.has_value() ? r->kind : r.error().message();
  };
  EXPECT_EQ(kind("96.00.5E.00.01"), "vbios");
  EXPECT_EQ(kind("96.00.9f.00.01"), "vbios");
  EXPECT_EQ(kind("545.00"), "driver");
  EXPECT_EQ(kind("550.90.07"), "driver");
  for (const char* bad : {"", "545", "96.00.5G.00.01", "1.2.x", "545..00", ".545"}) {
    SCOPED_TRACE(bad);
    EXPECT_NE(kind(bad).find("colloquialVersion"), std::string::npos) << kind(bad);
  }
}

TEST(RimReaderTest, RefusesMalformedResources) {
  const std::string ok = "active=\"True\" alternatives=\"1\" size=\"48\" " + kHashA;
  struct Case {
    std::string resources;
    const char* error;
  } cases[] = {
      {Resource("index=\"1\" " + ok) + Resource("index=\"1\" " + ok),
       "more than one Resource with index 1"},
      {Resource(ok), "no index attribute"},
      {Resource("index=\"-1\" " + ok), "not a decimal number"},
      {Resource("index=\"254\" " + ok), "above the limit 253"},
      {Resource("index=\"1\" active=\"true\" alternatives=\"1\" size=\"48\" " + kHashA),
       "active must be"},
      {Resource("index=\"1\" active=\"True\" alternatives=\"0\" size=\"48\" " + kHashA),
       "alternatives is 0"},
      {Resource("index=\"1\" active=\"True\" alternatives=\"17\" size=\"48\" " + kHashA),
       "above the limit 16"},
      {Resource("index=\"1\" active=\"True\" alternatives=\"2\" size=\"48\" " + kHashA),
       "no Hash1 attribute"},
      {Resource("index=\"1\" active=\"True\" alternatives=\"1\" size=\"32\" " + kHashA),
       "48 bytes, size says 32"},
      {Resource("index=\"1\" active=\"True\" alternatives=\"1\" size=\"48\" Hash0=\"" +
                std::string(96, 'a') + "\""),
       "no Hash0 attribute"},  // the hash must be in the SHA-384 namespace
      {Resource("index=\"1\" active=\"True\" alternatives=\"1\" size=\"48\" h:Hash0=\"zz\""),
       "Hash0"},
      {"<Other/>", "element 1 is not a Resource"},
      {"", "no measurements"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    const std::string error = ReadError(MiniRim(kMeta, c.resources));
    EXPECT_NE(error.find(c.error), std::string::npos) << error;
  }
  EXPECT_NE(ReadError(MiniRim("", Resource("index=\"1\" " + ok))).find("no Meta"),
            std::string::npos);
  EXPECT_NE(
      ReadError(MiniRim(kMeta + kMeta, Resource("index=\"1\" " + ok))).find("more than one Meta"),
      std::string::npos);
  std::string many;
  for (int i = 0; i <= 253; ++i) many += Resource("index=\"" + std::to_string(i) + "\" " + ok);
  many += Resource("index=\"1\" " + ok);
  many += Resource("index=\"1\" " + ok);
  EXPECT_NE(ReadError(MiniRim(kMeta, many)).find("more than one Resource with index 1"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Appraisal (MANIFEST "nvtrust-hopper-sample + RIMs").

class RimAppraisalTest : public RimTest {
 protected:
  void SetUp() override {
    auto d = VerifyFile(kDriverRim);
    auto p = VerifyFile(kVbiosProd);
    auto t = VerifyFile(kVbiosTest);
    ASSERT_TRUE(d && p && t);
    driver_ = *d;
    prod_ = *p;
    test_ = *t;
    blocks_ = SampleReportBlocks();
    ASSERT_EQ(blocks_.size(), 64u);
  }
  Rim driver_, prod_, test_;
  std::map<uint32_t, Bytes> blocks_;
};

const std::vector<uint32_t> kDriverMismatches = {7,  21, 22, 25, 26, 27, 29, 30,
                                                 31, 32, 34, 36, 37, 39, 40};

TEST_F(RimAppraisalTest, SampleReportAgainstProdVbiosRim) {
  CRYPTA_ASSIGN_OR_FAIL(
      RimAppraisal a, AppraiseMeasurements(blocks_, driver_, prod_, "550.90.07", "96.00.9f.00.01"));
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(a.driver_mismatched_indices, kDriverMismatches);
  EXPECT_EQ(a.vbios_mismatched_indices, (std::vector<uint32_t>{1, 2, 9, 11}));
  ASSERT_EQ(a.mismatches.size(), kDriverMismatches.size() + 4);
  EXPECT_EQ(a.mismatches[0], "driver RIM index 7: no alternative matches the report's block 8");
  EXPECT_EQ(a.mismatches.back(),
            "VBIOS RIM index 11: no alternative matches the report's block 12");
  EXPECT_EQ(a.problems,
            (std::vector<std::string>{
                "driver RIM version 545.00 does not match the report's driver version 550.90.07",
                "VBIOS RIM version 96.00.5E.00.01 does not match the report's VBIOS version "
                "96.00.9f.00.01"}));
}

TEST_F(RimAppraisalTest, SampleReportAgainstTestVbiosRimAlsoFailsIndex3) {
  CRYPTA_ASSIGN_OR_FAIL(
      RimAppraisal a, AppraiseMeasurements(blocks_, driver_, test_, "550.90.07", "96.00.9f.00.01"));
  EXPECT_EQ(a.driver_mismatched_indices, kDriverMismatches);
  EXPECT_EQ(a.vbios_mismatched_indices, (std::vector<uint32_t>{1, 2, 3, 9, 11}));
}

TEST_F(RimAppraisalTest, Index35MatchesThroughItsSecondAlternative) {
  const RimMeasurement* m35 = driver_.Find(35);
  ASSERT_NE(m35, nullptr);
  ASSERT_EQ(m35->alternatives.size(), 2u);
  EXPECT_NE(m35->alternatives[0], blocks_.at(36));
  EXPECT_EQ(m35->alternatives[1], blocks_.at(36));
  CRYPTA_ASSIGN_OR_FAIL(
      RimAppraisal a, AppraiseMeasurements(blocks_, driver_, prod_, "550.90.07", "96.00.9f.00.01"));
  EXPECT_EQ(std::count(a.driver_mismatched_indices.begin(), a.driver_mismatched_indices.end(), 35),
            0);
  // 33 active golden indices: 21 driver + 12 VBIOS.
  EXPECT_EQ(ActiveIndices(driver_).size() + ActiveIndices(prod_).size(), 33u);
}

TEST_F(RimAppraisalTest, MatchingReportPassesAndVersionsCompareCaseInsensitively) {
  // A report built from the RIMs' own values (last alternative each) passes.
  std::map<uint32_t, Bytes> blocks;
  for (uint32_t b = 1; b <= 64; ++b) blocks[b] = Bytes(48, 0xEE);
  for (const Rim* rim : {&driver_, &prod_}) {
    for (const RimMeasurement& m : rim->measurements) {
      if (m.active) blocks[m.index + 1] = m.alternatives.back();
    }
  }
  CRYPTA_ASSIGN_OR_FAIL(RimAppraisal a,
                        AppraiseMeasurements(blocks, driver_, prod_, "545.00", "96.00.5e.00.01"));
  EXPECT_TRUE(a.ok()) << (a.mismatches.empty() ? "" : a.mismatches[0]);
}

TEST_F(RimAppraisalTest, MissingAndWrongSizeBlocksAreMismatches) {
  std::map<uint32_t, Bytes> blocks = blocks_;
  blocks.erase(8);           // driver index 7
  blocks[2] = Bytes(32, 0);  // VBIOS index 1
  CRYPTA_ASSIGN_OR_FAIL(RimAppraisal a,
                        AppraiseMeasurements(blocks, driver_, prod_, "545.00", "96.00.5E.00.01"));
  EXPECT_TRUE(a.problems.empty());
  EXPECT_EQ(a.mismatches[0], "driver RIM index 7: the report has no block 8");
  EXPECT_NE(std::find(a.mismatches.begin(), a.mismatches.end(),
                      "VBIOS RIM index 1: the report's block 2 has 32 bytes, the RIM says 48"),
            a.mismatches.end());
  // Fewer blocks than golden entries.
  std::map<uint32_t, Bytes> few = {{8, blocks_.at(8)}};
  CRYPTA_ASSIGN_OR_FAIL(RimAppraisal b,
                        AppraiseMeasurements(few, driver_, prod_, "545.00", "96.00.5E.00.01"));
  ASSERT_EQ(b.problems.size(), 1u);
  EXPECT_EQ(b.problems[0], "the RIMs have 33 active measurements but the report has 1 blocks");
}

TEST_F(RimAppraisalTest, Recipe13IndexActiveInBothRimsIsAnError) {
  Rim vbios = prod_;
  RimMeasurement extra = *driver_.Find(7);
  for (RimMeasurement& m : vbios.measurements) {
    if (m.index == 7) m = extra;
  }
  auto r = AppraiseMeasurements(blocks_, driver_, vbios, "550.90.07", "96.00.9f.00.01");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "driver and vbios RIM have measurement at the same index 7");
}

TEST_F(RimAppraisalTest, RimsInTheWrongSlotsAreAnError) {
  EXPECT_FALSE(AppraiseMeasurements(blocks_, prod_, driver_, "545.00", "96.00.5E.00.01"));
  EXPECT_FALSE(AppraiseMeasurements(blocks_, driver_, driver_, "545.00", "545.00"));
}

}  // namespace
}  // namespace crypta::attest::nvidia
