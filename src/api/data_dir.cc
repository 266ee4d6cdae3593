#include "api/data_dir.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "api/deployments.h"
#include "api/models.h"
#include "attest/cca/verifier.h"
#include "attest/verifier_factory.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "deploy/sim_launch.h"
#include "kbs/rcar.h"
#include "kbs/root_key.h"
#include "kbs/schema.h"
#include "store/blob_store.h"

namespace crypta::api {
namespace {

constexpr size_t kMaxStateFileBytes = 1024 * 1024;

std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot create directory " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kFailedPrecondition, path + " is not a directory");
  }
  if ((st.st_mode & 077) != 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     path + " is accessible by group/other; run chmod 700 on it");
  }
  return {};
}

Result<std::string> ReadFile(const std::string& path, bool private_file) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  std::string out;
  Status status;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = MakeError(ErrorCode::kFailedPrecondition, path + " is not a regular file");
  } else if (private_file && (st.st_mode & 077) != 0) {
    status = MakeError(ErrorCode::kFailedPrecondition,
                       path + " is accessible by group/other; run chmod 600 on it");
  } else if (static_cast<size_t>(st.st_size) > kMaxStateFileBytes) {
    status = MakeError(ErrorCode::kResourceExhausted, path + " is larger than 1 MiB");
  } else {
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::read(fd, out.data() + done, out.size() - done);
      if (n <= 0) {
        status = MakeError(ErrorCode::kUnavailable, "cannot read " + path);
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  if (!status) return MakeError(status.error());
  return out;
}

// The sim CA of the control plane's data dir (its key: owner-only).
Result<attest::SimCa> LoadSimCa(const std::string& data_dir) {
  CRYPTA_ASSIGN_OR_RETURN(std::string ca_key_text,
                          ReadPrivateFile(Join(data_dir, "sim/ca.key.pem")));
  CRYPTA_ASSIGN_OR_RETURN(std::string ca_text, ReadPublicFile(Join(data_dir, "sim/ca.pem")));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey ca_key, PrivateKey::FromPem(ca_key_text));
  CRYPTA_ASSIGN_OR_RETURN(Certificate ca_cert, Certificate::FromPem(ca_text));
  return attest::SimCa{std::move(ca_key), std::move(ca_cert)};
}

// A sim node's simulated GPUs (deploy/sim_launch.h), issued once by the sim CA.
Status EnsureNodeSimGpus(const std::string& data_dir, const std::string& sim_dir,
                         const std::string& node, int64_t now) {
  const std::string last = Join(sim_dir, "gpu-" + std::to_string(deploy::kSimGpusPerNode - 1));
  if (Exists(last + ".key.pem")) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(attest::SimCa ca, LoadSimCa(data_dir));
  return deploy::EnsureSimGpus(sim_dir, ca, node, now - 60);
}

// NVIDIA's RIMs (nvidia/rims/*) and an OCSP bundle (nvidia/ocsp.json) kept in the data dir:
// hardware GPUs in RCAR are appraised against the RIMs of their versions (each RIM is
// verified to NVIDIA's pinned RIM root before use) and their chains checked against the
// bundle (attest/nvidia/reference_appraiser.h). Absent: GPUs are not appraised.
Status LoadNvidiaReferences(const std::string& data_dir, attest::VerifierConfig* config) {
  constexpr size_t kMaxRims = 256;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(Join(data_dir, "nvidia/rims"), ec)) {
    if (entry.is_regular_file()) names.push_back(entry.path().string());
  }
  if (names.size() > kMaxRims) {
    return MakeError(ErrorCode::kResourceExhausted,
                     Join(data_dir, "nvidia/rims") + ": more than 256 RIMs");
  }
  for (const std::string& name : names) {
    CRYPTA_ASSIGN_OR_RETURN(std::string text, ReadPublicFile(name));
    config->nvidia_rims.push_back(ToBytes(text));
  }
  const std::string ocsp = Join(data_dir, "nvidia/ocsp.json");
  if (Exists(ocsp)) {
    CRYPTA_ASSIGN_OR_RETURN(std::string text, ReadPublicFile(ocsp));
    config->nvidia_ocsp_bundle = ToBytes(text);
  }
  return OkStatus();
}

