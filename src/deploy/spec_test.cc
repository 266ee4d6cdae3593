#include "deploy/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attest/policy.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace crypta::deploy {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Seed(const std::string& name) {
  return crypta::testing::ReadTestdataString("deploy/" + name);
}

// `text` with exactly one occurrence of `from` replaced by `to`.
std::string Edit(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "ambiguous: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The error of parsing `text` as "f.yaml"; fails the test when it parses.
Error ParseError(const std::string& text) {
  auto r = ParseDeploymentSpec(text, "f.yaml");
  EXPECT_FALSE(r.has_value()) << "parsed: " << SpecToJson(r->spec).dump();
  if (r) return Error(ErrorCode::kInternal, "parsed");
  return r.error();
}

TEST(DeploySpec, ParsesSeedDocumentOne) {
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(Seed("seed1.yaml"), "seed1.yaml"));
  EXPECT_TRUE(p.warnings.empty());
  const DeploymentSpec& s = p.spec;
  EXPECT_EQ(s.kind, "VirtualMachine");
  EXPECT_EQ(s.name, "ai-inference-server");
  EXPECT_TRUE(s.annotations.empty());
  EXPECT_EQ(s.tee, "sgx");
  EXPECT_EQ(s.cpu, 8);
  EXPECT_EQ(s.memory_bytes, int64_t{32} << 30);
  EXPECT_EQ(s.gpu, 0);
  EXPECT_EQ(s.image, "your-registry/ai-model:latest");
  EXPECT_TRUE(s.ports.empty());
  ASSERT_EQ(s.env.size(), 1u);
  EXPECT_EQ(s.env[0].name, "ALEPH_TEE_ENABLED");
  EXPECT_EQ(s.env[0].value, "true");
  EXPECT_TRUE(s.tee_enabled);
  EXPECT_FALSE(s.attestation_required);
  EXPECT_FALSE(s.model.has_value());
  EXPECT_FALSE(s.policy_yaml.has_value());
}

TEST(DeploySpec, ParsesSeedDocumentTwo) {
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(Seed("seed2.yaml"), "seed2.yaml"));
  EXPECT_TRUE(p.warnings.empty());
  const DeploymentSpec& s = p.spec;
  EXPECT_EQ(s.annotations.at("description"), "Secure AI inference server running in a TEE");
  EXPECT_EQ(s.gpu, 1);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0].port, 8080);
  EXPECT_EQ(s.ports[0].protocol, "HTTP");
  ASSERT_EQ(s.env.size(), 2u);
  EXPECT_EQ(s.env[1].name, "ALEPH_ATTESTATION_REQUIRED");
  EXPECT_TRUE(s.tee_enabled);
  EXPECT_TRUE(s.attestation_required);
}

TEST(DeploySpec, ParsesSimRuntimeDocumentWithModel) {
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(Seed("sim-runtime.yaml"), "s.yaml"));
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.spec.tee, "sim");
  EXPECT_EQ(p.spec.image, kBuiltinRuntimeImage);
  ASSERT_TRUE(p.spec.model.has_value());
  EXPECT_EQ(p.spec.model->backend, "torchscript");
  EXPECT_EQ(p.spec.model->name, "demo-model");
  EXPECT_THAT(p.spec.model->ref, StartsWith("store://demo/demo-model@sha256:"));
}

TEST(DeploySpec, ModelNameDefaultsToTheRefName) {
  const std::string text = Edit(Seed("sim-runtime.yaml"), "    name: demo-model\n", "");
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(text, "s.yaml"));
  EXPECT_EQ(p.spec.model->name, "demo-model");
}

TEST(DeploySpec, CrosswalksCryptaFlagNamesAndAliases) {
  std::string text = Edit(Seed("seed2.yaml"), "ALEPH_TEE_ENABLED", "CRYPTA_TEE_ENABLED");
  text = Edit(text, "value: \"true\"   #", "value: \"false\"   #");
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(text, "f.yaml"));
  EXPECT_TRUE(p.spec.tee_enabled);
  EXPECT_FALSE(p.spec.attestation_required);
}

