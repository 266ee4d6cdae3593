// crypta attest service / crypta predict: the client SDK (src/client) against a running
// crypta-runtime. Both verify the service first; predict sends nothing unless that holds.
// crypta receipt verify: a receipt bundle (`predict --receipt FILE`) checked offline.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_connect.h"
#include "cli/commands.h"
#include "client/client.h"
#include "client/receipt.h"
#include "client/verify_options.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/json_canonical.h"
#include "common/time_util.h"
#include "infer/npy.h"
#include "infer/oip.h"

namespace crypta::cli {
namespace {

using nlohmann::json;

constexpr char kSimulatedWarning[] = "SIMULATED TEE — no hardware isolation";
constexpr size_t kMaxInputBytes = size_t{64} << 20;

// --transparency and its companions (client/transparency.h).
struct TransparencyFlags {
  std::string url;
  std::string log_key;  // a verifier key, or a file holding one
  std::string state;
  std::string ca;
};

void AddTransparencyFlags(CLI::App* cmd, TransparencyFlags* f) {
  auto* url = cmd->add_option(
      "--transparency", f->url,
      "Require the service's measurement and model digest to be published in this release "
      "transparency log (the control plane's URL); the inclusion proof, the log key's "
      "signature and consistency with the last checkpoint seen are all checked");
  cmd->add_option("--log-key", f->log_key,
                  "The log's verifier key (name+id+key, or a file holding it; default: "
                  "release-log.vkey of --data-dir)")
      ->needs(url);
  cmd->add_option("--transparency-state", f->state,
                  "Where the last accepted checkpoint is remembered (default: "
                  "$XDG_STATE_HOME/crypta/transparency/…)")
      ->needs(url);
  cmd->add_option("--transparency-ca", f->ca,
                  "The CA certificate of an https:// log (default: tls/ca.pem of --data-dir)")
      ->check(CLI::ExistingFile)
      ->needs(url);
}

// The flags into `o` (a --log-key naming a file is read).
Status ReadTransparencyFlags(const TransparencyFlags& f, client::VerifyOptions& o) {
  o.transparency_url = f.url;
  if (!f.log_key.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(o.log_key, ReadLogKey(f.log_key));
  }
  o.transparency_state = f.state;
  o.transparency_ca = f.ca;
  return OkStatus();
}

void PrintPublished(const client::VerifiedService& service) {
  if (!service.published()) return;
  const client::PublishedRelease& p = *service.published();
  std::fprintf(stderr,
               "crypta: published: release %llu of %s (tenant %s), in checkpoint size %llu\n",
               static_cast<unsigned long long>(p.release.index), p.checkpoint.origin.c_str(),
               p.release.entry.tenant.c_str(), static_cast<unsigned long long>(p.checkpoint.size));
}

struct VerifyFlags {
  std::vector<std::string> measurements;
  std::vector<std::string> host_data;
  std::string policy;
  bool allow_simulated = false;
  bool allow_debug = false;
  bool allow_missing_revocation = false;
  std::string sim_root;
  std::string data_dir;
  std::string ear;
  std::string jwks;
  std::string model_digest;
  std::string accept_tcb = "UpToDate";
  int timeout_s = 60;
  // https:// services (issue 7).
  std::string ca_cert;  // the platform trust bundle: SVID-TLS
  std::vector<std::string> spiffe_ids;
  std::string trust_domain = "crypta.local";
  std::string client_cert, client_key;
  // Reference values from the control plane for workload W of tenant T (issue 12).
  std::string tenant, workload;
  TransparencyFlags transparency;  // the release log (issue 17)
  size_t chunked_above = 0;        // chunked OHTTP for requests this big (issue 18)
};

void AddVerifyFlags(CLI::App* cmd, VerifyFlags* f) {
  cmd->add_option("--expect-measurement", f->measurements,
                  "An accepted measurement (hex; repeatable)");
  cmd->add_option("--expect-host-data", f->host_data,
                  "An accepted host data value (hex; repeatable; default: any)");
  cmd->add_option("--policy", f->policy, "Appraisal policy file (YAML or JSON, docs/policies.md)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--allow-simulated", f->allow_simulated,
                "Accept the SIMULATED TEE (no hardware isolation; needs the sim root)");
  cmd->add_flag("--allow-debug", f->allow_debug, "Accept a TEE in debug mode");
  cmd->add_flag("--allow-missing-revocation", f->allow_missing_revocation,
                "Accept Intel TDX/SGX evidence whose collateral lacks the PCK or Root CA CRL "
                "(revocation then unknown)");
  auto* root =
      cmd->add_option("--sim-root", f->sim_root, "The platform's sim root CA certificate (PEM)")
          ->check(CLI::ExistingFile);
  cmd->add_option("--data-dir", f->data_dir,
                  "The control plane's data dir (its sim/ca.pem is the sim root)")
      ->check(CLI::ExistingDirectory)
      ->excludes(root);
  auto* ear = cmd->add_option("--expect-ear", f->ear,
                              "A platform EAR token file vouching for the measurement")
                  ->check(CLI::ExistingFile);
  cmd->add_option("--jwks", f->jwks, "The platform's JWKS file (/.well-known/jwks.json)")
      ->check(CLI::ExistingFile)
      ->needs(ear);
  ear->needs("--jwks");
  cmd->add_option("--expect-model-digest", f->model_digest, "sha256:<hex> the service must serve");
  cmd->add_option("--accept-tcb", f->accept_tcb,
                  "Worst accepted TCB status (UpToDate, SWHardeningNeeded, …, Unknown)");
  cmd->add_option("--timeout", f->timeout_s, "Seconds to wait for the service")
      ->check(CLI::Range(1, 3600));
  auto* ca = cmd->add_option("--ca-cert", f->ca_cert,
                             "https:// with an SVID: the platform trust bundle (PEM, GET "
                             "/v1/pki/bundle) to pin; without it https:// means attested TLS")
                 ->check(CLI::ExistingFile);
  cmd->add_option("--expect-spiffe-id", f->spiffe_ids,
                  "SPIFFE ID pattern the service's SVID must match (repeatable)")
      ->needs(ca);
  cmd->add_option("--trust-domain", f->trust_domain, "SPIFFE trust domain of the service")
      ->capture_default_str();
  auto* cert =
      cmd->add_option("--client-cert", f->client_cert, "Client certificate chain (PEM) for mTLS")
          ->check(CLI::ExistingFile);
  auto* key = cmd->add_option("--client-key", f->client_key, "Client private key (PEM)")
                  ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  auto* workload = cmd->add_option(
      "--workload", f->workload,
      "Expect what this deployment of --tenant launched as: reference values signed by the "
      "control plane (found like other commands: CRYPTA_URL/CRYPTA_TOKEN or --data-dir)");
  auto* tenant = cmd->add_option(
      "--tenant", f->tenant,
      "The workload's tenant (with --transparency: the release must be this tenant's)");
  workload->needs(tenant);
  AddTransparencyFlags(cmd, &f->transparency);
  cmd->add_option("--ohttp-chunked-above", f->chunked_above,
                  "Send requests of at least this many bytes as chunked OHTTP "
                  "(message/ohttp-chunked-req, 16 KiB chunks; default 0: never)");
}

// --tenant T --workload W: GET the signed reference values and the platform's JWKS (they are
// verified with each other in client::BuildExpectations).
Status AddPlatformReferenceValues(const VerifyFlags& f, client::VerifyOptions& o) {
  if (f.workload.empty()) return OkStatus();
  ServerArgs server;
  server.data_dir = f.data_dir;
  CRYPTA_ASSIGN_OR_RETURN(api::ApiClient c, Connect(server));
  CRYPTA_ASSIGN_OR_RETURN(json rv, c.Get("/v1/tenants/" + Segment(f.tenant) + "/workloads/" +
                                         Segment(f.workload) + "/reference-values"));
  if (!rv.value("token", json()).is_string()) {
    return MakeError(ErrorCode::kDataLoss, "control plane answered without a token");
  }
  CRYPTA_ASSIGN_OR_RETURN(json jwks, c.Get("/.well-known/jwks.json"));
  o.reference_values_token = rv["token"].get<std::string>();
  o.jwks_json = jwks.dump();
  return OkStatus();
}

Result<std::string> ReadFlagFile(const std::string& flag, const std::string& path, size_t cap) {
  if (path.empty()) return std::string();
  Result<Bytes> bytes = ReadFileBytes(path, cap);
  if (!bytes) return MakeError(bytes.error().WithContext(flag));
  return ToString(*bytes);
}

// The flags as client::VerifyOptions (files read here), then the SDKs' shared translation
// into expectations and transport options. Errors here are usage errors (exit 2).
struct Verification {
  client::Expectations expectations;
  client::ClientOptions options;
};
Result<client::VerifyOptions> ReadVerifyFlags(const VerifyFlags& f) {
  client::VerifyOptions o;
  o.measurements = f.measurements;
  o.host_data = f.host_data;
  o.allow_simulated = f.allow_simulated;
  o.allow_debug = f.allow_debug;
  o.allow_missing_revocation = f.allow_missing_revocation;
  o.data_dir = f.data_dir;
  o.model_digest = f.model_digest;
  o.accept_tcb = f.accept_tcb;
  o.timeout_s = f.timeout_s;
  o.spiffe_ids = f.spiffe_ids;
  o.chunked_request_bytes = f.chunked_above;
  o.trust_domain = f.trust_domain;
  CRYPTA_ASSIGN_OR_RETURN(o.sim_root_pem, ReadFlagFile("--sim-root", f.sim_root, 64 * 1024));
  CRYPTA_ASSIGN_OR_RETURN(o.policy_text, ReadFlagFile("--policy " + f.policy, f.policy, 64 * 1024));
  CRYPTA_ASSIGN_OR_RETURN(o.ear_token, ReadFlagFile("--expect-ear", f.ear, 64 * 1024));
  CRYPTA_ASSIGN_OR_RETURN(o.jwks_json, ReadFlagFile("--jwks", f.jwks, 256 * 1024));
  CRYPTA_ASSIGN_OR_RETURN(o.ca_bundle_pem, ReadFlagFile("--ca-cert", f.ca_cert, 256 * 1024));
  CRYPTA_ASSIGN_OR_RETURN(o.client_cert_pem,
                          ReadFlagFile("--client-cert", f.client_cert, 256 * 1024));
  CRYPTA_ASSIGN_OR_RETURN(o.client_key_pem, ReadFlagFile("--client-key", f.client_key, 64 * 1024));
  if (o.allow_simulated && o.sim_root_pem.empty() && o.data_dir.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--allow-simulated needs the platform's sim root: --sim-root FILE or "
                     "--data-dir DIR");
  }
  if (!f.tenant.empty() && f.workload.empty() && f.transparency.url.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "--tenant needs --workload or --transparency");
  }
  CRYPTA_RETURN_IF_ERROR(ReadTransparencyFlags(f.transparency, o));
  if (!f.transparency.url.empty()) o.transparency_tenant = f.tenant;
  if (!f.workload.empty() && !f.ear.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give --workload or --expect-ear, not both (each brings its own JWKS)");
  }
  return o;
}

