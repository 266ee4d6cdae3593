#include "attest/snp/verifier.h"

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::attest::snp {
namespace {

const Bytes* FindItem(const Evidence& evidence, const VerifyOptions& options,
                      const std::string& name) {
  if (options.collateral) {
    if (const Bytes* b = options.collateral->Find(name)) return b;
  }
  return evidence.collateral.Find(name);
}

// AMD's CRL for the product (KDS /vcek/v1/{product}/crl; it lists revoked ASKs and ASVKs),
// when supplied: it must be signed by the ARK, current at `time`, and not list the
// intermediate that issued the leaf.
Status CheckAmdCrl(ByteSpan crl_bytes, const SnpProductRoots& roots, SnpCertKind kind,
                   int64_t time) {
  auto crl = Crl::Parse(crl_bytes);
  if (!crl) return MakeError(crl.error().WithContext("collateral \"crl\" (AMD CRL)"));
  const Certificate& intermediate = kind == SnpCertKind::kVcek ? roots.ask : roots.asvk;
  const Certificate anchors[] = {roots.ark};
  const Crl crls[] = {*crl};
  auto checked = VerifyChain(intermediate, {}, anchors, time, crls, {.require_crls = true});
  if (!checked) return MakeError(checked.error().WithContext("AMD CRL"));
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<SnpVerifier>> SnpVerifier::Create(SnpVerifierOptions options) {
  SnpTrustRoots roots;
  if (options.roots) {
    roots = *options.roots;
  } else {
    CRYPTA_ASSIGN_OR_RETURN(roots, SnpTrustRoots::PinnedAmdRoots());
  }
  return std::unique_ptr<SnpVerifier>(new SnpVerifier(std::move(options), std::move(roots)));
}

size_t SnpVerifier::cached_chain_count() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

// Step 2: the leaf certificate's bytes, and its kind, which must match SIGNING_KEY.
Result<Bytes> SnpVerifier::FindLeafCollateral(const AttestationReport& report,
                                              const Evidence& evidence,
                                              const VerifyOptions& options,
                                              SnpCertKind* kind) const {
  SigningKey signing_key = report.signer_info.signing_key;
  if (signing_key == SigningKey::kNone) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "report SIGNING_KEY (0x048) is 7 (none): the report is not signed");
  }
  *kind = signing_key == SigningKey::kVcek ? SnpCertKind::kVcek : SnpCertKind::kVlek;
  const Bytes* vcek = FindItem(evidence, options, "vcek");
  const Bytes* vlek = FindItem(evidence, options, "vlek");
  const Bytes* wanted = *kind == SnpCertKind::kVcek ? vcek : vlek;
  const Bytes* other = *kind == SnpCertKind::kVcek ? vlek : vcek;
  if (wanted) return *wanted;
  if (other) {
    return MakeError(
        ErrorCode::kUnauthenticated,
        "report SIGNING_KEY (0x048) is " + std::string(SigningKeyName(signing_key)) +
            " but the collateral holds a " +
            std::string(SnpCertKindName(*kind == SnpCertKind::kVcek ? SnpCertKind::kVlek
                                                                    : SnpCertKind::kVcek)));
  }
  if (*kind == SnpCertKind::kVcek && options_.vcek_source) {
    std::optional<SnpProduct> product = report.CpuidProduct();
    if (!product) product = options_.default_product;
    if (!product) {
      return MakeError(ErrorCode::kNotFound,
                       "no VCEK in the collateral, and the report does not name its product "
                       "(set SnpVerifierOptions::default_product)");
    }
    auto fetched = options_.vcek_source->FetchVcek(*product, report.chip_id, report.reported_tcb);
    if (!fetched) return MakeError(fetched.error().WithContext("fetching the VCEK"));
    return *fetched;
  }
  return MakeError(ErrorCode::kNotFound,
                   "no \"" + std::string(*kind == SnpCertKind::kVcek ? "vcek" : "vlek") +
                       "\" certificate in the collateral");
}

// Step 3, uncached: parse the leaf, find its product, verify its chain.
Result<std::shared_ptr<const SnpVerifier::VerifiedLeaf>> SnpVerifier::VerifyLeafUncached(
    ByteSpan leaf_bytes, SnpCertKind kind, const AttestationReport& report, int64_t time) const {
  std::string name(SnpCertKindName(kind));
  auto leaf = SelectLeafCertificate(leaf_bytes);
  if (!leaf) return MakeError(leaf.error().WithContext(name));
  auto ext = ParseSnpCertExtensions(*leaf);
  if (!ext) return MakeError(ext.error().WithContext(name));
  CRYPTA_ASSIGN_OR_RETURN(PublicKey key, leaf->public_key());
  if (key.type() != KeyType::kEcP384) {
    return MakeError(ErrorCode::kUnauthenticated,
                     name + " key is " + std::string(KeyTypeName(key.type())) + ", want P-384");
  }

  std::vector<SnpProduct> candidates;
  if (ext->product_name) {
    auto p = ParseSnpProductName(*ext->product_name);
    if (!p) return MakeError(p.error().WithContext(name + " product name"));
    candidates.push_back(*p);
  } else if (auto p = report.CpuidProduct()) {
    candidates.push_back(*p);
  } else {
    candidates.assign(kAllSnpProducts.begin(), kAllSnpProducts.end());
  }
  std::optional<Error> first_error;
  for (SnpProduct product : candidates) {
    const SnpProductRoots* roots = roots_.Find(product);
    if (!roots) {
      if (!first_error) {
        first_error = Error(ErrorCode::kUnauthenticated, name + " chain: no trust roots for " +
                                                             std::string(SnpProductName(product)));
      }
      continue;
    }
    auto chain = VerifySnpCertChain(*leaf, kind, *roots, time);
    if (!chain) {
      if (!first_error) first_error = chain.error();
      continue;
    }
    int64_t from = 0, until = INT64_MAX;
    for (const Certificate& c : chain->certificates) {
      from = std::max(from, c.not_before());
      until = std::min(until, c.not_after());
    }
    return std::make_shared<const VerifiedLeaf>(
        VerifiedLeaf{*leaf, key, std::move(*ext), product, kind, from, until});
  }
  return MakeError(*first_error);
}

Result<std::shared_ptr<const SnpVerifier::VerifiedLeaf>> SnpVerifier::VerifyLeaf(
    ByteSpan leaf_bytes, SnpCertKind kind, const AttestationReport& report, int64_t time) const {
  if (options_.chain_cache_capacity == 0) {
    return VerifyLeafUncached(leaf_bytes, kind, report, time);
  }
  std::string cache_key = ToString(Sha256(leaf_bytes));
  cache_key.push_back(kind == SnpCertKind::kVcek ? 'C' : 'L');
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end() && time >= it->second->valid_from && time <= it->second->valid_until) {
      return it->second;
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(auto verified, VerifyLeafUncached(leaf_bytes, kind, report, time));
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= options_.chain_cache_capacity) cache_.clear();
  cache_[cache_key] = verified;
  return verified;
}