TEST(DeploySpec, ANamedTeeIsConfidentialWhateverTheEnvSays) {
  const std::string text = Edit(Seed("seed2.yaml"), "value: \"true\"\n", "value: \"false\"\n");
  ASSERT_NE(text, Seed("seed2.yaml"));
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(text, "f.yaml"));
  EXPECT_TRUE(p.spec.tee_enabled);
  EXPECT_EQ(SpecToJson(p.spec)["tee_enabled"], true);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_THAT(p.warnings[0],
              HasSubstr("ALEPH_TEE_ENABLED=false ignored: spec.requirements.tee is sgx"));
}

// --- One test per error kind: each names file:line:col, the field and the value. ---

TEST(DeploySpecErrors, UnknownTee) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "tee: sgx ", "tee: quantum "));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(e.message(), StartsWith("f.yaml:9:10: spec.requirements.tee: unknown tee"));
  EXPECT_THAT(e.message(), HasSubstr("(got \"quantum\")"));
}

TEST(DeploySpecErrors, UnparsableMemory) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "memory: 32Gi", "memory: 32GB"));
  EXPECT_THAT(e.message(), StartsWith("f.yaml:12:15: spec.requirements.resources.memory: "
                                      "not a memory quantity"));
  EXPECT_THAT(e.message(), HasSubstr("(got \"32GB\")"));
}

TEST(DeploySpecErrors, NegativeCpu) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "cpu: 8", "cpu: -2"));
  EXPECT_EQ(e.message(),
            "f.yaml:11:12: spec.requirements.resources.cpu: must be greater than 0 "
            "(got \"-2\")");
}

TEST(DeploySpecErrors, ZeroCpu) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "cpu: 8", "cpu: 0"));
  EXPECT_EQ(e.message(),
            "f.yaml:11:12: spec.requirements.resources.cpu: must be greater than 0 "
            "(got \"0\")");
}

TEST(DeploySpecErrors, MissingName) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "  name: ai-inference-server\n", ""));
  EXPECT_EQ(e.message(), "f.yaml:4:3: metadata.name: required (got nothing)");
}

TEST(DeploySpecErrors, NameNotADnsLabel) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "name: ai-inference-server", "name: AI_Server"));
  EXPECT_THAT(e.message(), StartsWith("f.yaml:4:9: metadata.name: must be a DNS-1123 label"));
  EXPECT_THAT(e.message(), HasSubstr("(got \"AI_Server\")"));
}

TEST(DeploySpecErrors, PortOutOfRange) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "port: 8080", "port: 70000"));
  EXPECT_EQ(e.message(), "f.yaml:16:13: spec.ports[0].port: must be in 1..65535 (got \"70000\")");
}

TEST(DeploySpecErrors, PortNotAnInteger) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "port: 8080", "port: http"));
  EXPECT_EQ(e.message(), "f.yaml:16:13: spec.ports[0].port: must be an integer (got \"http\")");
}

TEST(DeploySpecErrors, UnknownProtocol) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "protocol: HTTP", "protocol: SCTP"));
  EXPECT_THAT(e.message(), StartsWith("f.yaml:17:17: spec.ports[0].protocol: must be HTTP"));
}

TEST(DeploySpecErrors, DuplicatePort) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "      protocol: HTTP\n",
                            "      protocol: HTTP\n    - port: 8080\n"));
  EXPECT_EQ(e.message(), "f.yaml:18:13: spec.ports[1].port: duplicate port (got \"8080\")");
}

TEST(DeploySpecErrors, BadBackend) {
  Error e = ParseError(Edit(Seed("sim-runtime.yaml"), "backend: torchscript", "backend: tf"));
  EXPECT_THAT(e.message(), StartsWith("f.yaml:27:14: spec.model.backend: must be torchscript or "
                                      "onnx (got \"tf\")"));
}

TEST(DeploySpecErrors, ModelRefNotStore) {
  const std::string text = Seed("sim-runtime.yaml");
  const size_t at = text.find("store://");
  const std::string ref = text.substr(at, text.find('\n', at) - at);
  Error e = ParseError(Edit(text, ref, "https://example.com/model.pt"));
  EXPECT_THAT(e.message(), StartsWith("f.yaml:26:10: spec.model.ref: must be store://"));
  EXPECT_THAT(e.message(), HasSubstr("(got \"https://example.com/model.pt\")"));
}

TEST(DeploySpecErrors, ModelRefWithoutDigest) {
  Error e = ParseError(Edit(Seed("sim-runtime.yaml"), "@sha256:0000", "@sha1:0000"));
  EXPECT_THAT(e.message(), HasSubstr("spec.model.ref: must be store://"));
}

