// crypta attest verify: verify TEE evidence offline and appraise it against a policy.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "attest/cca/collateral.h"
#include "attest/collector.h"
#include "attest/ear.h"
#include "attest/policy.h"
#include "attest/verifier_factory.h"
#include "cli/api_connect.h"
#include "cli/commands.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"

namespace crypta::cli {
namespace {

constexpr size_t kMaxEvidenceBytes = 1 << 20;
constexpr size_t kMaxCollateralBytes = 4 << 20;

struct AttestVerifyArgs {
  std::string tee;
  std::string evidence;
  std::string vcek;
  std::string chain;
  std::string crl;
  std::string collateral;
  std::string sim_root;
  std::string at;
  std::string policy;
  std::string report_data;
  std::vector<std::string> rims;
  std::string ocsp;
  std::string reference_values;
};

Status AddFile(attest::Collateral* c, const std::string& name, const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes b, ReadFileBytes(path, kMaxCollateralBytes));
  c->items[name] = std::move(b);
  return OkStatus();
}

// The collateral item a PCS response file provides, by its name; "" for other files.
std::string CollateralItemForFile(const std::filesystem::path& file) {
  std::string name = file.filename().string();
  auto has = [&name](const char* part) { return name.find(part) != std::string::npos; };
  if (has("tcb_info")) return "tcb_info";
  if (has("qe_identity") || has("enclave_identity")) return "qe_identity";
  if (has("root_ca_crl")) return "root_ca_crl";
  if (has("pck") && has("crl")) return "pck_crl";
  if (has("tcb_signing") || has("issuer_chain")) return "tcb_signing_chain";
  if (has("collateral") && file.extension() == ".json") return "collateral_json";
  return "";
}

// A collateral directory holds PCS responses under their usual names (tcb_info*.json,
// qe_identity.json, pck_*crl.der, root_ca_crl.der, *issuer_chain*.pem); other files in
// it are ignored. A single file is one collateral JSON document.
Status LoadCollateral(const std::string& path, attest::Collateral* c) {
  if (!std::filesystem::is_directory(path)) return AddFile(c, "collateral_json", path);
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (!entry.is_regular_file()) continue;
    std::string item = CollateralItemForFile(entry.path());
    if (item.empty()) continue;
    if (c->Find(item)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--collateral: two files in " + path + " provide " + item);
    }
    CRYPTA_RETURN_IF_ERROR(AddFile(c, item, entry.path().string()));
  }
  return OkStatus();
}

// --report-data is report_data (64 bytes), the GPU's SPDM nonce (32) or a Nitro
// document's nonce (up to 1024 bytes, compared whole).
Status CheckReportDataSize(attest::TeeType tee, size_t size) {
  const size_t max = tee == attest::TeeType::kNitro       ? 1024
                     : tee == attest::TeeType::kNvidiaGpu ? 32
                                                          : 64;
  if (size > max) {
    return MakeError(ErrorCode::kInvalidArgument, "--report-data: more than " +
                                                      std::to_string(max) + " bytes for " +
                                                      std::string(attest::TeeTypeName(tee)));
  }
  return OkStatus();
}

struct Outcome {
  nlohmann::json report;
  std::optional<Error> error;  // verification failed
  bool allowed = true;         // policy verdict (true when no policy)
};

