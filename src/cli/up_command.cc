// crypta up: run the control plane (key broker, RCAR, admin API, audit) from a data dir.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "cli/commands.h"
#include "common/bytes.h"
#include "common/file_util.h"

namespace crypta::cli {
namespace {

struct UpArgs {
  std::string listen = "127.0.0.1:8443";
  std::string data_dir;
  bool insecure_http = false;
  std::vector<std::string> tls_names;
};

Result<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  const std::string port_text = colon == std::string::npos ? "" : listen.substr(colon + 1);
  if (colon == 0 || colon == std::string::npos || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--listen must be HOST:PORT (e.g. 127.0.0.1:8443; port 0 = any free port)");
  }
  return std::make_pair(listen.substr(0, colon), std::stoi(port_text));
}

int RunUp(const UpArgs& args) {
  auto listen = ParseListen(args.listen);
  if (!listen) return ReportError(listen.error());
  api::ControlPlaneOptions options;
  options.data_dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
  options.host = listen->first;
  options.port = listen->second;
  options.insecure_http = args.insecure_http;
  options.tls_names = args.tls_names;

  // Block SIGINT/SIGTERM in every thread; one thread waits for them and stops the server.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto plane = api::ControlPlane::Start(options);
  if (!plane) return ReportError(plane.error());
  // Record where we listen so other commands find us through --data-dir (world-readable:
  // the URL is not a secret; the token stays in admin.token, 0600). Rewritten atomically.
  const bool ipv6 = options.host.find(':') != std::string::npos;  // RFC 3986 §3.2.2
  const std::string scheme = args.insecure_http ? "http://" : "https://";
  const std::string url = scheme + (ipv6 ? "[" + options.host + "]" : options.host) + ":" +
                          std::to_string((*plane)->port()) + "\n";
  if (Status s = WriteFileAtomic(options.data_dir + "/url", AsBytes(url), 0644,
                                 /*overwrite=*/true);
      !s) {
    return ReportError(s.error().WithContext("cannot write " + options.data_dir + "/url"));
  }
  std::printf("crypta: listening on %s%s:%d (data dir %s)\n", scheme.c_str(), options.host.c_str(),
              (*plane)->port(), options.data_dir.c_str());
  if (args.insecure_http) {
    std::printf("crypta: WARNING: plaintext HTTP (--insecure-http): use it on loopback only\n");
  } else {
    std::printf(
        "crypta: TLS certificate authority %s (%s/tls/ca.pem); clients pin it with\n"
        "        --ca-cert FILE or CRYPTA_CA_CERT (--data-dir finds it)\n",
        (*plane)->TlsCaFingerprint().c_str(), options.data_dir.c_str());
  }
  std::printf("crypta: the local sim TEE is SIMULATED: no hardware isolation\n");
  if ((*plane)->state().first_start) {
    std::printf("crypta: platform-admin token written to %s/admin.token\n",
                options.data_dir.c_str());
  }
  std::fflush(stdout);

  // Stops the server on SIGINT/SIGTERM (or on the SIGTERM sent below once Serve returns).
  std::thread waiter([&signals, server = plane->get()] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    server->Stop();
  });
  Status served = (*plane)->Serve();
  // Wake the waiter if Serve ended on its own.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (!served) return ReportError(served.error());
  std::printf("crypta: stopped\n");
  return 0;
}

}  // namespace

std::string DefaultDataDir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/crypta";
  }
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/crypta";
}

void RegisterUpCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<UpArgs>();
  CLI::App* up = app.add_subcommand("up", "Run the control plane (key broker, RCAR, admin API)");
  up->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0 = any free port)")
      ->capture_default_str();
  up->add_option("--data-dir", args->data_dir, "State directory (default ~/.local/share/crypta)");
  up->add_flag("--insecure-http", args->insecure_http,
               "Serve plaintext HTTP instead of TLS (tests; loopback only)");
  up->add_option("--tls-name", args->tls_names,
                 "Extra DNS name or IP for the TLS certificate (localhost, 127.0.0.1, ::1 and\n"
                 "the --listen host are always included)");
  up->callback([args, exit_code] { *exit_code = RunUp(*args); });
}

}  // namespace crypta::cli