// The flags, the control plane's reference values when asked for, then the SDKs' shared
// translation. Returns false (with *exit_code set: 2 for usage errors, 1 otherwise) on failure.
bool BuildVerification(const VerifyFlags& f, Verification* v, int* exit_code) {
  Result<client::VerifyOptions> o = ReadVerifyFlags(f);
  if (!o) {
    ReportError(o.error());
    *exit_code = 2;
    return false;
  }
  if (Status s = AddPlatformReferenceValues(f, *o); !s) {
    *exit_code = ReportError(s.error().WithContext("reference values of workload " + f.workload));
    return false;
  }
  Result<client::Expectations> e = client::BuildExpectations(*o);
  Result<client::ClientOptions> c =
      e ? client::BuildClientOptions(*o, *e) : Result<client::ClientOptions>(MakeError(e.error()));
  if (!c) {
    ReportError(c.error());
    *exit_code = 2;
    return false;
  }
  v->expectations = std::move(*e);
  v->options = std::move(*c);
  return true;
}

void NoteIfSimulated(const client::VerifiedService& service) {
  if (service.claims().simulated) std::fprintf(stderr, "crypta: note: %s\n", kSimulatedWarning);
}

// Server-provided text goes to a terminal: no control characters.
std::string Clean(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

void PrintClaimsTable(const std::string& url, const client::VerifiedService& service) {
  const json j = service.ToJson();
  const json& rd = service.runtime_data();
  std::vector<std::pair<std::string, std::string>> rows = {
      {"service", url},
      {"verified", "yes"},
      {"tee", j["tee"].get<std::string>() +
                  (service.claims().simulated ? std::string(" (") + kSimulatedWarning + ")" : "")},
      {"measurement", j["measurement"].get<std::string>()},
      {"host_data", j["host_data"].get<std::string>()},
      {"debug", service.claims().debug ? "true" : "false"},
      {"tcb_status", j["tcb_status"].get<std::string>()},
      {"revocation", std::string(attest::RevocationName(service.claims().revocation))},
      {"signer", Clean(j.value("signer", ""))},
      {"workload", Clean(rd["workload"].get<std::string>())},
      {"model_digest", Clean(rd["model-digest"].get<std::string>())},
      {"ohttp_key_id", std::to_string(service.key_config().key_id)},
      {"ohttp_public_key", HexEncode(service.key_config().public_key)},
  };
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  for (const auto& [k, v] : rows) {
    std::printf("%s%s  %s\n", k.c_str(), std::string(width - k.size(), ' ').c_str(), v.c_str());
  }
}

void RegisterAttestService(CLI::App& app, int* exit_code) {
  CLI::App* attest = app.get_subcommand("attest");  // registered by attest_commands.cc
  struct Args {
    std::string url;
    std::string output = "table";
    VerifyFlags verify;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = attest->add_subcommand(
      "service",
      "Verify a running crypta-runtime: fresh attestation (random nonce), evidence checked\n"
      "against pinned roots, report_data binding its OHTTP key, and your expectations.\n"
      "Exit status: 0 verified, 1 refused, 2 usage error.");
  cmd->add_option("URL", a->url, "The service, http://HOST:PORT or https://HOST:PORT")->required();
  AddVerifyFlags(cmd, &a->verify);
  cmd->add_option("--output,-o", a->output, "Output format")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->callback([a, exit_code] {
    Verification verification;
    if (!BuildVerification(a->verify, &verification, exit_code)) return;
    const Verification* v = &verification;
    Result<client::VerifiedService> service =
        client::VerifyService(a->url, v->expectations, v->options);
    if (!service) {
      if (a->output == "json") {
        std::cout << json{{"service", a->url},
                          {"verified", false},
                          {"error", service.error().message()}}
                         .dump(2)
                  << std::endl;
      }
      *exit_code = ReportError(service.error());
      return;
    }
    if (a->output == "json") {
      json j = service->ToJson();
      j["service"] = a->url;
      j["verified"] = true;
      if (const auto& p = service->published(); p) {
        j["published"] = {{"index", p->release.index},
                          {"tenant", p->release.entry.tenant},
                          {"workload", p->release.entry.workload},
                          {"origin", p->checkpoint.origin},
                          {"checkpoint_size", p->checkpoint.size}};
      }
      std::cout << j.dump(2) << std::endl;
    } else {
      PrintClaimsTable(a->url, *service);
    }
    PrintPublished(*service);
    NoteIfSimulated(*service);
  });
}

// The input file, checked before anything is sent: an OIP request JSON (sent as is), or a
// .npy tensor (named --input-name, or after the model's first input once verified).
struct PredictInput {
  std::string json_body;                // for an OIP request JSON
  std::optional<infer::Tensor> tensor;  // for a .npy
};

// "-" is standard input. A .npy is recognized by its magic (\x93NUMPY), not only its name.
Result<Bytes> ReadInputBytes(const std::string& path) {
  if (path != "-") return ReadFileBytes(path, kMaxInputBytes);
  Bytes data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
    if (data.size() + n > kMaxInputBytes) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "standard input: over " + std::to_string(kMaxInputBytes) + " bytes");
    }
    data.insert(data.end(), buf, buf + n);
  }
  if (std::ferror(stdin)) return MakeError(ErrorCode::kUnavailable, "cannot read standard input");
  return data;
}

