#include "client/tee_environment.h"

#include <cstdlib>

#include "crypto/sealed_blob.h"

namespace crypta::client {
namespace {

std::string EnvOr(const std::string& value, const char* name) {
  if (!value.empty()) return value;
  const char* env = std::getenv(name);
  return env != nullptr ? env : "";
}

}  // namespace

Result<std::unique_ptr<TeeEnvironment>> TeeEnvironment::Create(const TeeEnvironmentOptions& o) {
  const std::string url = EnvOr(o.broker_url, "CRYPTA_BROKER_URL");
  if (url.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "no key broker URL: pass the control plane's URL or set CRYPTA_BROKER_URL");
  }
  const std::string socket = EnvOr(o.sim_socket, "CRYPTA_SIM_SOCKET");
  std::unique_ptr<attest::Attester> attester;
  if (o.tee == "sim") {
    if (socket.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "sim TEE: no report socket (set CRYPTA_SIM_SOCKET; `crypta sim launch` "
                       "does this)");
    }
    attester = std::make_unique<attest::SimAttester>(socket);
  } else if (o.tee == "auto") {
    Result<std::unique_ptr<attest::Attester>> detected = attest::DetectAttester("/", socket);
    if (!detected) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "not inside a TEE: " + detected.error().message());
    }
    attester = std::move(*detected);
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tee: want \"auto\" or \"sim\", got \"" + o.tee + "\"");
  }
  Result<std::unique_ptr<attest::GpuAttester>> gpus =
      attest::OpenGpuAttester(o.gpu_evidence, socket);
  if (!gpus) return MakeError(gpus.error().WithContext("gpu_evidence " + o.gpu_evidence));
  runtime::FetcherOptions fetcher_options;
  fetcher_options.ca_cert_path = EnvOr(o.broker_ca_path, "CRYPTA_BROKER_CA");
  CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<runtime::HttpFetcher> broker,
                          runtime::NewHttpFetcher(url, fetcher_options));
  return std::unique_ptr<TeeEnvironment>(new TeeEnvironment(std::move(attester), std::move(*gpus),
                                                            std::move(broker), o.max_model_bytes));
}

Result<runtime::BootedModel> TeeEnvironment::LoadModel(const std::string& reference) {
  CRYPTA_ASSIGN_OR_RETURN(runtime::ModelRef ref, runtime::ParseModelRef(reference));
  runtime::BootOptions options;
  options.max_model_bytes = max_model_bytes_;
  options.gpus = gpus_.get();
  CRYPTA_ASSIGN_OR_RETURN(runtime::BootedModel model,
                          runtime::BootModel(*broker_, *attester_, ref, options));
  ear_token_ = model.ear_token;
  return model;
}

Result<SecretBytes> TeeEnvironment::DataKey(ByteSpan blob, const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader opened, ReadSealedHeader(blob));
  const KeyReference& ref = opened.header.key_ref;
  if (ref.tenant.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sealed with a local key file, not a key broker key: nothing to release");
  }
  // A fresh session (and ephemeral key) per release: EAR tokens expire.
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey tee_key, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_RETURN(runtime::RcarSession session,
                          runtime::RunRcarSession(*broker_, *attester_, tee_key,
                                                  nlohmann::json::object(), gpus_.get()));
  ear_token_ = std::move(session.ear_token);
  CRYPTA_ASSIGN_OR_RETURN(
      SecretBytes dek,
      runtime::ReleaseDataKey(*broker_, ear_token_, tee_key, ref.tenant, ref.key_name, object_id));
  CRYPTA_RETURN_IF_ERROR(CheckSealedHeader(dek, blob, opened));
  return dek;
}

Result<Bytes> TeeEnvironment::DecryptData(ByteSpan blob, const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek, DataKey(blob, object_id));
  return OpenBuffer(dek, blob, 0);
}

Result<Bytes> TeeEnvironment::EncryptData(ByteSpan plaintext, ByteSpan like,
                                          const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek, DataKey(like, object_id));
  CRYPTA_ASSIGN_OR_RETURN(OpenedHeader opened, ReadSealedHeader(like));
  CRYPTA_ASSIGN_OR_RETURN(SealedHeader header,
                          NewSealedHeader(opened.header.key_ref, opened.header.wrapped_dek,
                                          plaintext.size(), opened.header.chunk_size));
  return SealBuffer(dek, header, plaintext, 0);
}

}  // namespace crypta::client
