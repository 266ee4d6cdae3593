#include "deploy/render_kubernetes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace crypta::deploy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

DeploymentSpec Load(const std::string& file, const std::string& tee = "") {
  auto p = ParseDeploymentSpec(crypta::testing::ReadTestdataString("deploy/" + file), file);
  EXPECT_TRUE(p.has_value()) << p.error().ToString();
  DeploymentSpec s = p->spec;
  if (!tee.empty()) s.tee = tee;
  return s;
}

struct Rendered {
  YAML::Node config_map, deployment, service;
  size_t documents = 0;
};

// A control plane on plain HTTP (`crypta up --insecure-http`): no CA bundle needed.
KubernetesOptions Plain() {
  KubernetesOptions o;
  o.broker_url = "http://crypta.example:8080";
  return o;
}

// A CA bundle as `crypta up` writes it (<data-dir>/tls/ca.pem); only its PEM framing matters.
const char kCaPem[] =
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESTTESTTESTTEST\n-----END "
    "CERTIFICATE-----\n";

KubernetesOptions Tls() {
  KubernetesOptions o;
  o.broker_url = "https://crypta.example:8443";
  o.broker_ca_pem = kCaPem;
  return o;
}

Rendered Render(const DeploymentSpec& s, const KubernetesOptions& o = Plain()) {
  auto text = RenderKubernetes(s, o);
  EXPECT_TRUE(text.has_value()) << text.error().ToString();
  Rendered r;
  if (!text) return r;
  std::vector<YAML::Node> docs = YAML::LoadAll(*text);
  r.documents = docs.size();
  for (const YAML::Node& d : docs) {
    const std::string kind = d["kind"].as<std::string>();
    if (kind == "ConfigMap") r.config_map = d;
    if (kind == "Deployment") r.deployment = d;
    if (kind == "Service") r.service = d;
  }
  return r;
}

YAML::Node Pod(const Rendered& r) { return r.deployment["spec"]["template"]; }
YAML::Node Container(const Rendered& r) { return Pod(r)["spec"]["containers"][0]; }

// Reads back GzipStored output (stored deflate blocks only) and checks CRC-free framing.
std::string Gunzip(const Bytes& gz) {
  EXPECT_GE(gz.size(), 18u);
  EXPECT_EQ(gz[0], 0x1f);
  EXPECT_EQ(gz[1], 0x8b);
  std::string out;
  size_t pos = 10;
  for (bool last = false; !last && pos + 5 <= gz.size();) {
    last = gz[pos] & 1;
    EXPECT_EQ(gz[pos] & 6, 0) << "not a stored block";
    const size_t len = gz[pos + 1] | (gz[pos + 2] << 8);
    EXPECT_EQ(len ^ 0xFFFF, static_cast<size_t>(gz[pos + 3] | (gz[pos + 4] << 8)));
    out.append(reinterpret_cast<const char*>(gz.data() + pos + 5), len);
    pos += 5 + len;
  }
  EXPECT_EQ(pos + 8, gz.size());
  return out;
}

TEST(DeployKubernetes, GzipStoredKnownAnswer) {
  // RFC 1952 CRC-32 check value: CRC32("123456789") = 0xCBF43926.
  const Bytes gz = GzipStored(AsBytes("123456789"));
  EXPECT_EQ(HexEncode(gz),
            "1f8b08000000000000ff"
            "010900f6ff313233343536373839"
            "2639f4cb"
            "09000000");
  EXPECT_EQ(Gunzip(GzipStored(AsBytes(std::string(70000, 'x')))), std::string(70000, 'x'));
  EXPECT_EQ(Gunzip(GzipStored({})), "");
}

