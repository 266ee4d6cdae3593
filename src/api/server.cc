#include "api/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/models.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "kbs/rcar.h"
#include "store/blob_store.h"

namespace crypta::api {

using nlohmann::json;

struct ControlPlane::Impl {
  ControlPlaneOptions options;
  std::unique_ptr<ControlPlaneState> state;
  std::unique_ptr<kbs::RcarServer> rcar;
  httplib::Server http;
  std::optional<store::BlobStore> blobs;  // <data-dir>/blobs
  int port = 0;

  void Routes();
  void ModelRoutes();
  void Audit(const std::string& actor, const std::string& tenant, const std::string& action,
             const std::string& outcome, const std::string& reason, json details = json::object());
  // Authenticates and authorizes an admin request; on failure answers it and returns false.
  bool Admit(const httplib::Request& req, httplib::Response& res, kbs::Action action,
             const std::string& tenant, kbs::Principal* out);
};

namespace {

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kResourceExhausted:
      return 413;
    default:
      return 500;
  }
}

const char* Title(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

// RFC 7807 §3 problem details.
void Problem(httplib::Response& res, int status, const std::string& detail) {
  json body = {
      {"type", "about:blank"}, {"title", Title(status)}, {"status", status}, {"detail", detail}};
  res.status = status;
  res.set_content(body.dump(), "application/problem+json");
}
void Problem(httplib::Response& res, const Error& error) {
  Problem(res, HttpStatus(error.code()), error.message());
}

void Json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

std::string BearerToken(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) {
    return "";
  }
  return header.substr(kBearer.size());
}

// RFC 6265 §5.4 Cookie header: "a=b; c=d".
std::string SessionCookie(const httplib::Request& req) {
  const std::string cookies = req.get_header_value("Cookie");
  constexpr std::string_view kName = "kbs-session-id=";
  size_t pos = 0;
  while (pos < cookies.size()) {
    while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) ++pos;
    size_t end = cookies.find(';', pos);
    if (end == std::string::npos) end = cookies.size();
    if (cookies.compare(pos, kName.size(), kName) == 0) {
      return cookies.substr(pos + kName.size(), end - pos - kName.size());
    }
    pos = end;
  }
  return "";
}

// Parses a JSON object body; answers 400 naming the problem otherwise.
bool ParseBody(const httplib::Request& req, httplib::Response& res, json* out) {
  *out = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded() || !out->is_object()) {
    Problem(res, 400, "request body must be a JSON object");
    return false;
  }
  return true;
}

bool StringField(const json& body, const char* name, httplib::Response& res, std::string* out) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) {
    Problem(res, 400, std::string("field \"") + name + "\" must be a string");
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

json KekJson(const kbs::KekInfo& kek) {
  json versions = json::array();
  for (const auto& v : kek.versions) {
    versions.push_back({{"version", v.version},
                        {"state", kbs::KekStateName(v.state)},
                        {"created", v.created},
                        {"wrapped_deks", v.wrapped_deks}});
  }
  json out = {{"tenant", kek.tenant},
              {"name", kek.name},
              {"current_version", kek.current_version},
              {"created", kek.created},
              {"last_rotated", kek.last_rotated},
              {"versions", versions}};
  if (kek.rotate_days) out["rotate_days"] = *kek.rotate_days;
  if (kek.next_rotation) out["next_rotation"] = *kek.next_rotation;
  return out;
}

}  // namespace

void ControlPlane::Impl::Audit(const std::string& actor, const std::string& tenant,
                               const std::string& action, const std::string& outcome,
                               const std::string& reason, json details) {
  audit::AuditEntry entry{
      actor, tenant, action, outcome, reason.substr(0, 4000), std::move(details)};
  if (auto r = state->audit->Append(entry); !r) {
    fprintf(stderr, "crypta: audit append failed: %s\n", r.error().ToString().c_str());
    return;
  }
  // A signed checkpoint after every entry: `crypta audit verify` then detects any later
  // edit of the stored log, even one that recomputes the leaf hashes.
  if (auto c = state->audit->Checkpoint(*state->ear_key, state->ear_kid); !c) {
    fprintf(stderr, "crypta: audit checkpoint failed: %s\n", c.error().ToString().c_str());
  }
}

