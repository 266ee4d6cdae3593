#include "attest/nitro/verifier.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "attest/nitro/aws_root.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::attest::nitro {
namespace {

Error Unauthenticated(std::string message) {
  return Error(ErrorCode::kUnauthenticated, std::move(message));
}

bool AllZero(const Bytes& b) {
  uint8_t acc = 0;
  for (uint8_t x : b) acc |= x;
  return acc == 0;
}

// The subject's first commonName as UTF-8, or "" when there is none.
std::string CommonName(const Certificate& cert) {
  const X509_NAME* name = X509_get_subject_name(cert.x509());
  const int index = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

// SHA-256 over the length-prefixed cabundle DERs: names one intermediate chain.
std::string CabundleKey(const NitroDocument& doc) {
  Hasher h(HashAlg::kSha256);
  for (const Bytes& der : doc.cabundle) {
    const uint8_t len[4] = {
        static_cast<uint8_t>(der.size() >> 24), static_cast<uint8_t>(der.size() >> 16),
        static_cast<uint8_t>(der.size() >> 8), static_cast<uint8_t>(der.size())};
    h.Update(len);
    h.Update(der);
  }
  return ToString(h.Finish());
}

// RFC 5280 §4.1.2.5: valid from notBefore to notAfter, both inclusive.
Status CheckLeafWindow(const Certificate& leaf, int64_t time) {
  const std::string what = "leaf certificate \"" + leaf.subject() + "\"";
  if (time < leaf.not_before()) {
    return MakeError(Unauthenticated(what + ": not yet valid (notBefore " +
                                     FormatUnixTime(leaf.not_before()) + ", verification time " +
                                     FormatUnixTime(time) + ")"));
  }
  if (time > leaf.not_after()) {
    return MakeError(Unauthenticated(what + ": expired (notAfter " +
                                     FormatUnixTime(leaf.not_after()) + ", verification time " +
                                     FormatUnixTime(time) + ")"));
  }
  return OkStatus();
}

// RFC 5280 §6.1.3 for the leaf against an issuer whose own path is already verified.
Status CheckLeafAgainstIssuer(const Certificate& leaf, const Certificate& issuer, int64_t time) {
  const std::string what = "leaf certificate \"" + leaf.subject() + "\"";
  // Issuer name = subject name, authority/subject key identifiers, keyUsage keyCertSign.
  const int issued = X509_check_issued(issuer.x509(), leaf.x509());
  if (issued != X509_V_OK) {
    return MakeError(Unauthenticated(what + ": not issued by cabundle's last certificate \"" +
                                     issuer.subject() + "\" (" +
                                     X509_verify_cert_error_string(issued) + ")"));
  }
  // LAYOUTS §5: every certificate is ecdsa-with-SHA384.
  if (leaf.signature_algorithm() != "ecdsa-with-SHA384") {
    return MakeError(Unauthenticated(what + ": signature algorithm " + leaf.signature_algorithm() +
                                     ", want ecdsa-with-SHA384"));
  }
  CRYPTA_ASSIGN_OR_RETURN(PublicKey issuer_key, issuer.public_key());
  const int ok = X509_verify(leaf.x509(), issuer_key.pkey());
  ERR_clear_error();
  if (ok != 1) {
    return MakeError(
        Unauthenticated(what + ": bad signature (issuer \"" + issuer.subject() + "\")"));
  }
  CRYPTA_RETURN_IF_ERROR(CheckLeafWindow(leaf, time));
  // §4.2: a critical extension OpenSSL does not process must make the path fail.
  if (X509_get_extension_flags(leaf.x509()) & EXFLAG_CRITICAL) {
    return MakeError(Unauthenticated(what + ": unhandled critical extension"));
  }
  return OkStatus();
}

}  // namespace

Result<std::shared_ptr<NitroVerifier>> NitroVerifier::CreatePinned(NitroVerifierOptions options) {
  CRYPTA_ASSIGN_OR_RETURN(Certificate root, LoadPinnedAwsNitroRoot());
  return std::shared_ptr<NitroVerifier>(new NitroVerifier({std::move(root)}, options));
}

Result<std::shared_ptr<NitroVerifier>> NitroVerifier::CreateWithRoots(
    std::vector<Certificate> roots, NitroVerifierOptions options) {
  if (roots.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "NitroVerifier: no trust roots");
  }
  for (size_t i = 0; i < roots.size(); ++i) {
    auto key = roots[i].public_key();
    if (!key) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "NitroVerifier: root " + std::to_string(i) + " \"" + roots[i].subject() +
                           "\": public key does not load (" + key.error().message() + ")");
    }
  }
  return std::shared_ptr<NitroVerifier>(new NitroVerifier(std::move(roots), options));
}