// Arm CCA has no vendor root: the operator trusts platforms by their CPAKs. With
// cca/trust-anchors.json (a CPAK as PEM or JWK, or a trust-anchor store) in the data dir,
// RCAR accepts CCA evidence from those platforms, appraised against
// cca/reference-values.json when present (attest/cca/verifier.h).
Status RegisterCcaVerifier(ControlPlaneState& state) {
  const std::string anchors_path = Join(state.data_dir, "cca/trust-anchors.json");
  if (!Exists(anchors_path)) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(std::string anchors_text, ReadPublicFile(anchors_path));
  attest::cca::CcaVerifierOptions options;
  Result<attest::cca::CcaTrustAnchors> anchors =
      attest::cca::CcaTrustAnchors::Parse(AsBytes(anchors_text));
  if (!anchors) return MakeError(anchors.error().WithContext(anchors_path));
  options.trust_anchors = std::move(*anchors);
  const std::string values_path = Join(state.data_dir, "cca/reference-values.json");
  if (Exists(values_path)) {
    CRYPTA_ASSIGN_OR_RETURN(std::string values_text, ReadPublicFile(values_path));
    auto values = attest::cca::CcaReferenceValues::ParseJson(values_text);
    if (!values) return MakeError(values.error().WithContext(values_path));
    options.reference_values = std::move(*values);
  }
  state.verifiers.Register(std::make_shared<attest::cca::CcaVerifier>(std::move(options)));
  return OkStatus();
}

// The sim CA and node: created together on first start, loaded afterwards.
Status LoadOrCreateSim(ControlPlaneState& state, int64_t now) {
  const std::string dir = Join(state.data_dir, "sim");
  CRYPTA_RETURN_IF_ERROR(MakeDir(dir));
  const std::string ca_key = Join(dir, "ca.key.pem"), ca_pem = Join(dir, "ca.pem");
  const std::string node_key = Join(dir, "node.key.pem"), node_pem = Join(dir, "node.pem");
  if (!Exists(ca_key)) {
    CRYPTA_ASSIGN_OR_RETURN(attest::SimCa ca, attest::CreateSimRootCa(now - 60));
    CRYPTA_ASSIGN_OR_RETURN(attest::SimNodeIdentity node,
                            attest::IssueSimNode(ca, kSimNodeId, now - 60));
    CRYPTA_ASSIGN_OR_RETURN(std::string ca_key_text, ca.key.ToPkcs8Pem());
    CRYPTA_ASSIGN_OR_RETURN(std::string node_key_text, node.key.ToPkcs8Pem());
    CRYPTA_RETURN_IF_ERROR(WriteNewFile(ca_pem, ca.cert.ToPem(), 0644));
    CRYPTA_RETURN_IF_ERROR(WriteNewFile(node_pem, CertificatesToPem(node.chain), 0644));
    CRYPTA_RETURN_IF_ERROR(WriteNewFile(node_key, node_key_text, 0600));
    // The CA key last: its presence marks the sim directory as complete.
    CRYPTA_RETURN_IF_ERROR(WriteNewFile(ca_key, ca_key_text, 0600));
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string root_text, ReadPublicFile(ca_pem));
  CRYPTA_ASSIGN_OR_RETURN(Certificate root, Certificate::FromPem(root_text));
  CRYPTA_RETURN_IF_ERROR(EnsureNodeSimGpus(state.data_dir, dir, kSimNodeId, now));
  CRYPTA_ASSIGN_OR_RETURN(std::string chain_text, ReadPublicFile(node_pem));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Certificate> chain, Certificate::ParsePemBundle(chain_text));
  CRYPTA_ASSIGN_OR_RETURN(std::string key_text, ReadPrivateFile(node_key));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPem(key_text));
  state.sim_node = attest::SimNodeIdentity{kSimNodeId, std::move(key), std::move(chain)};
  state.verifiers.Register(std::make_shared<attest::SimVerifier>(root));
  // Hardware evidence, against the vendors' pinned roots (AMD ARK/ASK, Intel SGX root CA,
  // AWS Nitro root, NVIDIA device identity CA). GPUs may also be the sim TEE's simulated
  // ones (always labelled simulated). CCA: the operator's trust anchors, when configured.
  for (attest::TeeType tee :
       {attest::TeeType::kSevSnp, attest::TeeType::kTdx, attest::TeeType::kSgx,
        attest::TeeType::kNitro, attest::TeeType::kNvidiaGpu}) {
    attest::VerifierConfig config;
    if (tee == attest::TeeType::kNvidiaGpu) {
      config.sim_root_pem = root_text;
      CRYPTA_RETURN_IF_ERROR(LoadNvidiaReferences(state.data_dir, &config));
    }
    CRYPTA_ASSIGN_OR_RETURN(auto verifier, attest::MakeVerifier(tee, config));
    state.verifiers.Register(std::move(verifier));
  }
  CRYPTA_RETURN_IF_ERROR(RegisterCcaVerifier(state));
  return {};
}

