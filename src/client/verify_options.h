// What a caller states about the service it will trust, in plain strings — the one
// translation into Expectations and ClientOptions that the CLI (`crypta attest service`,
// `crypta predict`) and the Python and Node.js SDKs all use, so each accepts the same values
// and refuses the same mistakes with the same messages.
//
// Contents, not paths: callers read files themselves (the CLI its --policy, --sim-root,
// --expect-ear, ... files; the SDKs accept either), so nothing here touches the file system
// except `data_dir`, whose sim/ca.pem is the platform's sim root.
#ifndef CRYPTA_CLIENT_VERIFY_OPTIONS_H_
#define CRYPTA_CLIENT_VERIFY_OPTIONS_H_

#include <string>
#include <vector>

#include "client/client.h"
#include "common/status.h"

namespace crypta::client {

struct VerifyOptions {
  std::vector<std::string> measurements;  // hex; any one matches
  std::vector<std::string> host_data;     // hex; empty = any
  std::string policy_text;                // appraisal policy, YAML or JSON (DESIGN.md §4.8)
  bool allow_simulated = false;
  bool allow_debug = false;
  bool allow_missing_revocation = false;
  std::string sim_root_pem;  // the platform's sim root; or:
  std::string data_dir;      // the control plane's data dir: <data_dir>/sim/ca.pem
  std::string ear_token;     // a platform EAR token vouching for the measurement ...
  std::string jwks_json;     // ... and the platform JWKS it verifies with
  // Reference values from the control plane (GET /v1/tenants/T/workloads/W/reference-values,
  // a JWT signed with the EAR key, verified with `jwks_json`): its measurements and host data
  // are expected, and the service must attest workload W.
  std::string reference_values_token;
  std::string model_digest;             // "sha256:<hex>" the service must serve
  std::string workload;                 // the workload name the service must attest
  std::string accept_tcb = "UpToDate";  // worst accepted TCB status (attest::ParseTcbStatus)
  int timeout_s = 60;                   // connect, read and write timeouts
  // https:// services: with `ca_bundle_pem` (the platform trust bundle) SVID-TLS whose
  // SPIFFE ID matches one of `spiffe_ids`; without it attested TLS judged like the evidence.
  std::string ca_bundle_pem;
  std::vector<std::string> spiffe_ids;
  std::string trust_domain = "crypta.local";
  std::string client_cert_pem;  // mTLS: chain (leaf first) ...
  std::string client_key_pem;   // ... and its private key
  // ClientOptions::chunked_request_bytes: requests this big or bigger go as chunked OHTTP.
  size_t chunked_request_bytes = 0;
  // The release transparency log (transparency.h): the control plane's URL, whose log must
  // hold the service's measurement and model digest. Its key: `log_key` (a signed-note
  // verifier key) or <data_dir>/release-log.vkey; an https:// log is reached with the CA file
  // `transparency_ca` or <data_dir>/tls/ca.pem. The remembered checkpoint is kept in
  // `transparency_state` (a path; "" = DefaultTransparencyStatePath). With
  // `transparency_tenant`, the release must be that tenant's.
  std::string transparency_url;
  std::string log_key;
  std::string transparency_ca;
  std::string transparency_state;
  std::string transparency_tenant;
};

// kInvalidArgument naming the option: a value that is not hex, an unknown TCB status, a
// policy that does not parse, an EAR token without JWKS (or the reverse), allow_simulated
// without a sim root, a client certificate without its key (or the reverse), transparency
// options without a log URL or a log URL without a log key.
Result<Expectations> BuildExpectations(const VerifyOptions& options);
Result<ClientOptions> BuildClientOptions(const VerifyOptions& options,
                                         const Expectations& expectations);

// Both, then VerifyService(url, ...).
Result<VerifiedService> VerifyService(const std::string& url, const VerifyOptions& options);

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_VERIFY_OPTIONS_H_
