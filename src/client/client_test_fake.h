// Test-only: a fake crypta-runtime behind the HttpTransport interface. It signs sim
// evidence over the runtime_data binding (like the real runtime through the sim socket)
// and is an OHTTP gateway whose inner "model" doubles FP32 inputs. Knobs let one test
// change one thing: what report_data covers, runtime_data itself, a fixed (stale) nonce,
// a tampered response.
#ifndef CRYPTA_CLIENT_CLIENT_TEST_FAKE_H_
#define CRYPTA_CLIENT_CLIENT_TEST_FAKE_H_

#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "attest/ear.h"
#include "attest/sim/sim_tee.h"
#include "client/client.h"
#include "common/encoding.h"
#include "crypto/ohttp.h"
#include "infer/oip.h"

namespace crypta::client {

class FakeRuntime : public HttpTransport {
 public:
  using Edit = std::function<nlohmann::json(nlohmann::json)>;

  static Result<std::shared_ptr<FakeRuntime>> Create(int64_t now) {
    CRYPTA_ASSIGN_OR_RETURN(attest::SimCa ca, attest::CreateSimRootCa(now - 3600));
    CRYPTA_ASSIGN_OR_RETURN(attest::SimNodeIdentity node,
                            attest::IssueSimNode(ca, "node-1", now - 3600));
    CRYPTA_ASSIGN_OR_RETURN(
        OhttpGateway gateway,
        OhttpGateway::Generate(1, HpkeKem::kX25519HkdfSha256,
                               {{HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm},
                                {HpkeKdf::kHkdfSha256, HpkeAead::kChaCha20Poly1305}}));
    attest::SimLaunch launch{Bytes(48, 0xab), Bytes(32, 0xcd), false, 1};
    return std::shared_ptr<FakeRuntime>(
        new FakeRuntime(now, std::move(ca), std::move(node), std::move(gateway), launch));
  }

  const attest::SimLaunch& launch() const { return launch_; }
  attest::SimLaunch& mutable_launch() { return launch_; }
  const OhttpGateway& gateway() const { return gateway_; }
  std::string sim_root_pem() const {
    std::string b64 = Base64Encode(ca_.cert.der()), pem = "-----BEGIN CERTIFICATE-----\n";
    for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
    return pem + "-----END CERTIFICATE-----\n";
  }
  void set_report_data_over(Edit e) { report_data_over_ = std::move(e); }
  void set_runtime_data_edit(Edit e) { runtime_data_edit_ = std::move(e); }
  void set_fixed_nonce(std::string hex) { fixed_nonce_ = std::move(hex); }
  void set_tamper_response(bool on) { tamper_response_ = on; }
  std::vector<std::string> nonces_seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return nonces_;
  }
  std::vector<std::string> inner_paths() const {
    std::lock_guard<std::mutex> lock(mu_);
    return paths_;
  }

  // The body of GET /v1/attestation?nonce=<nonce_hex>.
  Result<nlohmann::json> Attestation(const std::string& nonce_hex) const {
    CRYPTA_ASSIGN_OR_RETURN(Bytes config, gateway_.EncodedKeyConfig());
    nlohmann::json rd = {{"nonce", nonce_hex},
                         {"ohttp-key-config", Base64UrlEncode(config)},
                         {"tls-spki-sha256", ""},
                         {"workload", "tiny"},
                         {"model-digest", "sha256:" + std::string(64, 'e')}};
    if (runtime_data_edit_) rd = runtime_data_edit_(rd);
    CRYPTA_ASSIGN_OR_RETURN(Bytes report_data,
                            ServiceReportData(report_data_over_ ? report_data_over_(rd) : rd));
    CRYPTA_ASSIGN_OR_RETURN(Bytes evidence,
                            attest::SignSimReport(node_, launch_, report_data, now_));
    return nlohmann::json{
        {"tee", "sim"},       {"simulated", true}, {"evidence", ToString(evidence)},
        {"runtime_data", rd}, {"key_epoch", 1},    {"issued_at", now_}};
  }

  // An EAR of a platform that appraised this runtime (DESIGN.md §4.4).
  Result<std::string> SignEar(const PrivateKey& key, const std::string& kid, int64_t now) const {
    CRYPTA_ASSIGN_OR_RETURN(nlohmann::json a, Attestation(""));
    attest::Evidence evidence{attest::TeeType::kSim, ToBytes(a["evidence"].get<std::string>()), {}};
    attest::VerifyOptions options;
    options.verification_time = now;
    CRYPTA_ASSIGN_OR_RETURN(attest::VerifiedEvidence verified,
                            attest::SimVerifier(ca_.cert).Verify(evidence, options));
    CRYPTA_ASSIGN_OR_RETURN(attest::AppraisalPolicy policy,
                            attest::ParseAppraisalPolicy("tee: [sim]\nallow_simulated: true\n"
                                                         "measurements: [" +
                                                         HexEncode(launch_.measurement) + "]\n"));
    attest::Verdict verdict = attest::Appraise(policy, verified.claims());
    attest::EarContext context;
    context.now = now;
    return attest::SignEar(attest::BuildEarClaims(verified, policy, verdict, context), key, kid);
  }