// Retired EAR keys: "<retired-unix>-<kid>.pub.pem" under ear-keys/, oldest first.
Result<std::vector<ControlPlaneState::RetiredEarKey>> LoadRetiredEarKeys(
    const std::string& data_dir, const std::string& current_kid) {
  const std::string dir = Join(data_dir, kEarArchiveDir);
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<ControlPlaneState::RetiredEarKey> out;
  for (const std::string& name : names) {
    const size_t dash = name.find('-');
    const std::string suffix = ".pub.pem";
    if (dash == 0 || dash == std::string::npos || dash > 18 ||
        name.size() <= dash + 1 + suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        name.find_first_not_of("0123456789") != dash) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       dir + "/" + name + " is not an archived EAR key (<unix>-<kid>.pub.pem)");
    }
    const std::string kid = name.substr(dash + 1, name.size() - dash - 1 - suffix.size());
    if (kid == current_kid) continue;  // archived by an interrupted rotation
    CRYPTA_ASSIGN_OR_RETURN(std::string pem, ReadPublicFile(Join(dir, name)));
    CRYPTA_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromPem(pem));
    out.push_back({kid, std::move(pub), std::stoll(name.substr(0, dash))});
  }
  return out;
}

Status LoadOrCreateEarKey(ControlPlaneState& state) {
  const std::string path = Join(state.data_dir, kEarKeyFileName);
  if (!Exists(path)) {
    CRYPTA_ASSIGN_OR_RETURN(PrivateKey fresh, PrivateKey::Generate(KeyType::kEcP256));
    CRYPTA_ASSIGN_OR_RETURN(std::string pem, fresh.ToPkcs8Pem());
    CRYPTA_RETURN_IF_ERROR(WriteNewFile(path, pem, 0600));
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string pem, ReadPrivateFile(path));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPem(pem));
  if (key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kFailedPrecondition, path + " is not an EC P-256 key");
  }
  CRYPTA_ASSIGN_OR_RETURN(state.ear_kid, JwkThumbprint(key.GetPublicKey()));
  state.ear_key = std::move(key);
  CRYPTA_ASSIGN_OR_RETURN(state.retired_ear_keys,
                          LoadRetiredEarKeys(state.data_dir, state.ear_kid));
  return {};
}

}  // namespace

Result<std::string> EnsureLocalNode(const std::string& data_dir, const std::string& node,
                                    int64_t now) {
  const std::string dir = Join(Join(data_dir, "nodes"), node);
  CRYPTA_RETURN_IF_ERROR(MakeDir(Join(data_dir, "nodes")));
  CRYPTA_RETURN_IF_ERROR(MakeDir(dir));
  CRYPTA_RETURN_IF_ERROR(MakeDir(Join(dir, "sim")));
  const std::string key_path = Join(dir, "sim/node.key.pem"),
                    chain_path = Join(dir, "sim/node.pem");
  CRYPTA_RETURN_IF_ERROR(EnsureNodeSimGpus(data_dir, Join(dir, "sim"), node, now));
  if (Exists(key_path)) return dir;
  CRYPTA_ASSIGN_OR_RETURN(attest::SimCa ca, LoadSimCa(data_dir));
  CRYPTA_ASSIGN_OR_RETURN(attest::SimNodeIdentity identity,
                          attest::IssueSimNode(ca, node, now - 60));
  const std::string chain = CertificatesToPem(identity.chain);
  CRYPTA_ASSIGN_OR_RETURN(std::string key_text, identity.key.ToPkcs8Pem());
  // The chain first, the key last: the key's presence marks the identity as complete.
  CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(chain_path, AsBytes(chain), 0644, /*overwrite=*/true));
  CRYPTA_RETURN_IF_ERROR(WriteNewFile(key_path, key_text, 0600));
  return dir;
}