bool ControlPlane::Impl::Admit(const httplib::Request& req, httplib::Response& res,
                               kbs::Action action, const std::string& tenant, kbs::Principal* out) {
  const std::string action_name(kbs::ActionName(action));
  auto principal = state->tokens->Authenticate(BearerToken(req));
  if (!principal) {
    Audit("anonymous", tenant, action_name, "deny", principal.error().message(),
          {{"path", req.path}});
    Problem(res, 401, "missing or invalid API token (Authorization: Bearer <token>)");
    return false;
  }
  const std::string actor = "token:" + principal->token_id;
  if (auto ok = kbs::Authorize(*principal, action, tenant); !ok) {
    Audit(actor, tenant, action_name, "deny", ok.error().message(), {{"path", req.path}});
    Problem(res, ok.error());
    return false;
  }
  *out = *principal;
  return true;
}

void ControlPlane::Impl::Routes() {
  using httplib::Request;
  using httplib::Response;
  http.Get("/healthz", [](const Request&, Response& res) { Json(res, {{"status", "ok"}}); });
  http.Get("/.well-known/jwks.json", [this](const Request&, Response& res) {
    auto jwk = PublicKeyToJwk(state->ear_key->GetPublicKey(), state->ear_kid);
    if (!jwk) return Problem(res, jwk.error());
    (*jwk)["alg"] = "ES256";
    (*jwk)["use"] = "sig";
    Json(res, {{"keys", json::array({*jwk})}});
  });

  // RCAR (DESIGN.md §4.3).
  http.Post("/kbs/v0/auth", [this](const Request& req, Response& res) {
    auto r = rcar->Auth(req.body, UnixNow());
    if (!r) return Problem(res, r.error());
    res.set_header("Set-Cookie",
                   "kbs-session-id=" + r->session_id + "; Path=/kbs; HttpOnly; SameSite=Strict");
    Json(res, r->body);
  });
  http.Post("/kbs/v0/attest", [this](const Request& req, Response& res) {
    auto r = rcar->Attest(SessionCookie(req), req.body, UnixNow());
    if (!r) {
      Audit("rcar", "", "rcar.attest", "deny", r.error().message());
      return Problem(res, r.error());
    }
    Json(res, *r);
  });
  http.Get(R"(/kbs/v0/resource/([^/]+)/([^/]+)/(.+))", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1], key = req.matches[2], object = req.matches[3];
    std::string credential = BearerToken(req);
    if (credential.empty()) credential = SessionCookie(req);
    json details = {{"key", key}, {"object_id", object}};
    auto r = rcar->Resource(credential, tenant + "/" + key + "/" + object, UnixNow());
    if (!r) {
      Audit("rcar", tenant, "kbs.release_key", "deny", r.error().message(), details);
      return Problem(res, r.error());
    }
    Audit("rcar", tenant, "kbs.release_key", "allow", "policy allowed the release", details);
    Json(res, *r);
  });

  // Admin API.
  http.Post("/v1/tenants", [this](const Request& req, Response& res) {
    kbs::Principal p;
    json body;
    std::string name;
    if (!Admit(req, res, kbs::Action::kManageTenants, "", &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "name", res, &name)) {
      return;
    }
    if (auto r = state->broker->CreateTenant(name); !r) return Problem(res, r.error());
    Audit("token:" + p.token_id, name, "tenant.create", "allow", "tenant created");
    Json(res, {{"name", name}}, 201);
  });
  http.Get("/v1/tenants", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManageTenants, "", &p)) return;
    auto r = state->broker->ListTenants();
    if (!r) return Problem(res, r.error());
    json out = json::array();
    for (const auto& t : *r) out.push_back({{"name", t.name}, {"created", t.created}});
    Json(res, {{"tenants", out}});
  });
  http.Post(R"(/v1/tenants/([^/]+)/tokens)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    json body;
    std::string role_name;
    if (!Admit(req, res, kbs::Action::kManageTokens, tenant, &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "role", res, &role_name)) {
      return;
    }
    auto role = kbs::ParseRole(role_name);
    if (!role) return Problem(res, role.error());
    if (*role == kbs::Role::kPlatformAdmin) return Problem(res, 400, "role must be a tenant role");
    auto token = state->tokens->CreateToken(tenant, *role);
    if (!token) return Problem(res, token.error());
    Audit("token:" + p.token_id, tenant, "token.create", "allow", "token created",
          {{"token_id", token->token_id}, {"role", role_name}});
    Json(res, {{"token", token->token}, {"token_id", token->token_id}, {"role", role_name}}, 201);
  });
  http.Post(R"(/v1/tenants/([^/]+)/keys)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    json body;
    std::string name;
    if (!Admit(req, res, kbs::Action::kManageKeys, tenant, &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "name", res, &name)) {
      return;
    }
    std::optional<int64_t> rotate_days;
    if (body.contains("rotate_days")) {
      if (!body["rotate_days"].is_number_integer()) {
        return Problem(res, 400, "field \"rotate_days\" must be an integer");
      }
      rotate_days = body["rotate_days"].get<int64_t>();
    }
    auto kek = state->broker->CreateKek(tenant, name, rotate_days);
    if (!kek) return Problem(res, kek.error());
    Audit("token:" + p.token_id, tenant, "key.create", "allow", "key created", {{"key", name}});
    Json(res, KekJson(*kek), 201);
  });
  http.Get(R"(/v1/tenants/([^/]+)/keys)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kListKeys, tenant, &p)) return;
    auto keks = state->broker->ListKeks(tenant);
    if (!keks) return Problem(res, keks.error());
    json out = json::array();
    for (const auto& k : *keks) out.push_back(KekJson(k));
    Json(res, {{"keys", out}});
  });
  http.Post(R"(/v1/tenants/([^/]+)/keys/([^/]+)/rotate)",
            [this](const Request& req, Response& res) {
              const std::string tenant = req.matches[1], key = req.matches[2];
              kbs::Principal p;
              if (!Admit(req, res, kbs::Action::kManageKeys, tenant, &p)) return;
              auto version = state->broker->RotateKek(tenant, key);
              if (!version) return Problem(res, version.error());
              Audit("token:" + p.token_id, tenant, "key.rotate", "allow", "key rotated",
                    {{"key", key}, {"version", *version}});
              Json(res, {{"tenant", tenant}, {"name", key}, {"current_version", *version}});
            });
  auto put_policy = [this](const Request& req, Response& res, const std::string& tenant,
                           const std::string& key) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kSetPolicy, tenant, &p)) return;
    auto id = state->broker->SetPolicy(tenant, key, req.body);
    if (!id) return Problem(res, id.error());
    Audit("token:" + p.token_id, tenant, "policy.set", "allow", "policy stored",
          {{"key", key}, {"policy_id", *id}});
    Json(res, {{"tenant", tenant}, {"key", key}, {"policy_id", *id}});
  };
  auto get_policy = [this](const Request& req, Response& res, const std::string& tenant,
                           const std::string& key) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kGetPolicy, tenant, &p)) return;
    auto policy = state->broker->GetPolicy(tenant, key);
    if (!policy) return Problem(res, policy.error());
    Json(res, {{"tenant", tenant},
               {"key", key},
               {"policy_id", policy->policy_id},
               {"text", policy->text},
               {"updated", policy->updated}});
  };
  http.Put(R"(/v1/tenants/([^/]+)/policy)", [put_policy](const Request& req, Response& res) {
    put_policy(req, res, req.matches[1], "");
  });
  http.Get(R"(/v1/tenants/([^/]+)/policy)", [get_policy](const Request& req, Response& res) {
    get_policy(req, res, req.matches[1], "");
  });
  http.Put(R"(/v1/tenants/([^/]+)/keys/([^/]+)/policy)",
           [put_policy](const Request& req, Response& res) {
             put_policy(req, res, req.matches[1], req.matches[2]);
           });
  http.Get(R"(/v1/tenants/([^/]+)/keys/([^/]+)/policy)",
           [get_policy](const Request& req, Response& res) {
             get_policy(req, res, req.matches[1], req.matches[2]);
           });
  http.Post(R"(/v1/tenants/([^/]+)/keys/([^/]+)/deks)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1], key = req.matches[2];
    kbs::Principal p;
    json body;
    std::string object_id, dek_b64;
    if (!Admit(req, res, kbs::Action::kPushModel, tenant, &p) || !ParseBody(req, res, &body) ||
        !StringField(body, "object_id", res, &object_id) ||
        !StringField(body, "dek_b64", res, &dek_b64)) {
      return;
    }
    auto dek = Base64Decode(dek_b64);
    if (!dek || dek->size() != kbs::kKekSize) {
      return Problem(res, 400, "field \"dek_b64\" must be base64 of 32 bytes");
    }
    auto wrapped = state->broker->WrapDek(tenant, key, SecretBytes(ByteSpan(*dek)), object_id);
    if (!wrapped) return Problem(res, wrapped.error());
    Audit("token:" + p.token_id, tenant, "dek.wrap", "allow", "DEK wrapped",
          {{"key", key}, {"object_id", object_id}, {"kek_version", wrapped->ref.kek_version}});
    Json(res,
         {{"tenant", tenant},
          {"key", key},
          {"object_id", object_id},
          {"kek_version", wrapped->ref.kek_version},
          {"wrapped_b64", Base64Encode(wrapped->wrapped)}},
         201);
  });
  http.Get("/v1/audit", [this](const Request& req, Response& res) {
    // Tenant principals act on their own tenant; the platform admin on all.
    auto principal = state->tokens->Authenticate(BearerToken(req));
    const std::string tenant = principal ? principal->tenant : "";
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadAudit, tenant, &p)) return;
    size_t tail = 100;
    if (req.has_param("tail")) {
      const std::string text = req.get_param_value("tail");
      if (text.empty() || text.size() > 5 ||
          text.find_first_not_of("0123456789") != std::string::npos) {
        return Problem(res, 400, "query parameter \"tail\" must be a number up to 10000");
      }
      tail = std::stoul(text);
    }
    auto entries = state->audit->Tail(tail);
    if (!entries) return Problem(res, entries.error());
    json out = json::array();
    for (const auto& e : *entries) {
      if (!p.tenant.empty() && e.tenant != p.tenant) continue;
      out.push_back({{"seq", e.seq},
                     {"time", e.time},
                     {"actor", e.actor},
                     {"tenant", e.tenant},
                     {"action", e.action},
                     {"outcome", e.outcome},
                     {"reason", e.reason},
                     {"details", json::parse(e.details, nullptr, false)}});
    }
    Json(res, {{"entries", out}});
  });
  ModelRoutes();
  http.set_error_handler([](const Request&, Response& res) {
    if (res.body.empty()) Problem(res, res.status, "request failed");
  });
}

