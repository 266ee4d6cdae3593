// crypta-runtime: the workload that runs inside the TEE (DESIGN.md §2, §3). See README.md.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "attest/collector.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "runtime/attestation_service.h"
#include "runtime/boot.h"
#include "runtime/http_fetcher.h"
#include "runtime/key_ring.h"
#include "runtime/metrics.h"
#include "runtime/model_service.h"
#include "runtime/ohttp_service.h"
#include "runtime/oip_router.h"
#include "runtime/receipts.h"
#include "runtime/server.h"
#include "runtime/tls_identity.h"
#include "runtime/tls_svid.h"

namespace crypta::runtime {
namespace {

struct Flags {
  std::string broker, broker_ca, model, backend, model_name, signature, signature_json, workload;
  std::string listen = "127.0.0.1:0";
  std::string health_listen;  // HOST:PORT of the plain-HTTP /healthz and /readyz; "" = none
  int max_batch = 8;
  int batch_delay_us = 2000;
  int threads = 0;
  std::string device = "auto";  // auto | cpu | cuda (TorchScript on a CUDA libtorch)
  std::string tee = "auto";
  std::string sim_socket;
  std::string gpu_evidence = "none";  // none | nvml | sim: GPUs attested with the CPU TEE
  bool allow_plaintext_infer = false;
  size_t replay_cache_size = size_t{1} << 18;
  double attest_rate = 10, attest_burst = 20;
  size_t max_body_bytes = size_t{96} << 20;
  int http_threads = 64;
  uint64_t max_model_bytes = uint64_t{4} << 30;
  // TLS and workload identity (issue 7).
  std::string tls = "off";   // off | svid | attested
  std::string mtls = "off";  // off | optional | required
  std::vector<std::string> allow_peer;
  double svid_renew_fraction = 0.5;
  int pki_refresh_s = 60;
  int64_t attested_ttl_s = 24 * 3600;
  std::string trust_domain = "crypta.local";
  std::string metrics_token_file;
  std::string receipt_alg = "ed25519";  // ed25519 | p256: the receipt-signing key (issue 17)
};

int Fail(const std::string& reason) {
  std::fprintf(stderr, "crypta-runtime: error: %s\n", reason.c_str());
  return 1;
}
int Fail(const Error& error) { return Fail(error.message()); }

Result<std::pair<std::string, int>> ParseListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "--listen: want HOST:PORT, got " + text);
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "--listen: bad port in " + text);
  }
  return std::make_pair(text.substr(0, colon), std::stoi(port));
}

Result<std::unique_ptr<attest::Attester>> MakeAttester(const Flags& flags) {
  std::string socket = flags.sim_socket;
  if (socket.empty()) {
    if (const char* env = std::getenv("CRYPTA_SIM_SOCKET")) socket = env;
  }
  if (flags.tee == "sim") {
    if (socket.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "--tee sim: no sim report socket (set CRYPTA_SIM_SOCKET or --sim-socket; "
                       "`crypta sim launch` does this)");
    }
    return std::unique_ptr<attest::Attester>(std::make_unique<attest::SimAttester>(socket));
  }
  Result<std::unique_ptr<attest::Attester>> detected = attest::DetectAttester("/", socket);
  if (!detected) return MakeError(detected.error().WithContext("no TEE found"));
  return detected;
}

// Signals: SIGTERM/SIGINT are blocked in every thread and taken by one waiting thread,
// which stops the server (or ends the process during boot: nothing is served yet).
std::atomic<RuntimeServer*> g_server{nullptr};
std::atomic<bool> g_run_returned{false};

