// Clients enforce the release transparency log (issue 17; src/transparency): before trusting a
// service, the client asks the log for the release with the service's attested measurement
// and model digest, and accepts the service only when
//   1. the answer's checkpoint is signed by the pinned log key for the log's origin;
//   2. that checkpoint extends the last one this client remembers (its state file): a
//      smaller one is a rollback, a diverging one a fork — both refused;
//   3. the release is included in that checkpoint's tree (RFC 9162 inclusion proof);
//   4. the release's measurement and model digest are the attested ones (and its tenant the
//      expected one, when given).
// Then the checkpoint is remembered. Everything fetched is untrusted: the log's server is
// only a transport (GET /v1/transparency/prove on the control plane, src/api/README.md).
//
// Errors: kPermissionDenied "transparency: not published: …" / "rollback: …" / "fork: …" /
// "not in the log: …"; kUnauthenticated for a checkpoint the key does not verify;
// kInvalidArgument for bad options or a malformed answer; kUnavailable when the log cannot be
// reached. Thread-safe, except that concurrent checks sharing one state file may remember
// an older checkpoint than the newest they saw (never a wrong one).
#ifndef CRYPTA_CLIENT_TRANSPARENCY_H_
#define CRYPTA_CLIENT_TRANSPARENCY_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "transparency/checkpoint.h"
#include "transparency/release_entry.h"

namespace crypta::client {

struct TransparencyExpectation {
  std::string log_url;       // the control plane: "https://HOST:PORT" (or http:// when plain)
  std::string ca_cert_path;  // https: the platform CA (tls/ca.pem of its data dir)
  std::string verifier_key;  // the log's signed-note verifier key, pinned
  std::string origin;        // the checkpoint origin; "" = the verifier key's name
  std::string state_file;    // the remembered checkpoint; "" = DefaultTransparencyStatePath
  std::string tenant;        // when set, the release must be this tenant's
};

// What the check accepted.
struct PublishedRelease {
  transparency::IndexedRelease release;
  transparency::Checkpoint checkpoint;
  std::string state_file;  // where the checkpoint is remembered
};

// $XDG_STATE_HOME/crypta/transparency/<origin, made a file name>-<key id>.json, or under
// $HOME/.local/state when XDG_STATE_HOME is unset (kFailedPrecondition without either).
Result<std::string> DefaultTransparencyStatePath(const transparency::NoteVerifier& verifier);

// Steps 1–4 above for a service whose attestation showed `measurement` (lowercase hex) and
// `model_digest` ("sha256:<hex>"), then saves the state.
Result<PublishedRelease> CheckPublished(const TransparencyExpectation& expectation,
                                        std::string_view measurement,
                                        std::string_view model_digest);

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_TRANSPARENCY_H_
