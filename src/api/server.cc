#include "api/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/deployments.h"
#include "api/models.h"
#include "api/server_internal.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "kbs/rcar.h"
#include "store/blob_store.h"

namespace crypta::api {

using nlohmann::json;

namespace internal {

// RFC 7807 §3 problem details.
void Problem(httplib::Response& res, int status, const std::string& detail) {
  json body = {{"type", "about:blank"},
               {"title", std::string(net::HttpReasonPhrase(status))},
               {"status", status},
               {"detail", detail}};
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/problem+json");
}
// SQL text, SQLite's words and file system paths are internals: they stay in the log.
bool LooksInternal(std::string_view detail) {
  for (std::string_view marker : {"INSERT INTO", "SELECT ", "UPDATE ", "DELETE FROM", "CREATE ",
                                  "sqlite", "SQLite", "SQL "}) {
    if (detail.find(marker) != std::string_view::npos) return true;
  }
  for (size_t at = detail.find('/'); at != std::string_view::npos; at = detail.find('/', at + 1)) {
    const bool starts_path = at == 0 || detail[at - 1] == ' ' || detail[at - 1] == '"' ||
                             detail[at - 1] == '\'' || detail[at - 1] == '(';
    const std::string_view rest = detail.substr(at);
    const bool api_route = rest.rfind("/v1/", 0) == 0 || rest.rfind("/v2/", 0) == 0 ||
                           rest.rfind("/kbs/", 0) == 0 || rest.rfind("/.well-known/", 0) == 0;
    if (starts_path && !api_route && rest.size() > 1 && rest[1] != ' ') return true;
  }
  return false;
}

void Problem(httplib::Response& res, const Error& error) {
  const int status = HttpStatusForError(error.code());
  // 501: a feature crypta lacks, nothing internal.
  if ((status >= 500 && status != 501) || LooksInternal(error.message())) {
    // Internals (SQL, file paths, OpenSSL) stay in the server's log, not in the response.
    const std::string incident = HexEncode(RandomBytes(6).value_or(Bytes(6, 0)));
    std::fprintf(stderr, "crypta: internal error %s: %s\n", incident.c_str(),
                 error.ToString().c_str());
    return Problem(res, status,
                   status == 503 && !LooksInternal(error.message())
                       ? error.message()
                       : "internal error " + incident + " (see the server log)");
  }
  Problem(res, status, error.message());
}

void Json(httplib::Response& res, const json& body, int status) {
  res.status = status;
  // Rows stored by older versions may hold invalid UTF-8: shown as U+FFFD, never a 500.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
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

bool NumberParam(const httplib::Request& req, httplib::Response& res, const char* name,
                 uint64_t max, uint64_t* out) {
  const std::string text = req.get_param_value(name);
  const bool digits = !text.empty() && text.size() <= 19 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoull(text) > max) {
    Problem(res, 400,
            std::string("query parameter \"") + name + "\" must be a number up to " +
                std::to_string(max));
    return false;
  }
  *out = std::stoull(text);
  return true;
}

}  // namespace internal

using internal::BearerToken;
using internal::Json;
using internal::Problem;
using internal::SessionCookie;

namespace {

// Audit fields come from requests: invalid UTF-8 or control bytes (a %ff in a path) would
// make the entry unstorable, so they are written as \xHH and the denial is still recorded.
std::string AuditSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool valid = len > 0 && i + len <= text.size() && !(len == 1 && (c < 0x20 || c == 0x7f));
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (valid && len == 2 && c < 0xc2) valid = false;  // overlong
    if (valid) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
      ++i;
    }
  }
  return out;
}

audit::AuditEntry Sanitized(audit::AuditEntry e) {
  e.actor = AuditSafe(e.actor);
  e.tenant = AuditSafe(e.tenant);
  e.reason = AuditSafe(e.reason.substr(0, 4000));
  for (auto& [k, v] : e.details.items()) {
    if (v.is_string()) v = AuditSafe(v.get_ref<const std::string&>());
  }
  return e;
}

}  // namespace

Status ControlPlane::Impl::CheckDiskFloor() const {
  struct statvfs fs {};
  if (::statvfs(state->data_dir.c_str(), &fs) != 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot read the data dir's free space");
  }
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes < options.min_free_bytes) {
    return MakeError(ErrorCode::kUnavailable,
                     "insufficient storage: " + std::to_string(free_bytes >> 20) +
                         " MiB free in the data dir, below the floor of " +
                         std::to_string(options.min_free_bytes >> 20) +
                         " MiB (--min-free-mb); nothing was changed");
  }
  return OkStatus();
}