void WaitForSignals(sigset_t set) {
  int sig = 0;
  if (sigwait(&set, &sig) != 0) return;
  while (!g_run_returned.load()) {
    RuntimeServer* server = g_server.load();
    if (server == nullptr) std::_Exit(0);  // still booting: nothing to drain
    if (server->IsRunning()) {
      server->Stop();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Main(const Flags& flags) {
  auto model_ref = ParseModelRef(flags.model);
  if (!model_ref) return Fail(model_ref.error());
  if (!flags.backend.empty() && flags.backend != "torchscript" && flags.backend != "onnx") {
    return Fail("--backend: want torchscript or onnx, got " + flags.backend);
  }
  auto listen = ParseListen(flags.listen);
  if (!listen) return Fail(listen.error());
  // --device: checked before the boot so that `cuda` on a host or build without CUDA fails
  // at once, not after fetching and unsealing the model. When the backend is only known
  // from the pushed model's metadata, cuda is checked as for torchscript here and against
  // the backend after the boot.
  if (auto early = ChooseDevice(flags.device, flags.backend); !early) return Fail(early.error());
  // Probes: a plain-HTTP listener up before the boot, so a long model fetch and unseal
  // reads as alive-but-not-ready rather than dead.
  Readiness readiness;
  std::unique_ptr<HealthServer> health;
  if (!flags.health_listen.empty()) {
    auto health_at = ParseListen(flags.health_listen);
    if (!health_at) return Fail("--health-listen: want HOST:PORT, got " + flags.health_listen);
    if (*health_at == *listen && health_at->second != 0) {
      return Fail("--health-listen must differ from --listen (" + flags.listen + ")");
    }
    health = std::make_unique<HealthServer>(health_at->first, health_at->second, &readiness);
    auto health_port = health->Start();
    if (!health_port) return Fail(health_port.error());
    std::fprintf(stderr, "crypta-runtime: health checks on http://%s:%d/healthz and /readyz\n",
                 health_at->first.c_str(), *health_port);
  }
  std::string signature = flags.signature_json;
  if (!flags.signature.empty() && !signature.empty()) {
    return Fail("give --signature or --signature-json, not both");
  }
  if (!flags.signature.empty()) {
    auto bytes = ReadFileBytes(flags.signature, 1 << 20);
    if (!bytes) return Fail(bytes.error().WithContext("--signature"));
    signature = ToString(*bytes);
  }

  auto attester = MakeAttester(flags);
  if (!attester) return Fail(attester.error());
  if ((*attester)->name() == "sim") {
    std::fprintf(stderr,
                 "crypta-runtime: SIMULATED TEE — no hardware isolation: evidence is signed by "
                 "the node's sim key, a file on the host\n");
  }
  // GPUs attested with the CPU (composite RCAR evidence): the key-release policy's gpu:
  // section then sees them.
  std::string gpu_socket = flags.sim_socket;
  if (const char* env = std::getenv("CRYPTA_SIM_SOCKET"); gpu_socket.empty() && env) {
    gpu_socket = env;
  }
  auto gpus = attest::OpenGpuAttester(flags.gpu_evidence, gpu_socket);
  if (!gpus) return Fail(gpus.error().WithContext("--gpu-evidence " + flags.gpu_evidence));
  if (*gpus && (*gpus)->name() == "sim") {
    std::fprintf(stderr,
                 "crypta-runtime: SIMULATED GPU evidence — no GPU isolation: signed by sim keys "
                 "on the host\n");
  }
  FetcherOptions fetcher_options;
  fetcher_options.ca_cert_path = flags.broker_ca;
  auto fetcher = NewHttpFetcher(flags.broker, fetcher_options);
  if (!fetcher) return Fail(fetcher.error());

  auto mtls = ParseMtlsMode(flags.mtls);
  if (!mtls) return Fail(mtls.error());
  if (flags.tls == "off" && *mtls != MtlsMode::kOff)
    return Fail("--mtls needs --tls svid|attested");
  if (!flags.allow_peer.empty() && *mtls == MtlsMode::kOff)
    return Fail("--allow-peer needs --mtls");
  if (!(flags.svid_renew_fraction > 0 && flags.svid_renew_fraction < 1)) {
    return Fail("--svid-renew-fraction: want a number in (0, 1)");
  }
  const std::string model_name = flags.model_name.empty() ? model_ref->name : flags.model_name;
  const std::string workload = flags.workload.empty() ? model_name : flags.workload;

  BootOptions boot_options;
  boot_options.max_model_bytes = flags.max_model_bytes;
  boot_options.unseal_threads = flags.threads;
  boot_options.gpus = gpus->get();
  // --tls svid: the first SVID rides on the boot's RCAR session (its evidence binds the key).
  std::optional<SvidKey> svid_key;
  if (flags.tls == "svid") {
    auto key = NewSvidKey("crypta-runtime " + workload);
    if (!key) return Fail(key.error().WithContext("SVID key"));
    boot_options.extra_runtime_data["svid-spki-sha256"] = key->spki_sha256_hex;
    svid_key = std::move(*key);
  }
  auto booted = BootModel(**fetcher, **attester, *model_ref, boot_options);
  if (!booted) return Fail(booted.error());

  // TLS identity and peer policy.
  TlsIdentity identity;
  std::unique_ptr<PeerPolicy> peers;
  std::unique_ptr<CredentialRenewer> renewer;
  HttpFetcher* broker = fetcher->get();
  attest::Attester* tee = attester->get();
  CredentialRenewer::Obtain obtain;
  if (flags.tls == "svid") {
    SvidTarget target{model_ref->tenant, workload, booted->metadata.value("key", "")};
    auto credential = RequestSvid(*broker, RcarSession{booted->ear_token, booted->runtime_data},
                                  *svid_key, target);
    if (!credential) return Fail(credential.error());
    if (Status s = identity.Set(std::move(*credential)); !s) return Fail(s.error());
    // Renewal: a new key and a new RCAR session (the boot session may have expired).
    obtain = [broker, tee, target] { return ObtainSvid(*broker, *tee, target); };
  } else if (flags.tls == "attested") {
    const std::string host = listen->first;
    const int64_t ttl = flags.attested_ttl_s;
    auto credential = MakeAttestedCredential(*tee, host, ttl);
    if (!credential) return Fail(credential.error().WithContext("attested TLS certificate"));
    if (Status s = identity.Set(std::move(*credential)); !s) return Fail(s.error());
    obtain = [tee, host, ttl] { return MakeAttestedCredential(*tee, host, ttl); };
  }
  if (*mtls != MtlsMode::kOff) {
    auto policy =
        PeerPolicy::Create(flags.trust_domain, flags.allow_peer, [] { return UnixNow(); });
    if (!policy) return Fail(policy.error());
    auto trust = FetchPlatformTrust(*broker);
    if (!trust) return Fail(trust.error().WithContext("platform trust bundle"));
    if (Status s = (*policy)->Update(trust->bundle_pem, trust->crls); !s) return Fail(s.error());
    peers = std::move(*policy);
  }
  if (flags.tls != "off") {
    RenewerOptions renew_options;
    renew_options.renew_fraction = flags.svid_renew_fraction;
    renew_options.trust_refresh_s = flags.pki_refresh_s;
    CredentialRenewer::FetchTrust fetch_trust;
    if (peers) fetch_trust = [broker] { return FetchPlatformTrust(*broker); };
    renewer = std::make_unique<CredentialRenewer>(&identity, obtain, peers.get(), fetch_trust,
                                                  renew_options, [] { return UnixNow(); });
    std::fprintf(stderr, "crypta-runtime: TLS with %s; mTLS %s\n",
                 identity.Current()->description.c_str(), flags.mtls.c_str());
  }

  // The backend and signature declared when the model was pushed travel with it (issue 12);
  // --backend and --signature, when given, take precedence.
  ModelServiceOptions model_options;
  model_options.name = model_name;
  model_options.backend = flags.backend;
  if (model_options.backend.empty() &&
      booted->metadata.value("backend", nlohmann::json()).is_string()) {
    model_options.backend = booted->metadata["backend"].get<std::string>();
  }
  if (model_options.backend.empty()) {
    return Fail("the model was pushed without a backend: pass --backend torchscript|onnx");
  }
  model_options.signature_json = signature;
  if (signature.empty() && booted->metadata.value("signature", nlohmann::json()).is_object()) {
    model_options.signature_json = booted->metadata["signature"].dump();
  }
  model_options.threads = flags.threads;
  auto device = ChooseDevice(flags.device, model_options.backend);
  if (!device) return Fail(device.error());
  model_options.device = device->device;
  std::fprintf(stderr, "crypta-runtime: %s\n", device->log.c_str());
  model_options.max_batch = flags.max_batch;
  model_options.batch_delay = std::chrono::microseconds(flags.batch_delay_us);
  auto service = LoadModelService(booted->plaintext.Reveal(), model_options);
  booted->plaintext.Clear();  // the runner holds its own copy; wipe ours
  if (!service) return Fail(service.error());

  auto ring = OhttpKeyRing::Create(flags.replay_cache_size);
  if (!ring) return Fail(ring.error().WithContext("OHTTP key"));
  Metrics metrics;
  OipRouter router(service->get());
  // Receipts (issue 17): a key generated here, inside the TEE, bound into the attestation
  // as runtime_data "receipt-key"; each receipt names the evidence /v1/attestation serves.
  auto receipt_alg = ParseReceiptAlg(flags.receipt_alg);
  if (!receipt_alg) return Fail(receipt_alg.error());
  auto measurement = MeasurementFromEarToken(booted->ear_token);
  if (!measurement) return Fail(measurement.error().WithContext("receipts"));
  AttestationService* attestation_for_receipts = nullptr;  // set once it exists, below
  ReceiptSignerOptions receipt_options;
  receipt_options.workload = workload;
  receipt_options.model_digest = "sha256:" + model_ref->digest_hex;
  receipt_options.measurement_hex = *measurement;
  receipt_options.clock = [] { return UnixNow(); };
  receipt_options.attestation_digest = [&attestation_for_receipts]() -> Result<std::string> {
    return attestation_for_receipts->CurrentEvidenceDigest();
  };
  auto receipts = ReceiptSigner::Generate(*receipt_alg, std::move(receipt_options));
  if (!receipts) return Fail(receipts.error().WithContext("receipt key"));
  // Receipt digests of large requests overlap with inference on the other cores.
  const size_t hash_threads = std::max(1u, std::thread::hardware_concurrency()) - 1;
  OhttpService ohttp(ring->get(), &router, &metrics, OhttpServiceLimits{}, receipts->get(),
                     std::max<size_t>(1, hash_threads));
  AttestationOptions attest_options;
  attest_options.receipt_key = (*receipts)->public_jwk();
  attest_options.workload = workload;
  attest_options.model_digest = "sha256:" + model_ref->digest_hex;
  attest_options.fresh_per_second = flags.attest_rate;
  attest_options.fresh_burst = flags.attest_burst;
  if (flags.tls != "off") {
    attest_options.tls_spki_sha256 = [&identity]() -> std::string {
      auto current = identity.Current();
      if (!current || current->chain.empty()) return "";
      auto spki = current->key.GetPublicKey().ToSpkiDer();
      return spki ? HexEncode(Sha256(*spki)) : "";
    };
  }
  AttestationService attestation(
      attester->get(), ring->get(), &metrics, attest_options, [] { return UnixNow(); },
      [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
      });
  attestation_for_receipts = &attestation;
  // The evidence receipts name, collected now rather than on the first request.
  if (auto digest = attestation.CurrentEvidenceDigest(); !digest) {
    return Fail(digest.error().WithContext("evidence for receipts"));
  }

  ServerOptions server_options;
  server_options.host = listen->first;
  server_options.port = listen->second;
  server_options.allow_plaintext_infer = flags.allow_plaintext_infer;
  server_options.max_body_bytes = flags.max_body_bytes;
  server_options.threads = flags.http_threads;
  if (!flags.metrics_token_file.empty()) {
    auto token = ReadFileBytes(flags.metrics_token_file, 4096);
    if (!token) return Fail(token.error().WithContext("--metrics-token-file"));
    std::string text = ToString(*token);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.size() < 16)
      return Fail(Error(ErrorCode::kInvalidArgument,
                        "--metrics-token-file: the token must be at least 16 "
                        "characters"));
    server_options.metrics_token = std::move(text);
  }
  if (flags.tls != "off") {
    server_options.tls = &identity;
    server_options.mtls = *mtls;
    server_options.peers = peers.get();
  }
  OhttpKeyRing* ring_ptr = ring->get();
  ModelService* service_ptr = service->get();
  RuntimeServer server(server_options,
                       ServerDeps{&attestation, &ohttp, &router, &metrics,
                                  [ring_ptr, service_ptr] {
                                    MetricsExtras extras;
                                    extras.batch = service_ptr->BatchStats();
                                    extras.ohttp_replays = ring_ptr->replays();
                                    extras.ohttp_key_rotations = ring_ptr->rotations();
                                    extras.ohttp_key_epoch = ring_ptr->Current()->number;
                                    return extras;
                                  },
                                  &readiness});
  auto port = server.Bind();
  if (!port) return Fail(port.error());
  g_server.store(&server);
  std::fprintf(stderr,
               "crypta-runtime: model %s loaded (%s on %s, model name %s); OHTTP key epoch 1\n",
               model_ref->ToString().c_str(), model_options.backend.c_str(),
               model_options.device.c_str(), model_options.name.c_str());
  if (renewer) renewer->Start();
  std::printf("crypta-runtime: serving %s://%s:%d\n", flags.tls == "off" ? "http" : "https",
              listen->first.c_str(), *port);
  std::fflush(stdout);
  readiness.Set(true);
  const bool ok = server.Run();
  readiness.Set(false);
  if (renewer) renewer->Stop();
  g_run_returned.store(true);
  g_server.store(nullptr);
  if (!ok) return Fail("the HTTP server stopped unexpectedly");
  std::fprintf(stderr, "crypta-runtime: stopped\n");
  return 0;
}

}  // namespace
}  // namespace crypta::runtime

