// RCAR load over loopback (issue 4: "Full RCAR (auth + attest with sim evidence + resource)
// on loopback: p50/p99 latency and releases per second").
//
// Starts the real control plane in-process (api::ControlPlane on 127.0.0.1, port 0,
// plaintext HTTP, a fresh temporary data dir), creates a tenant, a key, a DEK and a policy
// allowing one sim measurement through the admin API, then for each client count C runs
//   1. the baseline: N GET /healthz round trips from C concurrent clients (the HTTP floor:
//      httplib client + server, loopback, JSON reply);
//   2. N full RCAR rounds from C concurrent clients: POST /kbs/v0/auth → a fresh P-256
//      tee-pubkey, sim evidence over SHA-384(JCS(runtime-data)) signed with the data dir's
//      sim node key (ES384, what the "hardware" does) → POST /kbs/v0/attest (evidence
//      verification, EAR signing) → GET /kbs/v0/resource with the EAR (policy appraisal, KEK
//      and DEK unwrap, JWE to the tee-pubkey, one audit append with an fsync).
// Each request opens its own connection (httplib::Client's default, and what a workload
// doing one RCAR round at start-up does); the client sets TCP_NODELAY. --keep-alive reuses
// one connection per client instead: the server does not set TCP_NODELAY, so on a kept-alive
// connection its replies wait for the client's delayed ACK (about 40 ms per request on
// Linux), which that mode makes visible. Every client checks that its first release
// decrypts to the DEK; every round must answer 200.
//
// Reported per C: round latency p50/p99 (wall clock of the whole round, client-side key
// generation and evidence signing included), the same without the client's own crypto
// ("server"), releases per second (N / wall time), and the healthz p50/p99 and rate.
// Clients and server share the machine's cores, so client signing competes with the server.
//
// With --slow N (issue 14) each measurement is repeated while N slow connections are held
// (each dribbling a request header, spread over 16 loopback source addresses), and the
// ratios of healthz p99 and RCAR p50/p99 with/without are reported.
//
// With --store URL (issue 15) the control plane keeps its state in that PostgreSQL database
// instead of SQLite; --replicas N (with --store) starts N control planes on it, the later
// ones from copies of the first one's data dir, and client t talks to replica t % N.
// scripts/bench_ha.sh compares SQLite, PostgreSQL with 1 replica and with 2 in one run.
//
// Usage: rcar_load [--rounds N] [--clients C1,C2,...] [--slow N] [--keep-alive] [--out FILE]
//                  [--store URL [--replicas N]]
//   defaults: --rounds 300 --clients 1,4, no slow connections, a new connection per request
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/data_dir.h"
#include "api/server.h"
#include "attest/sim/sim_tee.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/jwe.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "kbs/rcar.h"
#include "testing/slow_clients.h"