Result<PredictInput> ReadPredictInput(const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes file, ReadInputBytes(path));
  PredictInput in;
  const bool npy_magic = file.size() >= 6 && std::memcmp(file.data(), "\x93NUMPY", 6) == 0;
  if (npy_magic || (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0)) {
    Result<infer::Tensor> tensor = infer::ParseNpy(file, "");
    if (!tensor) return MakeError(tensor.error().WithContext(path));
    in.tensor = std::move(*tensor);
    return in;
  }
  JsonParseLimits limits;
  limits.max_bytes = kMaxInputBytes;
  Result<json> body = ParseJsonStrict(AsStringView(file), limits);
  if (!body) return MakeError(body.error().WithContext(path));
  if (!body->is_object() || !body->contains("inputs") || !(*body)["inputs"].is_array()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + ": not an Open Inference Protocol request (no \"inputs\" array)");
  }
  in.json_body = ToString(file);
  return in;
}

Result<std::string> RequestBody(const client::VerifiedService& service, const std::string& model,
                                PredictInput in, std::string input_name) {
  if (!in.tensor) return std::move(in.json_body);
  std::optional<json> metadata;
  auto model_input = [&](const std::string& name) -> Result<const json*> {
    if (!metadata) {
      CRYPTA_ASSIGN_OR_RETURN(json m, service.ModelMetadata(model));
      metadata = std::move(m);
    }
    const json* inputs = metadata->contains("inputs") ? &(*metadata)["inputs"] : nullptr;
    if (!inputs || !inputs->is_array()) return static_cast<const json*>(nullptr);
    for (const json& i : *inputs) {
      if (i.is_object() && (name.empty() || i.value("name", json()) == name)) return &i;
    }
    return static_cast<const json*>(nullptr);
  };
  if (input_name.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(const json* first, model_input(""));
    if (first == nullptr || !first->value("name", json()).is_string()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the model's metadata names no input: pass --input-name");
    }
    input_name = (*first)["name"].get<std::string>();
  }
  in.tensor->name = input_name;
  // NumPy's default float64 for a model that takes float32: cast (and say so).
  if (in.tensor->dtype == infer::DataType::kFp64) {
    CRYPTA_ASSIGN_OR_RETURN(const json* spec, model_input(input_name));
    if (spec != nullptr && spec->value("datatype", json()) == "FP32") {
      Bytes f32(in.tensor->data.size() / 2);
      for (size_t i = 0; i < f32.size() / 4; ++i) {
        double d;
        std::memcpy(&d, in.tensor->data.data() + 8 * i, 8);
        const float f = static_cast<float>(d);
        std::memcpy(f32.data() + 4 * i, &f, 4);
      }
      in.tensor->data = std::move(f32);
      in.tensor->dtype = infer::DataType::kFp32;
      std::fprintf(stderr, "crypta: note: input cast from float64 to float32 (the model's %s)\n",
                   input_name.c_str());
    }
  }
  infer::InferRequest request;
  request.inputs.push_back(std::move(*in.tensor));
  return infer::EncodeInferRequest(request);
}