Status ControlPlane::Impl::Record(audit::AuditEntry entry) {
  return RecordedChange([&]() -> Result<audit::AuditEntry> { return std::move(entry); });
}

Status ControlPlane::Impl::RecordedChange(
    const std::function<Result<audit::AuditEntry>()>& change) {
  CRYPTA_RETURN_IF_ERROR(CheckDiskFloor());
  {
    auto db_lock = state->db->Lock();
    CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*state->db));
    CRYPTA_ASSIGN_OR_RETURN(audit::AuditEntry entry, change());
    auto appended = state->audit->Append(Sanitized(std::move(entry)));
    Status committed = appended ? tx.Commit() : Status(MakeError(appended.error()));
    if (!committed) {  // `tx` rolls the change back
      std::fprintf(stderr, "crypta: audit append failed, nothing done: %s\n",
                   committed.error().ToString().c_str());
      return MakeError(ErrorCode::kUnavailable,
                       "the audit log cannot be written, so nothing was done");
    }
    std::lock_guard<std::mutex> lock(ear_mu);
    ++unsigned_entries;
  }
  AuditMaintenance(UnixNow(), /*force=*/false);
  return OkStatus();
}

void ControlPlane::Impl::Audit(const std::string& actor, const std::string& tenant,
                               const std::string& action, const std::string& outcome,
                               const std::string& reason, json details) {
  // Best effort: Record logs the failure.
  (void)Record({actor, tenant, action, outcome, reason, std::move(details)});
}

void ControlPlane::Impl::AuditAnonymous(const httplib::Request& req, const std::string& tenant,
                                        const std::string& action, const std::string& reason,
                                        json details) {
  const std::string source = req.remote_addr.empty() ? "unknown" : req.remote_addr;
  if (!denials.Admit(source, action, tenant, reason, UnixNow())) return;
  details["source"] = source;
  details["path"] = req.path;
  Audit("anonymous", tenant, action, "deny", reason, std::move(details));
}

void ControlPlane::Impl::AuditMaintenance(int64_t now, bool force) {
  for (const audit::DenialSummary& d : denials.Flush(now, force)) {
    Audit("anonymous", d.tenant, d.action, "deny",
          std::to_string(d.suppressed) + " more denials like: " + d.reason,
          {{"source", d.source}, {"suppressed", d.suppressed}, {"aggregated", true}});
  }
  // A signed checkpoint on a cadence: `crypta audit verify` then detects any later edit of
  // the stored log up to it, even one that recomputes the leaf hashes.
  auto db_lock = state->db->Lock();
  std::lock_guard<std::mutex> lock(ear_mu);
  if (unsigned_entries == 0) return;
  if (!force && unsigned_entries < options.checkpoint_every &&
      now - last_checkpoint < options.checkpoint_interval_s) {
    return;
  }
  if (auto c = state->audit->Checkpoint(*state->ear_key, state->ear_kid); !c) {
    std::fprintf(stderr, "crypta: audit checkpoint failed: %s\n", c.error().ToString().c_str());
    return;
  }
  unsigned_entries = 0;
  last_checkpoint = now;
}

bool ControlPlane::Impl::Admit(const httplib::Request& req, httplib::Response& res,
                               kbs::Action action, const std::string& tenant, kbs::Principal* out) {
  const std::string action_name(kbs::ActionName(action));
  auto principal = state->tokens->Authenticate(BearerToken(req));
  if (!principal) {
    AuditAnonymous(req, tenant, action_name, principal.error().message());
    Problem(res, 401, "missing or invalid API token (Authorization: Bearer <token>)");
    return false;
  }
  const std::string actor = "token:" + principal->token_id;
  // Names from the path are checked only now, so an anonymous caller learns nothing.
  if (!tenant.empty()) {
    if (Status ok = ValidateName(tenant, "tenant"); !ok) {
      Audit(actor, tenant, action_name, "deny", ok.error().message(), {{"path", req.path}});
      Problem(res, ok.error());
      return false;
    }
  }
  if (auto ok = kbs::Authorize(*principal, action, tenant); !ok) {
    Audit(actor, tenant, action_name, "deny", ok.error().message(), {{"path", req.path}});
    Problem(res, ok.error());
    return false;
  }
  *out = *principal;
  return true;
}

