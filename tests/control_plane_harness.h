// Shared by the control-plane end-to-end tests: a real `crypta up` process on a free
// loopback port, HTTP calls against it, and an RCAR client that plays the local sim node
// with the identity `crypta up` wrote into its data dir (the sim TEE's "hardware").
#ifndef CRYPTA_TESTS_CONTROL_PLANE_HARNESS_H_
#define CRYPTA_TESTS_CONTROL_PLANE_HARNESS_H_

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "api/data_dir.h"
#include "attest/sim/sim_tee.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "kbs/rcar.h"
#include "store/database.h"

namespace crypta::testing {

// A `crypta up --insecure-http` child process (with `tls`, `crypta up` serving HTTPS with
// its own CA, in <data_dir>/tls/ca.pem). The binary comes from $CRYPTA_BIN.
class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir, bool tls = false,
                         std::vector<std::string> extra_args = {})
      : dir_(std::move(data_dir)), tls_(tls), extra_args_(std::move(extra_args)) {}
  ~ServerProcess() { Kill(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits for its "listening on" line; false (with `*why`) if it
  // does not come up.
  bool Start(std::string* why) {
    const char* bin = std::getenv("CRYPTA_BIN");
    if (bin == nullptr) {
      *why = "CRYPTA_BIN must name the crypta binary";
      return false;
    }
    std::vector<std::string> store = StoreArgs(why);
    if (!why->empty()) return false;
    int out[2];
    if (::pipe(out) != 0) {
      *why = "pipe failed";
      return false;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphan if the test binary dies
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> args = {bin, "up", "--listen", "127.0.0.1:0", "--data-dir", dir_};
      if (!tls_) args.push_back("--insecure-http");
      args.insert(args.end(), store.begin(), store.end());
      args.insert(args.end(), extra_args_.begin(), extra_args_.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    // The first line is "crypta: listening on http://127.0.0.1:<port> (data dir …)".
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);  // later output goes to a closed pipe; crypta up ignores SIGPIPE
    const std::string marker = tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:";
    const size_t at = line.find(marker);
    if (at == std::string::npos) {
      *why = "unexpected first line: " + line;
      Kill(SIGKILL);
      return false;
    }
    port_ = std::stoi(line.substr(at + marker.size()));
    auto token = api::ReadPrivateFile(dir_ + "/admin.token");
    if (!token) {
      *why = token.error().ToString();
      return false;
    }
    admin_ = token->substr(0, token->find('\n'));
    return true;
  }

  // {"--store", URL} when the test runs against PostgreSQL (ctest's *.postgres variants set
  // CRYPTA_TEST_PG_STATE, tests/pg/pg_server.sh's state dir) and the data dir has no store
  // yet: a database of its own, named after the data dir. Empty for the embedded SQLite.
  std::vector<std::string> StoreArgs(std::string* why) const {
    const char* state = std::getenv("CRYPTA_TEST_PG_STATE");
    const bool given =
        std::find(extra_args_.begin(), extra_args_.end(), "--store") != extra_args_.end();
    if (state == nullptr || *state == '\0' || given ||
        std::filesystem::exists(dir_ + "/" + api::kStoreFileName) ||
        std::filesystem::exists(dir_ + "/" + api::kDatabaseFileName)) {
      return {};
    }
    auto admin = api::ReadPublicFile(std::string(state) + "/admin_url");
    if (!admin) {
      *why = "PostgreSQL test server: " + admin.error().ToString();
      return {};
    }
    const std::string admin_url = admin->substr(0, admin->find('\n'));
    const std::string name =
        "c_" + HexEncode(Sha256(AsBytes(std::filesystem::absolute(dir_).string()))).substr(0, 20);
    auto db = store::Database::Open(admin_url);
    Status created = db ? (*db)->Exec("CREATE DATABASE " + name) : Status(MakeError(db.error()));
    if (!created && created.error().code() != ErrorCode::kAlreadyExists) {
      *why = "cannot create the test database: " + created.error().ToString();
      return {};
    }
    return {"--store", admin_url.substr(0, admin_url.rfind('/') + 1) + name};
  }

  // The server's store, opened by the test (as someone with database access could).
  Result<std::unique_ptr<store::Database>> OpenStore() const {
    auto url = api::ReadPrivateFile(dir_ + "/" + api::kStoreFileName);
    return store::Database::Open(url ? url->substr(0, url->find('\n'))
                                     : dir_ + "/" + api::kDatabaseFileName);
  }

  // Sends `sig` and reaps the child; returns its wait status (-1 when not running).
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  // SIGTERM; true when the server exited 0.
  bool Stop() {
    const int status = Kill(SIGTERM);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  int port() const { return port_; }
  const std::string& admin_token() const { return admin_; }
  const std::string& data_dir() const { return dir_; }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5);
    client.set_read_timeout(30);
    return client;
  }

  // Sends a request with a bearer token ("" for none); returns {status (0 when the
  // connection failed), body as JSON (discarded when not JSON)}.
  std::pair<int, nlohmann::json> Call(const std::string& method, const std::string& path,
                                      const std::string& token, const std::string& body = "",
                                      const std::string& content_type = "application/json") const {
    auto client = Client();
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result r = method == "GET"      ? client.Get(path.c_str(), headers)
                        : method == "DELETE" ? client.Delete(path.c_str(), headers)
                        : method == "PUT"
                            ? client.Put(path.c_str(), headers, body, content_type.c_str())
                            : client.Post(path.c_str(), headers, body, content_type.c_str());
    if (!r) return {0, nullptr};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }

 private:
  std::string dir_;
  bool tls_ = false;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string admin_;
};

// What a sim workload's RCAR attempt looks like; each field can be made wrong by a test.
struct SimWorkload {
  Bytes measurement = Bytes(attest::kSimMeasurementSize, 0x42);
  Bytes host_data = Bytes(attest::kSimHostDataSize, 1);
  bool debug = false;
  std::string auth_tee = "sim";  // the TEE named in /kbs/v0/auth
  // Optional tampering of the attest request: called with the runtime-data whose hash the
  // evidence carries, may change the request sent (e.g. another tee-pubkey).
  std::function<void(nlohmann::json& attest_request)> tamper;
  bool replay_nonce = false;  // attest twice with the same nonce; the second answer counts
  // Extra runtime-data members bound into the evidence (e.g. "svid-spki-sha256").
  nlohmann::json extra_runtime_data = nlohmann::json::object();
};

struct RcarOutcome {
  RcarOutcome(int status, nlohmann::json body, std::string ear = "",
              nlohmann::json runtime_data = nullptr)
      : status(status),
        body(std::move(body)),
        ear(std::move(ear)),
        runtime_data(std::move(runtime_data)) {}
  int status = 0;  // of the failing step, or of the resource request
  nlohmann::json body;
  std::string ear;              // the EAR token when attestation succeeded
  nlohmann::json runtime_data;  // what the evidence bound
};

// A key-release policy allowing the sim TEE with exactly this measurement.
inline std::string SimPolicy(const Bytes& measurement) {
  return "tee: [sim]\nallow_simulated: true\nmeasurements: [" + HexEncode(measurement) + "]\n";
}

// Creates tenant/key with `policy` through the admin API and wraps a random DEK for
// `object` (as `crypta model push` does); returns the DEK.
inline Bytes SetUpKey(const ServerProcess& server, const std::string& tenant,
                      const std::string& key, const std::string& policy,
                      const std::string& object) {
  using nlohmann::json;
  const std::string& admin = server.admin_token();
  server.Call("POST", "/v1/tenants", admin, json{{"name", tenant}}.dump());
  EXPECT_EQ(
      server.Call("POST", "/v1/tenants/" + tenant + "/keys", admin, json{{"name", key}}.dump())
          .first,
      201);
  EXPECT_EQ(server
                .Call("PUT", "/v1/tenants/" + tenant + "/keys/" + key + "/policy", admin, policy,
                      "text/plain")
                .first,
            200);
  const Bytes dek = *RandomBytes(32);
  json wrap = {{"object_id", object}, {"dek_b64", Base64Encode(dek)}};
  EXPECT_EQ(
      server.Call("POST", "/v1/tenants/" + tenant + "/keys/" + key + "/deks", admin, wrap.dump())
          .first,
      201);
  return dek;
}

// Auth → attest (evidence signed by the data dir's sim node) → GET `resource_path` with the
// EAR as bearer token. Stops at the first non-200 step. With `then`, attest and resource go to
// that server (another replica of the same store).
inline RcarOutcome RunRcar(const ServerProcess& server, const SimWorkload& workload,
                           const PrivateKey& tee_key, const std::string& resource_path,
                           const ServerProcess* then = nullptr) {
  using nlohmann::json;
  auto client = server.Client();
  auto next = (then ? *then : server).Client();
  const json auth_req = {
      {"version", "0.1.1"}, {"tee", workload.auth_tee}, {"extra-params", nlohmann::json::object()}};
  auto auth = client.Post("/kbs/v0/auth", auth_req.dump(), "application/json");
  if (!auth || auth->status != 200) {
    return {auth ? auth->status : 0, auth ? json::parse(auth->body, nullptr, false) : json()};
  }
  std::string cookie = auth->get_header_value("Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  const json nonce = json::parse(auth->body)["nonce"];
  json runtime = {{"nonce", nonce}, {"tee-pubkey", *PublicKeyToJwk(tee_key.GetPublicKey())}};
  runtime.update(workload.extra_runtime_data);

  auto key = PrivateKey::FromPem(*api::ReadPrivateFile(server.data_dir() + "/sim/node.key.pem"));
  auto chain =
      Certificate::ParsePemBundle(*api::ReadPublicFile(server.data_dir() + "/sim/node.pem"));
  if (!key || !chain) return {-1, nlohmann::json("cannot read the sim node identity")};
  attest::SimNodeIdentity node{api::kSimNodeId, *key, *chain};
  attest::SimLaunch launch{workload.measurement, workload.host_data, workload.debug, 1};
  auto evidence = attest::SignSimReport(node, launch, *kbs::RcarReportData(runtime), UnixNow());
  if (!evidence) return {-2, nlohmann::json(evidence.error().ToString())};
  json attest_req = {{"runtime-data", runtime},
                     {"tee-evidence", std::string(evidence->begin(), evidence->end())}};
  if (workload.tamper) workload.tamper(attest_req);
  if (workload.replay_nonce) {
    next.Post("/kbs/v0/attest", {{"Cookie", cookie}}, attest_req.dump(), "application/json");
  }
  auto attested =
      next.Post("/kbs/v0/attest", {{"Cookie", cookie}}, attest_req.dump(), "application/json");
  if (!attested || attested->status != 200) {
    return {attested ? attested->status : 0,
            attested ? json::parse(attested->body, nullptr, false) : json()};
  }
  const std::string ear = json::parse(attested->body)["token"];
  auto resource = next.Get(resource_path.c_str(), {{"Authorization", "Bearer " + ear}});
  if (!resource) return {0, nullptr, ear, runtime};
  return {resource->status, json::parse(resource->body, nullptr, false), ear, runtime};
}

// A fresh temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "crypta_e2e_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace crypta::testing

#endif  // CRYPTA_TESTS_CONTROL_PLANE_HARNESS_H_
