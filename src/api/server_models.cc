// The model store's routes (DESIGN.md §3): sealed uploads in ordered pieces, listing,
// metadata and sealed-blob downloads (also for attested workloads), removal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "api/deployments.h"
#include "api/models.h"
#include "api/server_internal.h"
#include "attest/evidence.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "infer/model_runner.h"

namespace crypta::api {

using internal::BearerToken;
using internal::Json;
using internal::Problem;
using nlohmann::json;

namespace {

// "sev-snp,tdx,sim" → the JSON array text stored with the model ("[]" for none = any TEE).
Result<std::string> ParseTeeList(const std::string& text) {
  json out = json::array();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string name = text.substr(pos, end - pos);
    auto tee = attest::ParseTeeType(name);
    if (!tee) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "query parameter \"tees\": unknown TEE \"" + name.substr(0, 40) + "\"");
    }
    out.push_back(std::string(attest::TeeTypeName(*tee)));
    pos = end + 1;
  }
  return out.dump();
}

// A model's declared signature travels with it (issue 12): `signature` is base64url of its JSON
// (DESIGN.md-style {"inputs":[...],"outputs":[...]}, infer/model_runner.h), parsed and stored
// in canonical form; `backend` is torchscript or onnx. Both optional.
constexpr size_t kMaxSignatureBytes = 8 * 1024;

Result<std::string> ParseSignatureParam(const std::string& text) {
  if (text.empty()) return std::string();
  Result<Bytes> raw = Base64UrlDecode(text);
  if (!raw)
    return MakeError(ErrorCode::kInvalidArgument, "query parameter \"signature\": not base64url");
  if (raw->size() > kMaxSignatureBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "query parameter \"signature\": over " +
                                                      std::to_string(kMaxSignatureBytes) +
                                                      " bytes of JSON");
  }
  Result<infer::ModelSignature> parsed = infer::ParseModelSignatureJson(AsStringView(*raw));
  if (!parsed) return MakeError(parsed.error().WithContext("query parameter \"signature\""));
  return infer::ModelSignatureToJson(*parsed);
}

json ModelJson(const ModelRecord& m) {
  return {
      {"name", m.name},
      {"reference", ModelReference(m)},
      {"digest", "sha256:" + m.digest},
      {"key", m.key},
      {"object_id", m.object_id},
      {"size", m.size},
      {"tees", json::parse(m.tees, nullptr, false)},
      {"created", m.created},
      {"backend", m.backend.empty() ? json(nullptr) : json(m.backend)},
      {"signature", m.signature.empty() ? json(nullptr) : json::parse(m.signature, nullptr, false)},
      {"content_sha256", m.content_sha256.empty() ? json(nullptr) : json(m.content_sha256)}};
}

// Deployments (not deleted) whose spec names `tenant`/`name` (one digest, or any when empty).
Result<std::vector<std::string>> DeploymentsUsing(store::Database& db, const std::string& tenant,
                                                  const std::string& name,
                                                  const std::string& digest) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<DeploymentRecord> all, ListDeployments(db, tenant));
  const std::string prefix = "store://" + tenant + "/" + name + "@sha256:";
  std::string hex = digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
  std::vector<std::string> users;
  for (const DeploymentRecord& d : all) {
    json spec = json::parse(d.spec_json, nullptr, false);
    const json* ref = spec.is_object() && spec.contains("model") && spec["model"].is_object() &&
                              spec["model"].contains("ref") && spec["model"]["ref"].is_string()
                          ? &spec["model"]["ref"]
                          : nullptr;
    if (ref == nullptr) continue;
    const std::string r = ref->get<std::string>();
    if (r.rfind(prefix, 0) == 0 && (hex.empty() || r.substr(prefix.size()) == hex)) {
      users.push_back(d.name);
    }
  }
  return users;
}

}  // namespace