namespace {

constexpr std::string_view kEarWrapLabel = "crypta ear key wrap v1";
constexpr std::string_view kReleaseLogKeyLabel = "crypta release log key v1";

// key-release policies' require_published (KeyBrokerOptions::published_check): the attested
// measurement is a release of `tenant`, with the model's digest when the object is a model.
Status CheckPublished(ControlPlaneState& state, const std::string& tenant, const std::string& key,
                      const std::string& object_id, const attest::Claims& claims) {
  std::string digest;
  if (!object_id.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(std::optional<ModelRecord> model,
                            FindModelByObject(*state.db, tenant, key, object_id));
    if (model) digest = "sha256:" + model->digest;
  }
  const std::string measurement = HexEncode(claims.measurement);
  CRYPTA_ASSIGN_OR_RETURN(std::optional<uint64_t> index,
                          state.releases->FindRelease(tenant, measurement, digest));
  if (!index) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        "measurement " + measurement + (digest.empty() ? "" : " with model " + digest) +
            " is not published in " +
            (tenant.empty() ? "the release log" : "tenant " + tenant + "'s release log"));
  }
  return OkStatus();
}

// The release log and its key (derived from the root key, so replicas agree), and the
// verifier key clients pin, written to <data-dir>/release-log.vkey.
Status OpenReleaseLog(ControlPlaneState& state, ByteSpan root_key) {
  CRYPTA_ASSIGN_OR_RETURN(state.releases, transparency::ReleaseLog::Open(state.db));
  Bytes seed = Hmac(HashAlg::kSha256, root_key, AsBytes(kReleaseLogKeyLabel));
  Result<PrivateKey> derived = PrivateKey::FromRaw(KeyType::kEd25519, seed);
  SecureWipe(seed);
  if (!derived) return MakeError(derived.error().WithContext("release log key"));
  PrivateKey key = std::move(*derived);
  state.log_origin = state.pki->trust_domain() + "/releases";
  CRYPTA_ASSIGN_OR_RETURN(state.log_verifier_key,
                          transparency::VerifierKeyString(state.log_origin, key.GetPublicKey()));
  state.log_key.emplace(std::move(key));
  const std::string text = state.log_verifier_key + "\n";
  return WriteFileAtomic(Join(state.data_dir, kReleaseLogKeyFileName), AsBytes(text), 0644,
                         /*overwrite=*/true);
}

Status CreateEarKeyTable(store::Database& db) {
  return db.Exec(
      "CREATE TABLE IF NOT EXISTS ear_keys (kid TEXT PRIMARY KEY, private_wrapped BLOB NOT NULL, "
      "public_pem TEXT NOT NULL, created INTEGER NOT NULL, retired_at INTEGER)");
}

// AES-256-GCM under the EAR wrap key; the kid is the AAD, so rows cannot be swapped.
Status InsertEarKey(ControlPlaneState& state, const PrivateKey& key, const std::string& kid,
                    int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(std::string pem, key.ToPkcs8Pem());
  CRYPTA_ASSIGN_OR_RETURN(std::string public_pem, key.GetPublicKey().ToPem());
  CRYPTA_ASSIGN_OR_RETURN(Aead aead,
                          Aead::Create(AeadAlg::kAes256Gcm, state.ear_wrap_key->Reveal()));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kAeadNonceSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed, aead.Seal(nonce, AsBytes(kid), AsBytes(pem)));
  nonce.insert(nonce.end(), sealed.begin(), sealed.end());
  CRYPTA_ASSIGN_OR_RETURN(auto insert,
                          state.db->Prepare("INSERT INTO ear_keys (kid, private_wrapped, "
                                            "public_pem, created) VALUES (?, ?, ?, ?)"));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(1, kid));
  CRYPTA_RETURN_IF_ERROR(insert.BindBlob(2, nonce));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(3, public_pem));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(4, now));
  return insert.Run();
}

