// Workload identity routes (issue 7, src/pki): the trust bundle and CRLs, SVID issuance to
// attested workloads, and workload revocation.
//
// SVID issuance rides on RCAR: the workload puts "svid-spki-sha256" (hex SHA-256 of its CSR's
// SubjectPublicKeyInfo) into the runtime-data it attests with, so the evidence's report_data
// = SHA-384(JCS(runtime-data)) binds the CSR's key to the TEE. It then sends
//   POST /v1/pki/svid  Authorization: Bearer <EAR of that session>
//   {"csr": PEM, "tenant", "workload", "key", "runtime_data": {...the same object...}}
// and gets {"spiffe_id", "chain": PEM (leaf, intermediate), "bundle": PEM}. The session's
// verified claims must satisfy the release policy of `key` (as for the model's key), and the
// workload must not be revoked.
#include <optional>
#include <string>

#include "api/server_internal.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "pki/csr.h"

namespace crypta::api {

using internal::BearerToken;
using internal::Json;
using internal::ParseBody;
using internal::Problem;
using nlohmann::json;

void ControlPlane::Impl::PkiRoutes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *this->http;

  http.Get("/v1/pki/bundle", [this](const Request&, Response& res) {
    auto bundle = state->pki->TrustBundle();
    if (!bundle) return Problem(res, bundle.error());
    res.set_content(*bundle, "application/x-pem-file");
  });
  http.Get("/v1/pki/crl", [this](const Request&, Response& res) {
    auto crl = state->pki->Crl();
    if (!crl) return Problem(res, crl.error());
    res.set_content(ToString(*crl), "application/pkix-crl");
  });

  // One CRL per generation whose root is still in the bundle (newest first): during a CA
  // rotation overlap, peers need the older intermediate's revocations too.
  http.Get("/v1/pki/crls", [this](const Request&, Response& res) {
    auto crls = state->pki->Crls();
    if (!crls) return Problem(res, crls.error());
    json out = json::array();
    for (const Bytes& crl : *crls) out.push_back(Base64Encode(crl));
    Json(res, {{"crls", out}});
  });
  http.Post("/v1/pki/svid", [this](const Request& req, Response& res) {
    json body;
    if (!ParseBody(req, res, &body)) return;
    std::string csr, tenant, workload, key;
    json runtime_data;
    try {
      csr = body.at("csr").get<std::string>();
      tenant = body.at("tenant").get<std::string>();
      workload = body.at("workload").get<std::string>();
      key = body.at("key").get<std::string>();
      runtime_data = body.at("runtime_data");
    } catch (const json::exception&) {
      return Problem(res, 400, "svid: csr, tenant, workload, key and runtime_data are required");
    }
    const json details = {{"workload", workload}, {"key", key}};
    auto deny = [&](const Error& e) {
      Audit("rcar", tenant, "pki.issue_svid", "deny", e.message(), details);
      Problem(res, e);
    };
    // 1. An attested session, and its evidence binds exactly this runtime-data.
    auto claims = rcar->AttestedClaims(BearerToken(req), UnixNow());
    if (!claims) return deny(claims.error());
    auto bound = kbs::RcarReportData(runtime_data);
    if (!bound || !ConstantTimeEquals(*bound, claims->report_data)) {
      return deny(Error(ErrorCode::kPermissionDenied,
                        "svid: runtime_data is not what the session's evidence attested"));
    }
    // 2. The runtime-data names the CSR's key.
    auto spki_hash = pki::CsrPublicKeyHash(AsBytes(csr));
    if (!spki_hash) return deny(spki_hash.error());
    const std::string spki = HexEncode(*spki_hash);
    if (!runtime_data.is_object() || runtime_data.value("svid-spki-sha256", "") != spki) {
      return deny(Error(ErrorCode::kPermissionDenied,
                        "svid: the attested runtime-data does not bind this CSR's key "
                        "(svid-spki-sha256)"));
    }
    // 3. The workload may get the key: the key's release policy accepts its claims.
    if (Status ok = state->broker->CheckReleasePolicy(tenant, key, *claims); !ok) {
      return deny(ok.error());
    }
    // The issuance (its serial recorded for revocation) and its audit entry commit together.
    std::optional<pki::IssuedSvid> svid;
    Status issued = RecordedChange([&]() -> Result<audit::AuditEntry> {
      CRYPTA_ASSIGN_OR_RETURN(svid, state->pki->IssueSvid(AsBytes(csr), tenant, workload));
      return audit::AuditEntry{"rcar",
                               tenant,
                               "pki.issue_svid",
                               "allow",
                               "SVID issued",
                               {{"workload", workload},
                                {"spiffe_id", svid->id.ToString()},
                                {"serial", svid->leaf.serial_hex()},
                                {"not_after", svid->leaf.not_after()}}};
    });
    if (!issued) return deny(issued.error());
    auto bundle = state->pki->TrustBundle();
    if (!bundle) return Problem(res, bundle.error());
    Json(res,
         {{"spiffe_id", svid->id.ToString()},
          {"chain", svid->ChainPem()},
          {"bundle", *bundle},
          {"not_after", svid->leaf.not_after()}},
         201);
  });

  // CA rotation (platform admin): generation g+1 issues from now on; older roots stay in
  // the bundle until they expire or, with {"overlap_s": N}, for N more seconds.
  http.Post("/v1/pki/rotate", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    std::optional<int64_t> overlap_s;
    if (!req.body.empty()) {
      json body;
      if (!ParseBody(req, res, &body)) return;
      if (body.contains("overlap_s")) {
        if (!body["overlap_s"].is_number_integer() || body["overlap_s"].get<int64_t>() < 0) {
          return Problem(res, 400, "pki rotate: overlap_s must be a non-negative integer");
        }
        overlap_s = body["overlap_s"].get<int64_t>();
      }
    }
    auto generation = state->pki->RotateRoot(overlap_s);
    if (!generation) return Problem(res, generation.error());
    Audit("token:" + p.token_id, "", "pki.rotate_ca", "allow", "platform CA rotated",
          {{"generation", *generation}, {"overlap_s", overlap_s ? json(*overlap_s) : json()}});
    Json(res, {{"generation", *generation}});
  });

  http.Post(R"(/v1/tenants/([^/]+)/workloads/([^/]+)/revoke)",
            [this](const Request& req, Response& res) {
              const std::string tenant = req.matches[1], workload = req.matches[2];
              kbs::Principal p;
              if (!Admit(req, res, kbs::Action::kDeploy, tenant, &p)) return;
              auto revoked = state->pki->RevokeWorkload(tenant, workload);
              if (!revoked) return Problem(res, revoked.error());
              Audit("token:" + p.token_id, tenant, "pki.revoke_workload", "allow",
                    "workload identities revoked", {{"workload", workload}, {"svids", *revoked}});
              Json(res, {{"workload", workload}, {"revoked_svids", *revoked}});
            });
}

}  // namespace crypta::api
