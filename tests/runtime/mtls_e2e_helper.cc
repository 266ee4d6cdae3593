// Helper for tests/runtime/mtls_e2e_test.sh (issue 7):
//
//   mtls_e2e_helper issue BROKER TENANT WORKLOAD KEY OUT_PREFIX
//       Run under `crypta sim launch`: a P-256 key and CSR, RCAR with "svid-spki-sha256" in
//       the runtime-data, POST /v1/pki/svid → OUT_PREFIX.pem (chain) and OUT_PREFIX.key.
//   mtls_e2e_helper load URL BROKER CERT KEY SECONDS SPIFFE_PATTERN
//       Calls GET URL/v1/attestation through the client SDK's https transport (a new
//       connection each call) for SECONDS, pinning the platform bundle (refetched from
//       BROKER/v1/pki/bundle before every call) and expecting SPIFFE_PATTERN, with the
//       client SVID. Prints "calls N failures F" and exits 1 when F > 0.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "attest/collector.h"
#include "client/http_transport.h"
#include "common/file_util.h"
#include "pki/platform_ca.h"
#include "runtime/http_fetcher.h"
#include "runtime/tls_svid.h"
#include "testing/slow_clients.h"

namespace crypta {
namespace {

int Issue(char** argv) {
  const char* socket = std::getenv("CRYPTA_SIM_SOCKET");
  if (socket == nullptr) {
    std::fprintf(stderr, "issue: no CRYPTA_SIM_SOCKET (run under crypta sim launch)\n");
    return 1;
  }
  attest::SimAttester attester(socket);
  auto broker = runtime::NewHttpFetcher(argv[2]);
  if (!broker) return std::fprintf(stderr, "%s\n", broker.error().message().c_str()), 1;
  runtime::SvidTarget target{argv[3], argv[4], argv[5]};
  auto credential = runtime::ObtainSvid(**broker, attester, target);
  if (!credential) {
    std::fprintf(stderr, "issue: %s\n", credential.error().message().c_str());
    return 1;
  }
  auto key_pem = credential->key.ToPkcs8Pem();
  if (!key_pem) return 1;
  const std::string prefix = argv[6];
  if (!WriteFileAtomic(prefix + ".pem", AsBytes(CertificatesToPem(credential->chain)), 0600,
                       true) ||
      !WriteFileAtomic(prefix + ".key", AsBytes(*key_pem), 0600, true)) {
    std::fprintf(stderr, "issue: cannot write %s.*\n", prefix.c_str());
    return 1;
  }
  std::printf("issued %s\n", credential->description.c_str());
  return 0;
}

int Load(char** argv) {
  const std::string url = argv[2];
  auto broker = runtime::NewHttpFetcher(argv[3]);
  if (!broker) return 1;
  auto cert = ReadFileBytes(argv[4], 1 << 16);
  auto key = ReadFileBytes(argv[5], 1 << 16);
  if (!cert || !key) return std::fprintf(stderr, "load: cannot read the client SVID\n"), 1;
  const int seconds = std::atoi(argv[6]);
  const std::string pattern = argv[7];
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int calls = 0, failures = 0;
  while (std::chrono::steady_clock::now() < end) {
    ++calls;
    runtime::FetchRequest get_bundle;
    get_bundle.path = "/v1/pki/bundle";
    auto bundle = (*broker)->Send(get_bundle);
    if (!bundle || bundle->status != 200) {
      ++failures;
      std::fprintf(stderr, "load: bundle fetch failed\n");
      continue;
    }
    client::TransportOptions options;
    options.tls.ca_bundle_pem = bundle->body;
    options.tls.expected_spiffe_ids = {pattern};
    options.tls.client_cert_pem = ToString(*cert);
    options.tls.client_key_pem = ToString(*key);
    auto transport = client::MakeHttpTransport(url, options);
    if (!transport) {
      ++failures;
      std::fprintf(stderr, "load: %s\n", transport.error().message().c_str());
      continue;
    }
    auto reply = (*transport)->Get("/v1/attestation", 1 << 20);
    if (!reply || reply->status != 200) {
      ++failures;
      std::fprintf(stderr, "load: call %d failed: %s\n", calls,
                   reply ? ("HTTP " + std::to_string(reply->status)).c_str()
                         : reply.error().message().c_str());
    }
  }
  std::printf("calls %d failures %d\n", calls, failures);
  return failures == 0 && calls > 0 ? 0 : 1;
}

}  // namespace
}  // namespace crypta

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "issue" && argc == 7) return crypta::Issue(argv);
  if (mode == "load" && argc == 8) return crypta::Load(argv);
  if (mode == "slow-tls" && argc == 5) {
    return crypta::testing::HoldSlowClients(std::stoi(argv[2]), std::stoul(argv[3]),
                                            std::stoi(argv[4]),
                                            crypta::testing::SlowClients::Kind::kTlsClientHello);
  }
  std::fprintf(stderr,
               "usage: mtls_e2e_helper issue BROKER TENANT WORKLOAD KEY OUT_PREFIX\n"
               "       mtls_e2e_helper load URL BROKER CERT KEY SECONDS SPIFFE_PATTERN\n"
               "       mtls_e2e_helper slow-tls PORT N SECONDS\n");
  return 2;
}