// The store's EAR keys into `state`: the current one (unwrapped) and the retired ones. An
// empty table is seeded with the data dir's key (the first replica's ear-signing.pem).
Result<bool> SyncEarKeys(ControlPlaneState& state, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(auto read, state.db->Prepare("SELECT kid, private_wrapped, public_pem, "
                                                       "retired_at FROM ear_keys ORDER BY "
                                                       "created, kid"));
  std::optional<std::pair<std::string, Bytes>> current;
  std::vector<ControlPlaneState::RetiredEarKey> retired;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    if (read.ColumnIsNull(3)) {
      current.emplace(read.ColumnText(0), read.ColumnBlob(1));
    } else {
      CRYPTA_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromPem(read.ColumnText(2)));
      retired.push_back({read.ColumnText(0), std::move(key), read.ColumnInt(3)});
    }
  }
  if (!current) {
    if (!retired.empty()) {
      return MakeError(ErrorCode::kDataLoss, "the store's ear_keys table has no current key");
    }
    CRYPTA_RETURN_IF_ERROR(InsertEarKey(state, *state.ear_key, state.ear_kid, now));
    state.retired_ear_keys.clear();
    return false;
  }
  const bool changed = current->first != state.ear_kid;
  if (changed) {
    const Bytes& wrapped = current->second;
    if (wrapped.size() < kAeadNonceSize + kAeadTagSize) {
      return MakeError(ErrorCode::kDataLoss,
                       "ear_keys: wrapped key " + current->first + " is truncated");
    }
    CRYPTA_ASSIGN_OR_RETURN(Aead aead,
                            Aead::Create(AeadAlg::kAes256Gcm, state.ear_wrap_key->Reveal()));
    auto pem =
        aead.Open(ByteSpan(wrapped.data(), kAeadNonceSize), AsBytes(current->first),
                  ByteSpan(wrapped.data() + kAeadNonceSize, wrapped.size() - kAeadNonceSize));
    if (!pem) {
      return MakeError(ErrorCode::kDataLoss,
                       "ear_keys: key " + current->first + " does not unwrap with this root key");
    }
    CRYPTA_ASSIGN_OR_RETURN(PrivateKey key,
                            PrivateKey::FromPem(std::string(pem->begin(), pem->end())));
    CRYPTA_ASSIGN_OR_RETURN(std::string kid, JwkThumbprint(key.GetPublicKey()));
    if (kid != current->first) {
      return MakeError(ErrorCode::kDataLoss,
                       "ear_keys: key " + current->first + " has thumbprint " + kid);
    }
    state.ear_key = std::move(key);
    state.ear_kid = std::move(kid);
  }
  state.retired_ear_keys = std::move(retired);
  return changed;
}

}  // namespace

Result<bool> RefreshEarKeys(ControlPlaneState& state) {
  if (!state.shared_store) return false;
  return SyncEarKeys(state, UnixNow());
}

Status RotateEarKey(ControlPlaneState& state, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey fresh, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_RETURN(std::string fresh_kid, JwkThumbprint(fresh.GetPublicKey()));
  if (state.shared_store) {
    CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*state.db));
    CRYPTA_RETURN_IF_ERROR(SyncEarKeys(state, now));  // the current key may be another's
    CRYPTA_ASSIGN_OR_RETURN(auto retire,
                            state.db->Prepare("UPDATE ear_keys SET retired_at = ? WHERE kid = ?"));
    CRYPTA_RETURN_IF_ERROR(retire.Bind(1, now));
    CRYPTA_RETURN_IF_ERROR(retire.Bind(2, state.ear_kid));
    CRYPTA_RETURN_IF_ERROR(retire.Run());
    CRYPTA_RETURN_IF_ERROR(InsertEarKey(state, fresh, fresh_kid, now));
    CRYPTA_RETURN_IF_ERROR(tx.Commit());
    state.retired_ear_keys.push_back({state.ear_kid, state.ear_key->GetPublicKey(), now});
    state.ear_key = std::move(fresh);
    state.ear_kid = std::move(fresh_kid);
    return {};
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string fresh_pem, fresh.ToPkcs8Pem());
  const PublicKey old = state.ear_key->GetPublicKey();
  CRYPTA_ASSIGN_OR_RETURN(std::string old_pem, old.ToPem());
  const std::string dir = Join(state.data_dir, kEarArchiveDir);
  CRYPTA_RETURN_IF_ERROR(MakeDir(dir));
  CRYPTA_RETURN_IF_ERROR(WriteNewFile(
      Join(dir, std::to_string(now) + "-" + state.ear_kid + ".pub.pem"), old_pem, 0644));
  CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(Join(state.data_dir, kEarKeyFileName), AsBytes(fresh_pem),
                                         0600, /*overwrite=*/true));
  state.retired_ear_keys.push_back({state.ear_kid, old, now});
  state.ear_key = std::move(fresh);
  state.ear_kid = std::move(fresh_kid);
  return {};
}