  // The gateway's answer to one encapsulated request.
  Result<Bytes> Answer(ByteSpan encapsulated_request) const {
    CRYPTA_ASSIGN_OR_RETURN(OhttpDecapsulatedRequest request,
                            gateway_.DecapsulateRequest(encapsulated_request));
    CRYPTA_ASSIGN_OR_RETURN(BhttpRequest inner, DecodeBhttpRequest(request.request));
    {
      std::lock_guard<std::mutex> lock(mu_);
      paths_.push_back(inner.path);
    }
    BhttpResponse response = Route(inner);
    CRYPTA_ASSIGN_OR_RETURN(Bytes encoded, EncodeBhttpResponse(response));
    CRYPTA_ASSIGN_OR_RETURN(Bytes out, request.context.EncapsulateResponse(encoded));
    if (tamper_response_) out.back() ^= 1;
    return out;
  }

  // HttpTransport
  Result<HttpReply> Get(const std::string& path, size_t) const override {
    const std::string prefix = "/v1/attestation?nonce=";
    if (path.rfind(prefix, 0) != 0) return HttpReply{404, "application/json", "{}"};
    {
      std::lock_guard<std::mutex> lock(mu_);
      nonces_.push_back(path.substr(prefix.size()));
    }
    CRYPTA_ASSIGN_OR_RETURN(
        nlohmann::json a,
        Attestation(fixed_nonce_.empty() ? path.substr(prefix.size()) : fixed_nonce_));
    return HttpReply{200, "application/json", a.dump()};
  }
  Result<HttpReply> Post(const std::string& path, std::string_view content_type, ByteSpan body,
                         size_t) const override {
    if (path != "/v1/ohttp" || content_type != "message/ohttp-req") {
      return HttpReply{400, "text/plain", "bad request"};
    }
    Result<Bytes> answer = Answer(body);
    if (!answer) return HttpReply{400, "text/plain", answer.error().message()};
    return HttpReply{200, "message/ohttp-res", ToString(*answer)};
  }
  const std::string& base_url() const override { return url_; }

 private:
  FakeRuntime(int64_t now, attest::SimCa ca, attest::SimNodeIdentity node, OhttpGateway gateway,
              attest::SimLaunch launch)
      : now_(now),
        ca_(std::move(ca)),
        node_(std::move(node)),
        gateway_(std::move(gateway)),
        launch_(std::move(launch)) {}

  // The inner OIP routes of a model "tiny" with input "input" and output "doubled".
  static BhttpResponse Route(const BhttpRequest& inner) {
    auto json_reply = [](int status, const nlohmann::json& body) {
      BhttpResponse r;
      r.status = status;
      r.headers = {{"content-type", "application/json"}};
      r.content = ToBytes(body.dump());
      return r;
    };
    if (inner.method == "GET" && inner.path == "/v2/models/tiny") {
      return json_reply(
          200, {{"name", "tiny"},
                {"inputs", {{{"name", "input"}, {"datatype", "FP32"}, {"shape", {-1, 2}}}}}});
    }
    if (inner.method != "POST" || inner.path != "/v2/models/tiny/infer") {
      return json_reply(404, {{"error", "model absent is not served"}});
    }
    infer::ModelSignature sig{{{"input", infer::DataType::kFp32, {-1, 2}}},
                              {{"doubled", infer::DataType::kFp32, {-1, 2}}}};
    std::optional<size_t> json_length;
    if (const std::string* v =
            FindBhttpField(inner.headers, infer::kInferenceHeaderContentLengthLower)) {
      Result<size_t> n = infer::ParseInferenceHeaderContentLength(*v);
      if (!n) return json_reply(400, {{"error", n.error().message()}});
      json_length = *n;
    }
    Result<infer::InferRequest> request =
        infer::ParseInferRequest(AsStringView(inner.content), sig, json_length);
    if (!request) return json_reply(400, {{"error", request.error().message()}});
    infer::Tensor out = request->inputs[0];
    out.name = "doubled";
    for (size_t i = 0; i + 4 <= out.data.size(); i += 4) {
      float f;
      std::memcpy(&f, out.data.data() + i, 4);
      f *= 2;
      std::memcpy(out.data.data() + i, &f, 4);
    }
    BhttpResponse r;
    r.status = 200;
    infer::OipBody body = infer::EncodeInferResponseFor("tiny", *request, {out});
    r.headers = {
        {"content-type", body.json_length ? "application/octet-stream" : "application/json"}};
    if (body.json_length) {
      r.headers.push_back(
          {infer::kInferenceHeaderContentLengthLower, std::to_string(*body.json_length)});
    }
    r.content = ToBytes(body.body);
    return r;
  }

  const int64_t now_;
  attest::SimCa ca_;
  attest::SimNodeIdentity node_;
  OhttpGateway gateway_;
  attest::SimLaunch launch_;
  Edit report_data_over_, runtime_data_edit_;
  std::string fixed_nonce_;
  bool tamper_response_ = false;
  const std::string url_ = "http://fake-runtime";
  mutable std::mutex mu_;
  mutable std::vector<std::string> nonces_, paths_;
};

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_CLIENT_TEST_FAKE_H_