TEST(DeploySpec, InlineModelSignatureIsCanonicalAndChecked) {
  const std::string text = Seed("sim-runtime.yaml");
  const size_t at = text.find("    ref: store://");
  const std::string with_sig =
      text.substr(0, at) +
      "    signature:\n      outputs: [{name: logits, datatype: FP32, shape: [-1, 10]}]\n"
      "      inputs:\n        - {shape: [-1, 3, 32, 32], name: input, datatype: FP32}\n" +
      text.substr(at);
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(with_sig, "f.yaml"));
  EXPECT_EQ(p.spec.model->signature_json,
            R"({"inputs":[{"datatype":"FP32","name":"input","shape":[-1,3,32,32]}],)"
            R"("outputs":[{"datatype":"FP32","name":"logits","shape":[-1,10]}]})");
  // It round-trips through the stored JSON form and changes the host data.
  CRYPTA_ASSIGN_OR_FAIL(DeploymentSpec back, SpecFromJson(SpecToJson(p.spec)));
  EXPECT_EQ(back.model->signature_json, p.spec.model->signature_json);
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec plain, ParseDeploymentSpec(text, "f.yaml"));
  EXPECT_NE(SpecHostData(p.spec), SpecHostData(plain.spec));
  EXPECT_FALSE(SpecToJson(plain.spec)["model"].contains("signature"));
  // A signature that is not one is refused, naming the field.
  const std::string bad = text.substr(0, at) + "    signature: {inputs: 3}\n" + text.substr(at);
  EXPECT_THAT(ParseError(bad).message(), HasSubstr("spec.model.signature"));
}

TEST(DeploySpec, ModelRefLatestNamesTheNewestVersion) {
  const std::string text = Seed("sim-runtime.yaml");
  const size_t at = text.find("@sha256:");
  const std::string digest = text.substr(at, text.find('\n', at) - at);
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(Edit(text, digest, "@latest"), "f.yaml"));
  EXPECT_THAT(p.spec.model->ref, ::testing::EndsWith("/demo-model@latest"));
  Error e = ParseError(Edit(text, digest, "@latest2"));
  EXPECT_THAT(e.message(), HasSubstr("spec.model.ref: must be store://"));
}

TEST(DeploySpecErrors, YamlSyntaxErrorHasItsPosition) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "image: your-registry/ai-model:latest",
                            "image: [your-registry/ai-model:latest"));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(e.message(), ::testing::MatchesRegex("f\\.yaml:1[4-6]:[0-9]+: yaml: .*"));
}

TEST(DeploySpecErrors, WrongKind) {
  Error e = ParseError(Edit(Seed("seed1.yaml"), "kind: VirtualMachine", "kind: Pod"));
  EXPECT_EQ(e.message(), "f.yaml:2:7: kind: must be VirtualMachine (got \"Pod\")");
}

TEST(DeploySpecErrors, ScalarExpected) {
  Error e = ParseError(Edit(Seed("seed1.yaml"), "cpu: 8", "cpu: [8]"));
  EXPECT_EQ(e.message(),
            "f.yaml:9:12: spec.requirements.resources.cpu: must be a scalar (got \"<sequence>\")");
}

TEST(DeploySpecErrors, DuplicateEnvName) {
  Error e = ParseError(Edit(Seed("seed2.yaml"), "ALEPH_ATTESTATION_REQUIRED", "ALEPH_TEE_ENABLED"));
  EXPECT_EQ(e.message(),
            "f.yaml:21:13: spec.env[1].name: duplicate variable (got \"ALEPH_TEE_ENABLED\")");
}

TEST(DeploySpecErrors, FlagValueNotABoolean) {
  Error e = ParseError(Edit(Seed("seed1.yaml"), "value: \"true\"", "value: \"maybe\""));
  EXPECT_EQ(e.message(), "f.yaml:14:14: spec.env[0].value: must be true or false (got \"maybe\")");
}

TEST(DeploySpecErrors, AliasesThatDisagree) {
  Error e = ParseError(Edit(Seed("seed1.yaml"), "      value: \"true\"\n",
                            "      value: \"true\"\n    - name: CRYPTA_TEE_ENABLED\n"
                            "      value: \"false\"\n"));
  EXPECT_THAT(e.message(), StartsWith("f.yaml:16:14: spec.env[1].value: contradicts "
                                      "ALEPH_TEE_ENABLED"));
}