Result<std::map<std::string, PublicKey>> LoadEarVerificationKeys(const std::string& data_dir,
                                                                 store::Database* db) {
  CRYPTA_ASSIGN_OR_RETURN(std::string pem, ReadPrivateFile(Join(data_dir, kEarKeyFileName)));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPem(pem));
  CRYPTA_ASSIGN_OR_RETURN(std::string kid, JwkThumbprint(key.GetPublicKey()));
  CRYPTA_ASSIGN_OR_RETURN(auto retired, LoadRetiredEarKeys(data_dir, kid));
  std::map<std::string, PublicKey> keys;
  for (auto& r : retired) keys.emplace(r.kid, std::move(r.key));
  keys.emplace(kid, key.GetPublicKey());
  CRYPTA_ASSIGN_OR_RETURN(bool shared_keys,
                          db ? db->HasColumn("ear_keys", "public_pem") : Result<bool>(false));
  if (shared_keys) {
    CRYPTA_ASSIGN_OR_RETURN(auto read, db->Prepare("SELECT kid, public_pem FROM ear_keys"));
    while (true) {
      CRYPTA_ASSIGN_OR_RETURN(bool row, read.Step());
      if (!row) break;
      CRYPTA_ASSIGN_OR_RETURN(PublicKey stored, PublicKey::FromPem(read.ColumnText(1)));
      keys.emplace(read.ColumnText(0), std::move(stored));
    }
  }
  return keys;
}

Result<TlsServerIdentity> IssueTlsServerIdentity(const ControlPlaneState& state,
                                                 const std::vector<std::string>& names) {
  std::vector<std::string> dns = {"localhost"}, ips = {"127.0.0.1", "::1"};
  for (const std::string& name : names) {
    if (name.empty() || name == "0.0.0.0" || name == "::") continue;  // wildcard binds
    in6_addr addr6;
    in_addr addr4;
    const bool is_ip = ::inet_pton(AF_INET, name.c_str(), &addr4) == 1 ||
                       ::inet_pton(AF_INET6, name.c_str(), &addr6) == 1;
    auto& list = is_ip ? ips : dns;
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  }
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_RETURN(
      std::vector<Certificate> chain,
      state.pki->IssueServerCertificate(key.GetPublicKey(), dns, ips, 90ll * 86400));
  CRYPTA_ASSIGN_OR_RETURN(std::string bundle, state.pki->TrustBundle());
  // What clients pin: the platform's trust bundle (every live root), rewritten at each start.
  CRYPTA_RETURN_IF_ERROR(MakeDir(Join(state.data_dir, "tls")));
  CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(Join(state.data_dir, "tls/ca.pem"), AsBytes(bundle), 0644,
                                         /*overwrite=*/true));
  return TlsServerIdentity{std::move(key), std::move(chain)};
}

Status WriteNewFile(const std::string& path, std::string_view content, int mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return MakeError(errno == EEXIST ? ErrorCode::kAlreadyExists : ErrorCode::kUnavailable,
                     "cannot create " + path + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == content.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return MakeError(ErrorCode::kUnavailable, "cannot write " + path);
  }
  return {};
}

Result<std::string> ReadPrivateFile(const std::string& path) { return ReadFile(path, true); }
Result<std::string> ReadPublicFile(const std::string& path) { return ReadFile(path, false); }

Result<std::string> ResolveStore(const std::string& data_dir, const std::string& requested,
                                 bool record) {
  if (!requested.empty() && !store::IsPostgresUrl(requested)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--store must be a postgres:// or postgresql:// URL (without it the state "
                     "lives in <data-dir>/crypta.db)");
  }
  const std::string file = Join(data_dir, kStoreFileName);
  std::string recorded;
  if (Exists(file)) {
    CRYPTA_ASSIGN_OR_RETURN(recorded, ReadPrivateFile(file));
    while (!recorded.empty() && (recorded.back() == '\n' || recorded.back() == ' ')) {
      recorded.pop_back();
    }
  }
  if (requested.empty()) return recorded;
  if (!recorded.empty()) {
    if (recorded != requested) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "data dir " + data_dir + " belongs to the store " +
                           store::RedactStoreUrl(recorded) + " (" + file + "), not " +
                           store::RedactStoreUrl(requested));
    }
    return recorded;
  }
  if (Exists(Join(data_dir, kDatabaseFileName))) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "data dir " + data_dir + " already holds an embedded SQLite store (" +
                         kDatabaseFileName +
                         "); a PostgreSQL store starts from a new data dir (there is no "
                         "migration of existing state yet)");
  }
  if (!record) return requested;
  CRYPTA_RETURN_IF_ERROR(MakeDir(data_dir));
  CRYPTA_RETURN_IF_ERROR(WriteNewFile(file, requested + "\n", 0600));
  return requested;
}