TEST(DeployKubernetes, SimRuntimeUsesCocoDevClassAndTheBuiltinImage) {
  const DeploymentSpec s = Load("sim-runtime.yaml");
  KubernetesOptions o = Tls();
  o.namespace_name = "tenant-a";
  Rendered r = Render(s, o);
  ASSERT_EQ(r.documents, 3u);
  EXPECT_EQ(r.deployment["apiVersion"].as<std::string>(), "apps/v1");
  EXPECT_EQ(r.deployment["metadata"]["namespace"].as<std::string>(), "tenant-a");
  EXPECT_EQ(Pod(r)["spec"]["runtimeClassName"].as<std::string>(), "kata-qemu-coco-dev");
  const YAML::Node c = Container(r);
  EXPECT_EQ(c["image"].as<std::string>(), o.runtime_image);
  const auto args = c["args"].as<std::vector<std::string>>();
  EXPECT_THAT(args, ::testing::Contains(s.model->ref));
  EXPECT_THAT(args, ::testing::Contains("0.0.0.0:8080"));
  EXPECT_THAT(args, ::testing::Contains(o.broker_url));
  EXPECT_EQ(c["resources"]["requests"]["cpu"].as<std::string>(), "8");
  EXPECT_EQ(c["resources"]["requests"]["memory"].as<std::string>(), "32Gi");
  EXPECT_EQ(c["resources"]["limits"]["memory"].as<std::string>(), "32Gi");
  EXPECT_EQ(c["resources"]["limits"]["nvidia.com/gpu"].as<int>(), 1);
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 8080);
  EXPECT_EQ(c["ports"][0]["protocol"].as<std::string>(), "TCP");
  ASSERT_EQ(c["env"].size(), 2u);
  EXPECT_EQ(c["env"][1]["name"].as<std::string>(), "ALEPH_ATTESTATION_REQUIRED");
  EXPECT_EQ(c["env"][1]["value"].as<std::string>(), "true");
  // Service.
  EXPECT_EQ(r.service["spec"]["selector"]["app.kubernetes.io/name"].as<std::string>(), s.name);
  EXPECT_EQ(r.service["spec"]["ports"][0]["port"].as<int>(), 8080);
  EXPECT_EQ(r.service["spec"]["ports"][0]["appProtocol"].as<std::string>(), "http");
  // ConfigMap holds the canonical spec, mounted into the container.
  EXPECT_EQ(r.config_map["data"]["spec.json"].as<std::string>(), CanonicalSpecJson(s));
  EXPECT_EQ(Pod(r)["spec"]["volumes"][0]["configMap"]["name"].as<std::string>(),
            r.config_map["metadata"]["name"].as<std::string>());
}

TEST(DeployKubernetes, InitDataAndHostDataAnnotations) {
  const DeploymentSpec s = Load("sim-runtime.yaml", "sev-snp");
  KubernetesOptions o = Plain();
  o.broker_url = "https://kbs.example";
  o.broker_ca_pem = kCaPem;
  Rendered r = Render(s, o);
  const YAML::Node a = Pod(r)["metadata"]["annotations"];
  const std::string host_data = HexEncode(SpecHostData(s));
  EXPECT_EQ(a[kHostDataAnnotation].as<std::string>(), host_data);
  EXPECT_EQ(r.deployment["metadata"]["annotations"][kHostDataAnnotation].as<std::string>(),
            host_data);
  auto gz = Base64Decode(a[kInitDataAnnotation].as<std::string>());
  ASSERT_TRUE(gz.has_value());
  const std::string toml = Gunzip(*gz);
  EXPECT_EQ(toml, InitDataToml(s, o));
  EXPECT_THAT(toml, HasSubstr("version = \"0.1.0\"\nalgorithm = \"sha256\"\n"));
  EXPECT_THAT(toml, HasSubstr("\"crypta-host-data\" = \"" + host_data + "\""));
  EXPECT_THAT(toml, HasSubstr("\"aa.toml\" = "));
  EXPECT_THAT(toml, HasSubstr("url = \\\"https://kbs.example\\\""));
  EXPECT_EQ(a[kInitDataDigestAnnotation].as<std::string>(), HexEncode(Sha256(AsBytes(toml))));
  // The user's annotations stay on the Deployment; only crypta's reach the pod (Kata).
  EXPECT_EQ(r.deployment["metadata"]["annotations"]["description"].as<std::string>(),
            s.annotations.at("description"));
  EXPECT_FALSE(a["description"]);
}

TEST(DeployKubernetes, SevSnpAndSevUseTheSnpClass) {
  EXPECT_EQ(
      Pod(Render(Load("seed2.yaml", "sev-snp")))["spec"]["runtimeClassName"].as<std::string>(),
      "kata-qemu-snp");
  EXPECT_EQ(Pod(Render(Load("seed2.yaml", "sev")))["spec"]["runtimeClassName"].as<std::string>(),
            "kata-qemu-snp");
}

TEST(DeployKubernetes, TdxWithoutGpuOrPortsHasNoServiceAndNoGpuLimit) {
  Rendered r = Render(Load("seed1.yaml", "tdx"));
  ASSERT_EQ(r.documents, 2u);
  EXPECT_TRUE(r.service.IsNull());  // never assigned: no Service document
  EXPECT_EQ(Pod(r)["spec"]["runtimeClassName"].as<std::string>(), "kata-qemu-tdx");
  const YAML::Node c = Container(r);
  EXPECT_EQ(c["image"].as<std::string>(), "your-registry/ai-model:latest");
  EXPECT_FALSE(c["args"]);
  EXPECT_FALSE(c["ports"]);
  EXPECT_FALSE(c["resources"]["limits"]["nvidia.com/gpu"]);
  EXPECT_EQ(c["resources"]["limits"]["cpu"].as<std::string>(), "8");
}

