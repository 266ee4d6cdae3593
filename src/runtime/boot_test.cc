#include "runtime/boot.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwe.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"
#include "kbs/rcar.h"
#include "testing/test_util.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

class FakeSimAttester : public attest::Attester {
 public:
  std::string name() const override { return "sim"; }
  Result<attest::Evidence> Collect(ByteSpan report_data) override {
    last_evidence = json{{"report_data", HexEncode(report_data)}}.dump();
    return attest::Evidence{attest::TeeType::kSim, ToBytes(last_evidence), {}};
  }
  std::string last_evidence;
};

// A control plane in memory: RCAR with checks on what the runtime sends, model metadata,
// the sealed blob and the key release as a JWE to the tee-pubkey.
class FakeControlPlane : public HttpFetcher {
 public:
  explicit FakeControlPlane(FakeSimAttester* attester) : attester_(attester) {
    model = ToBytes("a TorchScript model, honestly");
    dek = std::move(*RandomSecret(kDataKeySize));
    auto header =
        NewSealedHeader({"radiology", "models", 1}, Bytes(60, 7), model.size(), kMinChunkSize);
    blob = std::move(*SealBuffer(dek, *header, model));
    digest = HexEncode(Sha256(blob));
  }

  Result<FetchResponse> Send(const FetchRequest& r) override {
    paths.push_back(r.path);
    if (unreachable) return MakeError(ErrorCode::kUnavailable, "cannot reach the control plane");
    if (r.method == "POST" && r.path == "/kbs/v0/auth") {
      json body = json::parse(r.body);
      if (body["tee"] != "sim" || body["version"] != "0.1.1")
        return Reply(400, Problem("bad auth"));
      FetchResponse out = Reply(200, json{{"nonce", "n0nce"}, {"extra-params", json::object()}});
      out.set_cookies = {"kbs-session-id=s1; Path=/kbs; HttpOnly"};
      return out;
    }
    if (r.method == "POST" && r.path == "/kbs/v0/attest") {
      if (Header(r, "Cookie") != "kbs-session-id=s1") return Reply(401, Problem("no session"));
      json body = json::parse(r.body);
      const json& rd = body["runtime-data"];
      if (rd["nonce"] != "n0nce") return Reply(401, Problem("wrong nonce"));
      // The evidence must bind SHA-384(JCS(runtime-data)), as the real broker checks.
      auto binding = kbs::RcarReportData(rd);
      if (body["tee-evidence"] != json{{"report_data", HexEncode(*binding)}}.dump()) {
        return Reply(401, Problem("report_data does not bind runtime-data"));
      }
      tee_key = std::move(ParsePublicJwk(rd["tee-pubkey"])->key);
      return Reply(200, json{{"token", "ear.token"}});
    }
    if (Header(r, "Authorization") != "Bearer ear.token") return Reply(401, Problem("no EAR"));
    const std::string model_path = "/v1/tenants/radiology/models/cnn";
    if (r.path == model_path + "?digest=" + digest) {
      return Reply(
          200, json{{"name", "cnn"},
                    {"digest", "sha256:" + (metadata_digest.empty() ? digest : metadata_digest)},
                    {"key", "models"},
                    {"object_id", "obj1"}});
    }
    if (r.path == model_path + "/blob?digest=" + digest) {
      FetchResponse out{200, ToString(blob), {}};
      if (swap_blob) out.body[out.body.size() - 1] ^= 1;
      return out;
    }
    if (r.path == "/kbs/v0/resource/radiology/models/obj1") {
      if (deny) return Reply(403, Problem("policy: measurement 1234 is not allowed"));
      return Reply(200, *JweEncrypt(*tee_key, dek.Reveal()));
    }
    return Reply(404, Problem("no such route"));
  }

  Bytes model, blob;
  SecretBytes dek;
  std::string digest, metadata_digest;
  std::optional<PublicKey> tee_key;
  bool deny = false, swap_blob = false, unreachable = false;
  std::vector<std::string> paths;

 private:
  static json Problem(const std::string& detail) {
    return {{"type", "about:blank"}, {"title", "error"}, {"detail", detail}};
  }
  static FetchResponse Reply(int status, const json& body) { return {status, body.dump(), {}}; }
  static std::string Header(const FetchRequest& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }
  FakeSimAttester* attester_;
};

class BootTest : public ::testing::Test {
 protected:
  ModelRef Ref() { return ModelRef{"radiology", "cnn", cp_.digest}; }
  FakeSimAttester attester_;
  FakeControlPlane cp_{&attester_};
};

