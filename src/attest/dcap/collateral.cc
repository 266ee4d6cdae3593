// DCAP collateral verification: TCB Signing chain, signatures and freshness (LAYOUTS.md
// §2.8), and gathering of the named collateral items.
#include "attest/dcap/collateral.h"

#include <algorithm>
#include <string>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::attest::dcap {
namespace {

Error Invalid(std::string_view what, std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::string(what) + ": " + message);
}

Result<Crl> ParseCrlItem(ByteSpan data, std::string_view what) {
  auto crl = Crl::Parse(data);
  if (!crl) return MakeError(crl.error().WithContext(what));
  return crl;
}

// The dcap-qvl collateral JSON: fields as documented in LoadDcapCollateral.
struct QvlCollateral {
  std::optional<Bytes> pck_crl, root_ca_crl;
  std::optional<SignedJson> tcb_info, qe_identity;
  std::vector<Certificate> chain;
};

// One signed body of the collateral JSON (`key`, e.g. "tcb_info") and its hex signature
// (`sig_key`). Both absent gives nullopt (LoadDcapCollateral decides whether that is
// allowed); one without the other, an empty string, a body that is not a JSON object or
// a signature that is not 64 hex-encoded bytes is kInvalidArgument naming the field.
Result<std::optional<SignedJson>> QvlSignedBody(const nlohmann::json& j, const std::string& key,
                                                const std::string& sig_key) {
  constexpr std::string_view kWhat = "collateral_json";
  auto find_string = [&](const std::string& k) -> Result<const std::string*> {
    auto it = j.find(k);
    if (it == j.end()) return static_cast<const std::string*>(nullptr);
    if (!it->is_string()) return MakeError(Invalid(kWhat, k + " not a string"));
    return &it->get_ref<const std::string&>();
  };
  CRYPTA_ASSIGN_OR_RETURN(const std::string* body, find_string(key));
  CRYPTA_ASSIGN_OR_RETURN(const std::string* sig_hex, find_string(sig_key));
  if (body == nullptr && sig_hex == nullptr) return std::optional<SignedJson>();
  if (body == nullptr) {
    return MakeError(Invalid(kWhat, sig_key + " is present but " + key + " is missing"));
  }
  if (sig_hex == nullptr) {
    return MakeError(Invalid(kWhat, key + " is present but " + sig_key + " is missing"));
  }
  if (body->empty()) return MakeError(Invalid(kWhat, key + " is empty"));
  if (sig_hex->empty()) return MakeError(Invalid(kWhat, sig_key + " is empty"));
  // The body is the exact signed text; it must itself be a JSON object.
  JsonParseLimits limits;
  limits.max_bytes = kMaxCollateralJsonSize;
  limits.max_depth = 16;
  auto parsed = ParseJsonStrict(*body, limits);
  if (!parsed) {
    return MakeError(Invalid(kWhat, key + " is not valid JSON (" + parsed.error().message() + ")"));
  }
  if (!parsed->is_object()) return MakeError(Invalid(kWhat, key + " is not a JSON object"));
  auto sig = HexDecode(*sig_hex);
  if (!sig || sig->size() != 64) {
    return MakeError(Invalid(kWhat, sig_key + ": want 64 hex-encoded bytes"));
  }
  return std::optional<SignedJson>(SignedJson{*body, std::move(*sig)});
}

