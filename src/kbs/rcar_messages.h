// Parsing of the KBS attestation protocol's messages (Trustee's kbs_attestation_protocol.md,
// virtee/kbs-types; DESIGN.md §4.3) for RcarServer: protocol versions, TEE names, the
// attestation body in its three shapes, tee-pubkey algorithms and init-data. Pure functions
// over untrusted JSON; every error names the member.
//
// Attestation bodies accepted:
//   classic (0.1.x)      {"tee-pubkey": JWK, "tee-evidence": E}
//   runtime-data         {"runtime-data": {"nonce", "tee-pubkey", …}, "tee-evidence": E,
//                         "init-data"?: {"format", "body"}}
//   composite (0.4.x)    as runtime-data, with "tee-evidence": {"primary_evidence": E,
//                         "additional_evidence": "<JSON text of {tee: evidence}>"}
// What the primary evidence's report_data must bind (SHA-384(JCS(·)) zero-padded to 64):
//   classic              {"nonce": the session's nonce, "tee-pubkey"}
//   runtime-data         the "runtime-data" object as sent
//   composite            runtime-data (Trustee: {"tee-pubkey", "nonce"}) plus
//                        "additional-evidence": the member as sent
// and each additional evidence binds {"tee-pubkey", "nonce"} (Trustee 0.4.0's binding).
#ifndef CRYPTA_KBS_RCAR_MESSAGES_H_
#define CRYPTA_KBS_RCAR_MESSAGES_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attest/evidence.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::kbs {

// Accepts KBS protocol versions 0.1.0 through 0.4.x ("MAJOR.MINOR.PATCH"); otherwise
// kInvalidArgument naming the version and the supported range.
Status CheckProtocolVersion(std::string_view version);

// A TEE name of the protocol (kbs-types `Tee`: "snp", "tdx", "sgx", …) or crypta's own
// ("sim", "sev-snp"). kUnimplemented naming the TEE for those crypta knows but does not
// verify (azsnpvtpm, aztdxvtpm, se, csv, sev, cca, nvidia, sample, …); kInvalidArgument
// for names it does not know.
Result<attest::TeeType> ParseKbsTee(std::string_view name);

// Trustee's init-data: the configuration the host measured into the TEE at launch.
struct InitData {
  std::string format;  // e.g. "toml"
  std::string body;
};

struct AttestMessage {
  nlohmann::json tee_pubkey;    // a P-256 or RSA public JWK; its "alg" is supported
  bool classic = false;         // no runtime-data: the nonce is the session's
  std::string nonce;            // runtime-data.nonce (empty when classic)
  nlohmann::json runtime_data;  // runtime-data as sent (null when classic)
  nlohmann::json primary_evidence;
  bool composite = false;
  nlohmann::json additional_evidence;  // composite: the member as sent, "" when absent
  std::optional<InitData> init_data;
};

Result<AttestMessage> ParseAttestMessage(const nlohmann::json& request);

// What the primary evidence's report_data must bind (see the file comment); `session_nonce`
// is used for the classic body.
nlohmann::json PrimaryBinding(const AttestMessage& message, const std::string& session_nonce);
// What each additional evidence binds: {"tee-pubkey", "nonce"}.
nlohmann::json AdditionalBinding(const AttestMessage& message, const std::string& session_nonce);

// The additional evidences of a composite body as (TEE name, evidence) pairs; none for the
// other shapes. kInvalidArgument when the member is not a JSON object (or its text).
Result<std::vector<std::pair<std::string, nlohmann::json>>> AdditionalEvidence(
    const AttestMessage& message);

// Evidence bytes: JSON evidence (an object, or a string holding JSON text) as its text;
// any other string as base64url or base64 of a binary report.
Result<Bytes> EvidenceBytes(const nlohmann::json& field);

// The init-data digest (SHA-256, SHA-384 or SHA-512 of the body, by the length of the
// claim, zero-padded) must equal the evidence's host data (SNP HOST_DATA, TDX MRCONFIGID,
// SGX CONFIGID, sim host_data). kPermissionDenied naming both values otherwise.
Status CheckInitData(const InitData& init_data, const attest::Claims& claims);

}  // namespace crypta::kbs

#endif  // CRYPTA_KBS_RCAR_MESSAGES_H_