TEST(DeployKubernetes, SgxUsesDevicePluginResourcesNotARuntimeClass) {
  for (const char* seed : {"seed1.yaml", "seed2.yaml"}) {
    Rendered r = Render(Load(seed));
    EXPECT_FALSE(Pod(r)["spec"]["runtimeClassName"]) << seed;
    const YAML::Node limits = Container(r)["resources"]["limits"];
    EXPECT_EQ(limits["sgx.intel.com/epc"].as<std::string>(), "32Gi") << seed;
    EXPECT_EQ(limits["sgx.intel.com/enclave"].as<int>(), 1) << seed;
  }
  Rendered r2 = Render(Load("seed2.yaml"));
  EXPECT_EQ(Container(r2)["resources"]["limits"]["nvidia.com/gpu"].as<int>(), 1);
  EXPECT_EQ(r2.documents, 3u);
}

TEST(DeployKubernetes, RefusesTeesWithoutARuntimeClass) {
  for (const char* tee : {"nitro", "trustzone", "cca"}) {
    auto r = RenderKubernetes(Load("seed1.yaml", tee), Plain());
    ASSERT_FALSE(r.has_value()) << tee;
    EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_THAT(r.error().message(), HasSubstr(std::string("tee=") + tee));
  }
}

TEST(DeployKubernetes, RefusesBuiltinRuntimeWithoutModelAndBadOptions) {
  DeploymentSpec s = Load("sim-runtime.yaml");
  s.model.reset();
  EXPECT_FALSE(RenderKubernetes(s, Plain()).has_value());
  KubernetesOptions o = Plain();
  o.namespace_name = "Bad Namespace";
  EXPECT_FALSE(RenderKubernetes(Load("seed1.yaml"), o).has_value());
  DeploymentSpec invalid = Load("seed1.yaml");
  invalid.cpu = -1;
  EXPECT_FALSE(RenderKubernetes(invalid, Plain()).has_value());
}

TEST(DeployKubernetes, HostileValuesSurviveQuoting) {
  DeploymentSpec s = Load("seed2.yaml", "tdx");
  s.env[0].value = "true";
  s.env.push_back({"WEIRD", "a: b # c\n---\n\"quoted\" 'single' \\ {x: [y]}"});
  s.annotations["note"] = "--- !!binary |\n  not yaml: at all";
  Rendered r = Render(s);
  ASSERT_EQ(r.documents, 3u);
  EXPECT_EQ(Container(r)["env"][2]["value"].as<std::string>(), s.env[2].value);
  EXPECT_EQ(r.deployment["metadata"]["annotations"]["note"].as<std::string>(),
            s.annotations["note"]);
}

TEST(DeployKubernetes, RequiresTheControlPlaneUrl) {
  for (const char* seed : {"seed1.yaml", "sim-runtime.yaml"}) {
    auto r = RenderKubernetes(Load(seed), {});
    ASSERT_FALSE(r.has_value()) << seed;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr("needs the control plane's URL"));
  }
  KubernetesOptions o = Plain();
  o.broker_url = "crypta.example:8443";
  auto no_scheme = RenderKubernetes(Load("seed1.yaml"), o);
  ASSERT_FALSE(no_scheme.has_value());
  EXPECT_THAT(no_scheme.error().message(), HasSubstr("want http:// or https://"));
}

TEST(DeployKubernetes, HttpsBrokerNeedsAPemCaBundle) {
  KubernetesOptions o = Tls();
  o.broker_ca_pem.clear();
  auto r = RenderKubernetes(Load("sim-runtime.yaml"), o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("no CA bundle"));
  o.broker_ca_pem = "not a certificate";
  auto not_pem = RenderKubernetes(Load("sim-runtime.yaml"), o);
  ASSERT_FALSE(not_pem.has_value());
  EXPECT_THAT(not_pem.error().message(), HasSubstr("no PEM certificate"));
  o.broker_ca_pem = std::string(kCaPem) + std::string(1, '\0');
  EXPECT_FALSE(RenderKubernetes(Load("sim-runtime.yaml"), o).has_value());
  o.broker_ca_pem = std::string(kCaPem) + std::string(70 * 1024, 'A');
  EXPECT_FALSE(RenderKubernetes(Load("sim-runtime.yaml"), o).has_value());
}

