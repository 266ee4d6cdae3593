#include "runtime/model_service.h"

#include <cstring>

#include "infer/batcher.h"
#include "infer/model_runner.h"
#include "infer/oip.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

// Triton's platform names where they fit: libtorch for TorchScript; OpenCV DNN for ONNX.
std::string PlatformName(std::string_view backend) {
  return backend == "torchscript" ? "pytorch_libtorch" : "opencv_onnx";
}

class InferModelService : public ModelService {
 public:
  InferModelService(std::string name, std::unique_ptr<infer::ModelRunner> runner,
                    infer::BatchOptions batch, std::optional<GenerationConfig> generation)
      : name_(std::move(name)),
        runner_(std::move(runner)),
        batcher_(runner_.get(), batch),
        generation_(generation),
        metadata_(infer::ModelMetadataJson(name_, PlatformName(runner_->backend()),
                                           runner_->signature())) {
    // Where the model computes (an addition to OIP's model metadata): a client that verified
    // this runtime can see whether its tensors go to a GPU (src/infer/README.md).
    metadata_["device"] = std::string(infer::DeviceName(runner_->device()));
    if (generation_) {
      metadata_["generate"] = {{"tokenizer", "ascii-printable"},
                               {"max_context", generation_->max_context},
                               {"max_tokens", kMaxGenerateTokens}};
    }
  }

  const std::string& name() const override { return name_; }
  json Metadata() const override { return metadata_; }

  Result<InferPayload> Infer(std::string_view body,
                             std::optional<std::string_view> header_length) override {
    std::optional<size_t> json_length;
    if (header_length) {
      CRYPTA_ASSIGN_OR_RETURN(json_length,
                              infer::ParseInferenceHeaderContentLength(*header_length));
    }
    CRYPTA_ASSIGN_OR_RETURN(infer::InferRequest request,
                            infer::ParseInferRequest(body, runner_->signature(), json_length));
    CRYPTA_ASSIGN_OR_RETURN(std::vector<infer::Tensor> outputs,
                            batcher_.Infer(std::move(request.inputs)));
    if (!request.outputs.empty()) {
      std::vector<infer::Tensor> selected;
      for (const std::string& wanted : request.outputs) {
        for (infer::Tensor& t : outputs) {
          if (t.name == wanted) selected.push_back(std::move(t));
        }
      }
      outputs = std::move(selected);
    }
    infer::OipBody out = infer::EncodeInferResponseFor(name_, request, outputs);
    return InferPayload{std::move(out.body), out.json_length};
  }

  // One forward pass per token, outside the batcher (each step's sequence length differs).
  Result<std::unique_ptr<TokenStream>> Generate(std::string_view body) override {
    if (!generation_) return ModelService::Generate(body);
    CRYPTA_ASSIGN_OR_RETURN(GenerateRequest request, ParseGenerateRequest(body));
    infer::ModelRunner* runner = runner_.get();
    const std::string input = runner->signature().inputs[0].name;
    NextTokenLogits step = [runner,
                            input](const std::vector<int64_t>& ids) -> Result<std::vector<float>> {
      infer::Tensor t{input, infer::DataType::kInt64, {1, static_cast<int64_t>(ids.size())}, {}};
      t.data.resize(ids.size() * sizeof(int64_t));
      std::memcpy(t.data.data(), ids.data(), t.data.size());  // little-endian hosts only
      CRYPTA_ASSIGN_OR_RETURN(std::vector<infer::Tensor> out, runner->Run({t}));
      std::vector<float> logits(out[0].data.size() / sizeof(float));
      std::memcpy(logits.data(), out[0].data.data(), logits.size() * sizeof(float));
      return logits;
    };
    return std::make_unique<TokenStream>(*generation_, std::move(request), std::move(step));
  }

  std::optional<BatchStatsView> BatchStats() const override {
    infer::Batcher::Stats s = batcher_.stats();
    return BatchStatsView{s.batches, s.requests, s.batch_size_counts};
  }

 private:
  std::string name_;
  std::unique_ptr<infer::ModelRunner> runner_;
  infer::Batcher batcher_;
  std::optional<GenerationConfig> generation_;
  json metadata_;
};

}  // namespace

Result<DeviceChoice> ChooseDevice(std::string_view flag, std::string_view backend, bool cuda_built,
                                  int cuda_devices) {
  const std::string context = "--device " + std::string(flag.substr(0, 32));
  Result<infer::Device> requested = infer::ParseDevice(flag);
  if (!requested) return MakeError(requested.error().WithContext("--device"));
  const std::string_view rule_backend = backend.empty() ? "torchscript" : backend;
  const infer::CudaProbe probe{cuda_built, cuda_devices};
  Result<infer::Device> device = infer::SelectDevice(rule_backend, *requested, probe);
  if (!device) return MakeError(device.error().WithContext(context));
  DeviceChoice choice;
  choice.device = std::string(infer::DeviceName(*device));
  choice.log = "device " + choice.device + " (" + context;
  if (*requested == infer::Device::kAuto && !backend.empty()) {
    std::string why = "CPU only";
    if (backend == "torchscript") {
      why = !cuda_built ? "libtorch built without CUDA"
                        : std::to_string(cuda_devices) + " CUDA GPU" +
                              (cuda_devices == 1 ? "" : "s") + " visible";
    }
    choice.log += ", " + std::string(backend) + ": " + why;
  }
  choice.log += ")";
  return choice;
}

Result<DeviceChoice> ChooseDevice(std::string_view flag, std::string_view backend) {
  const infer::CudaProbe probe = flag == "cpu" ? infer::CudaProbe{} : infer::ProbeCuda();
  return ChooseDevice(flag, backend, probe.built_with_cuda, probe.devices);
}

Result<std::unique_ptr<ModelService>> LoadModelService(ByteSpan model,
                                                       const ModelServiceOptions& options) {
  std::optional<GenerationConfig> generation;
  infer::LoadOptions load;
  load.backend = options.backend;
  load.threads = options.threads;
  CRYPTA_ASSIGN_OR_RETURN(load.device, infer::ParseDevice(options.device));
  if (!options.signature_json.empty()) {
    Result<infer::ModelSignature> signature =
        infer::ParseModelSignatureJson(options.signature_json);
    if (!signature) return MakeError(signature.error().WithContext("--signature"));
    if (signature->generate) {
      generation = GenerationConfig{};
      generation->max_context = signature->generate->max_context;
    }
    load.signature = std::move(*signature);
  }
  Result<std::unique_ptr<infer::ModelRunner>> runner = infer::LoadModel(model, load);
  if (!runner) return MakeError(runner.error().WithContext("loading the model"));
  infer::BatchOptions batch;
  batch.max_batch = options.max_batch;
  batch.max_delay = options.batch_delay;
  return std::unique_ptr<ModelService>(
      std::make_unique<InferModelService>(options.name, std::move(*runner), batch, generation));
}

}  // namespace crypta::runtime