TEST(DeploySpecErrors, DuplicateKey) {
  Error e = ParseError(Edit(Seed("seed1.yaml"), "      cpu: 8\n", "      cpu: 8\n      cpu: 9\n"));
  EXPECT_EQ(e.message(),
            "f.yaml:10:7: spec.requirements.resources.cpu: duplicate key (got \"cpu\")");
}

TEST(DeploySpecErrors, MoreThanOneDocument) {
  Error e = ParseError(Seed("seed1.yaml") + "---\n" + Seed("seed1.yaml"));
  EXPECT_THAT(e.message(), HasSubstr("only one YAML document"));
}

TEST(DeploySpecErrors, EmptyDocument) {
  EXPECT_EQ(ParseError("# nothing\n").message(), "f.yaml:1:1: document: empty");
}

TEST(DeploySpecErrors, SizeCap) {
  std::string text = Seed("seed1.yaml") + "#" + std::string(kMaxSpecBytes, 'x') + "\n";
  auto r = ParseDeploymentSpec(text, "big.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
}

TEST(DeploySpecErrors, DepthCap) {
  for (const std::string& text : {"spec: " + std::string(200, '[') + std::string(200, ']'),
                                  "spec: " + std::string(5000, '{')}) {
    auto r = ParseDeploymentSpec(text, "deep.yaml");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted) << r.error().ToString();
    EXPECT_THAT(r.error().message(), StartsWith("deep.yaml:1:"));
  }
}

TEST(DeploySpecErrors, InvalidPolicy) {
  Error e = ParseError(Seed("seed1.yaml") + "  policy:\n    tee: [sgx]\n    colour: red\n");
  EXPECT_THAT(e.message(), StartsWith("f.yaml:16:5: spec.policy: not a valid appraisal policy"));
}

TEST(DeploySpec, UnknownKeysWarnWithTheirPosition) {
  std::string text =
      Edit(Seed("seed2.yaml"), "  image: your-registry", "  replicas: 3\n  image: your-registry");
  text = Edit(text, "      gpu: 1 ", "      disk: 10Gi\n      gpu: 1 ");
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(text, "f.yaml"));
  ASSERT_EQ(p.warnings.size(), 2u);
  EXPECT_EQ(p.warnings[0], "f.yaml:15:3: unknown key spec.replicas (ignored)");
  EXPECT_EQ(p.warnings[1], "f.yaml:13:7: unknown key spec.requirements.resources.disk (ignored)");
}

// --- JSON form, canonical text and host data. ---

TEST(DeploySpecJson, RoundTripsEveryField) {
  std::string text = Seed("sim-runtime.yaml") +
                     "  policy:\n    tee: [sim]\n    allow_simulated: true\n"
                     "    measurements: ['" +
                     std::string(96, 'a') + "']\n";
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(text, "f.yaml"));
  ASSERT_TRUE(p.spec.policy_yaml.has_value());
  CRYPTA_EXPECT_OK(attest::ParseAppraisalPolicy(*p.spec.policy_yaml));
  const nlohmann::json j = SpecToJson(p.spec);
  CRYPTA_ASSIGN_OR_FAIL(DeploymentSpec back, SpecFromJson(j));
  EXPECT_EQ(SpecToJson(back), j);
  EXPECT_EQ(CanonicalSpecJson(back), CanonicalSpecJson(p.spec));
  // Through text too, as the server stores it.
  CRYPTA_ASSIGN_OR_FAIL(DeploymentSpec again, SpecFromJson(nlohmann::json::parse(j.dump())));
  EXPECT_EQ(SpecHostData(again), SpecHostData(p.spec));
}