TEST_F(BootTest, RunsRcarFetchesAndUnsealsTheModelInMemory) {
  CRYPTA_ASSIGN_OR_FAIL(BootedModel booted, BootModel(cp_, attester_, Ref(), {}));
  EXPECT_EQ(ToString(booted.plaintext.Reveal()), ToString(cp_.model));
  EXPECT_EQ(booted.ear_token, "ear.token");
  EXPECT_EQ(booted.metadata["object_id"], "obj1");
  ASSERT_TRUE(cp_.tee_key.has_value());
  EXPECT_EQ(cp_.tee_key->type(), KeyType::kEcP256);
  ASSERT_EQ(cp_.paths.size(), 5u);
  EXPECT_EQ(cp_.paths[4], "/kbs/v0/resource/radiology/models/obj1");
}

TEST_F(BootTest, AKeyReleaseRefusedByPolicyFailsWithTheControlPlanesReason) {
  cp_.deny = true;
  auto booted = BootModel(cp_, attester_, Ref(), {});
  ASSERT_FALSE(booted.has_value());
  EXPECT_EQ(booted.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(booted.error().message(),
            "key release denied by the control plane: HTTP 403: policy: measurement 1234 is not "
            "allowed");
}

TEST_F(BootTest, ABlobThatIsNotTheReferencedOneIsRefusedBeforeAnyKeyRelease) {
  cp_.swap_blob = true;
  auto booted = BootModel(cp_, attester_, Ref(), {});
  ASSERT_FALSE(booted.has_value());
  EXPECT_EQ(booted.error().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(cp_.paths.size(), 4u);  // no resource request
}

TEST_F(BootTest, MetadataForAnotherDigestIsRefused) {
  cp_.metadata_digest = std::string(64, '0');
  auto booted = BootModel(cp_, attester_, Ref(), {});
  ASSERT_FALSE(booted.has_value());
  EXPECT_NE(booted.error().message().find("not the one in --model"), std::string::npos);
}

TEST_F(BootTest, AnUnknownModelIsNotFound) {
  ModelRef ref = Ref();
  ref.name = "other";
  auto booted = BootModel(cp_, attester_, ref, {});
  ASSERT_FALSE(booted.has_value());
  EXPECT_EQ(booted.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(booted.error().message(), "model metadata: HTTP 404: no such route");
}

TEST_F(BootTest, AnUnreachableControlPlaneIsUnavailable) {
  cp_.unreachable = true;
  auto booted = BootModel(cp_, attester_, Ref(), {});
  ASSERT_FALSE(booted.has_value());
  EXPECT_EQ(booted.error().code(), ErrorCode::kUnavailable);
}

TEST_F(BootTest, AModelLargerThanTheCapIsRefused) {
  BootOptions options;
  options.max_model_bytes = 4;
  auto booted = BootModel(cp_, attester_, Ref(), options);
  ASSERT_FALSE(booted.has_value());
  EXPECT_EQ(booted.error().code(), ErrorCode::kResourceExhausted);
}

TEST(ModelRefTest, ParsesAStoreReference) {
  const std::string hex(64, 'a');
  CRYPTA_ASSIGN_OR_FAIL(ModelRef ref, ParseModelRef("store://radiology/cnn@sha256:" + hex));
  EXPECT_EQ(ref.tenant, "radiology");
  EXPECT_EQ(ref.name, "cnn");
  EXPECT_EQ(ref.digest_hex, hex);
  EXPECT_EQ(ref.ToString(), "store://radiology/cnn@sha256:" + hex);
}

TEST(ModelRefTest, RefusesMalformedReferences) {
  const std::string hex(64, 'a');
  for (const std::string& bad :
       {"radiology/cnn@sha256:" + hex, "store:///cnn@sha256:" + hex,
        "store://radiology/@sha256:" + hex, std::string("store://radiology/cnn"),
        "store://radiology/a/b@sha256:" + hex, "store://radiology/cnn@sha256:" + hex.substr(1),
        "store://radiology/cnn@sha256:" + std::string(64, 'A'),
        "store://radiology/cnn@sha512:" + hex}) {
    auto ref = ParseModelRef(bad);
    ASSERT_FALSE(ref.has_value()) << bad;
    EXPECT_EQ(ref.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(ref.error().message().starts_with("--model: ")) << ref.error().message();
  }
}

TEST(ControlPlaneErrorTest, UsesTheProblemDetailAndMapsTheStatus) {
  Error e = ControlPlaneError({401, R"({"detail":"session expired"})", {}}, "RCAR attest");
  EXPECT_EQ(e.code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(e.message(), "RCAR attest: HTTP 401: session expired");
  EXPECT_EQ(ControlPlaneError({502, "<html>", {}}, "x").message(), "x: HTTP 502: no detail");
  EXPECT_EQ(ControlPlaneError({502, "<html>", {}}, "x").code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace crypta::runtime
