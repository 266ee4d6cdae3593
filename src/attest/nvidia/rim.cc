// RimVerifier (rim.h): NVIDIA RIM XML-DSig verification with libxmlsec1 (OpenSSL engine)
// and the RIM payload reader. Every libxml2 / xmlsec1 include stays in this file: xmlsec's
// compile definitions (XMLSEC_NO_SIZE_T, ...) are private to crypta_attest.
#include "attest/nvidia/rim.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
// xmlsec.h first: it defines what the other xmlsec headers use.
// clang-format off
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/list.h>
#include <xmlsec/strings.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
// clang-format on

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/encoding.h"
#include "crypto/hash.h"

namespace crypta::attest::nvidia {
namespace {

// ISO/IEC 19770-2:2015 SWID namespace (the RIM's default namespace).
constexpr char kSwidNs[] = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
// Namespace of the Resource HashN attributes (NV HashFunctionNamespace; RFC 6931 §2.1.3
// names SHA-384 by this URI).
constexpr char kHashNs[] = "http://www.w3.org/2001/04/xmlenc#sha384";
// Cached verified RIMs per verifier; the cache is cleared when full.
constexpr size_t kRimCacheCapacity = 64;
// RIM index i compares with SPDM block i + 1; SPDM 1.1 §10.11 block indices are 1..0xFE.
constexpr uint32_t kMaxRimIndex = 0xFD;
constexpr uint32_t kMaxMeasurementSize = 64;

// ---------------------------------------------------------------------------------------
// libxml2 / xmlsec1 process state.

// The first xmlsec error of the current Verify call on this thread (xmlsec reports errors
// through one process-wide callback; messages feed our error text, never stderr).
thread_local std::string* t_xmlsec_error = nullptr;

void RecordXmlsecError(const char* /*file*/, int /*line*/, const char* func,
                       const char* /*error_object*/, const char* error_subject, int reason,
                       const char* msg) {
  if (t_xmlsec_error == nullptr || !t_xmlsec_error->empty()) return;
  std::string text;
  if (func != nullptr) text += func;
  if (error_subject != nullptr) text += std::string(text.empty() ? "" : " ") + error_subject;
  if (msg != nullptr && msg[0] != '\0') text += std::string(text.empty() ? "" : ": ") + msg;
  if (text.empty()) text = "reason " + std::to_string(reason);
  *t_xmlsec_error = text.substr(0, 300);
}

// libxml2's generic error sink (per thread in a threaded libxml2): silent.
void QuietXmlGenericError(void* /*ctx*/, const char* /*msg*/, ...) {}

struct XmlsecInit {
  bool ok = false;
  std::string error;
};

// xmlsec1 + its OpenSSL engine, once per process (xmlsec's documented init order:
// xmlInitParser, xmlSecInit, version check, crypto init). xmlSecOpenSSLAppInit is not
// called: it only serves key and certificate loading from files, which this code never
// asks xmlsec to do.
const XmlsecInit& InitXmlsecOnce() {
  static XmlsecInit state;
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    xmlThrDefSetGenericErrorFunc(nullptr, QuietXmlGenericError);
    if (xmlSecInit() < 0) {
      state.error = "xmlSecInit failed";
      return;
    }
    if (xmlSecCheckVersion() != 1) {
      state.error = "loaded libxmlsec1 is not ABI compatible with its headers";
      return;
    }
    if (xmlSecOpenSSLInit() < 0) {
      state.error = "xmlSecOpenSSLInit failed";
      return;
    }
    // After xmlSecInit and xmlSecOpenSSLInit: each installs its own (printing) callback.
    xmlSecErrorsSetCallback(RecordXmlsecError);
    state.ok = true;
  });
  return state;
}

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

struct ParserCtxtDeleter {
  void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};

struct XmlCharDeleter {
  void operator()(xmlChar* p) const { xmlFree(p); }
};
using XmlCharPtr = std::unique_ptr<xmlChar, XmlCharDeleter>;

struct DsigCtxDeleter {
  void operator()(xmlSecDSigCtx* ctx) const { xmlSecDSigCtxDestroy(ctx); }
};