int main(int argc, char** argv) {
  using crypta::runtime::Flags;
  Flags flags;
  CLI::App app{"crypta-runtime: serves one sealed model inside a TEE (see src/runtime/README.md)"};
  app.add_option("--broker", flags.broker, "control plane URL (https://HOST:PORT, or http://)")
      ->required();
  app.add_option("--broker-ca", flags.broker_ca,
                 "the control plane's CA certificate (PEM) for an https:// --broker");
  app.add_option("--model", flags.model, "store://<tenant>/<name>@sha256:<hex>")->required();
  app.add_option("--backend", flags.backend,
                 "torchscript | onnx (default: the backend the model was pushed with)");
  app.add_option("--model-name", flags.model_name, "OIP model name (default: the model's name)");
  app.add_option("--signature", flags.signature,
                 "signature JSON for models that lack one (default: the one pushed with it)");
  app.add_option("--signature-json", flags.signature_json,
                 "the same signature given inline (a deployment spec's model.signature)");
  app.add_option("--workload", flags.workload, "workload name bound into the evidence");
  app.add_option("--listen", flags.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--health-listen", flags.health_listen,
                 "HOST:PORT for plain-HTTP GET /healthz and /readyz, up from the start of the "
                 "boot (Kubernetes probes; never TLS)");
  app.add_option("--max-batch", flags.max_batch, "largest batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--batch-delay-us", flags.batch_delay_us, "longest wait to fill a batch")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  app.add_option("--threads", flags.threads, "intra-op and unseal threads (0: default)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  app.add_option("--device", flags.device,
                 "where a TorchScript model computes: auto (CUDA GPU 0 when the libtorch has "
                 "CUDA and a GPU is visible, else CPU) | cpu | cuda (fail at start without "
                 "one); onnx models run on the CPU")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--tee", flags.tee, "auto | sim")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "sim"}));
  app.add_option("--sim-socket", flags.sim_socket,
                 "sim report socket (default $CRYPTA_SIM_SOCKET)");
  app.add_option("--gpu-evidence", flags.gpu_evidence,
                 "attest the GPUs with the CPU TEE: none, nvml (NVIDIA's NVML, loaded at run "
                 "time) or sim (the sim TEE's simulated GPUs)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "nvml", "sim"}));
  app.add_flag("--allow-plaintext-infer", flags.allow_plaintext_infer,
               "also serve the OIP routes in plain HTTP (benchmarks only)");
  app.add_option("--replay-cache-size", flags.replay_cache_size,
                 "encapsulated keys remembered per OHTTP key epoch")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 26));
  app.add_option("--attest-rate", flags.attest_rate, "fresh attestations per second")
      ->capture_default_str();
  app.add_option("--attest-burst", flags.attest_burst, "fresh attestation burst")
      ->capture_default_str();
  app.add_option("--metrics-token-file", flags.metrics_token_file,
                 "a file holding a token: GET /metrics with it as Bearer token shows the requests\n"
                 "inside OHTTP per route and status (default: one aggregate series)");
  app.add_option("--max-body-bytes", flags.max_body_bytes, "request body cap")
      ->capture_default_str();
  app.add_option("--http-threads", flags.http_threads, "HTTP worker threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--max-model-bytes", flags.max_model_bytes, "largest model accepted")
      ->capture_default_str();
  app.add_option("--tls", flags.tls,
                 "off (plain HTTP) | svid (the platform's X.509-SVID, renewed) | attested "
                 "(a self-signed certificate carrying TEE evidence)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "svid", "attested"}));
  app.add_option("--mtls", flags.mtls,
                 "client certificates: off | optional | required (SVIDs of the platform CA)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "optional", "required"}));
  app.add_option("--allow-peer", flags.allow_peer,
                 "SPIFFE ID pattern a client SVID must match (repeatable; * = one segment)");
  app.add_option("--svid-renew-fraction", flags.svid_renew_fraction,
                 "renew the TLS certificate after this fraction of its lifetime")
      ->capture_default_str();
  app.add_option("--pki-refresh-s", flags.pki_refresh_s,
                 "seconds between trust bundle and CRL refreshes (mTLS)")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app.add_option("--attested-tls-ttl-s", flags.attested_ttl_s,
                 "lifetime of the attested TLS certificate")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{120}, int64_t{30} * 24 * 3600));
  app.add_option("--trust-domain", flags.trust_domain, "SPIFFE trust domain of peers")
      ->capture_default_str();
  app.add_option("--receipt-alg", flags.receipt_alg,
                 "the key that signs a receipt inside every OHTTP response: ed25519 (EdDSA) or "
                 "p256 (ES256); generated at start, bound into the attestation")
      ->capture_default_str()
      ->check(CLI::IsMember({"ed25519", "p256"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return crypta::runtime::Fail(e.what());
  }

  // Before any thread exists, so every thread inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(crypta::runtime::WaitForSignals, set).detach();
  return crypta::runtime::Main(flags);
}