Result<Outcome> RunVerify(const AttestVerifyArgs& a) {
  CRYPTA_ASSIGN_OR_RETURN(attest::TeeType tee, attest::ParseTeeType(a.tee));
  attest::Evidence evidence{tee, {}, {}};
  CRYPTA_ASSIGN_OR_RETURN(evidence.raw, ReadFileBytes(a.evidence, kMaxEvidenceBytes));
  // What the user vouches for (CCA trust anchors and reference values) goes in the options'
  // collateral: a verifier never takes a trust anchor from collateral that came with the
  // evidence.
  attest::Collateral trusted;
  if (!a.vcek.empty()) {
    // --vcek takes a VCEK or a VLEK: the report's SIGNING_KEY says which one the verifier
    // reads, and the chain check (VCEK->ASK, VLEK->ASVK) rejects a mislabelled certificate.
    CRYPTA_RETURN_IF_ERROR(AddFile(&evidence.collateral, "vcek", a.vcek));
    evidence.collateral.items["vlek"] = evidence.collateral.items["vcek"];
  }
  if (!a.chain.empty()) CRYPTA_RETURN_IF_ERROR(AddFile(&evidence.collateral, "chain", a.chain));
  if (!a.crl.empty()) CRYPTA_RETURN_IF_ERROR(AddFile(&evidence.collateral, "crl", a.crl));
  if (!a.collateral.empty()) {
    if (tee == attest::TeeType::kNvidiaGpu) {
      CRYPTA_RETURN_IF_ERROR(AddFile(&evidence.collateral, "certificate_chain", a.collateral));
    } else if (tee == attest::TeeType::kCca) {
      CRYPTA_ASSIGN_OR_RETURN(Bytes file, ReadFileBytes(a.collateral, kMaxCollateralBytes));
      Status added = attest::cca::AddCcaCollateral(file, &trusted);
      if (!added) return MakeError(added.error().WithContext("--collateral " + a.collateral));
    } else {
      CRYPTA_RETURN_IF_ERROR(LoadCollateral(a.collateral, &evidence.collateral));
    }
  }
  // NVIDIA RIMs: the driver's and the VBIOS's, told apart by their content.
  for (size_t i = 0; i < a.rims.size(); ++i) {
    CRYPTA_RETURN_IF_ERROR(AddFile(&evidence.collateral, "rim" + std::to_string(i), a.rims[i]));
  }
  if (!a.ocsp.empty()) CRYPTA_RETURN_IF_ERROR(AddFile(&evidence.collateral, "ocsp", a.ocsp));
  if (!a.reference_values.empty()) {
    CRYPTA_RETURN_IF_ERROR(AddFile(&trusted, "reference_values", a.reference_values));
  }

  attest::VerifyOptions options;
  options.collateral = &trusted;
  options.verification_time = UnixNow();
  if (!a.at.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(options.verification_time, ParseRfc3339(a.at));
  }
  if (!a.report_data.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes rd, HexDecode(a.report_data));
    CRYPTA_RETURN_IF_ERROR(CheckReportDataSize(tee, rd.size()));
    options.expected_report_data = rd;
  }
  std::optional<attest::AppraisalPolicy> policy;
  if (!a.policy.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes text, ReadFileBytes(a.policy, 64 * 1024));
    CRYPTA_ASSIGN_OR_RETURN(policy, attest::ParseAppraisalPolicy(AsStringView(text)));
  }
  attest::VerifierConfig config;
  if (!a.sim_root.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes pem, ReadFileBytes(a.sim_root, 64 * 1024));
    config.sim_root_pem = ToString(pem);
  }
  CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<const attest::Verifier> verifier,
                          attest::MakeVerifier(tee, config));

  Outcome out;
  out.report = {{"tee", attest::TeeTypeName(tee)},
                {"verified_at", FormatRfc3339(options.verification_time)}};
  Result<attest::VerifiedEvidence> verified = verifier->Verify(evidence, options);
  if (!verified) {
    out.report["verified"] = false;
    out.report["error"] = verified.error().message();
    out.error = verified.error();
    return out;
  }
  const attest::Claims& c = verified->claims();
  nlohmann::json j = c.ToJson();
  out.report["verified"] = true;
  for (const char* k :
       {"simulated", "measurement", "debug", "tcb_status", "revocation", "advisory_ids",
        "report_data", "host_data", "platform_id", "signer", "tcb", "claims"}) {
    out.report[k] = j[k];
  }
  out.report["violations"] = nlohmann::json::array();
  if (policy) {
    attest::Verdict verdict = attest::Appraise(*policy, c);
    out.report["violations"] = verdict.violations;
    out.report["warnings"] = verdict.warnings;
    out.report["status"] = attest::EarStatus(verdict);
    out.report["policy_id"] = policy->id;
    out.allowed = verdict.allowed;
  }
  return out;
}

}  // namespace

