// `crypta svid fetch` (issue 7): run inside a TEE (the sim TEE: under `crypta sim launch`), it
// obtains the workload's SPIFFE X.509-SVID from the control plane — a fresh P-256 key, RCAR
// with the CSR key bound into the evidence's runtime-data, POST /v1/pki/svid — and writes the
// chain, the key and the platform's trust bundle for a TLS client or server to use.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "api/data_dir.h"
#include "attest/collector.h"
#include "cli/commands.h"
#include "common/file_util.h"
#include "runtime/http_fetcher.h"
#include "runtime/tls_svid.h"

namespace crypta::cli {
namespace {

struct FetchArgs {
  std::string broker, broker_ca, tenant, workload, key, out, sim_socket;
};

Status Fetch(const FetchArgs& a) {
  CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<attest::Attester> attester,
                          attest::DetectAttester("/", a.sim_socket));
  if (attester->name() == "sim") {
    std::fprintf(stderr, "crypta: SIMULATED TEE — no hardware isolation\n");
  }
  runtime::FetcherOptions options;
  options.ca_cert_path = a.broker_ca;
  CRYPTA_ASSIGN_OR_RETURN(auto broker, runtime::NewHttpFetcher(a.broker, options));
  CRYPTA_ASSIGN_OR_RETURN(runtime::TlsCredential credential,
                          runtime::ObtainSvid(*broker, *attester, {a.tenant, a.workload, a.key}));
  CRYPTA_ASSIGN_OR_RETURN(runtime::PlatformTrust trust, runtime::FetchPlatformTrust(*broker));
  CRYPTA_ASSIGN_OR_RETURN(std::string key_pem, credential.key.ToPkcs8Pem());
  CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(a.out + ".pem",
                                         AsBytes(CertificatesToPem(credential.chain)), 0644,
                                         /*overwrite=*/true));
  CRYPTA_RETURN_IF_ERROR(
      WriteFileAtomic(a.out + ".key", AsBytes(key_pem), 0600, /*overwrite=*/true));
  CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(a.out + ".bundle.pem", AsBytes(trust.bundle_pem), 0644,
                                         /*overwrite=*/true));
  std::printf("%s\nwrote %s.pem (chain), %s.key, %s.bundle.pem\n", credential.description.c_str(),
              a.out.c_str(), a.out.c_str(), a.out.c_str());
  return OkStatus();
}

}  // namespace

void RegisterSvidCommands(CLI::App& app, int* exit_code) {
  CLI::App* svid = app.add_subcommand("svid", "Workload identities (SPIFFE X.509-SVIDs)");
  svid->require_subcommand(1);
  auto a = std::make_shared<FetchArgs>();
  if (const char* env = std::getenv("CRYPTA_SIM_SOCKET")) a->sim_socket = env;
  CLI::App* fetch = svid->add_subcommand(
      "fetch",
      "Inside a TEE: attest to the control plane and obtain this workload's SVID (the CSR's\n"
      "key is bound into the evidence; the key's release policy must accept this TEE)");
  fetch->add_option("--broker", a->broker, "Control plane URL (https://HOST:PORT)")->required();
  fetch->add_option("--broker-ca", a->broker_ca, "The control plane's CA bundle (tls/ca.pem)");
  fetch->add_option("--tenant", a->tenant, "Tenant")->required();
  fetch->add_option("--workload", a->workload, "Workload name (the SPIFFE ID's last segment)")
      ->required();
  fetch->add_option("--key", a->key, "Tenant key whose release policy gates the identity")
      ->required();
  fetch->add_option("--out,-o", a->out, "Output prefix: PREFIX.pem, PREFIX.key, PREFIX.bundle.pem")
      ->required();
  fetch->add_option("--sim-socket", a->sim_socket,
                    "The sim TEE socket (default $CRYPTA_SIM_SOCKET)");
  fetch->callback([a, exit_code] {
    Status s = Fetch(*a);
    *exit_code = s ? 0 : ReportError(s.error());
  });
}

}  // namespace crypta::cli