// VerifyService before anything is sent ("refusing to send the <what>: …"); with
// `receipt_wanted` (--receipt) the service must also issue receipts.
Result<client::VerifiedService> VerifyBeforeSending(const std::string& url, const Verification& v,
                                                    bool receipt_wanted, const std::string& what) {
  Result<client::VerifiedService> service = client::VerifyService(url, v.expectations, v.options);
  if (!service) return MakeError(service.error().WithContext("refusing to send the " + what));
  if (receipt_wanted && !service->issues_receipts()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "refusing to send the " + what +
                         ": --receipt was asked for, but the service's attestation binds no "
                         "receipt key (a crypta-runtime without receipts)");
  }
  return service;
}

// --receipt FILE: the verified receipt bundle, which holds the decrypted response (0600).
Status WriteReceiptBundle(const client::PredictResult& result, const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(std::string bundle, result.ReceiptBundle());
  CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(path, AsBytes(bundle), 0600, true));
  std::fprintf(stderr, "crypta: wrote the verified receipt to %s\n", path.c_str());
  return OkStatus();
}

void RegisterPredict(CLI::App& app, int* exit_code) {
  struct Args {
    std::string url;
    std::string model;
    std::string input;
    std::string input_name;
    std::string output;
    std::string receipt;
    VerifyFlags verify;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Verify a crypta-runtime (as `crypta attest service`), then send an inference request\n"
      "end-to-end encrypted to its attested OHTTP key; nothing is sent if verification fails.\n"
      "Prints (or writes to --output) the decrypted Open Inference Protocol response.");
  cmd->add_option("URL", a->url, "The service, http://HOST:PORT or https://HOST:PORT")->required();
  cmd->add_option("--model", a->model, "Model name (OIP)")->required();
  cmd->add_option("--input", a->input, "OIP request JSON, or a .npy tensor; - reads standard input")
      ->required()
      ->check(CLI::ExistingFile | CLI::IsMember({"-"}));
  cmd->add_option("--input-name", a->input_name,
                  "Input tensor name for a .npy (default: the model's first input)");
  cmd->add_option("--output", a->output, "Write the response JSON here (default: stdout)");
  cmd->add_option("--receipt", a->receipt,
                  "Write the runtime's signed receipt of this prediction here, as a bundle that "
                  "`crypta receipt verify` checks offline (the service must issue receipts)");
  AddVerifyFlags(cmd, &a->verify);
  cmd->callback([a, exit_code] {
    Verification verification;
    if (!BuildVerification(a->verify, &verification, exit_code)) return;
    const Verification* v = &verification;
    Status s = [&]() -> Status {
      CRYPTA_ASSIGN_OR_RETURN(PredictInput input, ReadPredictInput(a->input));
      CRYPTA_ASSIGN_OR_RETURN(client::VerifiedService service,
                              VerifyBeforeSending(a->url, *v, !a->receipt.empty(), "input"));
      CRYPTA_ASSIGN_OR_RETURN(std::string body,
                              RequestBody(service, a->model, std::move(input), a->input_name));
      // The receipt (when the runtime issues them) is verified inside PredictJson.
      CRYPTA_ASSIGN_OR_RETURN(client::PredictResult result, service.PredictJson(a->model, body));
      const std::string& response = result.response;
      // The response must be a well-formed OIP response before it is handed on.
      Result<std::vector<infer::Tensor>> outputs = infer::ParseInferResponse(response);
      if (!outputs) return MakeError(outputs.error().WithContext("inference response"));
      CRYPTA_ASSIGN_OR_RETURN(json parsed, ParseJsonStrict(response, {kMaxInputBytes, 64}));
      const std::string text = parsed.dump(2) + "\n";
      if (a->output.empty()) {
        std::cout << text << std::flush;
      } else {
        CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(a->output, AsBytes(text), 0600, true));
        std::fprintf(stderr, "crypta: wrote %zu output tensor(s) to %s\n", outputs->size(),
                     a->output.c_str());
      }
      if (!a->receipt.empty()) {
        CRYPTA_RETURN_IF_ERROR(WriteReceiptBundle(result, a->receipt));
      }
      PrintPublished(service);
      NoteIfSimulated(service);
      return OkStatus();
    }();
    if (!s) *exit_code = ReportError(s.error());
  });
}