TEST(DeploySpecJson, CanonicalFormOfSeedOneIsPinned) {
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(Seed("seed1.yaml"), "seed1.yaml"));
  const std::string canonical = CanonicalSpecJson(p.spec);
  EXPECT_EQ(canonical, R"({"annotations":{},"attestation_required":false,"cpu":8,)"
                       R"("env":[{"name":"ALEPH_TEE_ENABLED","value":"true"}],"gpu":0,)"
                       R"("image":"your-registry/ai-model:latest","kind":"VirtualMachine",)"
                       R"("memory_bytes":34359738368,"model":null,"name":"ai-inference-server",)"
                       R"("policy_yaml":null,"ports":[],"tee":"sgx","tee_enabled":true})");
  EXPECT_EQ(SpecHostData(p.spec), Sha256(AsBytes(canonical)));
  EXPECT_EQ(SpecHostData(p.spec).size(), 32u);
}

TEST(DeploySpecJson, RejectsUnknownMembersWrongTypesAndBadValues) {
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(Seed("seed2.yaml"), "f.yaml"));
  const nlohmann::json good = SpecToJson(p.spec);
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> change;
  };
  const Case cases[] = {
      {"unknown member", [](auto& j) { j["replicas"] = 3; }},
      {"must be a number", [](auto& j) { j["cpu"] = "8"; }},
      {"must be an integer", [](auto& j) { j["memory_bytes"] = 1.5; }},
      {"required", [](auto& j) { j.erase("name"); }},
      {"unknown tee", [](auto& j) { j["tee"] = "quantum"; }},
      {"not a canonical tee", [](auto& j) { j["tee"] = "SNP"; }},
      {"must be greater than 0", [](auto& j) { j["cpu"] = 0; }},
      {"out of range", [](auto& j) { j["ports"][0]["port"] = 0; }},
      {"unknown member", [](auto& j) { j["ports"][0]["name"] = "http"; }},
      {"must be a boolean", [](auto& j) { j["tee_enabled"] = "true"; }},
      {"must be an object", [](auto& j) { j = nlohmann::json::array(); }},
  };
  for (const Case& c : cases) {
    nlohmann::json j = good;
    c.change(j);
    auto r = SpecFromJson(j);
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(c.what));
  }
}

TEST(DeploySpecHostData, StableAcrossKeyOrderCommentsAndWhitespace) {
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec a, ParseDeploymentSpec(Seed("seed2.yaml"), "a.yaml"));
  const std::string reordered = R"(
spec: {env: [{value: 'true', name: ALEPH_TEE_ENABLED},
             {name: ALEPH_ATTESTATION_REQUIRED, value: "true"}],
       ports: [{protocol: HTTP, port: 8080}],
       image: "your-registry/ai-model:latest",
       requirements: {resources: {gpu: 1, memory: 32Gi, cpu: 8}, tee: SGX}}
metadata:    {annotations: {description: Secure AI inference server running in a TEE},
              name: ai-inference-server}
kind: VirtualMachine   # same spec, other layout
)";
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec b, ParseDeploymentSpec(reordered, "b.yaml"));
  EXPECT_EQ(HexEncode(SpecHostData(a.spec)), HexEncode(SpecHostData(b.spec)));
}

TEST(DeploySpecHostData, PolicyKeyOrderDoesNotMatter) {
  const std::string base = Seed("seed1.yaml");
  CRYPTA_ASSIGN_OR_FAIL(
      ParsedSpec a,
      ParseDeploymentSpec(base + "  policy: {tee: [sgx], allow_debug: false}\n", "a"));
  CRYPTA_ASSIGN_OR_FAIL(
      ParsedSpec b,
      ParseDeploymentSpec(base + "  policy:\n    allow_debug: false  # no\n    tee:\n    - sgx\n",
                          "b"));
  EXPECT_EQ(SpecHostData(a.spec), SpecHostData(b.spec));
}

