#include "client/platform.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/json_canonical.h"
#include "common/secret_bytes.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"
#include "crypto/sealed_file.h"

namespace crypta::client {
namespace {

using nlohmann::json;

std::string Seg(const std::string& s) { return api::ApiClient::EncodeSegment(s); }

std::string KeyPath(const std::string& tenant, const std::string& key) {
  return "/v1/tenants/" + Seg(tenant) + "/keys/" + Seg(key);
}

// The key's rotation schedule must be at least as frequent as `rotate_days`.
Status CheckRotation(const api::ApiClient& c, const std::string& tenant, const std::string& key,
                     int64_t rotate_days) {
  CRYPTA_ASSIGN_OR_RETURN(json k, c.Get("/v1/tenants/" + Seg(tenant) + "/keys"));
  int64_t key_days = 0;
  if (k.contains("keys") && k["keys"].is_array()) {
    for (const auto& entry : k["keys"]) {
      if (entry.is_object() && entry.value("name", json()) == key &&
          entry.contains("rotate_days") && entry["rotate_days"].is_number_integer()) {
        key_days = entry["rotate_days"].get<int64_t>();
      }
    }
  }
  if (key_days != 0 && key_days <= rotate_days) return OkStatus();
  return MakeError(
      ErrorCode::kFailedPrecondition,
      "rotate days " + std::to_string(rotate_days) + ": key " + tenant + "/" + key + " rotates " +
          (key_days == 0 ? std::string("only by hand")
                         : "every " + std::to_string(key_days) + " days") +
          "; use a key created with rotate days " + std::to_string(rotate_days) + " or less");
}

struct WrappedDek {
  SecretBytes dek;
  KeyReference ref;
  Bytes wrapped;
};

// A fresh DEK, wrapped by the broker under the key's current version and recorded under
// `object_id`.
Result<WrappedDek> NewWrappedDek(const api::ApiClient& c, const std::string& tenant,
                                 const std::string& key, const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek, RandomSecret(kDataKeySize));
  CRYPTA_ASSIGN_OR_RETURN(
      json wrapped, c.Post(KeyPath(tenant, key) + "/deks",
                           {{"object_id", object_id}, {"dek_b64", Base64Encode(dek.Reveal())}}));
  auto version = wrapped.find("kek_version");
  auto wrapped_b64 = wrapped.find("wrapped_b64");
  if (version == wrapped.end() || !version->is_number_unsigned() || wrapped_b64 == wrapped.end() ||
      !wrapped_b64->is_string()) {
    return MakeError(ErrorCode::kDataLoss, "control plane answered without the wrapped DEK");
  }
  Result<Bytes> bytes = Base64Decode(wrapped_b64->get<std::string>());
  if (!bytes) return MakeError(bytes.error().WithContext("wrapped_b64"));
  return WrappedDek{std::move(dek), KeyReference{tenant, key, version->get<uint32_t>()},
                    std::move(*bytes)};
}

std::string TmpDir(const std::string& given) {
  if (!given.empty()) return given;
  const char* env = std::getenv("TMPDIR");
  return env != nullptr && *env != '\0' ? env : "/tmp";
}

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Runs argv with the limits of CheckModelFile; returns (exit status, stdout, stderr).
struct ChildResult {
  int status = -1;
  std::string out, err;
  bool timed_out = false;
};
Result<ChildResult> RunLimited(const std::vector<std::string>& argv, uint64_t max_address_space,
                               int cpu_seconds, int wall_seconds) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return MakeError(ErrorCode::kUnavailable, "pipe failed");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return MakeError(ErrorCode::kUnavailable, "pipe failed");
  }
  std::vector<std::string> strings = argv;
  std::vector<char*> args;
  for (std::string& a : strings) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return MakeError(ErrorCode::kUnavailable, "fork failed");
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    const rlimit as{max_address_space, max_address_space};
    const rlimit cpu{static_cast<rlim_t>(cpu_seconds), static_cast<rlim_t>(cpu_seconds)};
    ::setrlimit(RLIMIT_AS, &as);
    ::setrlimit(RLIMIT_CPU, &cpu);
    ::execv(args[0], args.data());
    static const char kCannotRun[] = "cannot run the model checker\n";
    (void)!::write(STDERR_FILENO, kCannotRun, sizeof(kCannotRun) - 1);
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ChildResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wall_seconds);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 1000))) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& sink = i == 0 ? r.out : r.err;
      if (sink.size() < (1u << 20)) sink.append(buf, static_cast<size_t>(n));
    }
  }
  for (pollfd& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = status;
  return r;
}

}  // namespace