struct KeyDeleter {
  void operator()(xmlSecKey* key) const { xmlSecKeyDestroy(key); }
};

struct ParseState {
  bool saw_doctype = false;
};

// SAX hook for <!DOCTYPE ...>: a RIM has no DTD, and a DTD is where entity expansion and
// external loading start, so the parse stops at the DOCTYPE's name, before its internal
// subset or external DTD is read.
void RefuseDoctype(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                   const xmlChar* /*system_id*/) {
  auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
  static_cast<ParseState*>(ctxt->_private)->saw_doctype = true;
  xmlStopParser(ctxt);
}

// Parses the document: no network (XML_PARSE_NONET), no DTD loading or validation, no
// entity substitution (none of XML_PARSE_NOENT / DTDLOAD / DTDATTR / HUGE), no DOCTYPE at
// all; whitespace is kept (the signature covers it).
Result<XmlDocPtr> ParseXml(ByteSpan xml) {
  std::unique_ptr<xmlParserCtxt, ParserCtxtDeleter> ctxt(xmlCreateMemoryParserCtxt(
      reinterpret_cast<const char*>(xml.data()), static_cast<int>(xml.size())));
  if (!ctxt || ctxt->sax == nullptr) {
    return MakeError(ErrorCode::kInternal, "RIM: cannot create an XML parser");
  }
  ParseState state;
  ctxt->_private = &state;
  xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  ctxt->sax->internalSubset = RefuseDoctype;
  ctxt->sax->externalSubset = RefuseDoctype;
  ctxt->sax->error = nullptr;
  ctxt->sax->warning = nullptr;
  ctxt->vctxt.error = nullptr;
  ctxt->vctxt.warning = nullptr;
  const int rc = xmlParseDocument(ctxt.get());
  XmlDocPtr doc(ctxt->myDoc);
  ctxt->myDoc = nullptr;
  if (state.saw_doctype) {
    return MakeError(ErrorCode::kInvalidArgument, "RIM: a DOCTYPE is not allowed");
  }
  if (rc != 0 || !ctxt->wellFormed || !doc) {
    const xmlError* err = xmlCtxtGetLastError(ctxt.get());
    std::string detail = err != nullptr && err->message != nullptr ? err->message : "";
    while (!detail.empty() && std::isspace(static_cast<unsigned char>(detail.back()))) {
      detail.pop_back();
    }
    return MakeError(
        ErrorCode::kInvalidArgument,
        "RIM: not well-formed XML" + (err != nullptr ? " (line " + std::to_string(err->line) +
                                                           ": " + detail.substr(0, 200) + ")"
                                                     : std::string()));
  }
  return doc;
}

// ---------------------------------------------------------------------------------------
// DOM helpers.

bool IsElement(const xmlNode* node, const char* name, const char* ns) {
  return node != nullptr && node->type == XML_ELEMENT_NODE &&
         xmlStrEqual(node->name, BAD_CAST name) && node->ns != nullptr &&
         xmlStrEqual(node->ns->href, BAD_CAST ns);
}

// The one child element `name` in `ns`; fails when absent or repeated.
Result<xmlNode*> OnlyChild(xmlNode* parent, const char* name, const char* ns,
                           std::string_view where) {
  xmlNode* found = nullptr;
  for (xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (!IsElement(c, name, ns)) continue;
    if (found != nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(where) + ": more than one " + name + " element");
    }
    found = c;
  }
  if (found == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(where) + ": no " + name + " element");
  }
  return found;
}

// An attribute's value; `ns` null means no namespace. nullopt when absent.
std::optional<std::string> Attribute(const xmlNode* node, const char* name,
                                     const char* ns = nullptr) {
  XmlCharPtr value(ns == nullptr ? xmlGetNoNsProp(node, BAD_CAST name)
                                 : xmlGetNsProp(node, BAD_CAST name, BAD_CAST ns));
  if (!value) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(value.get()));
}

Result<std::string> RequiredAttribute(const xmlNode* node, const char* name, std::string_view where,
                                      const char* ns = nullptr) {
  std::optional<std::string> value = Attribute(node, name, ns);
  if (!value) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(where) + ": no " + name + " attribute");
  }
  return std::move(*value);
}

