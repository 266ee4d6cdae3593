// Test-only: builds valid, test-signed SEV-SNP evidence, so that each negative test can
// change exactly one field. A generated ARK (self-signed) issues an ASK and an ASVK, which
// issue a VCEK / VLEK carrying AMD's extensions (LAYOUTS §1.4); reports are signed with
// the leaf's P-384 key in AMD's little-endian R||S layout. Keys are EC P-384 throughout
// (AMD's ARK/ASK are RSA-PSS; the verifier does not depend on the root algorithm).
// Included only by tests; not part of crypta_attest.
#ifndef CRYPTA_ATTEST_SNP_SNP_TEST_BUILDER_H_
#define CRYPTA_ATTEST_SNP_SNP_TEST_BUILDER_H_

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attest/snp/amd_roots.h"
#include "attest/snp/product.h"
#include "attest/snp/report.h"
#include "attest/snp/vcek.h"
#include "attest/snp/verifier.h"
#include "common/bytes.h"
#include "crypto/keys.h"
#include "crypto/openssl_util.h"
#include "crypto/signature.h"

namespace crypta::attest::snp::testing {

inline constexpr int64_t kTestTime = 1748736000;  // 2025-06-01T00:00:00Z

// Verification options at `time`, and verifier options trusting `roots`.
inline VerifyOptions At(int64_t time) {
  VerifyOptions o;
  o.verification_time = time;
  return o;
}
inline SnpVerifierOptions WithRoots(SnpTrustRoots roots) {
  SnpVerifierOptions o;
  o.roots = std::move(roots);
  return o;
}
inline constexpr int64_t kTestYear = 365 * 86400;

using TestExtension = std::pair<std::string, Bytes>;  // dotted OID, extnValue content

inline Bytes DerInteger(uint8_t v) {
  return v & 0x80 ? Bytes{0x02, 0x02, 0x00, v} : Bytes{0x02, 0x01, v};
}
inline Bytes DerIa5(const std::string& s) {
  return Concat(Bytes{0x16, static_cast<uint8_t>(s.size())}, AsBytes(s));
}

// A DER certificate for `key`, named CN=`cn`, issued by `issuer` (self-signed when null)
// and signed with `issuer_key` (ECDSA with SHA-384).
inline Certificate MakeTestCert(const std::string& cn, const PrivateKey& key,
                                const Certificate* issuer, const PrivateKey& issuer_key, bool ca,
                                const std::vector<TestExtension>& extensions,
                                int64_t not_before = kTestTime - kTestYear,
                                int64_t not_after = kTestTime + kTestYear) {
  using X509ExtensionPtr = OpensslPtr<X509_EXTENSION, X509_EXTENSION_free>;
  using Asn1ObjectPtr = OpensslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
  using Asn1OctetPtr = OpensslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ca ? 1 : 0);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(not_after));
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Crypta SNP Test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer->x509()) : name);
  X509_set_pubkey(x.get(), key.pkey());
  if (ca) {
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer->x509() : x.get(), x.get(), nullptr, nullptr, 0);
    X509ExtensionPtr bc(
        X509V3_EXT_nconf_nid(nullptr, &v3, NID_basic_constraints, "critical,CA:TRUE"));
    X509_add_ext(x.get(), bc.get(), -1);
    X509ExtensionPtr ku(
        X509V3_EXT_nconf_nid(nullptr, &v3, NID_key_usage, "critical,keyCertSign,cRLSign"));
    X509_add_ext(x.get(), ku.get(), -1);
  }
  for (const auto& [oid, value] : extensions) {
    Asn1ObjectPtr obj(OBJ_txt2obj(oid.c_str(), 1));
    Asn1OctetPtr os(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(os.get(), value.data(), static_cast<int>(value.size()));
    X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, os.get()));
    X509_add_ext(x.get(), ext.get(), -1);
  }
  X509_sign(x.get(), issuer_key.pkey(), EVP_sha384());
  unsigned char* der = nullptr;
  int len = i2d_X509(x.get(), &der);
  Result<Certificate> cert = Certificate::FromDer(ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  return *cert;  // the test fails loudly (bad_expected_access) if generation broke
}

// Fields of a test report; defaults make a valid version-3 Milan report signed by a VCEK.
struct TestReportFields {
  uint32_t version = 3;
  uint32_t guest_svn = 7;
  uint64_t policy = 0x30000;  // SMT allowed, reserved bit 17
  uint32_t vmpl = 0;
  uint32_t signer_info = 0;   // SIGNING_KEY 0 = VCEK
  uint64_t reported_tcb = 0;  // filled from the SPLs by the builder when 0
  uint8_t cpuid_fam = 0x19, cpuid_mod = 0x01, cpuid_step = 0x01;
  Bytes report_data = Bytes(64, 0xAB);
  Bytes measurement = Bytes(48, 0x4D);
  Bytes host_data = Bytes(32, 0x48);
  Bytes chip_id;  // filled from the hwID when empty
  uint64_t mit_launch = 0, mit_current = 0;
};

// The generated PKI and report signer for one product.
class SnpTestPki {
 public:
  explicit SnpTestPki(SnpProduct product = SnpProduct::kMilan) : product_(product) {
    hwid_ = Bytes(ChipIdLength(product), 0);
    for (size_t i = 0; i < hwid_.size(); ++i) hwid_[i] = static_cast<uint8_t>(0xC0 + i);
  }

  SnpProduct product() const { return product_; }
  SnpTrustRoots Roots() const {
    SnpTrustRoots roots;
    roots.Set(product_, SnpProductRoots{.ark = ark_, .ask = ask_, .asvk = asvk_});
    return roots;
  }
  const Certificate& ark() const { return ark_; }
  const PrivateKey& ark_key() const { return ark_key_; }
  const Certificate& ask() const { return ask_; }
  const Certificate& asvk() const { return asvk_; }
  const Bytes& hwid() const { return hwid_; }