Result<QvlCollateral> ParseQvlCollateral(const Bytes& text) {
  constexpr std::string_view kWhat = "collateral_json";
  if (text.empty()) return MakeError(Invalid(kWhat, "empty"));
  JsonParseLimits limits;
  limits.max_bytes = kMaxCollateralJsonSize;
  limits.max_depth = 8;
  auto parsed = ParseJsonStrict(AsStringView(text), limits);
  if (!parsed) return MakeError(parsed.error().WithContext(kWhat));
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return MakeError(Invalid(kWhat, "not an object"));
  auto str = [&](const char* key) -> Result<std::optional<std::string>> {
    auto it = j.find(key);
    if (it == j.end()) return std::optional<std::string>();
    if (!it->is_string()) return MakeError(Invalid(kWhat, std::string(key) + " not a string"));
    return std::optional<std::string>(it->get<std::string>());
  };
  QvlCollateral out;
  for (auto [key, dest] :
       {std::pair{"pck_crl", &out.pck_crl}, std::pair{"root_ca_crl", &out.root_ca_crl}}) {
    CRYPTA_ASSIGN_OR_RETURN(auto hex, str(key));
    if (!hex) continue;
    if (hex->empty()) return MakeError(Invalid(kWhat, std::string(key) + " is empty"));
    auto der = HexDecode(*hex);
    if (!der) return MakeError(Invalid(kWhat, std::string(key) + " is not hex"));
    *dest = std::move(*der);
  }
  CRYPTA_ASSIGN_OR_RETURN(out.tcb_info, QvlSignedBody(j, "tcb_info", "tcb_info_signature"));
  CRYPTA_ASSIGN_OR_RETURN(out.qe_identity,
                          QvlSignedBody(j, "qe_identity", "qe_identity_signature"));
  for (const char* key :
       {"tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain"}) {
    CRYPTA_ASSIGN_OR_RETURN(auto pem, str(key));
    if (!pem) continue;
    auto certs = Certificate::ParsePemBundle(*pem);
    if (!certs) return MakeError(certs.error().WithContext(std::string(kWhat) + ": " + key));
    for (Certificate& c : *certs) out.chain.push_back(std::move(c));
  }
  return out;
}

// A PCS response body given as its own item ("tcb_info" / "qe_identity"), split into the
// signed text and signature; errors name the item.
Result<SignedJson> SplitPcsItem(const Bytes& item, const char* name, std::string_view member) {
  if (item.empty()) return MakeError(Invalid(name, "empty"));
  auto split = SplitSignedJson(AsStringView(item), member);
  if (!split) return MakeError(split.error().WithContext(name));
  return split;
}

// The item name for a message: printable ASCII as is, anything else as \xNN, at most 64.
std::string PrintableName(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < name.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (name.size() > 64) out += "...";
  return out;
}

}  // namespace

Status CheckFreshness(std::string_view what, int64_t issue_date, int64_t next_update,
                      int64_t time) {
  if (time > next_update) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     std::string(what) + " expired: nextUpdate " + FormatUnixTime(next_update) +
                         " is before the verification time " + FormatUnixTime(time));
  }
  if (time < issue_date) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     std::string(what) + " not yet valid: issueDate " + FormatUnixTime(issue_date) +
                         " is after the verification time " + FormatUnixTime(time));
  }
  return OkStatus();
}

Status VerifyCollateralSignature(std::string_view what, const SignedJson& signed_json,
                                 const DcapTrustRoots& roots, std::span<const Certificate> chain,
                                 int64_t time, std::span<const Crl> root_crls) {
  std::vector<const Certificate*> candidates;
  for (const Certificate& c : chain) {
    if (!c.is_ca()) candidates.push_back(&c);
  }
  for (const Certificate& c : roots.tcb_signing_certs) candidates.push_back(&c);
  std::optional<Error> last;
  std::optional<Error> sig_error;  // preferred: a signer that chained but did not verify
  for (const Certificate* signer : candidates) {
    auto verified = VerifyChain(*signer, {}, roots.roots, time, root_crls);
    if (!verified) {
      last = verified.error().WithContext(std::string(what) + ": TCB Signing chain");
      continue;
    }
    auto key = signer->public_key();
    if (!key) {
      last = key.error();
      continue;
    }
    if (EcdsaVerify(*key, HashAlg::kSha256, AsBytes(signed_json.body), signed_json.signature,
                    EcdsaOptions{EcdsaFormat::kRaw, 0})) {
      return OkStatus();
    }
    sig_error = Error(ErrorCode::kUnauthenticated,
                      std::string(what) + ": signature does not verify under the TCB Signing key");
  }
  if (sig_error) return MakeError(*sig_error);
  if (!last) {
    last = Error(ErrorCode::kUnauthenticated, std::string(what) + ": no TCB Signing certificate");
  }
  return MakeError(*last);
}

Status CheckDcapCollateralItemNames(const Collateral& collateral) {
  for (const auto& [name, bytes] : collateral.items) {
    if (std::find(kDcapCollateralItems.begin(), kDcapCollateralItems.end(), name) !=
        kDcapCollateralItems.end()) {
      continue;
    }
    std::string accepted;
    for (std::string_view known : kDcapCollateralItems) {
      if (!accepted.empty()) accepted += ", ";
      accepted += known;
    }
    return MakeError(ErrorCode::kInvalidArgument, "DCAP collateral: unknown item \"" +
                                                      PrintableName(name) +
                                                      "\" (accepted items: " + accepted + ")");
  }
  return OkStatus();
}

