#include "pki/svid_verify.h"

#include <openssl/x509v3.h>

namespace crypta::pki {
namespace {

Error Refuse(ErrorCode code, const Certificate& leaf, const std::string& why) {
  return Error(code, "SVID \"" + leaf.subject() + "\": " + why);
}

}  // namespace

Result<VerifiedSvid> VerifySvid(std::span<const Certificate> chain,
                                std::span<const Certificate> bundle, std::span<const Crl> crls,
                                const VerifyExpectations& expect) {
  if (chain.empty()) return MakeError(ErrorCode::kInvalidArgument, "SVID: empty chain");
  if (bundle.empty()) return MakeError(ErrorCode::kInvalidArgument, "SVID: empty trust bundle");
  if (expect.now <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "SVID: no verification time given");
  }
  CRYPTA_RETURN_IF_ERROR(ValidateTrustDomain(expect.trust_domain));
  for (const std::string& pattern : expect.allowed_ids) {
    CRYPTA_RETURN_IF_ERROR(ValidateSpiffePattern(pattern));
  }
  const Certificate& leaf = chain.front();

  // X509-SVID §4.1 / §4.3: a leaf SVID is not a CA and only signs.
  if (leaf.is_ca()) {
    return MakeError(Refuse(ErrorCode::kUnauthenticated, leaf,
                            "leaf has basicConstraints cA=TRUE (a CA certificate is not an SVID)"));
  }
  const uint32_t flags = X509_get_extension_flags(leaf.x509());
  const uint32_t key_usage = X509_get_key_usage(leaf.x509());
  if (!(flags & EXFLAG_KUSAGE) || !(key_usage & KU_DIGITAL_SIGNATURE) ||
      (key_usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))) {
    return MakeError(Refuse(ErrorCode::kUnauthenticated, leaf,
                            "keyUsage must have digitalSignature and neither keyCertSign nor "
                            "cRLSign"));
  }
  auto uris = leaf.SanUris();
  if (!uris) return MakeError(Refuse(ErrorCode::kUnauthenticated, leaf, uris.error().message()));
  if (uris->size() != 1) {
    return MakeError(Refuse(ErrorCode::kUnauthenticated, leaf,
                            "has " + std::to_string(uris->size()) +
                                " URI SANs, an SVID has exactly one (X509-SVID §2)"));
  }
  auto id = ParseSpiffeId(uris->front());
  if (!id) return MakeError(Refuse(ErrorCode::kUnauthenticated, leaf, id.error().message()));

  if (expect.require_crl) {
    // Only the leaf's issuer must publish one (the platform root signs no CRL); VerifyChain
    // then checks that CRL's signature, window and entries.
    bool found = false;
    for (const Crl& crl : crls) found = found || crl.issuer() == leaf.issuer();
    if (!found) {
      return MakeError(Refuse(ErrorCode::kUnauthenticated, leaf,
                              "no CRL from its issuer \"" + leaf.issuer() + "\" (required)"));
    }
  }
  ChainVerifyOptions options;
  options.max_depth = 4;
  auto verified = VerifyChain(leaf, chain.subspan(1), bundle, expect.now, crls, options);
  if (!verified) {
    return MakeError(Refuse(ErrorCode::kUnauthenticated, leaf, verified.error().message()));
  }

  const std::string uri = id->ToString();
  if (id->trust_domain != expect.trust_domain) {
    return MakeError(
        Refuse(ErrorCode::kPermissionDenied, leaf,
               "wrong trust domain: " + uri + " is not in \"" + expect.trust_domain + "\""));
  }
  if (!expect.allowed_ids.empty()) {
    bool allowed = false;
    for (const std::string& pattern : expect.allowed_ids) {
      if (MatchesSpiffePattern(uri, pattern)) {
        allowed = true;
        break;
      }
    }
    if (!allowed) {
      return MakeError(Refuse(ErrorCode::kPermissionDenied, leaf,
                              uri + " matches none of the " +
                                  std::to_string(expect.allowed_ids.size()) +
                                  " allowed SPIFFE ID patterns"));
    }
  }
  return VerifiedSvid{*std::move(id), uri, leaf};
}

Result<VerifiedSvid> VerifySvidEncoded(ByteSpan chain, std::string_view bundle_pem,
                                       std::span<const Bytes> crls,
                                       const VerifyExpectations& expect) {
  std::vector<Certificate> certs;
  auto one = Certificate::FromDer(chain);
  if (one) {
    certs.push_back(*one);
  } else {
    auto bundle = Certificate::ParsePemBundle(
        std::string_view(reinterpret_cast<const char*>(chain.data()), chain.size()));
    if (!bundle) return MakeError(bundle.error().WithContext("SVID chain"));
    certs = *std::move(bundle);
  }
  auto roots = Certificate::ParsePemBundle(bundle_pem);
  if (!roots) return MakeError(roots.error().WithContext("trust bundle"));
  std::vector<Crl> parsed_crls;
  for (const Bytes& crl : crls) {
    auto parsed = Crl::Parse(crl);
    if (!parsed) return MakeError(parsed.error().WithContext("CRL"));
    parsed_crls.push_back(*std::move(parsed));
  }
  return VerifySvid(certs, *roots, parsed_crls, expect);
}

}  // namespace crypta::pki