size_t NitroVerifier::cached_chain_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return issuer_cache_.size();
}

size_t NitroVerifier::cached_leaf_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leaf_cache_.size();
}

// cabundle[n-1] up to a pinned root (LAYOUTS §5). cabundle[0], the document's copy of the
// root, is passed as an untrusted intermediate, which VerifyChain drops (self-signed).
Result<std::shared_ptr<const NitroVerifier::VerifiedIssuer>> NitroVerifier::VerifyIssuer(
    const NitroDocument& doc, const std::string& key, int64_t time) const {
  if (options_.chain_cache_capacity > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = issuer_cache_.find(key);
    if (it != issuer_cache_.end() && time >= it->second->valid_from &&
        time <= it->second->valid_until) {
      return it->second;
    }
  }
  std::vector<Certificate> bundle;
  bundle.reserve(doc.cabundle.size());
  for (size_t i = 0; i < doc.cabundle.size(); ++i) {
    auto cert = Certificate::FromDer(doc.cabundle[i]);
    if (!cert) return MakeError(cert.error().WithContext("cabundle[" + std::to_string(i) + "]"));
    bundle.push_back(std::move(*cert));
  }
  const Certificate& issuer = bundle.back();
  if (!issuer.is_ca()) {
    return MakeError(Unauthenticated("cabundle[" + std::to_string(bundle.size() - 1) + "] \"" +
                                     issuer.subject() + "\" is not a CA"));
  }
  std::span<const Certificate> intermediates(bundle.data(), bundle.size() - 1);
  auto chain = VerifyChain(issuer, intermediates, roots_, time);
  if (!chain) return MakeError(chain.error().WithContext("certificate chain"));
  auto verified = std::make_shared<VerifiedIssuer>(
      VerifiedIssuer{issuer, {}, int64_t{0}, std::numeric_limits<int64_t>::max()});
  for (const Certificate& c : chain->certificates) {
    verified->subjects.push_back(c.subject());
    verified->valid_from = std::max(verified->valid_from, c.not_before());
    verified->valid_until = std::min(verified->valid_until, c.not_after());
  }
  if (options_.chain_cache_capacity > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    if (issuer_cache_.size() >= options_.chain_cache_capacity) issuer_cache_.clear();
    issuer_cache_[key] = verified;
  }
  return std::shared_ptr<const VerifiedIssuer>(std::move(verified));
}

Result<std::shared_ptr<const NitroVerifier::VerifiedLeaf>> NitroVerifier::VerifyLeaf(
    const NitroDocument& doc, int64_t time) const {
  const std::string chain_key = CabundleKey(doc);
  const std::string leaf_key = ToString(Sha256(doc.certificate)) + chain_key;
  if (options_.leaf_cache_capacity > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leaf_cache_.find(leaf_key);
    if (it != leaf_cache_.end() && time >= it->second->valid_from &&
        time <= it->second->valid_until) {
      return it->second;
    }
  }
  auto leaf = Certificate::FromDer(doc.certificate);
  if (!leaf) return MakeError(leaf.error().WithContext("certificate"));
  // The leaf's window first: it is the shortest (~3 h), so a stale document is named as
  // such rather than by whichever CA OpenSSL looks at first.
  CRYPTA_RETURN_IF_ERROR(CheckLeafWindow(*leaf, time));
  CRYPTA_ASSIGN_OR_RETURN(auto issuer, VerifyIssuer(doc, chain_key, time));
  CRYPTA_RETURN_IF_ERROR(CheckLeafAgainstIssuer(*leaf, issuer->issuer, time));
  CRYPTA_ASSIGN_OR_RETURN(PublicKey key, leaf->public_key());
  if (key.type() != KeyType::kEcP384) {
    return MakeError(Unauthenticated("leaf certificate key is " +
                                     std::string(KeyTypeName(key.type())) + ", want P-384"));
  }
  auto verified = std::make_shared<VerifiedLeaf>(
      VerifiedLeaf{key,
                   CommonName(*leaf),
                   {leaf->subject()},
                   std::max(issuer->valid_from, leaf->not_before()),
                   std::min(issuer->valid_until, leaf->not_after())});
  verified->subjects.insert(verified->subjects.end(), issuer->subjects.begin(),
                            issuer->subjects.end());
  if (options_.leaf_cache_capacity > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    if (leaf_cache_.size() >= options_.leaf_cache_capacity) leaf_cache_.clear();
    leaf_cache_[leaf_key] = verified;
  }
  return std::shared_ptr<const VerifiedLeaf>(std::move(verified));
}