namespace crypta {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "rcar_load: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().ToString());
  return std::move(*r);
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Stats {
  double p50 = 0, p99 = 0, mean = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

// The world one run drives: the server, its admin token, the sim node and the DEK.
struct World {
  std::string tmp;
  std::unique_ptr<api::ControlPlane> plane;
  std::thread serving;
  // --replicas: the others (same store, copies of the first data dir).
  std::vector<std::unique_ptr<api::ControlPlane>> others;
  std::vector<std::thread> others_serving;
  std::string admin;
  Bytes measurement = Bytes(attest::kSimMeasurementSize, 0x42);
  Bytes dek;
  std::string resource_path = "/kbs/v0/resource/radiology/models/llama-70b";
};

int Port(const World& w) { return w.plane->port(); }
// The replica client `t` uses.
int PortOf(const World& w, int t) {
  const size_t n = w.others.size() + 1;
  const size_t r = static_cast<size_t>(t) % n;
  return r == 0 ? Port(w) : w.others[r - 1]->port();
}

void AdminCall(const World& w, const std::string& method, const std::string& path,
               const std::string& body, int want) {
  httplib::Client c("127.0.0.1", Port(w));
  httplib::Headers h = {{"Authorization", "Bearer " + w.admin}};
  httplib::Result r = method == "PUT" ? c.Put(path.c_str(), h, body, "text/plain")
                                      : c.Post(path.c_str(), h, body, "application/json");
  if (!r || r->status != want) {
    Die(method + " " + path + " answered " +
        (r ? std::to_string(r->status) + " " + r->body : std::string("no response")));
  }
}

void SetUp(World& w, const std::string& store, int replicas) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rcar_load_XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
  w.tmp = tmpl;
  api::ControlPlaneOptions options;
  options.data_dir = w.tmp + "/data";
  options.host = "127.0.0.1";
  options.port = 0;
  options.insecure_http = true;
  options.store = store;
  if (!store.empty()) {
    Must(api::ResolveStore(options.data_dir, store), "recording the store");
  }
  w.plane = Must(api::ControlPlane::Start(options), "starting the control plane");
  api::ControlPlane* plane = w.plane.get();
  w.serving = std::thread([plane] {
    if (auto s = plane->Serve(); !s) Die("serve: " + s.error().ToString());
  });
  std::string token = Must(api::ReadPrivateFile(options.data_dir + "/" + api::kAdminTokenFileName),
                           "reading admin.token");
  w.admin = token.substr(0, token.find('\n'));
  for (int i = 0; i < 200; ++i) {  // wait for the listener thread
    httplib::Client c("127.0.0.1", Port(w));
    if (auto r = c.Get("/healthz"); r && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  AdminCall(w, "POST", "/v1/tenants", R"({"name":"radiology"})", 201);
  AdminCall(w, "POST", "/v1/tenants/radiology/keys", R"({"name":"models"})", 201);
  AdminCall(w, "PUT", "/v1/tenants/radiology/keys/models/policy",
            "tee: [sim]\nallow_simulated: true\nmeasurements: [" + HexEncode(w.measurement) + "]\n",
            200);
  w.dek = Must(RandomBytes(32), "random DEK");
  AdminCall(w, "POST", "/v1/tenants/radiology/keys/models/deks",
            json{{"object_id", "llama-70b"}, {"dek_b64", Base64Encode(w.dek)}}.dump(), 201);
  if (!w.plane->state().sim_node) Die("the data dir has no sim node identity");
  for (int r = 1; r < replicas; ++r) {
    api::ControlPlaneOptions copy = options;
    copy.data_dir = w.tmp + "/data" + std::to_string(r);
    std::filesystem::copy(options.data_dir, copy.data_dir,
                          std::filesystem::copy_options::recursive);
    std::filesystem::remove_all(copy.data_dir + "/blobs");
    w.others.push_back(Must(api::ControlPlane::Start(copy), "starting a replica"));
    api::ControlPlane* other = w.others.back().get();
    w.others_serving.emplace_back([other] {
      if (auto s = other->Serve(); !s) Die("serve: " + s.error().ToString());
    });
    for (int i = 0; i < 200; ++i) {
      httplib::Client c("127.0.0.1", other->port());
      if (auto r = c.Get("/healthz"); r && r->status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

void TearDown(World& w) {
  for (auto& other : w.others) other->Stop();
  for (auto& t : w.others_serving) t.join();
  w.others.clear();
  w.plane->Stop();
  w.serving.join();
  w.plane.reset();
  std::error_code ec;
  std::filesystem::remove_all(w.tmp, ec);
}

// One RCAR round on `c`. Adds the client's own crypto time (key generation, evidence
// signing, report_data hashing, and the JWE decryption when `check`) to *client_us.
// Per-step wall times of the last round, for the breakdown (auth, attest, resource).
struct Steps {
  double auth = 0, attest = 0, resource = 0;
};

// Returns "" on success, else what failed (the round is counted as an error).
std::string RcarRound(const World& w, httplib::Client& c, bool check, double* client_us,
                      Steps* steps) {
  const auto start = Clock::now();
  auto auth = c.Post("/kbs/v0/auth", R"({"version":"0.1.1","tee":"sim","extra-params":{}})",
                     "application/json");
  if (!auth || auth->status != 200) {
    return "auth answered " +
           (auth ? std::to_string(auth->status) + " " + auth->body : std::string("nothing"));
  }
  std::string cookie = auth->get_header_value("Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  const auto t0 = Clock::now();
  steps->auth = Micros(t0 - start);
  PrivateKey tee_key = Must(PrivateKey::Generate(KeyType::kEcP256), "tee key");
  json runtime = {{"nonce", json::parse(auth->body)["nonce"]},
                  {"tee-pubkey", Must(PublicKeyToJwk(tee_key.GetPublicKey()), "jwk")}};
  const attest::SimNodeIdentity& node = *w.plane->state().sim_node;
  attest::SimLaunch launch{w.measurement, Bytes(attest::kSimHostDataSize, 1), false, 1};
  Bytes evidence =
      Must(attest::SignSimReport(node, launch, Must(kbs::RcarReportData(runtime), "report_data"),
                                 UnixNow()),
           "sim evidence");
  json request = {{"runtime-data", runtime},
                  {"tee-evidence", std::string(evidence.begin(), evidence.end())}};
  const std::string body = request.dump();
  const auto t_attest = Clock::now();
  *client_us += Micros(t_attest - t0);
  auto attested = c.Post("/kbs/v0/attest", {{"Cookie", cookie}}, body, "application/json");
  if (!attested || attested->status != 200) {
    return "attest answered " + (attested ? std::to_string(attested->status) + " " + attested->body
                                          : std::string("nothing"));
  }
  const std::string ear = json::parse(attested->body)["token"];
  const auto t_resource = Clock::now();
  steps->attest = Micros(t_resource - t_attest);
  auto resource = c.Get(w.resource_path.c_str(), {{"Authorization", "Bearer " + ear}});
  if (!resource || resource->status != 200) {
    return "resource answered " + (resource
                                       ? std::to_string(resource->status) + " " + resource->body
                                       : std::string("nothing"));
  }
  steps->resource = Micros(Clock::now() - t_resource);
  if (check) {
    const auto t1 = Clock::now();
    auto plain = Must(JweDecrypt(json::parse(resource->body), tee_key), "JWE decrypt");
    if (!ConstantTimeEquals(plain.plaintext.Reveal(), w.dek)) Die("released DEK differs");
    *client_us += Micros(Clock::now() - t1);
  }
  return "";
}

bool g_keep_alive = false;  // --keep-alive

struct RunResult {
  Stats total, server;    // successful operations only
  double per_second = 0;  // successful operations per second of wall time
  int errors = 0;
  std::string first_error;
};

// Runs `rounds` operations over `clients` threads; `op` returns the client-side share of
// the time, or nullopt after a failure (recorded through `fail`).
template <typename Op>
RunResult Drive(const World& w, int rounds, int clients, Op op) {
  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  std::vector<std::vector<double>> total(clients), server(clients);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", PortOf(w, t));
      c.set_keep_alive(g_keep_alive);
      c.set_tcp_nodelay(true);
      for (int i = next++, mine = 0; i < rounds; i = next++, ++mine) {
        const auto t0 = Clock::now();
        std::optional<double> client_us = op(c, mine == 0);
        double us = Micros(Clock::now() - t0);
        if (!client_us) {
          ++errors;
          continue;
        }
        total[t].push_back(us);
        server[t].push_back(us - *client_us);
      }
    });
  }
  for (auto& th : threads) th.join();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all_total, all_server;
  for (int t = 0; t < clients; ++t) {
    all_total.insert(all_total.end(), total[t].begin(), total[t].end());
    all_server.insert(all_server.end(), server[t].begin(), server[t].end());
  }
  return {Summarize(all_total), Summarize(all_server),
          static_cast<double>(all_total.size()) / wall_s, errors.load(), ""};
}

int Main(int argc, char** argv) {
  int rounds = 300;
  std::vector<int> client_counts = {1, 4};
  size_t slow_connections = 0;
  std::string out, store;
  int replicas = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--rounds") {
      rounds = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--clients") {
      client_counts.clear();
      std::string list = value();
      for (size_t p = 0; p < list.size();) {
        size_t q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        client_counts.push_back(std::clamp(std::atoi(list.substr(p, q - p).c_str()), 1, 64));
        p = q + 1;
      }
    } else if (a == "--slow") {
      slow_connections = static_cast<size_t>(std::max(0, std::atoi(value().c_str())));
    } else if (a == "--keep-alive") {
      g_keep_alive = true;
    } else if (a == "--out") {
      out = value();
    } else if (a == "--store") {
      store = value();
    } else if (a == "--replicas") {
      replicas = std::clamp(std::atoi(value().c_str()), 1, 8);
    } else {
      Die("usage: rcar_load [--rounds N] [--clients C1,C2,...] [--slow N] [--keep-alive] "
          "[--out FILE] [--store URL [--replicas N]]");
    }
  }
  if (replicas > 1 && store.empty()) Die("--replicas needs --store (a PostgreSQL URL)");
  World w;
  SetUp(w, store, replicas);
  // Warm-up: connections, the verifier's caches, SQLite pages.
  Drive(w, 20, 1, [&](httplib::Client& c, bool check) -> std::optional<double> {
    double client_us = 0;
    Steps steps;
    if (std::string e = RcarRound(w, c, check, &client_us, &steps); !e.empty()) Die(e);
    return client_us;
  });
  json results = json::array();
  std::printf("%-8s %-13s %12s %12s %12s %12s %12s\n", "clients", "what", "p50 us", "p99 us",
              "mean us", "srv p50 us", "per second");
  // One measurement of /healthz and full RCAR rounds at `clients`; `label` suffixes the rows.
  auto measure = [&](int clients, const std::string& label) -> json {
    RunResult health = Drive(w, rounds, clients, [](httplib::Client& c, bool) {
      auto r = c.Get("/healthz");
      return r && r->status == 200 ? std::optional<double>(0.0) : std::nullopt;
    });
    std::mutex mu;
    std::vector<double> auth_us, attest_us, resource_us;
    std::string first_error;
    RunResult rcar = Drive(w, rounds, clients, [&](httplib::Client& c, bool check) {
      double client_us = 0;
      Steps steps;
      std::string error = RcarRound(w, c, check, &client_us, &steps);
      std::lock_guard<std::mutex> lock(mu);
      if (!error.empty()) {
        if (first_error.empty()) first_error = error;
        return std::optional<double>();
      }
      auth_us.push_back(steps.auth);
      attest_us.push_back(steps.attest);
      resource_us.push_back(steps.resource);
      return std::optional<double>(client_us);
    });
    const Stats auth = Summarize(auth_us), attest = Summarize(attest_us),
                resource = Summarize(resource_us);
    for (const auto& [what, r] :
         {std::pair<std::string, const RunResult&>{"healthz" + label, health},
          std::pair<std::string, const RunResult&>{"rcar" + label, rcar}}) {
      std::printf("%-8d %-13s %12.0f %12.0f %12.0f %12.0f %12.1f\n", clients, what.c_str(),
                  r.total.p50, r.total.p99, r.total.mean, r.server.p50, r.per_second);
    }
    std::printf(
        "%-8d steps p50 us: auth %.0f, attest %.0f (client evidence excluded), "
        "resource %.0f\n",
        clients, auth.p50, attest.p50, resource.p50);
    if (rcar.errors > 0 || health.errors > 0) {
      std::printf("%-8d FAILED: %d of %d rounds, %d healthz; first: %s\n", clients, rcar.errors,
                  rounds, health.errors, first_error.c_str());
    }
    return {{"clients", clients},
            {"rounds", rounds},
            {"rcar_p50_us", rcar.total.p50},
            {"rcar_p99_us", rcar.total.p99},
            {"rcar_mean_us", rcar.total.mean},
            {"rcar_server_p50_us", rcar.server.p50},
            {"rcar_server_p99_us", rcar.server.p99},
            {"releases_per_s", rcar.per_second},
            {"rcar_errors", rcar.errors},
            {"first_error", first_error},
            {"auth_p50_us", auth.p50},
            {"attest_p50_us", attest.p50},
            {"resource_p50_us", resource.p50},
            {"healthz_p50_us", health.total.p50},
            {"healthz_p99_us", health.total.p99},
            {"healthz_per_s", health.per_second},
            {"healthz_errors", health.errors}};
  };
  for (int clients : client_counts) {
    json result = measure(clients, "");
    if (slow_connections > 0) {
      // The same again while `slow_connections` clients each dribble a request header
      // (testing/slow_clients.h), spread over 16 loopback source addresses.
      testing::SlowClients slow(Port(w), slow_connections,
                                testing::SlowClients::Kind::kPlainHeader);
      for (int i = 0; i < 100 && slow.open() < slow_connections * 9 / 10; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
      json with = measure(clients, "+slow");
      with["slow_connections_held"] = slow.open();
      std::printf(
          "%-8d with %zu slow connections held: healthz p99 x%.2f, rcar p50 x%.2f, "
          "p99 x%.2f\n",
          clients, slow.open(),
          with["healthz_p99_us"].get<double>() / result["healthz_p99_us"].get<double>(),
          with["rcar_p50_us"].get<double>() / result["rcar_p50_us"].get<double>(),
          with["rcar_p99_us"].get<double>() / result["rcar_p99_us"].get<double>());
      result["with_slow_connections"] = with;
    }
    results.push_back(result);
  }
  TearDown(w);
  if (!out.empty()) {
    char host[256] = {0};
    ::gethostname(host, sizeof(host) - 1);
    json doc = {{"context",
                 {{"host_name", host},
                  {"keep_alive", g_keep_alive},
                  {"store", store.empty() ? "sqlite" : "postgresql"},
                  {"replicas", replicas},
                  {"num_cpus", static_cast<int>(std::thread::hardware_concurrency())}}},
                {"rcar_load", results}};
    std::ofstream f(out);
    f << doc.dump(2) << "\n";
    if (!f) Die("cannot write " + out);
  }
  return 0;
}

}  // namespace
}  // namespace crypta

int main(int argc, char** argv) { return crypta::Main(argc, argv); }