std::string FindModelChecker(const std::string& self) {
  const size_t slash = self.rfind('/');
  if (slash != std::string::npos) {
    const std::string beside = self.substr(0, slash + 1) + "crypta-model-check";
    if (IsExecutable(beside)) return beside;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(pos, end - pos);
    if (!dir.empty() && IsExecutable(dir + "/crypta-model-check"))
      return dir + "/crypta-model-check";
    pos = end + 1;
  }
  return "";
}

Result<ModelCheck> CheckModelFile(const std::string& checker, const std::string& file,
                                  const std::string& backend, const std::string& signature_json) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, file + ": " + std::strerror(errno));
  }
  std::vector<std::string> argv = {checker, file};
  if (!backend.empty()) argv.insert(argv.end(), {"--backend", backend});
  std::string sig_path;
  struct Remove {
    std::string* path;
    ~Remove() {
      if (!path->empty()) std::remove(path->c_str());
    }
  } remove_sig{&sig_path};
  if (!signature_json.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(8));
    sig_path = TmpDir("") + "/crypta-signature-" + HexEncode(nonce) + ".json";
    CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(sig_path, AsBytes(signature_json), 0600, false));
    argv.insert(argv.end(), {"--signature", sig_path});
  }
  const uint64_t limit =
      std::max<uint64_t>(uint64_t{8} << 30, 4 * static_cast<uint64_t>(st.st_size));
  CRYPTA_ASSIGN_OR_RETURN(ChildResult r, RunLimited(argv, limit, 300, 600));
  if (r.timed_out) {
    return MakeError(ErrorCode::kInvalidArgument, file + ": loading it took over 600 s");
  }
  if (WIFSIGNALED(r.status)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     file + ": the model check was killed by signal " +
                         std::to_string(WTERMSIG(r.status)) +
                         " (over its memory or CPU limit, or the file crashed the loader)");
  }
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
    std::string why = r.err;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    const size_t nl = why.rfind('\n');
    if (nl != std::string::npos) why = why.substr(nl + 1);  // the checker's one-line reason
    const std::string prefix = "crypta-model-check: ";
    if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127) {
      return MakeError(ErrorCode::kUnavailable, "model check: " + why);
    }
    return MakeError(ErrorCode::kInvalidArgument, why.empty() ? file + ": rejected" : why);
  }
  Result<nlohmann::json> doc = ParseJsonStrict(r.out);
  if (!doc || !doc->is_object() || !doc->value("backend", json()).is_string() ||
      !doc->value("signature", json()).is_object()) {
    return MakeError(ErrorCode::kInternal, "model check: unexpected output");
  }
  return ModelCheck{(*doc)["backend"].get<std::string>(), (*doc)["signature"].dump()};
}