Result<VerifiedEvidence> NitroVerifier::Verify(const Evidence& evidence,
                                               const VerifyOptions& options) const {
  if (evidence.tee != TeeType::kNitro) {
    return MakeError(ErrorCode::kInvalidArgument, "NitroVerifier: evidence is not nitro");
  }
  if (options.verification_time <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "verification time not set");
  }
  // Step 1: syntax (AWS "Syntactical validation").
  CRYPTA_ASSIGN_OR_RETURN(NitroDocument doc, ParseNitroDocument(evidence.raw));
  for (uint32_t index : {0u, 1u, 2u}) {
    if (!doc.FindPcr(index)) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "pcrs: PCR" + std::to_string(index) + " missing (PCR0..2 measure the enclave image)");
    }
  }
  // Step 2: the certificate chain to a pinned root.
  CRYPTA_ASSIGN_OR_RETURN(auto leaf, VerifyLeaf(doc, options.verification_time));
  // Step 3: the COSE signature over the received protected header and payload.
  Status sig = EcdsaVerify(leaf->key, HashAlg::kSha384, doc.SigStructure(), doc.signature,
                           {.format = EcdsaFormat::kRaw});
  if (!sig) {
    return MakeError(
        Unauthenticated("COSE signature does not verify with the leaf certificate's "
                        "key (" +
                        sig.error().message() + ")"));
  }
  // Step 4: the nonce binds the session (exact match, see the header).
  if (options.expected_report_data) {
    if (!doc.nonce) {
      return MakeError(
          Unauthenticated("nonce: the document has none, but report_data is "
                          "expected"));
    }
    if (!ConstantTimeEquals(*doc.nonce, *options.expected_report_data)) {
      return MakeError(Unauthenticated("nonce does not match the expected report_data"));
    }
  }
  return MakeVerified(NitroClaims(doc, leaf->common_name, leaf->subjects), evidence, options);
}

Claims NitroClaims(const NitroDocument& doc, const std::string& leaf_cn,
                   const std::vector<std::string>& subjects) {
  Claims c;
  c.tee = TeeType::kNitro;
  c.simulated = false;
  const Bytes* pcr0 = doc.FindPcr(0);
  if (pcr0) c.measurement = *pcr0;
  c.report_data = doc.nonce.value_or(Bytes());
  c.debug = false;
  for (uint32_t index : {0u, 1u, 2u}) {
    const Bytes* pcr = doc.FindPcr(index);
    if (!pcr || AllZero(*pcr)) c.debug = true;
  }
  // No TCB information exists for Nitro; AWS publishes no CRLs for this short-lived chain
  // (MANIFEST "Gaps"), so revocation is not applicable rather than absent.
  c.tcb_status = TcbStatus::kUnknown;
  c.revocation = Revocation::kNotApplicable;
  c.platform_id = ToBytes(doc.module_id);
  c.signer = "aws-nitro:" + leaf_cn;
  c.tcb = nlohmann::json::object();
  nlohmann::json pcrs = nlohmann::json::object();
  for (const auto& [index, value] : doc.pcrs) pcrs[std::to_string(index)] = HexEncode(value);
  auto hex_or_null = [](const std::optional<Bytes>& b) {
    return b ? nlohmann::json(HexEncode(*b)) : nlohmann::json(nullptr);
  };
  c.extra = {
      {"module_id", doc.module_id},
      {"timestamp_ms", doc.timestamp_ms},
      {"digest", doc.digest},
      {"pcrs", std::move(pcrs)},
      {"public_key", hex_or_null(doc.public_key)},
      {"user_data", hex_or_null(doc.user_data)},
      {"nonce", hex_or_null(doc.nonce)},
      {"certificate_chain", subjects},
  };
  return c;
}

}  // namespace crypta::attest::nitro