TEST(DeployKubernetes, CaBundleIsMountedReadOnlyAndPassedToTheRuntime) {
  const DeploymentSpec s = Load("sim-runtime.yaml");
  Rendered r = Render(s, Tls());
  EXPECT_EQ(r.config_map["data"]["broker-ca.pem"].as<std::string>(), kCaPem);
  const YAML::Node c = Container(r);
  const auto args = c["args"].as<std::vector<std::string>>();
  auto flag = [&args](const std::string& name) -> std::string {
    auto it = std::find(args.begin(), args.end(), name);
    return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
  };
  EXPECT_EQ(flag("--broker"), "https://crypta.example:8443");
  EXPECT_EQ(flag("--broker-ca"), kBrokerCaMountPath);
  // The ConfigMap's volume at /etc/crypta puts the key broker-ca.pem at kBrokerCaMountPath.
  ASSERT_EQ(c["volumeMounts"].size(), 1u);
  const std::string mount = c["volumeMounts"][0]["mountPath"].as<std::string>();
  EXPECT_EQ(mount + "/broker-ca.pem", kBrokerCaMountPath);
  EXPECT_TRUE(c["volumeMounts"][0]["readOnly"].as<bool>());
  EXPECT_EQ(Pod(r)["spec"]["volumes"][0]["configMap"]["name"].as<std::string>(),
            r.config_map["metadata"]["name"].as<std::string>());
  // The init-data pins the same bundle for the guest's attestation agent and CDH.
  const std::string toml = InitDataToml(s, Tls());
  EXPECT_THAT(toml, HasSubstr("cert = \\\"-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(toml, HasSubstr("kbs_cert = \\\"-----BEGIN CERTIFICATE-----"));

  // Plain HTTP: no bundle, no --broker-ca, no key in the ConfigMap, no cert in init-data.
  Rendered plain = Render(s, Plain());
  const auto plain_args = Container(plain)["args"].as<std::vector<std::string>>();
  EXPECT_THAT(plain_args, ::testing::Not(::testing::Contains("--broker-ca")));
  EXPECT_THAT(plain_args, ::testing::Contains("http://crypta.example:8080"));
  EXPECT_FALSE(plain.config_map["data"]["broker-ca.pem"]);
  EXPECT_THAT(InitDataToml(s, Plain()), ::testing::Not(HasSubstr("cert =")));
}

TEST(DeployKubernetes, RuntimeGetsHealthListenerAndProbes) {
  DeploymentSpec s = Load("sim-runtime.yaml");
  EXPECT_EQ(HealthPort(s), 8081);
  Rendered r = Render(s);
  const YAML::Node c = Container(r);
  const auto args = c["args"].as<std::vector<std::string>>();
  const auto at = std::find(args.begin(), args.end(), "--health-listen");
  ASSERT_NE(at, args.end());
  EXPECT_EQ(*(at + 1), "0.0.0.0:8081");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<int>(), 8081);
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["scheme"].as<std::string>(), "HTTP");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["port"].as<int>(), 8081);
  ASSERT_EQ(c["ports"].size(), 2u);
  EXPECT_EQ(c["ports"][1]["name"].as<std::string>(), "health");
  EXPECT_EQ(c["ports"][1]["containerPort"].as<int>(), 8081);
  // The Service exposes only the spec's ports, not the health port.
  ASSERT_EQ(r.service["spec"]["ports"].size(), 1u);

  // A spec that already uses 8081 moves the health port out of its way.
  s.ports.push_back({8081, "TCP"});
  s.ports.push_back({8082, "HTTP"});
  EXPECT_EQ(HealthPort(s), 8083);
  // No ports: the runtime serves on 8080 and the health port is 8081.
  s.ports.clear();
  EXPECT_EQ(HealthPort(s), 8081);
  Rendered no_ports = Render(s);
  EXPECT_EQ(Container(no_ports)["ports"].size(), 1u);
  EXPECT_EQ(no_ports.documents, 2u);
}

TEST(DeployKubernetes, OtherImagesGetNoRuntimeArgsOrProbes) {
  const YAML::Node c = Container(Render(Load("seed2.yaml", "tdx"), Tls()));
  EXPECT_FALSE(c["args"]);
  EXPECT_FALSE(c["livenessProbe"]);
  EXPECT_FALSE(c["readinessProbe"]);
  EXPECT_EQ(c["ports"].size(), 1u);
}

TEST(DeployKubernetes, OutputIsDeterministic) {
  const DeploymentSpec s = Load("sim-runtime.yaml");
  auto a = RenderKubernetes(s, Tls());
  auto b = RenderKubernetes(s, Tls());
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(*a, *b);
}

TEST(DeployKubernetes, RefusesAnInitDataAnnotationOverTheKubernetesLimit) {
  DeploymentSpec s = Load("sim-runtime.yaml");
  // Each annotation is within the spec's 64 KiB cap; the canonical spec in the init-data
  // is not within Kubernetes' 256 KiB for the pod's annotations.
  for (const char* key : {"notes-a", "notes-b", "notes-c", "notes-d"}) {
    s.annotations[key] = std::string(60 * 1024, 'x');
  }
  ASSERT_TRUE(ValidateSpec(s).has_value());
  auto r = RenderKubernetes(s, Plain());
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("256 KiB of annotations"));
}

}  // namespace
}  // namespace crypta::deploy