namespace {

// The store remembers a digest of the root key it was created with: a replica started with
// another root.key could unwrap nothing and would fail later and worse. kFailedPrecondition
// on a mismatch; with `record` (starting), a store without one gets this key's.
Status CheckStoreRootKey(store::Database& db, ByteSpan root_key, int64_t now, bool record) {
  if (record) {
    CRYPTA_RETURN_IF_ERROR(
        db.Exec("CREATE TABLE IF NOT EXISTS store_identity (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "root_key_check BLOB NOT NULL, created INTEGER NOT NULL)"));
  }
  const std::string label = "crypta store root key check v1";
  const Bytes check = Hmac(HashAlg::kSha256, root_key, AsBytes(label));
  CRYPTA_ASSIGN_OR_RETURN(auto read, db.Prepare("SELECT root_key_check FROM store_identity"));
  CRYPTA_ASSIGN_OR_RETURN(bool row, read.Step());
  if (row) {
    if (read.ColumnBlob(0) != check) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "the store " + db.Describe() +
                           " was created with another root key: start every replica from a "
                           "copy of the first replica's data dir (root.key, ear-signing.pem, "
                           "sim/, store.url)");
    }
    return OkStatus();
  }
  if (!record) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(auto insert, db.Prepare("INSERT INTO store_identity (id, "
                                                  "root_key_check, created) VALUES (1, ?, ?)"));
  CRYPTA_RETURN_IF_ERROR(insert.BindBlob(1, check));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(2, now));
  return insert.Run();
}

Result<int64_t> CountRows(store::Database& db, const std::string& table) {
  CRYPTA_ASSIGN_OR_RETURN(auto count, db.Prepare("SELECT COUNT(*) FROM " + table));
  CRYPTA_ASSIGN_OR_RETURN(bool row, count.Step());
  return row ? count.ColumnInt(0) : 0;
}

}  // namespace

std::string StoreLocation(const std::string& data_dir, const std::string& store) {
  return store.empty() ? Join(data_dir, kDatabaseFileName) : store;
}

Result<StoreCheckReport> CheckStore(const std::string& data_dir, const std::string& store) {
  const std::string where = StoreLocation(data_dir, store);
  if (store.empty() && !Exists(where)) {
    return MakeError(ErrorCode::kNotFound, "no control-plane database at " + where);
  }
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes root_key,
                          kbs::LoadRootKeyFile(Join(data_dir, kbs::kRootKeyFileName)));
  CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db, store::Database::Open(where));
  StoreCheckReport report;
  report.store = db->Describe();
  CRYPTA_RETURN_IF_ERROR(db->Ping());
  CRYPTA_ASSIGN_OR_RETURN(bool has_identity, db->HasColumn("store_identity", "root_key_check"));
  if (has_identity) {
    CRYPTA_RETURN_IF_ERROR(CheckStoreRootKey(*db, root_key.Reveal(), 0, /*record=*/false));
  }
  CRYPTA_ASSIGN_OR_RETURN(auto version, db->Prepare("SELECT version FROM schema_version"));
  CRYPTA_ASSIGN_OR_RETURN(bool row, version.Step());
  report.schema_version = row ? version.ColumnInt(0) : 0;
  if (report.schema_version != kbs::CurrentSchemaVersion()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "store " + report.store + " has schema version " +
                         std::to_string(report.schema_version) + ", this build expects " +
                         std::to_string(kbs::CurrentSchemaVersion()) +
                         " (run `crypta store migrate`)");
  }
  CRYPTA_ASSIGN_OR_RETURN(report.tenants, CountRows(*db, "tenants"));
  CRYPTA_ASSIGN_OR_RETURN(report.models, CountRows(*db, "models"));
  CRYPTA_ASSIGN_OR_RETURN(report.deployments, CountRows(*db, "deployments"));
  CRYPTA_ASSIGN_OR_RETURN(auto keys, LoadEarVerificationKeys(data_dir, db.get()));
  CRYPTA_ASSIGN_OR_RETURN(audit::AuditVerifyReport audit,
                          audit::AuditLog::Verify(*db, "crypta.audit", keys));
  report.audit_entries = audit.entries;
  report.audit_checkpoints = audit.checkpoints;
  return report;
}