void RegisterGenerate(CLI::App& app, int* exit_code) {
  struct Args {
    std::string url;
    std::string model;
    std::string prompt;
    int max_tokens = 16;
    bool no_stream = false;
    std::string receipt;
    VerifyFlags verify;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Verify a crypta-runtime (as `crypta attest service`), then generate text from its model\n"
      "end-to-end encrypted: the prompt is sealed to the attested OHTTP key and, by default,\n"
      "the tokens are streamed back through chunked OHTTP and printed as each one decrypts.\n"
      "The output is complete only when the command exits 0: a stream cut off or tampered\n"
      "with (or, from a runtime that signs receipts, one whose receipt does not verify) is an\n"
      "error after whatever was printed.");
  cmd->add_option("URL", a->url, "The service, http://HOST:PORT or https://HOST:PORT")->required();
  cmd->add_option("--model", a->model, "Model name (OIP)")->required();
  cmd->add_option("--prompt", a->prompt, "The text to continue")->required();
  cmd->add_option("--max-tokens", a->max_tokens, "Tokens to generate")->check(CLI::Range(1, 1024));
  cmd->add_flag("--no-stream", a->no_stream,
                "Ask for the whole text at once (POST .../generate) instead of a stream");
  cmd->add_option("--receipt", a->receipt,
                  "Write the runtime's signed receipt of this generation here, as a bundle "
                  "that `crypta receipt verify` checks offline (the service must issue "
                  "receipts)");
  AddVerifyFlags(cmd, &a->verify);
  cmd->callback([a, exit_code] {
    Verification verification;
    if (!BuildVerification(a->verify, &verification, exit_code)) return;
    const Verification* v = &verification;
    Status s = [&]() -> Status {
      if (!a->receipt.empty() && a->no_stream) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "--receipt needs the streamed form (drop --no-stream)");
      }
      CRYPTA_ASSIGN_OR_RETURN(client::VerifiedService service,
                              VerifyBeforeSending(a->url, *v, !a->receipt.empty(), "prompt"));
      if (a->no_stream) {
        CRYPTA_ASSIGN_OR_RETURN(std::string text,
                                service.Generate(a->model, a->prompt, a->max_tokens));
        std::cout << text << "\n" << std::flush;
      } else {
        CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<client::GenerationStream> stream,
                                service.GenerateStream(a->model, a->prompt, a->max_tokens));
        size_t tokens = 0;
        while (true) {
          Result<std::optional<client::GenerationEvent>> event = stream->Next();
          if (!event) {
            if (tokens > 0) std::cout << "\n" << std::flush;
            return MakeError(event.error().WithContext(
                "the stream did not complete (the text above is NOT a whole answer)"));
          }
          if (!*event) break;
          std::cout << (*event)->text_output << std::flush;
          ++tokens;
        }
        std::cout << "\n" << std::flush;
        std::fprintf(stderr, "crypta: %zu token(s), stream complete%s\n", tokens,
                     service.issues_receipts() ? ", receipt verified" : "");
        if (!a->receipt.empty()) {
          CRYPTA_RETURN_IF_ERROR(WriteReceiptBundle(stream->result(), a->receipt));
        }
      }
      PrintPublished(service);
      NoteIfSimulated(service);
      return OkStatus();
    }();
    if (!s) *exit_code = ReportError(s.error());
  });
}