// A decimal number without sign or leading '+', at most `max`.
Result<uint32_t> ParseDecimal(std::string_view text, uint32_t max, std::string_view what) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + ": not a decimal number: \"" +
                                                      std::string(text.substr(0, 16)) + "\"");
  }
  uint32_t value = 0;
  for (char c : text) value = value * 10 + static_cast<uint32_t>(c - '0');
  if (value > max) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + " " + std::string(text) +
                                                      " is above the limit " + std::to_string(max));
  }
  return value;
}

bool IsGroups(std::string_view text, size_t groups, size_t min_len, size_t max_len, bool hex) {
  size_t count = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    std::string_view group = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (group.size() < min_len || group.size() > max_len) return false;
    for (char c : group) {
      if (hex ? !std::isxdigit(static_cast<unsigned char>(c)) : !(c >= '0' && c <= '9')) {
        return false;
      }
    }
    ++count;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return groups == 0 ? count >= 2 : count == groups;
}

// LAYOUTS §5: a VBIOS version is "96.00.5E.00.01"; a driver version "545.00" or "550.90.07".
Result<std::string> RimKindFromVersion(std::string_view version) {
  if (IsGroups(version, 5, 2, 2, /*hex=*/true)) return std::string("vbios");
  if (IsGroups(version, 0, 1, 6, /*hex=*/false)) return std::string("driver");
  return MakeError(ErrorCode::kInvalidArgument, "RIM: Meta colloquialVersion \"" +
                                                    std::string(version.substr(0, 40)) +
                                                    "\" is neither a driver nor a VBIOS version");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// ---------------------------------------------------------------------------------------
// Signer certificates and the XML signature.

// ds:KeyInfo/ds:X509Data/ds:X509Certificate (XML-DSig 1.1 §4.5.4), in document order.
Result<std::vector<Certificate>> ReadKeyInfoCertificates(xmlNode* signature) {
  const char* ds = reinterpret_cast<const char*>(xmlSecDSigNs);
  CRYPTA_ASSIGN_OR_RETURN(xmlNode * key_info, OnlyChild(signature, "KeyInfo", ds, "RIM Signature"));
  CRYPTA_ASSIGN_OR_RETURN(xmlNode * x509_data, OnlyChild(key_info, "X509Data", ds, "RIM KeyInfo"));
  std::vector<Certificate> certs;
  for (xmlNode* c = x509_data->children; c != nullptr; c = c->next) {
    if (!IsElement(c, "X509Certificate", ds)) continue;
    if (certs.size() == kMaxRimCertificates) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "RIM X509Data: more than " + std::to_string(kMaxRimCertificates) + " certificates");
    }
    XmlCharPtr content(xmlNodeGetContent(c));
    std::string text = content ? reinterpret_cast<const char*>(content.get()) : "";
    std::erase_if(text,
                  [](char ch) { return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'; });
    const std::string where = "RIM X509Certificate " + std::to_string(certs.size() + 1);
    auto der = Base64Decode(text);
    if (!der) return MakeError(der.error().WithContext(where));
    auto cert = Certificate::FromDer(*der);
    if (!cert) return MakeError(cert.error().WithContext(where));
    certs.push_back(std::move(*cert));
  }
  if (certs.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "RIM X509Data: no X509Certificate");
  }
  return certs;
}