  // SPLs the leaf certifies (and the default REPORTED_TCB).
  TcbVersion spls{.fmc = 1, .boot_loader = 3, .tee = 0, .snp = 8, .microcode = 115};

  // AMD extensions for the leaf; `vlek` adds a CSP ID instead of a hwID.
  std::vector<TestExtension> LeafExtensions(bool vlek) const {
    std::vector<TestExtension> ext = {
        {kOidStructVersion, DerInteger(HasFmcSpl(product_) ? 1 : 0)},
        {kOidProductName,
         DerIa5(product_ == SnpProduct::kMilan ? "Milan-B0"
                                               : std::string(SnpProductName(product_)))},
        {kOidBlSpl, DerInteger(spls.boot_loader)},
        {kOidTeeSpl, DerInteger(spls.tee)},
        {kOidSnpSpl, DerInteger(spls.snp)},
        {kOidUcodeSpl, DerInteger(spls.microcode)}};
    if (HasFmcSpl(product_)) ext.push_back({kOidFmcSpl, DerInteger(spls.fmc.value_or(0))});
    if (vlek) {
      ext.push_back({kOidCspId, DerIa5("CN=test-csp.example")});
    } else {
      ext.push_back({kOidHwId, hwid_});
    }
    return ext;
  }
  Certificate MakeVcek(const std::vector<TestExtension>& ext) const {
    return MakeTestCert("SEV-VCEK", leaf_key_, &ask_, ask_key_, false, ext);
  }
  Certificate Vcek() const { return MakeVcek(LeafExtensions(false)); }
  Certificate Vlek() const {
    return MakeTestCert("SEV-VLEK", leaf_key_, &asvk_, asvk_key_, false, LeafExtensions(true));
  }

  // The unsigned report bytes (signature area zero).
  Bytes Unsigned(TestReportFields f) const {
    Bytes r(kReportSize, 0);
    auto put = [&r](size_t off, uint64_t v, int n) {
      for (int i = 0; i < n; ++i) r[off + i] = static_cast<uint8_t>(v >> (8 * i));
    };
    auto copy = [&r](size_t off, const Bytes& b) {
      std::copy(b.begin(), b.end(), r.begin() + off);
    };
    uint64_t tcb = f.reported_tcb ? f.reported_tcb : EncodeTcb(spls, product_);
    if (f.chip_id.empty()) {
      f.chip_id = Bytes(64, 0);
      if ((f.signer_info >> 2 & 7) == 0) std::copy(hwid_.begin(), hwid_.end(), f.chip_id.begin());
    }
    put(0x000, f.version, 4);
    put(0x004, f.guest_svn, 4);
    put(0x008, f.policy, 8);
    copy(0x010, Bytes(16, 0x01));
    copy(0x020, Bytes(16, 0x02));
    put(0x030, f.vmpl, 4);
    put(0x034, 1, 4);
    put(0x038, tcb, 8);
    put(0x040, 0x25, 8);
    put(0x048, f.signer_info, 4);
    copy(0x050, f.report_data);
    copy(0x090, f.measurement);
    copy(0x0C0, f.host_data);
    copy(0x140, Bytes(32, 0x1D));
    copy(0x160, Bytes(32, 0xFF));
    put(0x180, tcb, 8);
    if (f.version >= 3) {
      r[0x188] = f.cpuid_fam;
      r[0x189] = f.cpuid_mod;
      r[0x18A] = f.cpuid_step;
    }
    copy(0x1A0, f.chip_id);
    put(0x1E0, tcb, 8);
    put(0x1E8, 0x013704, 3);  // firmware 1.55 build 4
    put(0x1EC, 0x013704, 3);
    put(0x1F0, tcb, 8);
    if (f.version >= 5) {
      put(0x1F8, f.mit_launch, 8);
      put(0x200, f.mit_current, 8);
    }
    return r;
  }

  // Signs bytes 0x000..0x29F in place with the leaf key (R, S little-endian, 72 bytes each).
  void Sign(Bytes& report) const {
    Result<Bytes> sig =
        EcdsaSign(leaf_key_, HashAlg::kSha384, ByteSpan(report).first(kSignedRangeSize),
                  {.format = EcdsaFormat::kRawLE, .component_size = 72});
    std::copy(sig->begin(), sig->end(), report.begin() + kSignatureOffset);
  }
  Bytes Report(const TestReportFields& f = {}) const {
    Bytes r = Unsigned(f);
    Sign(r);
    return r;
  }

 private:
  SnpProduct product_;
  PrivateKey ark_key_ = *PrivateKey::Generate(KeyType::kEcP384);
  PrivateKey ask_key_ = *PrivateKey::Generate(KeyType::kEcP384);
  PrivateKey asvk_key_ = *PrivateKey::Generate(KeyType::kEcP384);
  PrivateKey leaf_key_ = *PrivateKey::Generate(KeyType::kEcP384);
  // Initialized in declaration order: the keys above, then the ARK that signs the others.
  Certificate ark_ = MakeTestCert("ARK-Test", ark_key_, nullptr, ark_key_, true, {});
  Certificate ask_ = MakeTestCert("SEV-Test", ask_key_, &ark_, ark_key_, true, {});
  Certificate asvk_ = MakeTestCert("SEV-VLEK-Test", asvk_key_, &ark_, ark_key_, true, {});
  Bytes hwid_;
};

}  // namespace crypta::attest::snp::testing

#endif  // CRYPTA_ATTEST_SNP_SNP_TEST_BUILDER_H_