Status ControlPlane::Impl::CheckModelTee(std::string_view credential, const std::string& tenant,
                                         const std::string& key, const std::string& object_id,
                                         int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(std::optional<ModelRecord> model,
                          FindModelByObject(*state->db, tenant, key, object_id));
  if (!model) return OkStatus();
  const json tees = json::parse(model->tees, nullptr, false);
  if (!tees.is_array() || tees.empty()) return OkStatus();
  auto claims = rcar->AttestedClaims(credential, now);
  if (!claims) return MakeError(claims.error());  // Resource would refuse it the same way
  const std::string tee(attest::TeeTypeName(claims->tee));
  for (const auto& allowed : tees) {
    if (allowed.is_string() && allowed.get<std::string>() == tee) return OkStatus();
  }
  return MakeError(ErrorCode::kPermissionDenied, "model " + ModelReference(*model) +
                                                     " is only released to TEEs " + tees.dump() +
                                                     ", not " + tee);
}

void ControlPlane::Impl::Routes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *this->http;
  http.Get("/healthz", [](const Request&, Response& res) { Json(res, {{"status", "ok"}}); });
  // Readiness: the store answers. A replica that cannot reach it answers 503 here (and every
  // decision that needs the store fails with 503), so load balancers route around it.
  http.Get("/readyz", [this](const Request&, Response& res) {
    const std::string backend = state->shared_store ? "postgresql" : "sqlite";
    if (Status s = state->db->Ping(); !s) {
      return Json(res,
                  {{"status", "unavailable"}, {"store", backend}, {"reason", "store unreachable"}},
                  503);
    }
    Json(res, {{"status", "ready"}, {"store", backend}, {"leader", is_leader.load()}});
  });
  http.Get("/.well-known/jwks.json", [this](const Request&, Response& res) {
    const int64_t now = UnixNow();
    json keys = json::array();
    auto add = [&keys](const PublicKey& key, const std::string& kid) -> Status {
      CRYPTA_ASSIGN_OR_RETURN(json jwk, PublicKeyToJwk(key, kid));
      jwk["alg"] = "ES256";
      jwk["use"] = "sig";
      keys.push_back(std::move(jwk));
      return OkStatus();
    };
    std::lock_guard<std::mutex> lock(ear_mu);
    Status s = add(state->ear_key->GetPublicKey(), state->ear_kid);
    for (auto it = state->retired_ear_keys.rbegin(); s && it != state->retired_ear_keys.rend();
         ++it) {
      if (now - it->retired_at <= options.ear_overlap_s) s = add(it->key, it->kid);
    }
    if (!s) return Problem(res, s.error());
    Json(res, {{"keys", keys}});
  });
  http.Post("/v1/attestation/keys/rotate", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    const int64_t now = UnixNow();
    std::string old_kid, new_kid;
    {
      auto db_lock = state->db->Lock();  // store/database.h lock order: the database first
      std::lock_guard<std::mutex> lock(ear_mu);
      // With a shared store RotateEarKey first takes the store's current key (another
      // replica may have rotated), so the previous kid is read afterwards.
      if (Status s = RotateEarKey(*state, now); !s) return Problem(res, s.error());
      old_kid = state->retired_ear_keys.back().kid;
      new_kid = state->ear_kid;
      if (Status s = PushEarKeysLocked(); !s) return Problem(res, s.error());
    }
    Audit("token:" + p.token_id, "", "attestation.rotate_key", "allow", "EAR signing key rotated",
          {{"old_kid", old_kid}, {"new_kid", new_kid}});
    Json(res, {{"kid", new_kid}, {"previous_kid", old_kid}, {"overlap_s", options.ear_overlap_s}});
  });

  // RCAR (DESIGN.md §4.3).
  // The session cookie on /auth and again on /attest (the KBS protocol's "Response").
  auto set_cookie = [](Response& res, const std::string& session) {
    res.set_header("Set-Cookie",
                   "kbs-session-id=" + session + "; Path=/kbs; HttpOnly; SameSite=Strict");
  };
  http.Post("/kbs/v0/auth", [this, set_cookie](const Request& req, Response& res) {
    auto r = rcar->Auth(req.body, UnixNow(), req.remote_addr);
    if (!r) {
      AuditAnonymous(req, "", "rcar.auth", r.error().message());
      return Problem(res, r.error());
    }
    set_cookie(res, r->session_id);
    Json(res, r->body);
  });
  http.Post("/kbs/v0/attest", [this, set_cookie](const Request& req, Response& res) {
    const std::string session = SessionCookie(req);
    auto r = rcar->Attest(session, req.body, UnixNow());
    if (!r) {
      AuditAnonymous(req, "", "rcar.attest", r.error().message());
      return Problem(res, r.error());
    }
    set_cookie(res, session);
    Json(res, *r);
  });
  http.Get(R"(/kbs/v0/resource/([^/]+)/([^/]+)/(.+))", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1], key = req.matches[2], object = req.matches[3];
    std::string credential = BearerToken(req);
    if (credential.empty()) credential = SessionCookie(req);
    json details = {{"key", key}, {"object_id", object}};
    const int64_t now = UnixNow();
    auto deny = [&](const Error& e) {
      // Without an attested session the caller is anonymous: aggregated.
      if (e.code() == ErrorCode::kUnauthenticated) {
        AuditAnonymous(req, tenant, "kbs.release_key", e.message(), details);
      } else {
        Audit("rcar", tenant, "kbs.release_key", "deny", e.message(), details);
      }
      Problem(res, e);
    };
    if (Status tee_ok = CheckModelTee(credential, tenant, key, object, now); !tee_ok) {
      return deny(tee_ok.error());
    }
    auto r = rcar->Resource(credential, tenant + "/" + key + "/" + object, now);
    if (!r) return deny(r.error());
    // The release is recorded before the key leaves; if it cannot be, the key does not.
    if (Status s = Record(
            {"rcar", tenant, "kbs.release_key", "allow", "policy allowed the release", details});
        !s) {
      return Problem(res, s.error());
    }
    Json(res, *r);
  });

  AdminRoutes();
  AuditRoutes();
  ModelRoutes();
  DeployRoutes();
  PkiRoutes();
  TransparencyRoutes();
  http.set_error_handler([](const Request&, Response& res) {
    if (res.body.empty()) Problem(res, res.status, "request failed");
  });
}