// XML-DSig core validation (XML-DSig 1.1 §3.2) of `signature` with `signer_key` only.
Status VerifyXmlSignature(xmlNode* signature, const PublicKey& signer_key) {
  std::string xmlsec_error;
  t_xmlsec_error = &xmlsec_error;
  struct ResetErrorSink {
    ~ResetErrorSink() {
      t_xmlsec_error = nullptr;
      ERR_clear_error();  // what xmlsec's OpenSSL calls left on this thread's queue
    }
  } reset;
  auto xmlsec_detail = [&xmlsec_error]() {
    return xmlsec_error.empty() ? std::string() : " (xmlsec: " + xmlsec_error + ")";
  };

  // No keys manager: the key is set below, so xmlsec never reads one from ds:KeyInfo.
  std::unique_ptr<xmlSecDSigCtx, DsigCtxDeleter> ctx(xmlSecDSigCtxCreate(nullptr));
  if (!ctx) return MakeError(ErrorCode::kInternal, "RIM: xmlSecDSigCtxCreate failed");
  ctx->flags = XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS | XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
  // Only URI="" (the whole document); no same-document IDs, local files or network.
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
  // SignedInfo: c14n then ECDSA-SHA384 (RFC 6931 §2.3.6); References: enveloped-signature,
  // c14n, SHA-384 (RFC 6931 §2.1.3). Nothing else (no XPath, XSLT, Base64, RSA, SHA-1).
  const xmlSecTransformId c14n[] = {xmlSecTransformInclC14N11Id, xmlSecTransformInclC14NId,
                                    xmlSecTransformExclC14NId};
  bool enabled = true;
  for (xmlSecTransformId id : c14n) {
    enabled = enabled && xmlSecDSigCtxEnableSignatureTransform(ctx.get(), id) >= 0 &&
              xmlSecDSigCtxEnableReferenceTransform(ctx.get(), id) >= 0;
  }
  enabled =
      enabled &&
      xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecOpenSSLTransformEcdsaSha384Id) >= 0 &&
      xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId) >= 0 &&
      xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecOpenSSLTransformSha384Id) >= 0;
  if (!enabled) {
    return MakeError(ErrorCode::kInternal,
                     "RIM: cannot restrict xmlsec transforms" + xmlsec_detail());
  }

  EVP_PKEY* pkey = signer_key.pkey();
  if (EVP_PKEY_up_ref(pkey) != 1) return MakeError(ErrorCode::kInternal, "RIM: EVP_PKEY_up_ref");
  xmlSecKeyDataPtr key_data = xmlSecOpenSSLEvpKeyAdopt(pkey);  // owns pkey from here on
  if (key_data == nullptr) {
    EVP_PKEY_free(pkey);
    return MakeError(ErrorCode::kUnauthenticated,
                     "RIM signer key is not usable for XML-DSig" + xmlsec_detail());
  }
  std::unique_ptr<xmlSecKey, KeyDeleter> key(xmlSecKeyCreate());
  if (!key || xmlSecKeySetValue(key.get(), key_data) < 0) {
    xmlSecKeyDataDestroy(key_data);
    return MakeError(ErrorCode::kInternal, "RIM: xmlSecKeySetValue failed");
  }
  ctx->signKey = key.release();  // the context destroys it

  if (xmlSecDSigCtxVerify(ctx.get(), signature) < 0) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "RIM XML signature cannot be processed" + xmlsec_detail());
  }
  // Exactly one Reference, to the whole document (XML-DSig 1.1 §4.4.3.2, URI="").
  xmlSecPtrListPtr refs = &ctx->signedInfoReferences;
  if (xmlSecPtrListGetSize(refs) != 1) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "RIM XML signature: expected one Reference, found " +
                         std::to_string(xmlSecPtrListGetSize(refs)));
  }
  auto* ref = static_cast<xmlSecDSigReferenceCtx*>(xmlSecPtrListGetItem(refs, 0));
  if (ref == nullptr || ref->uri == nullptr || ref->uri[0] != '\0') {
    return MakeError(ErrorCode::kUnauthenticated,
                     "RIM XML signature: the Reference must have URI=\"\" (the whole document)");
  }
  if (ref->status != xmlSecDSigStatusSucceeded) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "RIM XML signature does not verify: the reference digest does not match "
                     "the document (signed content changed)");
  }
  if (ctx->status != xmlSecDSigStatusSucceeded) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "RIM XML signature does not verify: the signature value does not verify "
                     "with the signer certificate's key" +
                         xmlsec_detail());
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------
// Payload (LAYOUTS §7; NV rim/__init__.py parse_measurements).