void ControlPlane::Impl::ModelRoutes() {
  using httplib::Request;
  using httplib::Response;
  static const std::string kModelPut = R"(/v1/tenants/([^/]+)/models/([^/]+))";
  http.Put(kModelPut, [this](const Request& req, Response& res,
                             const httplib::ContentReader& reader) {
    const std::string tenant = req.matches[1], name = req.matches[2];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kPushModel, tenant, &p)) return;
    if (auto ok = ValidateModelName(name); !ok) return Problem(res, ok.error());
    for (const char* param : {"key", "object_id", "digest"}) {
      if (!req.has_param(param)) {
        return Problem(res, 400, std::string("query parameter \"") + param + "\" is required");
      }
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
                       "[]",
                       0};
    Result<ModelRecord> stored = MakeError(ErrorCode::kInvalidArgument, "upload was interrupted");
    if (too_large) {
      stored = MakeError(ErrorCode::kResourceExhausted,
                         "sealed model over " + std::to_string(kMaxModelBytes) + " bytes");
    } else if (write_failed || !closed) {
      stored = MakeError(ErrorCode::kInternal, "cannot write the upload file");
    } else if (read_ok && !last_piece) {
      return Json(res, {{"received", received}}, 202);  // more pieces to come
    } else if (read_ok) {
      stored = StoreModel(*state->db, *blobs, record, tmp, UnixNow());
    }
    ::unlink(tmp.c_str());
    json details = {{"key", record.key}, {"object_id", record.object_id}, {"name", name}};
    if (!stored) {
      Audit("token:" + p.token_id, tenant, "model.push", "deny", stored.error().message(), details);
      return Problem(res, stored.error());
    }
    details["reference"] = ModelReference(*stored);
    Audit("token:" + p.token_id, tenant, "model.push", "allow", "sealed model stored", details);
    Json(res,
         {{"reference", ModelReference(*stored)},
          {"digest", "sha256:" + stored->digest},
          {"size", stored->size}},
         201);
  });
  http.Get(R"(/v1/tenants/([^/]+)/models)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadModel, tenant, &p)) return;
    auto models = ListModels(*state->db, tenant);
    if (!models) return Problem(res, models.error());
    json out = json::array();
    for (const auto& m : *models) {
      out.push_back({{"name", m.name},
                     {"reference", ModelReference(m)},
                     {"digest", "sha256:" + m.digest},
                     {"key", m.key},
                     {"object_id", m.object_id},
                     {"size", m.size},
                     {"tees", json::parse(m.tees, nullptr, false)},
                     {"created", m.created}});
    }
    Json(res, {{"models", out}});
  });
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(const ControlPlaneOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  CRYPTA_ASSIGN_OR_RETURN(impl->state, OpenDataDir(options.data_dir, UnixNow()));
  kbs::RcarOptions rcar_options;
  rcar_options.ear_kid = impl->state->ear_kid;
  impl->rcar = std::make_unique<kbs::RcarServer>(impl->state->broker.get(), &impl->state->verifiers,
                                                 *impl->state->ear_key, rcar_options);
  CRYPTA_RETURN_IF_ERROR(CreateModelTable(*impl->state->db));
  CRYPTA_ASSIGN_OR_RETURN(auto blobs, store::BlobStore::Open(impl->state->data_dir + "/blobs"));
  impl->blobs.emplace(std::move(blobs));
  // Applies to model uploads too (httplib drains and answers 413 for larger bodies).
  impl->http.set_payload_max_length(options.max_body_bytes);
  impl->Routes();
  impl->port = options.port == 0
                   ? impl->http.bind_to_any_port(options.host)
                   : (impl->http.bind_to_port(options.host, options.port) ? options.port : -1);
  if (impl->port <= 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot listen on " + options.host + ":" + std::to_string(options.port));
  }
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(impl)));
}

ControlPlane::ControlPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlPlane::~ControlPlane() { Stop(); }
int ControlPlane::port() const { return impl_->port; }
const ControlPlaneState& ControlPlane::state() const { return *impl_->state; }
void ControlPlane::Stop() { impl_->http.stop(); }
Status ControlPlane::Serve() {
  if (!impl_->http.listen_after_bind()) {
    return MakeError(ErrorCode::kUnavailable, "HTTP listener stopped with an error");
  }
  return {};
}

}  // namespace crypta::api