Result<bool> ControlPlane::Impl::RefreshEarKeys() {
  auto db_lock = state->db->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(ear_mu);
  CRYPTA_ASSIGN_OR_RETURN(bool changed, api::RefreshEarKeys(*state));
  if (changed) CRYPTA_RETURN_IF_ERROR(PushEarKeysLocked());
  return changed;
}

Status ControlPlane::Impl::PushEarKeysLocked() {
  std::vector<std::pair<PublicKey, int64_t>> retired;
  for (const auto& r : state->retired_ear_keys) retired.emplace_back(r.key, r.retired_at);
  return rcar->SetEarKeys(*state->ear_key, state->ear_kid, std::move(retired));
}

void ControlPlane::Impl::RunMaintenance(int64_t now) {
  if (auto refreshed = RefreshEarKeys(); !refreshed) {
    std::fprintf(stderr, "crypta: cannot refresh the EAR keys from the store: %s\n",
                 refreshed.error().ToString().c_str());
  }
  AuditMaintenance(now, /*force=*/false);
  const size_t swept = blobs->SweepStaleUploads(now, options.stale_upload_s);
  if (swept > 0) {
    std::fprintf(stderr, "crypta: removed %zu abandoned partial upload(s)\n", swept);
  }
  // Scheduled work runs on one replica at a time: the one holding the store's leader lock
  // (always this process with SQLite). The transactions below re-check what is due, so even
  // two leaders could not rotate a key twice.
  auto leader = state->db->TryLeadership(kMaintenanceLeaderKey);
  if (!leader || !*leader) {
    if (!leader) {
      std::fprintf(stderr, "crypta: store unavailable for scheduled work: %s\n",
                   leader.error().ToString().c_str());
    }
    is_leader = false;
    return;
  }
  if (!is_leader && state->shared_store) {
    std::fprintf(stderr, "crypta: this replica now runs the scheduled work (leader)\n");
  }
  is_leader = true;
  auto rotated = state->broker->RotateDue(now);
  if (!rotated) {
    Audit("scheduler", "", "key.rotate", "error", rotated.error().message());
  } else {
    for (const KeyReference& ref : *rotated) {
      Audit("scheduler", ref.tenant, "key.rotate", "allow", "scheduled rotation (rotate_days)",
            {{"key", ref.key_name}, {"version", ref.kek_version}});
    }
  }
  // Nodes that went silent free their deployments for others; new nodes take waiting ones.
  if (Status s = Schedule(*state->db, now); !s) {
    std::fprintf(stderr, "crypta: scheduling failed: %s\n", s.error().ToString().c_str());
  }
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(const ControlPlaneOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const int64_t now = UnixNow();
  CRYPTA_ASSIGN_OR_RETURN(impl->state,
                          OpenDataDir(options.data_dir, now, options.trust_domain, options.store));
  kbs::RcarOptions rcar_options;
  rcar_options.ear_kid = impl->state->ear_kid;
  if (impl->state->shared_store) {
    // A connection of their own: session statements (autocommit, an UNLOGGED table) never
    // wait behind another request's transaction on the main connection.
    CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> sessions,
                            store::Database::Open(options.store));
    rcar_options.shared_sessions = std::shared_ptr<store::Database>(std::move(sessions));
    // A token signed by a key another replica rotated in: look at the store (at most once a
    // second, so invalid tokens cannot make every request a store round trip).
    Impl* raw = impl.get();
    rcar_options.refresh_keys = [raw] {
      const int64_t now = UnixNow();
      int64_t last = raw->last_key_refresh.load();
      if (now - last < 1 || !raw->last_key_refresh.compare_exchange_strong(last, now)) {
        return false;
      }
      auto changed = raw->RefreshEarKeys();
      return changed && *changed;
    };
  }
  impl->rcar = std::make_unique<kbs::RcarServer>(impl->state->broker.get(), &impl->state->verifiers,
                                                 *impl->state->ear_key, rcar_options);
  CRYPTA_ASSIGN_OR_RETURN(
      auto blobs,
      store::BlobStore::Open(impl->state->data_dir + "/blobs", store::kDefaultMaxBlobBytes,
                             impl->state->shared_store ? impl->state->db : nullptr));
  impl->blobs.emplace(std::move(blobs));
  // Event-driven serving (net/http_server.h): slow or idle clients cost a socket, never a
  // worker thread; whole-request deadlines, connection caps per address and in total.
  net::HttpServerOptions http_options;
  http_options.max_payload_bytes = options.max_body_bytes;  // model uploads come in pieces
  if (options.insecure_http) {
    impl->http = std::make_unique<net::HttpServer>(http_options);
  } else {
    std::vector<std::string> names = options.tls_names;
    names.push_back(options.host);
    CRYPTA_ASSIGN_OR_RETURN(TlsServerIdentity tls, IssueTlsServerIdentity(*impl->state, names));
    auto server =
        std::make_unique<net::HttpServer>(tls.chain[0].x509(), tls.key.pkey(), http_options);
    // The intermediate goes with the leaf; clients hold the roots (tls/ca.pem).
    if (!server->is_valid() ||
        SSL_CTX_add1_chain_cert(server->ssl_context(), tls.chain[1].x509()) != 1) {
      return MakeError(ErrorCode::kInternal, "cannot set up the TLS server context");
    }
    SSL_CTX_set_min_proto_version(server->ssl_context(), TLS1_2_VERSION);
    impl->http = std::move(server);
  }
  impl->Routes();
  impl->port = options.port == 0
                   ? impl->http->bind_to_any_port(options.host)
                   : (impl->http->bind_to_port(options.host, options.port) ? options.port : -1);
  if (impl->port <= 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot listen on " + options.host + ":" + std::to_string(options.port));
  }
  // Overdue rotations and leftovers of a crash are handled before the first request.
  impl->RunMaintenance(now);
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(impl)));
}