Result<RimMeasurement> ReadResource(const xmlNode* resource, size_t position) {
  const std::string where = "RIM Resource " + std::to_string(position);
  RimMeasurement m;
  CRYPTA_ASSIGN_OR_RETURN(std::string index, RequiredAttribute(resource, "index", where));
  CRYPTA_ASSIGN_OR_RETURN(m.index, ParseDecimal(index, kMaxRimIndex, where + " index"));
  const std::string at = "RIM index " + index;
  CRYPTA_ASSIGN_OR_RETURN(std::string active, RequiredAttribute(resource, "active", at));
  if (active == "True") {
    m.active = true;
  } else if (active != "False") {
    return MakeError(
        ErrorCode::kInvalidArgument,
        at + ": active must be \"True\" or \"False\", got \"" + active.substr(0, 16) + "\"");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string alternatives,
                          RequiredAttribute(resource, "alternatives", at));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t count,
                          ParseDecimal(alternatives, kMaxRimAlternatives, at + " alternatives"));
  if (count == 0) {
    return MakeError(ErrorCode::kInvalidArgument, at + ": alternatives is 0");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string size, RequiredAttribute(resource, "size", at));
  CRYPTA_ASSIGN_OR_RETURN(m.size, ParseDecimal(size, kMaxMeasurementSize, at + " size"));
  m.name = Attribute(resource, "name").value_or("");
  for (uint32_t i = 0; i < count; ++i) {
    const std::string attr = "Hash" + std::to_string(i);
    CRYPTA_ASSIGN_OR_RETURN(std::string hex,
                            RequiredAttribute(resource, attr.c_str(), at, kHashNs));
    auto value = HexDecode(hex);
    if (!value) return MakeError(value.error().WithContext(at + " " + attr));
    if (value->size() != m.size) {
      return MakeError(ErrorCode::kInvalidArgument,
                       at + " " + attr + ": " + std::to_string(value->size()) +
                           " bytes, size says " + std::to_string(m.size));
    }
    m.alternatives.push_back(std::move(*value));
  }
  return m;
}

Status ReadPayload(xmlNode* root, Rim& rim) {
  if (auto tag_id = Attribute(root, "tagId")) rim.tag_id = *tag_id;
  CRYPTA_ASSIGN_OR_RETURN(xmlNode * meta, OnlyChild(root, "Meta", kSwidNs, "RIM"));
  CRYPTA_ASSIGN_OR_RETURN(rim.version, RequiredAttribute(meta, "colloquialVersion", "RIM Meta"));
  if (rim.version.empty() || rim.version.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "RIM Meta: colloquialVersion is empty or too long");
  }
  CRYPTA_ASSIGN_OR_RETURN(rim.kind, RimKindFromVersion(rim.version));
  rim.product = Attribute(meta, "product").value_or("");
  CRYPTA_ASSIGN_OR_RETURN(xmlNode * payload, OnlyChild(root, "Payload", kSwidNs, "RIM"));
  size_t position = 0;
  for (xmlNode* c = payload->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;  // whitespace, comments
    ++position;
    if (!IsElement(c, "Resource", kSwidNs)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "RIM Payload: element " + std::to_string(position) + " is not a Resource");
    }
    if (rim.measurements.size() == kMaxRimMeasurements) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "RIM Payload: more than " + std::to_string(kMaxRimMeasurements) + " Resource elements");
    }
    CRYPTA_ASSIGN_OR_RETURN(RimMeasurement m, ReadResource(c, position));
    if (rim.Find(m.index) != nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "RIM Payload: more than one Resource with index " + std::to_string(m.index));
    }
    rim.measurements.push_back(std::move(m));
  }
  if (rim.measurements.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "RIM Payload: no measurements");
  }
  return OkStatus();
}

}  // namespace

const RimMeasurement* Rim::Find(uint32_t index) const {
  for (const RimMeasurement& m : measurements) {
    if (m.index == index) return &m;
  }
  return nullptr;
}

struct RimVerifier::Cache {
  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<const Rim>> entries;  // SHA-256(xml) -> verified RIM
};

RimVerifier::RimVerifier(Certificate rim_root)
    : rim_root_(std::move(rim_root)), cache_(std::make_shared<Cache>()) {}

size_t RimVerifier::cached_count() const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  return cache_->entries.size();
}

