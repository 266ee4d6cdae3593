// The release transparency log's routes (issue 17; src/transparency, src/api/README.md).
// Reads are public, like any transparency log's: everything they return is checked by the
// reader against checkpoints signed with the log key. Publishing takes a tenant admin.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/server_internal.h"
#include "common/encoding.h"
#include "transparency/release_entry.h"

namespace crypta::api {

using internal::Json;
using internal::NumberParam;
using internal::ParseBody;
using internal::Problem;
using nlohmann::json;

namespace {

json HashList(const std::vector<Bytes>& hashes) {
  json out = json::array();
  for (const Bytes& h : hashes) out.push_back(Base64Encode(h));
  return out;
}

// {"leaf_hash": hex, "release": leaf object}: one line of a dump (release_log.h).
Result<json> EntryJson(const transparency::StoredRelease& r) {
  CRYPTA_ASSIGN_OR_RETURN(json leaf, transparency::ReleaseLeafObject(r.entry, r.index));
  return json{{"leaf_hash", HexEncode(r.leaf_hash)}, {"release", std::move(leaf)}};
}

// An optional string query parameter (absent: "").
std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

}  // namespace

Result<PublishedRelease> ControlPlane::Impl::PublishRelease(transparency::ReleaseEntry entry,
                                                            const std::string& actor, bool once) {
  PublishedRelease out;
  CRYPTA_RETURN_IF_ERROR(CheckDiskFloor());
  CRYPTA_ASSIGN_OR_RETURN(std::vector<kbs::TenantInfo> tenants, state->broker->ListTenants());
  if (std::none_of(tenants.begin(), tenants.end(),
                   [&](const kbs::TenantInfo& t) { return t.name == entry.tenant; })) {
    return MakeError(ErrorCode::kNotFound, "no tenant " + entry.tenant);
  }
  Status s = RecordedChange([&]() -> Result<audit::AuditEntry> {
    if (once) {
      CRYPTA_ASSIGN_OR_RETURN(
          std::optional<uint64_t> found,
          state->releases->FindRelease(entry.tenant, entry.measurement, entry.model_digest));
      if (found) {
        out.index = *found;
        out.appended = false;
        // Nothing changes; the entry records that nothing needed to.
        return audit::AuditEntry{actor,   entry.tenant,        "transparency.publish",
                                 "allow", "already published", {{"index", *found}}};
      }
    }
    CRYPTA_ASSIGN_OR_RETURN(out.index, state->releases->Append(entry));
    out.appended = true;
    return audit::AuditEntry{actor,
                             entry.tenant,
                             "transparency.publish",
                             "allow",
                             "release published",
                             {{"index", out.index},
                              {"workload", entry.workload},
                              {"measurement", entry.measurement},
                              {"model_digest", entry.model_digest}}};
  });
  if (!s) return MakeError(s.error());
  return out;
}

void ControlPlane::Impl::TransparencyRoutes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *this->http;
  transparency::ReleaseLog& log = *state->releases;