bool ControlPlane::Impl::AdmitModelReader(const httplib::Request& req, httplib::Response& res,
                                          const ModelRecord& model) {
  const std::string credential = BearerToken(req);
  // An EAR token (a JWT, so it has dots; API tokens have none): the attested workload may
  // fetch the sealed model only if the key's policy would release that model's key to it.
  if (credential.find('.') != std::string::npos) {
    auto claims = rcar->AttestedClaims(credential, UnixNow());
    Status allowed = claims ? state->broker->CheckReleasePolicy(model.tenant, model.key, *claims)
                            : Status(MakeError(claims.error()));
    if (!allowed) {
      Audit("rcar", model.tenant, "model.fetch", "deny", allowed.error().message(),
            {{"reference", ModelReference(model)}});
      Problem(res, allowed.error());
      return false;
    }
    return true;
  }
  kbs::Principal p;
  return Admit(req, res, kbs::Action::kReadModel, model.tenant, &p);
}

void ControlPlane::Impl::ModelRoutes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *this->http;
  static const std::string kModelPut = R"(/v1/tenants/([^/]+)/models/([^/]+))";
  http.Put(kModelPut, [this](const Request& req, Response& res,
                             const httplib::ContentReader& reader) {
    const std::string tenant = req.matches[1], name = req.matches[2];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kPushModel, tenant, &p)) return;
    for (const char* param : {"key", "object_id", "digest"}) {
      if (!req.has_param(param)) {
        return Problem(res, 400, std::string("query parameter \"") + param + "\" is required");
      }
    }
    // Every name is checked before anything is stored; a refusal is audited.
    Status names = ValidateModelName(name);
    if (names) names = ValidateName(req.get_param_value("key"), "key");
    if (names) names = kbs::ValidateObjectId(req.get_param_value("object_id"));
    if (!names) {
      Audit("token:" + p.token_id, tenant, "model.push", "deny", names.error().message(),
            {{"name", name}, {"object_id", req.get_param_value("object_id")}});
      return Problem(res, names.error());
    }
    // Uploads come in pieces below the server's body cap: `offset` says where a piece goes
    // (pieces must arrive in order) and `final=1` marks the last one, which stores the model.
    // A request without `offset` is a whole upload in one piece.
    const bool chunked = req.has_param("offset");
    uint64_t offset = 0;
    if (chunked) {
      const std::string text = req.get_param_value("offset");
      if (text.empty() || text.size() > 19 ||
          text.find_first_not_of("0123456789") != std::string::npos) {
        return Problem(res, 400, "query parameter \"offset\" must be a byte offset");
      }
      offset = std::stoull(text);
    }
    const bool last_piece = !chunked || req.get_param_value("final") == "1";
    auto tees = ParseTeeList(req.get_param_value("tees"));
    if (!tees) return Problem(res, tees.error());
    auto signature = ParseSignatureParam(req.get_param_value("signature"));
    if (!signature) return Problem(res, signature.error());
    const std::string backend = req.get_param_value("backend");
    const std::string content_sha256 = req.get_param_value("content_sha256");
    if (!content_sha256.empty() &&
        (content_sha256.size() != 64 ||
         content_sha256.find_first_not_of("0123456789abcdef") != std::string::npos)) {
      return Problem(res, 400, "query parameter \"content_sha256\" must be 64 lowercase hex");
    }
    if (!backend.empty() && backend != "torchscript" && backend != "onnx") {
      return Problem(res, 400, "query parameter \"backend\" must be torchscript or onnx");
    }
    std::string tmp;
    if (chunked) {
      // One partial file per push (the object id is fresh for every push).
      tmp = state->data_dir + "/blobs/upload-" +
            HexEncode(
                Sha256(AsBytes(tenant + "\n" + name + "\n" + req.get_param_value("object_id"))));
    } else {
      auto suffix = RandomBytes(16);
      if (!suffix) return Problem(res, suffix.error());
      tmp = state->data_dir + "/blobs/upload-" + HexEncode(*suffix);
    }
    const int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (chunked ? 0 : O_EXCL), 0600);
    if (fd < 0) return Problem(res, 500, "cannot create an upload file");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || (offset == 0 && ::ftruncate(fd, 0) != 0)) {
      ::close(fd);
      return Problem(res, 500, "cannot prepare the upload file");
    }
    if (offset != 0 && static_cast<uint64_t>(st.st_size) != offset) {
      ::close(fd);
      return Problem(res, 409,
                     "upload piece at offset " + std::to_string(offset) + " but " +
                         std::to_string(st.st_size) + " bytes were received so far");
    }
    if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      ::close(fd);
      return Problem(res, 500, "cannot seek in the upload file");
    }
    uint64_t received = offset;
    bool too_large = false, write_failed = false;
    const bool read_ok = reader([&](const char* data, size_t length) {
      received += length;
      if (received > kMaxModelBytes) {
        too_large = true;
        return false;
      }
      while (length > 0) {
        const ssize_t n = ::write(fd, data, length);
        if (n <= 0) {
          write_failed = true;
          return false;
        }
        data += n;
        length -= static_cast<size_t>(n);
      }
      return true;
    });
    const bool closed = ::close(fd) == 0;
    ModelRecord record{tenant,
                       name,
                       req.get_param_value("digest"),
                       req.get_param_value("key"),
                       req.get_param_value("object_id"),
                       0,
                       *tees,
                       0,
                       backend,
                       *signature,
                       content_sha256};
    Result<ModelRecord> stored = MakeError(ErrorCode::kInvalidArgument, "upload was interrupted");
    if (too_large) {
      stored = MakeError(ErrorCode::kResourceExhausted,
                         "sealed model over " + std::to_string(kMaxModelBytes) + " bytes");
    } else if (write_failed || !closed) {
      stored = MakeError(ErrorCode::kInternal, "cannot write the upload file");
    } else if (read_ok && !last_piece) {
      return Json(res, {{"received", received}}, 202);  // more pieces to come
    }
    json details = {{"key", record.key}, {"object_id", record.object_id}, {"name", name}};
    if (read_ok && last_piece && !too_large && !write_failed && closed) {
      // The row and its audit entry commit together (the blob is content-addressed: if the
      // audit fails it stays unreferenced, and a later push of the same bytes reuses it).
      Status recorded = RecordedChange([&]() -> Result<audit::AuditEntry> {
        CRYPTA_ASSIGN_OR_RETURN(ModelRecord row,
                                StoreModel(*state->db, *blobs, record, tmp, UnixNow()));
        stored = row;
        details["reference"] = ModelReference(row);
        return audit::AuditEntry{"token:" + p.token_id, tenant, "model.push", "allow",
                                 "sealed model stored", details};
      });
      if (!recorded) stored = MakeError(recorded.error());
    }
    ::unlink(tmp.c_str());
    if (!stored) {
      Audit("token:" + p.token_id, tenant, "model.push", "deny", stored.error().message(), details);
      return Problem(res, stored.error());
    }
    Json(res, ModelJson(*stored), 201);
  });
  http.Get(R"(/v1/tenants/([^/]+)/models)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadModel, tenant, &p)) return;
    auto models = ListModels(*state->db, tenant);
    if (!models) return Problem(res, models.error());
    if (models->empty()) {  // an empty listing, or a tenant that does not exist?
      auto tenants = state->broker->ListTenants();
      if (!tenants) return Problem(res, tenants.error());
      const bool exists = std::any_of(tenants->begin(), tenants->end(),
                                      [&](const auto& t) { return t.name == tenant; });
      if (!exists) return Problem(res, 404, "tenant " + tenant + " does not exist");
    }
    json out = json::array();
    for (const auto& m : *models) out.push_back(ModelJson(m));
    Json(res, {{"models", out}});
  });
  // Finds the model a GET names; answers 400/404 (without saying more to a caller that may
  // not read the tenant: the error is the same whether or not the tenant exists).
  auto find = [this](const Request& req, Response& res) -> std::optional<ModelRecord> {
    // Who asks is settled before anything is looked up: an anonymous caller gets the same
    // 401 whether or not the model exists (no existence oracle).
    const std::string credential = BearerToken(req);
    const bool known = credential.find('.') != std::string::npos
                           ? rcar->AttestedClaims(credential, UnixNow()).has_value()
                           : state->tokens->Authenticate(credential).has_value();
    if (!known) {
      AuditAnonymous(req, req.matches[1], "model.fetch", "missing or invalid credential");
      Problem(res, 401, "missing or invalid credential (an API token or an attested EAR token)");
      return std::nullopt;
    }
    auto model =
        FindModel(*state->db, req.matches[1], req.matches[2], req.get_param_value("digest"));
    if (!model) {
      Problem(res, model.error());
      return std::nullopt;
    }
    if (!AdmitModelReader(req, res, *model)) return std::nullopt;
    return *model;
  };
  http.Get(kModelPut, [find](const Request& req, Response& res) {
    if (auto model = find(req, res)) Json(res, ModelJson(*model));
  });
  http.Get(kModelPut + "/blob", [this, find](const Request& req, Response& res) {
    auto model = find(req, res);
    if (!model) return;
    // The digest is checked on every read, then the file is streamed (readers check it
    // again; opening a sealed blob also authenticates every chunk).
    if (Status intact = blobs->Check(model->digest); !intact) {
      Audit("server", model->tenant, "model.fetch", "error", intact.error().message(),
            {{"reference", ModelReference(*model)}});
      return Problem(res, 500, "the stored blob of this model is missing or corrupt");
    }
    auto path = blobs->PathOf(model->digest);
    auto opened = path ? InputFile::Open(*path) : Result<InputFile>(MakeError(path.error()));
    if (!opened) return Problem(res, 500, "cannot open the stored blob");
    auto file = std::make_shared<InputFile>(std::move(*opened));
    res.set_header("X-Crypta-Digest", "sha256:" + model->digest);
    res.set_content_provider(file->size(), "application/octet-stream",
                             [file](size_t offset, size_t length, httplib::DataSink& sink) {
                               Bytes buf(std::min<size_t>(length, 1 << 20));
                               if (!file->ReadAt(offset, MutableByteSpan(buf))) return false;
                               return sink.write(reinterpret_cast<const char*>(buf.data()),
                                                 buf.size());
                             });
  });
  http.Delete(kModelPut, [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1], name = req.matches[2];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kDeleteModel, tenant, &p)) return;
    // A model a deployment runs is not removed (its next restart would fail) unless forced.
    const bool force = req.get_param_value("force") == "1";
    auto users = DeploymentsUsing(*state->db, tenant, name, req.get_param_value("digest"));
    if (!users) return Problem(res, users.error());
    if (!users->empty() && !force) {
      std::string list;
      for (const std::string& u : *users) list += (list.empty() ? "" : ", ") + u;
      const Error in_use(ErrorCode::kFailedPrecondition,
                         "model " + tenant + "/" + name + " is used by deployment(s) " + list +
                             ": delete them first, or force the removal");
      Audit("token:" + p.token_id, tenant, "model.delete", "deny", in_use.message(),
            {{"name", name}, {"deployments", *users}});
      return Problem(res, in_use);
    }
    // The rows and the audit entry commit together; the blobs no model uses any more are
    // removed only after that (a failure there leaves an unreferenced blob, never a model
    // without its blob).
    std::vector<ModelRecord> removed;
    json refs = json::array();
    Status recorded = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_ASSIGN_OR_RETURN(
          removed, DeleteModelRows(*state->db, tenant, name, req.get_param_value("digest")));
      for (const auto& m : removed) refs.push_back(ModelReference(m));
      return audit::AuditEntry{
          "token:" + p.token_id,
          tenant,
          "model.delete",
          "allow",
          force && !users->empty() ? "model removed while in use (forced)" : "model removed",
          {{"name", name}, {"references", refs}, {"in_use_by", *users}}};
    });
    if (!recorded) {
      Audit("token:" + p.token_id, tenant, "model.delete", "deny", recorded.error().message(),
            {{"name", name}});
      return Problem(res, recorded.error());
    }
    if (Status s = RemoveUnusedBlobs(*state->db, *blobs, removed); !s) {
      std::fprintf(stderr, "crypta: model blobs left behind: %s\n", s.error().ToString().c_str());
    }
    Json(res, {{"removed", refs}});
  });
}

}  // namespace crypta::api