Result<Rim> RimVerifier::Verify(ByteSpan swidtag_xml, int64_t verification_time) const {
  if (swidtag_xml.size() > kMaxRimXmlSize) {
    return MakeError(ErrorCode::kResourceExhausted, "RIM: " + std::to_string(swidtag_xml.size()) +
                                                        " bytes, above the limit of " +
                                                        std::to_string(kMaxRimXmlSize));
  }
  const std::string key = ToString(Sha256(swidtag_xml));
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    auto it = cache_->entries.find(key);
    if (it != cache_->entries.end() && verification_time >= it->second->chain_not_before &&
        verification_time <= it->second->chain_not_after) {
      return *it->second;
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(Rim rim, VerifyUncached(swidtag_xml, verification_time));
  auto shared = std::make_shared<const Rim>(rim);
  std::lock_guard<std::mutex> lock(cache_->mu);
  if (cache_->entries.size() >= kRimCacheCapacity) cache_->entries.clear();
  cache_->entries[key] = std::move(shared);
  return rim;
}

Result<Rim> RimVerifier::VerifyUncached(ByteSpan swidtag_xml, int64_t verification_time) const {
  const XmlsecInit& init = InitXmlsecOnce();
  if (!init.ok) return MakeError(ErrorCode::kInternal, "RIM: " + init.error);
  xmlSetGenericErrorFunc(nullptr, QuietXmlGenericError);  // this thread's libxml2 sink
  if (swidtag_xml.empty()) return MakeError(ErrorCode::kInvalidArgument, "RIM: empty input");

  CRYPTA_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(swidtag_xml));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!IsElement(root, "SoftwareIdentity", kSwidNs)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "RIM: the root element is not a SWID 2015 SoftwareIdentity");
  }
  // The enveloped signature is a child of the root (LAYOUTS §7); its Reference URI=""
  // then covers every other node of the document, including all that ReadPayload reads.
  CRYPTA_ASSIGN_OR_RETURN(
      xmlNode * signature,
      OnlyChild(root, "Signature", reinterpret_cast<const char*>(xmlSecDSigNs), "RIM"));

  // Signer chain to the pinned RIM root only (the file's own root copy is just another
  // untrusted certificate, ignored by VerifyChain as self-signed).
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Certificate> certs, ReadKeyInfoCertificates(signature));
  const Certificate& signer = certs.front();
  if (signer.is_ca()) {
    return MakeError(ErrorCode::kUnauthenticated, "RIM signer chain: the first X509Certificate (" +
                                                      signer.subject() +
                                                      ") is a CA certificate, not a signer");
  }
  // RFC 5280 §4.2.1.3: when keyUsage is present it must allow digitalSignature.
  if ((X509_get_key_usage(signer.x509()) & KU_DIGITAL_SIGNATURE) == 0) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "RIM signer chain: the signer certificate's keyUsage excludes "
                     "digitalSignature");
  }
  std::vector<Certificate> intermediates(certs.begin() + 1, certs.end());
  const Certificate roots[] = {rim_root_};
  auto chain = VerifyChain(signer, intermediates, roots, verification_time);
  if (!chain) return MakeError(chain.error().WithContext("RIM signer chain"));
  CRYPTA_ASSIGN_OR_RETURN(PublicKey signer_key, signer.public_key());

  CRYPTA_RETURN_IF_ERROR(VerifyXmlSignature(signature, signer_key));

  Rim rim;
  CRYPTA_RETURN_IF_ERROR(ReadPayload(root, rim));
  rim.signer_not_after = signer.not_after();
  rim.chain_not_before = INT64_MIN;
  rim.chain_not_after = INT64_MAX;
  for (const Certificate& cert : chain->certificates) {
    rim.signer_chain.push_back(cert.subject());
    rim.chain_not_before = std::max(rim.chain_not_before, cert.not_before());
    rim.chain_not_after = std::min(rim.chain_not_after, cert.not_after());
  }
  return rim;
}