ControlPlane::ControlPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlPlane::~ControlPlane() { Stop(); }
int ControlPlane::port() const { return impl_->port; }
const ControlPlaneState& ControlPlane::state() const { return *impl_->state; }
bool ControlPlane::tls() const { return !impl_->options.insecure_http; }
std::string ControlPlane::TlsCaFingerprint() const {
  auto roots = impl_->state->pki->TrustBundleCertificates();
  if (!roots || roots->empty()) return "(unavailable)";
  return "sha256:" + HexEncode(roots->front().Sha256Fingerprint());
}
void ControlPlane::Stop() { impl_->http->stop(); }
Status ControlPlane::Serve() {
  Impl* impl = impl_.get();
  impl->maintenance = std::thread([impl] {
    std::unique_lock<std::mutex> lock(impl->maintenance_mu);
    while (!impl->maintenance_cv.wait_for(lock, std::chrono::seconds(impl->options.maintenance_s),
                                          [impl] { return impl->stopping; })) {
      lock.unlock();
      impl->RunMaintenance(UnixNow());
      lock.lock();
    }
  });
  const bool ok = impl->http->listen_after_bind();
  {
    std::lock_guard<std::mutex> lock(impl->maintenance_mu);
    impl->stopping = true;
  }
  impl->maintenance_cv.notify_all();
  impl->maintenance.join();
  // Sign what is unsigned and write pending denial summaries before the process exits.
  impl->AuditMaintenance(UnixNow(), /*force=*/true);
  if (!ok) return MakeError(ErrorCode::kUnavailable, "HTTP listener stopped with an error");
  return {};
}

}  // namespace crypta::api