void RegisterAttestCommands(CLI::App& app, int* exit_code) {
  CLI::App* attest = app.add_subcommand("attest", "Verify TEE attestation evidence");
  attest->require_subcommand(1);
  auto a = std::make_shared<AttestVerifyArgs>();
  CLI::App* verify = attest->add_subcommand(
      "verify",
      "Verify evidence from a TEE (signatures, certificate chains to pinned vendor roots,\n"
      "collateral, TCB) and optionally appraise it against a policy. Prints JSON.\n"
      "Exit status: 0 verified (and the policy holds), 1 rejected, 2 usage error.");
  verify->add_option("--tee", a->tee, "sev-snp | tdx | sgx | nitro | cca | nvidia-gpu | sim")
      ->required();
  verify
      ->add_option("--evidence", a->evidence,
                   "Report, quote, document or token file (binary; sim: JSON; nvidia-gpu: the "
                   "report, binary or hex, or a JSON evidence list)")
      ->required()
      ->check(CLI::ExistingFile);
  verify
      ->add_option("--vcek", a->vcek,
                   "SEV-SNP: VCEK or VLEK certificate (DER or PEM; a PEM may add ASK and ARK)")
      ->check(CLI::ExistingFile);
  verify
      ->add_option("--chain", a->chain,
                   "SEV-SNP: ASK/ASVK + ARK PEM (the pinned roots are used regardless)")
      ->check(CLI::ExistingFile);
  verify
      ->add_option("--crl", a->crl,
                   "SEV-SNP: AMD's CRL for the product (KDS .../vcek/v1/<product>/crl); without it "
                   "revocation is reported as absent")
      ->check(CLI::ExistingFile);
  verify
      ->add_option(
          "--collateral", a->collateral,
          "TDX/SGX: a directory of PCS responses (tcb_info.json, qe_identity.json, *_crl.der) or "
          "one collateral JSON file; nvidia-gpu: the GPU's certificate chain (PEM, leaf first; "
          "the NVIDIA device root is pinned); cca: the platform's CPAK (PEM or JWK) or a "
          "trust-anchor store JSON")
      ->check(CLI::ExistingPath);
  verify
      ->add_option(
          "--rim", a->rims,
          "nvidia-gpu: NVIDIA's driver and VBIOS RIMs (SWID tag files; repeat the option); "
          "with both, every active measurement is appraised")
      ->check(CLI::ExistingFile);
  verify
      ->add_option("--ocsp", a->ocsp,
                   "nvidia-gpu: OCSP bundle JSON for the device (and RIM) certificate chains; "
                   "without it revocation is reported as absent")
      ->check(CLI::ExistingFile);
  verify
      ->add_option("--reference-values", a->reference_values,
                   "cca: platform and realm reference values (JSON); without them the platform "
                   "is not appraised")
      ->check(CLI::ExistingFile);
  verify->add_option("--sim-root", a->sim_root, "sim: the platform's sim root CA certificate (PEM)")
      ->check(CLI::ExistingFile);
  verify->add_option("--at", a->at, "Verification time, RFC 3339 (default: now)");
  verify->add_option("--policy", a->policy, "Appraisal policy (YAML or JSON)")
      ->check(CLI::ExistingFile);
  verify->add_option("--report-data", a->report_data,
                     "Expected report_data (hex, zero-padded to 64 bytes); nvidia-gpu: the SPDM "
                     "nonce (32 bytes); nitro: the document's nonce (compared whole)");
  verify->callback([a, exit_code] {
    // Malformed argument values are usage errors (exit 2), like unknown options.
    Status usage = [&]() -> Status {
      CRYPTA_RETURN_IF_ERROR(attest::ParseTeeType(a->tee));
      if (!a->at.empty()) CRYPTA_RETURN_IF_ERROR(ParseRfc3339(a->at));
      if (!a->report_data.empty()) {
        CRYPTA_ASSIGN_OR_RETURN(Bytes rd, HexDecode(a->report_data));
        CRYPTA_RETURN_IF_ERROR(CheckReportDataSize(*attest::ParseTeeType(a->tee), rd.size()));
      }
      return OkStatus();
    }();
    if (!usage) {
      ReportError(usage.error());
      *exit_code = 2;
      return;
    }
    Result<Outcome> out = RunVerify(*a);
    if (!out) {
      *exit_code = ReportError(out.error());
      return;
    }
    std::cout << out->report.dump(2) << std::endl;
    if (out->error) {
      std::fprintf(stderr, "crypta: rejected: %s\n", out->error->message().c_str());
      *exit_code = 1;
    } else if (!out->allowed) {
      std::fprintf(stderr, "crypta: rejected by policy: %s\n",
                   out->report["violations"][0].get<std::string>().c_str());
      *exit_code = 1;
    } else if (out->report.value("simulated", false)) {
      std::fprintf(stderr, "crypta: note: SIMULATED TEE evidence: no hardware isolation\n");
    } else if (out->report.value("revocation", "") == "absent") {
      std::fprintf(stderr,
                   "crypta: note: revocation NOT checked (no CRLs or OCSP responses given)\n");
    }
  });

  struct CollectArgs {
    std::string report_data;
    std::string out;
    std::string sim_socket;
  };
  auto c = std::make_shared<CollectArgs>();
  if (const char* env = std::getenv("CRYPTA_SIM_SOCKET")) c->sim_socket = env;
  CLI::App* collect = attest->add_subcommand(
      "collect",
      "Inside a TEE: collect evidence over report_data (configfs-tsm, /dev/sev-guest,\n"
      "Gramine's /dev/attestation, or the sim TEE's socket) and write it to --out.");
  collect->add_option("--report-data", c->report_data, "report_data (hex, up to 64 bytes)")
      ->required();
  collect->add_option("--out,-o", c->out, "Evidence file to write")->required();
  collect->add_option("--sim-socket", c->sim_socket,
                      "The sim TEE socket (default $CRYPTA_SIM_SOCKET)");
  collect->callback([c, exit_code] {
    Result<Bytes> rd = HexDecode(c->report_data);
    if (!rd || rd->size() > 64) {
      ReportError(Error(ErrorCode::kInvalidArgument, "--report-data: want up to 64 bytes of hex"));
      *exit_code = 2;
      return;
    }
    Status s = [&]() -> Status {
      CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<attest::Attester> attester,
                              attest::DetectAttester("/", c->sim_socket));
      CRYPTA_ASSIGN_OR_RETURN(attest::Evidence ev, attester->Collect(*rd));
      CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(c->out, ev.raw, 0644, /*overwrite=*/true));
      std::fprintf(stderr, "collected %s evidence (%zu bytes) via %s into %s\n",
                   std::string(attest::TeeTypeName(ev.tee)).c_str(), ev.raw.size(),
                   attester->name().c_str(), c->out.c_str());
      if (ev.tee == attest::TeeType::kSim) {
        std::fprintf(stderr, "note: SIMULATED TEE: this evidence proves no hardware isolation\n");
      }
      return OkStatus();
    }();
    if (!s) *exit_code = ReportError(s.error());
  });

  // The platform attestation policy behind the control plane's EAR tokens.
  CLI::App* policy = attest->add_subcommand(
      "policy",
      "The platform attestation policy that EAR tokens (RCAR /attest and the attestation\n"
      "service) are appraised against. By default there is none and the key-release policies\n"
      "decide: evidence is trusted when at least one of them allows it.");
  policy->require_subcommand(1);
  auto policy_get = std::make_shared<ServerArgs>();
  CLI::App* get = policy->add_subcommand("get", "Print the platform attestation policy");
  AddServerOptions(get, policy_get.get(), false);
  get->add_option("--output,-o", policy_get->output, "text (the policy as stored) or json")
      ->check(CLI::IsMember({"text", "json"}));
  policy_get->output = "text";
  get->callback(
      WithClient(policy_get, exit_code, [](const api::ApiClient& c, const ServerArgs& a) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(nlohmann::json r, c.Get("/v1/attestation/policy"));
        if (a.output == "json") {
          std::printf("%s\n", r.dump(2).c_str());
        } else if (r.value("mode", "") == "attestation-policy") {
          std::fputs(r.value("text", "").c_str(), stdout);
        } else {
          std::printf("# none set: %s\n", r.value("description", "").c_str());
        }
        return OkStatus();
      }));
  auto policy_set = std::make_shared<ServerArgs>();
  auto policy_file = std::make_shared<std::string>();
  CLI::App* set = policy->add_subcommand("set", "Set the platform attestation policy");
  set->add_option("-f,--file", *policy_file, "Policy YAML file")
      ->required()
      ->check(CLI::ExistingFile);
  AddServerOptions(set, policy_set.get(), false);
  set->callback(WithClient(
      policy_set, exit_code, [policy_file](const api::ApiClient& c, const ServerArgs&) -> Status {
        auto text = ReadFileBytes(*policy_file, 64 * 1024);
        if (!text) return MakeError(text.error().WithContext(*policy_file));
        CRYPTA_ASSIGN_OR_RETURN(
            nlohmann::json r, c.Put("/v1/attestation/policy", ToString(*text), "application/yaml"));
        std::printf("attestation policy stored (id %s)\n", Cell(r, "policy_id").c_str());
        return OkStatus();
      }));
  auto policy_clear = std::make_shared<ServerArgs>();
  CLI::App* clear = policy->add_subcommand(
      "clear", "Remove the platform attestation policy (the key-release policies decide)");
  AddServerOptions(clear, policy_clear.get(), false);
  clear->callback(
      WithClient(policy_clear, exit_code, [](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_RETURN_IF_ERROR(c.Delete("/v1/attestation/policy"));
        std::printf("attestation policy cleared\n");
        return OkStatus();
      }));

  // The control plane's attestation service: rotate its EAR signing key.
  auto rotate_args = std::make_shared<ServerArgs>();
  CLI::App* rotate = attest->add_subcommand(
      "rotate-key",
      "Rotate the control plane's EAR signing key (platform admin). The old key stays in\n"
      "/.well-known/jwks.json for the overlap so tokens it signed keep verifying.");
  AddServerOptions(rotate, rotate_args.get(), false);
  rotate->callback(
      WithClient(rotate_args, exit_code, [](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(nlohmann::json r,
                                c.Post("/v1/attestation/keys/rotate", nlohmann::json::object()));
        std::printf("EAR signing key rotated: kid %s (previous %s stays in the JWKS for %ss)\n",
                    Cell(r, "kid").c_str(), Cell(r, "previous_kid").c_str(),
                    Cell(r, "overlap_s").c_str());
        return OkStatus();
      }));
}

}  // namespace crypta::cli