namespace internal {

Result<Rim> ReadRimUnverifiedForTesting(ByteSpan swidtag_xml) {
  if (swidtag_xml.empty() || swidtag_xml.size() > kMaxRimXmlSize) {
    return MakeError(ErrorCode::kInvalidArgument, "RIM: empty or oversized input");
  }
  if (!InitXmlsecOnce().ok) return MakeError(ErrorCode::kInternal, "RIM: xmlsec init failed");
  CRYPTA_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(swidtag_xml));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!IsElement(root, "SoftwareIdentity", kSwidNs)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "RIM: the root element is not a SWID 2015 SoftwareIdentity");
  }
  Rim rim;
  CRYPTA_RETURN_IF_ERROR(ReadPayload(root, rim));
  return rim;
}

}  // namespace internal

// ---------------------------------------------------------------------------------------
// Appraisal (LAYOUTS §8 rules 2-5).

Result<RimAppraisal> AppraiseMeasurements(const std::map<uint32_t, Bytes>& report_blocks,
                                          const Rim& driver, const Rim& vbios,
                                          std::string_view report_driver_version,
                                          std::string_view report_vbios_version) {
  if (driver.kind != "driver") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "RIM appraisal: the driver RIM is a \"" + driver.kind + "\" RIM");
  }
  if (vbios.kind != "vbios") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "RIM appraisal: the VBIOS RIM is a \"" + vbios.kind + "\" RIM");
  }
  // Rule 3: the golden set is the union of both RIMs' active entries, which must not overlap.
  size_t golden = 0;
  for (const RimMeasurement& m : driver.measurements) {
    if (!m.active) continue;
    ++golden;
    const RimMeasurement* other = vbios.Find(m.index);
    if (other != nullptr && other->active) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "driver and vbios RIM have measurement at the same index " + std::to_string(m.index));
    }
  }
  for (const RimMeasurement& m : vbios.measurements) golden += m.active ? 1 : 0;

  RimAppraisal out;
  // Rule 2: versions, case-insensitively (the RIM writes VBIOS hex upper-case).
  if (!EqualsIgnoreCase(driver.version, report_driver_version)) {
    out.problems.push_back("driver RIM version " + driver.version +
                           " does not match the report's driver version " +
                           std::string(report_driver_version));
  }
  if (!EqualsIgnoreCase(vbios.version, report_vbios_version)) {
    out.problems.push_back("VBIOS RIM version " + vbios.version +
                           " does not match the report's VBIOS version " +
                           std::string(report_vbios_version));
  }
  // Rule 4: more golden entries than runtime blocks fails as a whole.
  if (golden > report_blocks.size()) {
    out.problems.push_back("the RIMs have " + std::to_string(golden) +
                           " active measurements but the report has " +
                           std::to_string(report_blocks.size()) + " blocks");
  }
  // Rules 4-5: RIM index i against block i + 1; any alternative of the right size matches.
  auto appraise = [&report_blocks, &out](const Rim& rim, std::string_view label,
                                         std::vector<uint32_t>& failed) {
    std::vector<const RimMeasurement*> active;
    for (const RimMeasurement& m : rim.measurements) {
      if (m.active) active.push_back(&m);
    }
    std::sort(active.begin(), active.end(),
              [](const RimMeasurement* a, const RimMeasurement* b) { return a->index < b->index; });
    for (const RimMeasurement* m : active) {
      const uint32_t block = m->index + 1;
      const std::string prefix =
          std::string(label) + " RIM index " + std::to_string(m->index) + ": ";
      auto it = report_blocks.find(block);
      std::string failure;
      if (it == report_blocks.end()) {
        failure = "the report has no block " + std::to_string(block);
      } else if (it->second.size() != m->size) {
        failure = "the report's block " + std::to_string(block) + " has " +
                  std::to_string(it->second.size()) + " bytes, the RIM says " +
                  std::to_string(m->size);
      } else if (std::find(m->alternatives.begin(), m->alternatives.end(), it->second) ==
                 m->alternatives.end()) {
        failure = "no alternative matches the report's block " + std::to_string(block);
      }
      if (failure.empty()) continue;
      out.mismatches.push_back(prefix + failure);
      failed.push_back(m->index);
    }
  };
  appraise(driver, "driver", out.driver_mismatched_indices);
  appraise(vbios, "VBIOS", out.vbios_mismatched_indices);
  return out;
}

}  // namespace crypta::attest::nvidia