Result<DcapCollateral> LoadDcapCollateral(const CollateralLookup& find, const DcapTrustRoots& roots,
                                          int64_t time) {
  DcapCollateral out;
  QvlCollateral qvl;
  if (const Bytes* item = find("collateral_json")) {
    CRYPTA_ASSIGN_OR_RETURN(qvl, ParseQvlCollateral(*item));
    // A collateral JSON document carries both signed bodies (dcap-qvl always writes them),
    // unless a separate item supplies that body.
    for (auto [key, present] : {std::pair{"tcb_info", qvl.tcb_info.has_value()},
                                std::pair{"qe_identity", qvl.qe_identity.has_value()}}) {
      if (!present && find(key) == nullptr) {
        return MakeError(Invalid("collateral_json", std::string(key) + " is missing"));
      }
    }
  }
  std::vector<Certificate> chain = qvl.chain;
  if (const Bytes* item = find("tcb_signing_chain")) {
    auto certs = Certificate::ParsePemBundle(AsStringView(*item));
    if (!certs) return MakeError(certs.error().WithContext("tcb_signing_chain"));
    chain.insert(chain.begin(), certs->begin(), certs->end());
  }
  // CRLs.
  std::vector<Crl> root_crls;
  if (const Bytes* item = find("root_ca_crl")) {
    CRYPTA_ASSIGN_OR_RETURN(Crl crl, ParseCrlItem(*item, "root_ca_crl"));
    root_crls.push_back(crl);
  } else if (qvl.root_ca_crl) {
    CRYPTA_ASSIGN_OR_RETURN(Crl crl,
                            ParseCrlItem(*qvl.root_ca_crl, "collateral_json: root_ca_crl"));
    root_crls.push_back(crl);
  }
  out.has_root_ca_crl = !root_crls.empty();
  out.crls = root_crls;
  if (const Bytes* item = find("pck_crl")) {
    CRYPTA_ASSIGN_OR_RETURN(Crl crl, ParseCrlItem(*item, "pck_crl"));
    out.crls.push_back(crl);
    out.has_pck_crl = true;
  } else if (qvl.pck_crl) {
    CRYPTA_ASSIGN_OR_RETURN(Crl crl, ParseCrlItem(*qvl.pck_crl, "collateral_json: pck_crl"));
    out.crls.push_back(crl);
    out.has_pck_crl = true;
  }
  // TCB info.
  std::optional<SignedJson> tcb = qvl.tcb_info;
  if (const Bytes* item = find("tcb_info")) {
    CRYPTA_ASSIGN_OR_RETURN(tcb, SplitPcsItem(*item, "tcb_info", "tcbInfo"));
  }
  if (tcb) {
    CRYPTA_RETURN_IF_ERROR(
        VerifyCollateralSignature("TCB info", *tcb, roots, chain, time, root_crls));
    CRYPTA_ASSIGN_OR_RETURN(out.tcb_info, ParseTcbInfo(tcb->body));
    CRYPTA_RETURN_IF_ERROR(
        CheckFreshness("TCB info", out.tcb_info->issue_date, out.tcb_info->next_update, time));
  }
  // QE identity.
  std::optional<SignedJson> qe = qvl.qe_identity;
  if (const Bytes* item = find("qe_identity")) {
    CRYPTA_ASSIGN_OR_RETURN(qe, SplitPcsItem(*item, "qe_identity", "enclaveIdentity"));
  }
  if (qe) {
    CRYPTA_RETURN_IF_ERROR(
        VerifyCollateralSignature("QE identity", *qe, roots, chain, time, root_crls));
    CRYPTA_ASSIGN_OR_RETURN(out.qe_identity, ParseEnclaveIdentity(qe->body));
    CRYPTA_RETURN_IF_ERROR(CheckFreshness("QE identity", out.qe_identity->issue_date,
                                          out.qe_identity->next_update, time));
  }
  return out;
}

}  // namespace crypta::attest::dcap