Result<std::unique_ptr<ControlPlaneState>> OpenDataDir(const std::string& data_dir, int64_t now,
                                                       const std::string& trust_domain,
                                                       const std::string& store) {
  if (data_dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "data dir is empty");
  auto state = std::make_unique<ControlPlaneState>();
  state->data_dir = data_dir;
  CRYPTA_RETURN_IF_ERROR(MakeDir(data_dir));
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes root_key, kbs::LoadOrCreateRootKey(data_dir));
  CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db,
                          store::Database::Open(StoreLocation(data_dir, store)));
  state->db = std::shared_ptr<store::Database>(std::move(db));
  state->store = state->db->Describe();
  state->shared_store = state->db->dialect() == store::Dialect::kPostgres;
  // Every table of every component, created or migrated as one unit (replicas may start
  // together on an empty store).
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction setup, store::Transaction::Begin(*state->db));
  // admin.token is written before the commit that creates its token; if that commit does not
  // happen the file goes too, so the next start writes a token that exists.
  std::string written_token;
  struct RemoveUncommitted {
    std::string* path;
    ~RemoveUncommitted() {
      if (!path->empty()) ::unlink(path->c_str());
    }
  } remove_uncommitted{&written_token};
  CRYPTA_RETURN_IF_ERROR(CheckStoreRootKey(*state->db, root_key.Reveal(), now, /*record=*/true));
  if (state->shared_store) {
    state->ear_wrap_key.emplace(Hmac(HashAlg::kSha256, root_key.Reveal(), AsBytes(kEarWrapLabel)));
  }
  CRYPTA_RETURN_IF_ERROR(kbs::MigrateSchema(*state->db));
  CRYPTA_RETURN_IF_ERROR(CreateModelTable(*state->db));
  CRYPTA_RETURN_IF_ERROR(CreateDeployTables(*state->db));
  CRYPTA_RETURN_IF_ERROR(kbs::CreateSessionTable(*state->db));
  if (state->shared_store) CRYPTA_RETURN_IF_ERROR(store::BlobStore::CreateTables(*state->db));
  pki::PkiOptions pki_options;
  pki_options.trust_domain = trust_domain;
  CRYPTA_ASSIGN_OR_RETURN(
      state->pki, pki::PlatformCa::Open(state->db, SecretBytes(root_key.Reveal()), pki_options));
  CRYPTA_RETURN_IF_ERROR(OpenReleaseLog(*state, root_key.Reveal()));
  kbs::KeyBrokerOptions broker_options;
  broker_options.published_check = [raw = state.get()](
                                       const std::string& tenant, const std::string& key,
                                       const std::string& object_id, const attest::Claims& claims) {
    return CheckPublished(*raw, tenant, key, object_id, claims);
  };
  CRYPTA_ASSIGN_OR_RETURN(state->broker, kbs::KeyBroker::Open(state->db, std::move(root_key),
                                                              std::move(broker_options)));
  CRYPTA_ASSIGN_OR_RETURN(state->tokens, kbs::TokenStore::Open(state->db));
  CRYPTA_ASSIGN_OR_RETURN(state->audit, audit::AuditLog::Open(*state->db, {}));
  CRYPTA_RETURN_IF_ERROR(LoadOrCreateSim(*state, now));
  CRYPTA_RETURN_IF_ERROR(LoadOrCreateEarKey(*state));
  if (state->shared_store) {
    CRYPTA_RETURN_IF_ERROR(CreateEarKeyTable(*state->db));
    CRYPTA_RETURN_IF_ERROR(SyncEarKeys(*state, now));
  }

  // The first platform-admin token, shown once through a 0600 file.
  CRYPTA_ASSIGN_OR_RETURN(std::vector<kbs::TokenInfo> admins, state->tokens->ListTokens(""));
  if (admins.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(kbs::NewToken token,
                            state->tokens->CreateToken("", kbs::Role::kPlatformAdmin));
    CRYPTA_RETURN_IF_ERROR(
        WriteNewFile(Join(data_dir, kAdminTokenFileName), token.token + "\n", 0600));
    written_token = Join(data_dir, kAdminTokenFileName);
    state->first_start = true;
    audit::AuditEntry entry{"crypta-up",
                            "",
                            "admin.token.create",
                            "allow",
                            "first start: platform-admin token written to admin.token",
                            {{"token_id", token.token_id}}};
    CRYPTA_RETURN_IF_ERROR(state->audit->Append(entry));
  }
  CRYPTA_RETURN_IF_ERROR(setup.Commit());
  written_token.clear();
  return state;
}

}  // namespace crypta::api