  http.Get("/v1/transparency/key", [this](const Request&, Response& res) {
    Json(res, {{"verifier_key", state->log_verifier_key}, {"origin", state->log_origin}});
  });
  http.Get("/v1/transparency/checkpoint", [this, &log](const Request&, Response& res) {
    auto head = log.SignedCheckpoint(*state->log_key, state->log_origin, state->log_origin);
    if (!head) return Problem(res, head.error());
    res.set_content(head->note, "text/plain; charset=utf-8");
  });
  http.Get("/v1/transparency/entries", [&log](const Request& req, Response& res) {
    uint64_t start = 0, end = 0;
    if (!NumberParam(req, res, "start", INT64_MAX, &start) ||
        !NumberParam(req, res, "end", INT64_MAX, &end)) {
      return;
    }
    auto entries = log.Entries(start, end);
    if (!entries) return Problem(res, entries.error());
    json out = json::array();
    for (const auto& e : *entries) {
      auto j = EntryJson(e);
      if (!j) return Problem(res, j.error());
      out.push_back(std::move(*j));
    }
    Json(res, {{"entries", std::move(out)}});
  });
  http.Get("/v1/transparency/proof/inclusion", [&log](const Request& req, Response& res) {
    uint64_t index = 0, size = 0;
    if (!NumberParam(req, res, "index", INT64_MAX, &index) ||
        !NumberParam(req, res, "size", INT64_MAX, &size)) {
      return;
    }
    auto proof = log.ProveInclusion(index, size);
    if (!proof) return Problem(res, proof.error());
    Json(res, {{"index", index}, {"size", size}, {"hashes", HashList(proof->path)}});
  });
  http.Get("/v1/transparency/proof/consistency", [&log](const Request& req, Response& res) {
    uint64_t old_size = 0, new_size = 0;
    if (!NumberParam(req, res, "old", INT64_MAX, &old_size) ||
        !NumberParam(req, res, "new", INT64_MAX, &new_size)) {
      return;
    }
    auto proof = log.ProveConsistency(old_size, new_size);
    if (!proof) return Problem(res, proof.error());
    Json(res, {{"old", old_size}, {"new", new_size}, {"hashes", HashList(proof->path)}});
  });
  // Everything a client needs in one answer (client/transparency.h): a checkpoint, the first
  // release with this measurement (and model digest, tenant), its inclusion proof at the
  // checkpoint's size and, with since=N (the size the client remembers), a consistency proof
  // from N. A client that remembers more than the log holds gets no proof: it refuses anyway.
  http.Get("/v1/transparency/prove", [this, &log](const Request& req, Response& res) {
    const std::string measurement = Param(req, "measurement");
    const std::string digest = Param(req, "model_digest");
    const std::string tenant = Param(req, "tenant");
    uint64_t since = 0;
    if (req.has_param("since") && !NumberParam(req, res, "since", INT64_MAX, &since)) return;
    if (measurement.empty()) return Problem(res, 400, "measurement is required");
    auto index = log.FindRelease(tenant, measurement, digest);
    if (!index) return Problem(res, index.error());
    if (!*index) {
      return Problem(res, 404,
                     "no release with measurement " + measurement +
                         (digest.empty() ? "" : " and model " + digest) +
                         (tenant.empty() ? "" : " of tenant " + tenant) + " in the release log");
    }
    auto head = log.SignedCheckpoint(*state->log_key, state->log_origin, state->log_origin);
    if (!head) return Problem(res, head.error());
    const uint64_t size = head->checkpoint.size;
    auto entries = log.Entries(**index, **index + 1);
    if (!entries) return Problem(res, entries.error());
    auto entry = EntryJson(entries->front());
    auto inclusion = log.ProveInclusion(**index, size);
    if (!entry || !inclusion) return Problem(res, !entry ? entry.error() : inclusion.error());
    json consistency = json::array();
    if (since > 0 && since <= size) {
      auto proof = log.ProveConsistency(since, size);
      if (!proof) return Problem(res, proof.error());
      consistency = HashList(proof->path);
    }
    (*entry)["checkpoint"] = head->note;
    (*entry)["inclusion"] = HashList(inclusion->path);
    (*entry)["consistency"] = std::move(consistency);
    Json(res, *entry);
  });
  http.Post("/v1/transparency/releases", [this](const Request& req, Response& res) {
    json body;
    if (!ParseBody(req, res, &body)) return;
    transparency::ReleaseEntry entry;
    try {
      entry.tenant = body.at("tenant").get<std::string>();
      entry.workload = body.at("workload").get<std::string>();
      entry.measurement = body.at("measurement").get<std::string>();
      entry.model_digest = body.at("model_digest").get<std::string>();
      entry.host_data = body.value("host_data", "");
      entry.note = body.value("note", "");
    } catch (const json::exception&) {
      return Problem(res, 400,
                     "a release needs tenant, workload, measurement and model_digest (strings); "
                     "host_data and note are optional strings");
    }
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kDeploy, entry.tenant, &p)) return;
    auto published = PublishRelease(entry, "token:" + p.token_id, /*once=*/false);
    if (!published) return Problem(res, published.error());
    auto stored = state->releases->Entries(published->index, published->index + 1);
    if (!stored) return Problem(res, stored.error());
    auto j = EntryJson(stored->front());
    if (!j) return Problem(res, j.error());
    (*j)["index"] = published->index;
    Json(res, *j, 201);
  });
}

}  // namespace crypta::api
