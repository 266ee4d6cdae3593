// DCAP quote signature checks (LAYOUTS.md §2.6 steps 1-4).
#include "attest/dcap/quote_verify.h"

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::attest::dcap {
namespace {

constexpr char kPckLeafCn[] = "Intel SGX PCK Certificate";

// The CN attribute of an RFC 2253 name ("" if none); names here have no escaped commas.
std::string CommonName(const std::string& dn) {
  size_t pos = 0;
  while (pos < dn.size()) {
    size_t end = dn.find(',', pos);
    if (end == std::string::npos) end = dn.size();
    std::string_view part(dn.data() + pos, end - pos);
    if (part.substr(0, 3) == "CN=") return std::string(part.substr(3));
    pos = end + 1;
  }
  return "";
}

Error Unauth(std::string message) { return Error(ErrorCode::kUnauthenticated, std::move(message)); }

Bytes CacheKey(const ParsedQuote& quote, const QuoteCryptoOptions& options) {
  Hasher h(HashAlg::kSha256);
  h.Update(quote.cert_data);
  for (const Crl& crl : options.crls) {
    h.Update(Sha256(crl.der()));
  }
  const uint8_t flag = options.require_crls ? 1 : 0;
  h.Update(ByteSpan(&flag, 1));
  return h.Finish();
}

}  // namespace

std::optional<PckChainInfo> PckChainCache::Lookup(const Bytes& key, int64_t time) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (time < it->second.not_before || time > it->second.not_after) return std::nullopt;
  return it->second.info;
}

void PckChainCache::Insert(const Bytes& key, PckChainInfo info, int64_t not_before,
                           int64_t not_after) {
  if (capacity_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= capacity_) entries_.clear();
  entries_.insert_or_assign(key, Entry{std::move(info), not_before, not_after});
}

std::optional<PublicKey> PckChainCache::LookupAttestationKey(const Bytes& xy) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(xy);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

void PckChainCache::InsertAttestationKey(const Bytes& xy, const PublicKey& key) {
  if (capacity_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (keys_.size() >= capacity_) keys_.clear();
  keys_.insert_or_assign(xy, key);
}

Result<PckChainInfo> VerifyPckChain(const ParsedQuote& quote, const DcapTrustRoots& roots,
                                    const QuoteCryptoOptions& options) {
  if (quote.cert_data_type != kCertDataPckChain) {
    return MakeError(ErrorCode::kUnimplemented,
                     "certification data type " + std::to_string(quote.cert_data_type) +
                         " cannot be verified offline (want 5, PCK certificate chain)");
  }
  Bytes key;
  if (options.cache != nullptr) {
    key = CacheKey(quote, options);
    if (auto hit = options.cache->Lookup(key, options.verification_time)) return *hit;
  }
  auto bundle = Certificate::ParsePemBundle(AsStringView(quote.cert_data));
  if (!bundle) return MakeError(bundle.error().WithContext("PCK certificate chain"));
  std::vector<Certificate> intermediates;
  std::optional<Certificate> leaf;
  for (Certificate& c : *bundle) {
    if (c.is_ca()) {
      intermediates.push_back(std::move(c));
    } else if (leaf) {
      return MakeError(Unauth("PCK certificate chain: more than one leaf certificate"));
    } else {
      leaf = std::move(c);
    }
  }
  if (!leaf) return MakeError(Unauth("PCK certificate chain: no leaf certificate"));
  if (CommonName(leaf->subject()) != kPckLeafCn) {
    return MakeError(Unauth("PCK certificate chain: leaf CN is \"" + CommonName(leaf->subject()) +
                            "\", want \"" + kPckLeafCn + "\""));
  }
  ChainVerifyOptions chain_options;
  chain_options.require_crls = options.require_crls;
  auto chain = VerifyChain(*leaf, intermediates, roots.roots, options.verification_time,
                           options.crls, chain_options);
  if (!chain) return MakeError(chain.error().WithContext("PCK chain"));
  auto leaf_key = leaf->public_key();
  if (!leaf_key || leaf_key->type() != KeyType::kEcP256) {
    return MakeError(Unauth("PCK certificate: key is not ECDSA P-256"));
  }
  PckChainInfo info{*leaf, *leaf_key, CommonName(leaf->issuer()), std::nullopt, ""};
  auto ext = ParsePckExtensions(*leaf);
  if (ext) {
    info.extensions = std::move(*ext);
  } else {
    info.extensions_error = ext.error().message();
  }
  if (options.cache != nullptr) {
    int64_t nb = INT64_MIN, na = INT64_MAX;
    for (const Certificate& c : chain->certificates) {
      nb = std::max(nb, c.not_before());
      na = std::min(na, c.not_after());
    }
    for (const Crl& crl : options.crls) {
      nb = std::max(nb, crl.this_update());
      if (crl.next_update()) na = std::min(na, *crl.next_update());
    }
    options.cache->Insert(key, info, nb, na);
  }
  return info;
}

Result<PckChainInfo> VerifyQuoteSignatures(const ParsedQuote& quote, const DcapTrustRoots& roots,
                                           const QuoteCryptoOptions& options) {
  if (!std::equal(quote.header.qe_vendor_id.begin(), quote.header.qe_vendor_id.end(),
                  kIntelQeVendorId.begin(), kIntelQeVendorId.end())) {
    return MakeError(Unauth("quote header: QE vendor id is not Intel's"));
  }
  // Step 1: PCK chain.
  CRYPTA_ASSIGN_OR_RETURN(PckChainInfo pck, VerifyPckChain(quote, roots, options));
  const EcdsaOptions raw{EcdsaFormat::kRaw, 0};
  // Step 2: QE report signed by the PCK key.
  if (!EcdsaVerify(pck.leaf_key, HashAlg::kSha256, quote.qe_report, quote.qe_report_signature,
                   raw)) {
    return MakeError(Unauth("QE report signature does not verify under the PCK key"));
  }
  // Step 3: QE report binds the attestation key and QE authentication data.
  const Bytes binding = Sha256(Concat(quote.attestation_key, quote.qe_auth_data));
  const Bytes& rd = quote.qe_report_body.report_data;
  if (!std::equal(binding.begin(), binding.end(), rd.begin()) ||
      !std::all_of(rd.begin() + 32, rd.end(), [](uint8_t b) { return b == 0; })) {
    return MakeError(Unauth(
        "QE report REPORTDATA does not equal SHA-256(attestation key || QE auth data) || 0^32"));
  }
  // Step 4: quote signed by the attestation key.
  std::optional<PublicKey> att_key;
  if (options.cache != nullptr)
    att_key = options.cache->LookupAttestationKey(quote.attestation_key);
  if (!att_key) {
    auto imported =
        PublicKey::FromEcCoordinates(KeyType::kEcP256, ByteSpan(quote.attestation_key).first(32),
                                     ByteSpan(quote.attestation_key).subspan(32));
    if (!imported) return MakeError(imported.error().WithContext("attestation public key"));
    att_key = *imported;
    if (options.cache != nullptr) {
      options.cache->InsertAttestationKey(quote.attestation_key, *att_key);
    }
  }
  if (!EcdsaVerify(*att_key, HashAlg::kSha256, quote.signed_data, quote.quote_signature, raw)) {
    return MakeError(Unauth("quote signature does not verify under the attestation key"));
  }
  return pck;
}

}  // namespace crypta::attest::dcap