Result<PushedModel> PushModel(const api::ApiClient& c, const PushModelRequest& r) {
  if (r.rotate_days > 0) CRYPTA_RETURN_IF_ERROR(CheckRotation(c, r.tenant, r.key, r.rotate_days));
  std::string backend = r.backend, signature = r.signature_json;
  if (!r.model_checker.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(ModelCheck check,
                            CheckModelFile(r.model_checker, r.file, backend, signature));
    backend = check.backend;
    signature = check.signature_json;
  }
  // The same file pushed again (the newest version, same key, backend, signature and TEEs):
  // nothing new is sealed or stored.
  CRYPTA_ASSIGN_OR_RETURN(Bytes content, HashFile(HashAlg::kSha256, r.file));
  const std::string content_sha256 = HexEncode(content);
  std::string tees;
  for (const std::string& t : r.tees) tees += (tees.empty() ? "" : ",") + t;
  CRYPTA_ASSIGN_OR_RETURN(json listing, c.Get("/v1/tenants/" + Seg(r.tenant) + "/models"));
  for (const json& m : listing.value("models", json::array())) {
    if (!m.is_object() || m.value("name", json()) != r.name) continue;
    json tee_list = json::array();
    for (const std::string& t : r.tees) tee_list.push_back(t);
    const json sig = signature.empty() ? json(nullptr) : json::parse(signature, nullptr, false);
    if (m.value("content_sha256", json()) == content_sha256 && m.value("key", json()) == r.key &&
        m.value("backend", json()) == (backend.empty() ? json(nullptr) : json(backend)) &&
        m.value("signature", json()) == sig && m.value("tees", json()) == tee_list &&
        m.value("reference", json()).is_string()) {
      PushedModel same;
      same.reference = m["reference"].get<std::string>();
      if (m.value("size", json()).is_number_unsigned()) same.size = m["size"].get<uint64_t>();
      same.record = m;
      same.unchanged = true;
      return same;
    }
    break;  // only the newest version counts (the listing is newest first)
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(16));
  const std::string object_id = r.name + "@" + HexEncode(nonce);
  CRYPTA_ASSIGN_OR_RETURN(WrappedDek dek, NewWrappedDek(c, r.tenant, r.key, object_id));

  const std::string sealed = TmpDir(r.tmp_dir) + "/crypta-model-" + HexEncode(nonce) + ".sealed";
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove_sealed{sealed};
  SealedFileOptions options;
  options.output_mode = 0600;
  if (Status s =
          SealFileWithDataKey(dek.dek, dek.ref, std::move(dek.wrapped), r.file, sealed, options);
      !s) {
    return MakeError(s.error().WithContext("sealing " + r.file));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed_digest, HashFile(HashAlg::kSha256, sealed));
  const std::string digest = HexEncode(sealed_digest);
  CRYPTA_ASSIGN_OR_RETURN(
      json record,
      c.PutFile("/v1/tenants/" + Seg(r.tenant) + "/models/" + Seg(r.name) + "?key=" + Seg(r.key) +
                    "&object_id=" + Seg(object_id) + "&digest=sha256:" + digest +
                    (tees.empty() ? "" : "&tees=" + Seg(tees)) +
                    (backend.empty() ? "" : "&backend=" + Seg(backend)) +
                    "&content_sha256=" + content_sha256 +
                    (signature.empty() ? "" : "&signature=" + Base64UrlEncode(AsBytes(signature))),
                sealed, r.progress));
  PushedModel pushed;
  pushed.reference = "store://" + r.tenant + "/" + r.name + "@sha256:" + digest;
  if (record.value("reference", json()) != pushed.reference) {
    return MakeError(ErrorCode::kDataLoss, "control plane stored a different reference: " +
                                               record.value("reference", json()).dump());
  }
  if (record.contains("size") && record["size"].is_number_unsigned()) {
    pushed.size = record["size"].get<uint64_t>();
  }
  pushed.kek_version = dek.ref.kek_version;
  pushed.record = std::move(record);
  return pushed;
}

Result<SealedData> SealDataForWorkload(const api::ApiClient& c, const std::string& tenant,
                                       const std::string& key, ByteSpan plaintext,
                                       std::string object_id) {
  if (object_id.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(16));
    object_id = "data@" + HexEncode(nonce);
  }
  CRYPTA_ASSIGN_OR_RETURN(WrappedDek dek, NewWrappedDek(c, tenant, key, object_id));
  CRYPTA_ASSIGN_OR_RETURN(
      SealedHeader header,
      NewSealedHeader(dek.ref, std::move(dek.wrapped), plaintext.size(), kDefaultChunkSize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes blob, SealBuffer(dek.dek, header, plaintext, 0));
  return SealedData{std::move(blob), std::move(object_id)};
}

}  // namespace crypta::client