void RegisterReceiptVerify(CLI::App& app, int* exit_code) {
  struct Args {
    std::string file;
    std::string sim_root;
    std::string data_dir;
    std::string at;
    bool allow_simulated = false;
    std::string output = "json";
    std::string tenant;
    TransparencyFlags transparency;
  };
  auto a = std::make_shared<Args>();
  CLI::App* receipt = app.add_subcommand("receipt", "Signed inference receipts (issue 17)");
  receipt->require_subcommand(1);
  CLI::App* cmd = receipt->add_subcommand(
      "verify",
      "Verify a receipt bundle (`crypta predict --receipt FILE`) offline: the attestation\n"
      "evidence (pinned roots), report_data binding runtime_data and its receipt key, the\n"
      "receipt's signature by that key, and its digests of the request, the response and the\n"
      "evidence; with --transparency, that the release log publishes its measurement and model.\n"
      "Exit status: 0 verified, 1 refused (one line names the failed check), 2 usage.");
  cmd->add_option("FILE", a->file, "The receipt bundle (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* root =
      cmd->add_option("--sim-root", a->sim_root, "The platform's sim root CA certificate (PEM)")
          ->check(CLI::ExistingFile);
  cmd->add_option("--data-dir", a->data_dir,
                  "The control plane's data dir (its sim/ca.pem is the sim root)")
      ->check(CLI::ExistingDirectory)
      ->excludes(root);
  cmd->add_flag("--allow-simulated", a->allow_simulated,
                "Accept evidence of the SIMULATED TEE (needs the sim root)");
  cmd->add_option("--at", a->at,
                  "Verification time for the evidence's certificates, RFC 3339 (default: now; "
                  "give the receipt's time to check an old receipt)");
  cmd->add_option("--output,-o", a->output, "Output format")
      ->check(CLI::IsMember({"json", "table"}));
  AddTransparencyFlags(cmd, &a->transparency);
  cmd->add_option("--tenant", a->tenant, "With --transparency: the release must be this tenant's")
      ->needs("--transparency");
  cmd->callback([a, exit_code] {
    client::RecordVerifyOptions options;
    std::optional<client::TransparencyExpectation> transparency;
    options.allow_simulated = a->allow_simulated;
    Status usage = [&]() -> Status {
      if (!a->at.empty()) {
        Result<int64_t> at = ParseRfc3339(a->at);
        if (!at) return MakeError(at.error().WithContext("--at"));
        options.now = *at;
      }
      std::string root_path = a->sim_root;
      if (root_path.empty() && !a->data_dir.empty()) root_path = a->data_dir + "/sim/ca.pem";
      CRYPTA_ASSIGN_OR_RETURN(options.sim_root_pem,
                              ReadFlagFile("--sim-root", root_path, 64 * 1024));
      if (options.allow_simulated && options.sim_root_pem.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "--allow-simulated needs the platform's sim root: --sim-root FILE or "
                         "--data-dir DIR");
      }
      if (!a->transparency.url.empty()) {
        client::VerifyOptions o;
        o.data_dir = a->data_dir;
        o.transparency_tenant = a->tenant;
        CRYPTA_RETURN_IF_ERROR(ReadTransparencyFlags(a->transparency, o));
        CRYPTA_ASSIGN_OR_RETURN(client::Expectations e, client::BuildExpectations(o));
        transparency = std::move(e.transparency);
      }
      return OkStatus();
    }();
    if (!usage) {
      ReportError(usage.error());
      *exit_code = 2;
      return;
    }
    Result<Bytes> bundle = ReadFileBytes(a->file, client::kMaxReceiptBundleBytes);
    if (!bundle) {
      *exit_code = ReportError(bundle.error());
      return;
    }
    Result<client::VerifiedReceipt> verified =
        client::VerifyReceiptBundle(AsStringView(*bundle), options);
    if (!verified) {
      *exit_code = ReportError(verified.error());
      return;
    }
    json j = verified->ToJson();
    if (transparency) {
      // The receipt's measurement and model digest, as its attestation shows them.
      Result<client::PublishedRelease> published = client::CheckPublished(
          *transparency, j["measurement"].get<std::string>(), j["model_digest"].get<std::string>());
      if (!published) {
        *exit_code = ReportError(published.error());
        return;
      }
      j["published"] = {{"index", published->release.index},
                        {"tenant", published->release.entry.tenant},
                        {"origin", published->checkpoint.origin},
                        {"checkpoint_size", published->checkpoint.size}};
    }
    if (a->output == "json") {
      std::cout << j.dump(2) << std::endl;
    } else {
      const json& r = j["receipt"];
      std::printf(
          "verified     yes\ntee          %s%s\nmeasurement  %s\nworkload     %s\n"
          "model        %s\nsequence     %s\ntime         %s\nkey          %s %s\n",
          j["tee"].get<std::string>().c_str(),
          verified->claims.simulated ? (std::string(" (") + kSimulatedWarning + ")").c_str() : "",
          j["measurement"].get<std::string>().c_str(),
          Clean(j["workload"].get<std::string>()).c_str(),
          Clean(j["model_digest"].get<std::string>()).c_str(),
          std::to_string(verified->receipt.sequence).c_str(),
          FormatRfc3339(verified->receipt.time).c_str(), r["alg"].get<std::string>().c_str(),
          r["kid"].get<std::string>().c_str());
    }
    if (verified->claims.simulated) {
      std::fprintf(stderr, "crypta: note: %s\n", kSimulatedWarning);
    }
  });
}

}  // namespace

void RegisterClientCommands(CLI::App& app, int* exit_code) {
  RegisterAttestService(app, exit_code);
  RegisterPredict(app, exit_code);
  RegisterGenerate(app, exit_code);
  RegisterReceiptVerify(app, exit_code);
}

}  // namespace crypta::cli