Result<VerifiedEvidence> SnpVerifier::Verify(const Evidence& evidence,
                                             const VerifyOptions& options) const {
  if (evidence.tee != TeeType::kSevSnp) {
    return MakeError(ErrorCode::kInvalidArgument, "SnpVerifier: evidence is not sev-snp");
  }
  if (options.verification_time <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "verification time not set");
  }
  // Step 1 (LAYOUTS §1.6.1).
  CRYPTA_ASSIGN_OR_RETURN(AttestationReport report, ParseAttestationReport(evidence.raw));
  // Step 2.
  SnpCertKind kind;
  CRYPTA_ASSIGN_OR_RETURN(Bytes leaf_bytes, FindLeafCollateral(report, evidence, options, &kind));
  // Step 3 (§1.6.2-3).
  CRYPTA_ASSIGN_OR_RETURN(auto leaf,
                          VerifyLeaf(leaf_bytes, kind, report, options.verification_time));
  if (auto cpuid = report.CpuidProduct(); cpuid && *cpuid != leaf->product) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "report CPUID (0x188) says " + std::string(SnpProductName(*cpuid)) +
                         " but the " + std::string(SnpCertKindName(kind)) + " is for " +
                         std::string(SnpProductName(leaf->product)));
  }
  // Revocation: checked only when the AMD CRL is supplied (a missing CRL is reported).
  Revocation revocation = Revocation::kAbsent;
  if (const Bytes* crl = FindItem(evidence, options, "crl")) {
    const SnpProductRoots* roots = roots_.Find(leaf->product);
    if (!roots) return MakeError(ErrorCode::kUnauthenticated, "AMD CRL: no trust roots");
    CRYPTA_RETURN_IF_ERROR(CheckAmdCrl(*crl, *roots, kind, options.verification_time));
    revocation = Revocation::kChecked;
  }
  // Step 5 of §1.6: bind the certificate to the report.
  CRYPTA_RETURN_IF_ERROR(
      CheckReportedTcbMatchesCert(report.reported_tcb, leaf->ext, leaf->product, kind));
  if (kind == SnpCertKind::kVcek && !report.signer_info.mask_chip_key) {
    CRYPTA_RETURN_IF_ERROR(CheckHwIdMatchesChipId(leaf->ext, report.chip_id, leaf->product));
  }
  // Step 4 of §1.6: ECDSA P-384 with SHA-384 over 0x000..0x29F, R/S little-endian in
  // 72-byte fields (SNP ABI Table 139).
  Status sig =
      EcdsaVerify(leaf->key, HashAlg::kSha384, report.signed_bytes, report.signature,
                  {.format = EcdsaFormat::kRawLE, .component_size = kSignatureComponentSize});
  if (!sig) {
    return MakeError(ErrorCode::kUnauthenticated, "report signature does not verify with the " +
                                                      std::string(SnpCertKindName(kind)) + " (" +
                                                      sig.error().message() + ")");
  }
  // Step 6 of §1.6 (the report_data binding; the rest is the appraisal policy's).
  CRYPTA_RETURN_IF_ERROR(CheckReportData(report.report_data, options));
  Claims claims = SnpClaims(report, leaf->product, kind);
  claims.revocation = revocation;
  return MakeVerified(std::move(claims), evidence, options);
}

}  // namespace crypta::attest::snp