TEST(DeploySpecHostData, ChangesWhenAnyFieldChanges) {
  CRYPTA_ASSIGN_OR_FAIL(ParsedSpec p, ParseDeploymentSpec(Seed("sim-runtime.yaml"), "f.yaml"));
  const DeploymentSpec base = p.spec;
  const Bytes base_hd = SpecHostData(base);
  const std::vector<std::pair<const char*, std::function<void(DeploymentSpec&)>>> changes = {
      {"kind", [](auto& s) { s.kind = "VirtualMachine2"; }},
      {"name", [](auto& s) { s.name = "other"; }},
      {"annotation value", [](auto& s) { s.annotations["description"] += "."; }},
      {"annotation added", [](auto& s) { s.annotations["x"] = ""; }},
      {"tee", [](auto& s) { s.tee = "tdx"; }},
      {"cpu", [](auto& s) { s.cpu = 8.5; }},
      {"memory", [](auto& s) { s.memory_bytes += 1; }},
      {"gpu", [](auto& s) { s.gpu = 2; }},
      {"image", [](auto& s) { s.image = "crypta-runtime2"; }},
      {"port", [](auto& s) { s.ports[0].port = 8081; }},
      {"protocol", [](auto& s) { s.ports[0].protocol = "HTTPS"; }},
      {"port added",
       [](auto& s) {
         s.ports.push_back({9090, "GRPC"});
       }},
      {"env value", [](auto& s) { s.env[0].value = "false"; }},
      {"env order", [](auto& s) { std::swap(s.env[0], s.env[1]); }},
      {"model ref", [](auto& s) { s.model->ref.back() = '1'; }},
      {"model backend", [](auto& s) { s.model->backend = "onnx"; }},
      {"model name", [](auto& s) { s.model->name = "m2"; }},
      {"no model", [](auto& s) { s.model.reset(); }},
      {"policy", [](auto& s) { s.policy_yaml = "tee: [sim]\n"; }},
      {"tee_enabled", [](auto& s) { s.tee_enabled = false; }},
      {"attestation_required", [](auto& s) { s.attestation_required = false; }},
  };
  for (const auto& [what, change] : changes) {
    DeploymentSpec s = base;
    change(s);
    EXPECT_NE(SpecHostData(s), base_hd) << what;
  }
}

// --- Quantities. ---

TEST(DeploySpecQuantities, Memory) {
  const std::pair<const char*, int64_t> good[] = {{"32Gi", int64_t{32} << 30},
                                                  {"1Ki", 1024},
                                                  {"0.5Ki", 512},
                                                  {"1.5Gi", 3 << 29},
                                                  {"1G", 1000000000},
                                                  {"1k", 1000},
                                                  {"1K", 1000},
                                                  {"123456", 123456},
                                                  {"1Pi", int64_t{1} << 50},
                                                  {"2Ti", int64_t{2} << 40},
                                                  {"1.5M", 1500000}};
  for (const auto& [text, want] : good) {
    auto r = ParseMemoryQuantity(text);
    ASSERT_TRUE(r.has_value()) << text << ": " << r.error().ToString();
    EXPECT_EQ(*r, want) << text;
  }
  for (const char* bad : {"", "Gi", "32GB", "-1Gi", "0", "1.1", "0.1Ki", "2Pi", "1Ei", "1e9",
                          " 1Gi", "1..5Gi", "1.Gi", "999999999999999999999"}) {
    EXPECT_FALSE(ParseMemoryQuantity(bad).has_value()) << bad;
  }
  EXPECT_EQ(FormatMemoryQuantity(int64_t{32} << 30), "32Gi");
  EXPECT_EQ(FormatMemoryQuantity(1000), "1000");
  EXPECT_EQ(FormatMemoryQuantity(3 << 29), "1536Mi");
}

TEST(DeploySpecQuantities, Cpu) {
  const std::pair<const char*, double> good[] = {{"8", 8},       {"0.5", 0.5},     {"500m", 0.5},
                                                 {"1024", 1024}, {"0.001", 0.001}, {"2.25", 2.25}};
  for (const auto& [text, want] : good) {
    auto r = ParseCpuQuantity(text);
    ASSERT_TRUE(r.has_value()) << text << ": " << r.error().ToString();
    EXPECT_DOUBLE_EQ(*r, want) << text;
  }
  for (const char* bad : {"", "0", "0m", "-1", "1025", "0.0001", "1.5m", "eight", "1e2"}) {
    EXPECT_FALSE(ParseCpuQuantity(bad).has_value()) << bad;
  }
  EXPECT_EQ(FormatCpuQuantity(8), "8");
  EXPECT_EQ(FormatCpuQuantity(0.5), "500m");
}

TEST(DeploySpecQuantities, TeeAliases) {
  EXPECT_EQ(*CanonicalTee("SNP"), "sev-snp");
  EXPECT_EQ(*CanonicalTee("sev_snp"), "sev-snp");
  EXPECT_EQ(*CanonicalTee("TDX"), "tdx");
  EXPECT_FALSE(CanonicalTee("tpm").has_value());
}

}  // namespace
}  // namespace crypta::deploy
