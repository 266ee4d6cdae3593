// Model runners (DESIGN.md §2 src/infer): the interface crypta-runtime serves models through,
// and the tensor type shared by the Open Inference Protocol codec (oip.h) and batching.
//
// Tensors are dense, row-major, with elements stored little-endian in `data`
// (data.size() == ElementCount(shape) * ElementSize(dtype)). BOOL is one byte (0 or 1).
#ifndef CRYPTA_INFER_MODEL_RUNNER_H_
#define CRYPTA_INFER_MODEL_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::infer {

// The Open Inference Protocol v2 datatypes crypta supports.
enum class DataType { kFp32, kFp64, kInt64, kInt32, kUint8, kBool };

// "FP32", "FP64", "INT64", "INT32", "UINT8", "BOOL" (OIP v2 spelling).
std::string_view DataTypeName(DataType type);
// Inverse of DataTypeName; kInvalidArgument naming the value otherwise.
Result<DataType> ParseDataType(std::string_view name);
// Bytes per element: 4, 8, 8, 4, 1, 1.
size_t ElementSize(DataType type);

struct Tensor {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;  // every dimension >= 0
  Bytes data;                  // ElementCount(shape) * ElementSize(dtype) bytes
};

// A tensor whose data lives in the caller's memory (a NumPy array, a JavaScript typed array):
// what the SDKs encode requests from without copying it into a Tensor first.
struct TensorView {
  std::string_view name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
  ByteSpan data;  // ElementCount(shape) * ElementSize(dtype) bytes
};

// Product of the dimensions; kInvalidArgument when a dimension is negative or the product
// overflows or exceeds `max_elements`.
Result<uint64_t> ElementCount(const std::vector<int64_t>& shape,
                              uint64_t max_elements = uint64_t{1} << 32);

// A declared input or output. -1 in `shape` is a dynamic dimension (the batch dimension
// is normally dynamic).
struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
};

// A text-generation model (issue 18; crypta-runtime's generate routes, runtime/generation.h):
// the model maps token ids [1, T] (INT64) to the next token's logits [1, vocab] (FP32).
struct GenerateSpec {
  std::string tokenizer = "ascii-printable";  // the only tokenizer: token i = character 32 + i
  int max_context = 128;                      // tokens fed per step (the last ones)
};

struct ModelSignature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::optional<GenerateSpec> generate;  // the signature file's "generate" member
};

// Where a model computes. kAuto is a request only ("CUDA when there is one"): LoadModel and
// SelectDevice resolve it, and a loaded runner reports kCpu or kCuda.
enum class Device { kAuto, kCpu, kCuda };

// "auto", "cpu", "cuda".
std::string_view DeviceName(Device device);
// Inverse of DeviceName; kInvalidArgument naming the value otherwise.
Result<Device> ParseDevice(std::string_view name);

// What this process's libtorch can do with CUDA (TorchScript is the only backend that can
// use a GPU). `built_with_cuda`: the linked libtorch has its CUDA library (Debian's does
// not); `devices`: GPUs visible to it (0 when not built with CUDA).
struct CudaProbe {
  bool built_with_cuda = false;
  int devices = 0;
};

// Resolves a requested device for a backend, without loading anything:
//   torchscript: auto -> cuda when probe.devices > 0, else cpu; cuda -> cuda, or
//                kFailedPrecondition saying why not ("libtorch was built without CUDA ..." /
//                "no CUDA GPU is visible ...");
//   onnx:        auto -> cpu; cuda -> kInvalidArgument naming the backend ("the onnx backend
//                (OpenCV DNN) runs on the CPU only ...").
// Any other backend is kInvalidArgument. The messages are reasons without context: callers
// prefix what was asked ("--device cuda: "). Pure: the probe is passed in (ProbeCuda() is
// the real one), so the rules are testable on a machine without a GPU.
Result<Device> SelectDevice(std::string_view backend, Device requested, const CudaProbe& probe);

// One loaded model. Run() may be called from several threads at once.
class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  // "torchscript" or "onnx".
  virtual std::string_view backend() const = 0;
  virtual const ModelSignature& signature() const = 0;
  // Where Run() computes: kCpu or kCuda, never kAuto.
  virtual Device device() const { return Device::kCpu; }
  // Runs one (possibly batched) request. `inputs` are matched to signature().inputs by name
  // (order-free); a missing, extra, mistyped or misshapen input is kInvalidArgument naming
  // it. Returns the outputs in signature().outputs order.
  virtual Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) = 0;
};

struct LoadOptions {
  std::string backend;  // "torchscript" | "onnx"
  // Used where the model file does not declare its signature (TorchScript does not; ONNX
  // does). When both exist they must agree.
  std::optional<ModelSignature> signature;
  int threads = 0;  // intra-op threads; 0 = library default
  // kCuda (TorchScript only): the model is read into host memory, then moved to GPU 0;
  // each Run() copies its inputs to the GPU and the outputs back. kAuto picks as
  // SelectDevice does with ProbeCuda(). A device the backend or host cannot provide is an
  // error from LoadModel.
  Device device = Device::kCpu;
};

// Checks a signature: at least one input and one output, non-empty unique names (inputs
// and outputs separately), every dimension -1 or >= 0. kInvalidArgument naming the tensor.
Status ValidateSignature(const ModelSignature& signature);

// Checks one tensor against its spec: same dtype, same rank, equal fixed dimensions (-1
// matches any), data.size() == ElementCount(shape) * ElementSize(dtype). kInvalidArgument
// naming `what` (e.g. "input 'x'") with got/want values.
Status CheckTensorAgainstSpec(const Tensor& tensor, const TensorSpec& spec, std::string_view what);

// Matches `inputs` to `signature.inputs` by name and checks each with CheckTensorAgainstSpec.
// Returns pointers into `inputs` in signature order. kInvalidArgument for a missing,
// duplicated, unknown or mismatched input (named).
Result<std::vector<const Tensor*>> MatchInputs(const ModelSignature& signature,
                                               const std::vector<Tensor>& inputs);

// The signature file format (tiny_cnn.signature.json, crypta-runtime --signature):
// {"inputs":[{"name":"input","datatype":"FP32","shape":[-1,3,32,32]}],"outputs":[...]},
// and for a text-generation model "generate":{"tokenizer":"ascii-printable","max_context":C}
// (C in 1..65536; it then needs one INT64 input [1,-1] and an FP32 first output [1,95]).
// Parsing is size-capped (1 MiB) and validates with ValidateSignature.
Result<ModelSignature> ParseModelSignatureJson(std::string_view json_text);
std::string ModelSignatureToJson(const ModelSignature& signature);

// Loads a model from plaintext bytes held in memory (never written to disk). kInvalidArgument
// when the bytes are not a model of that backend or the signature is missing/inconsistent.
Result<std::unique_ptr<ModelRunner>> LoadModel(ByteSpan model, const LoadOptions& options);

// What the linked libtorch reports about CUDA (torch::cuda::device_count() and whether its
// CUDA library is present). Part of crypta_infer (libtorch), unlike SelectDevice.
CudaProbe ProbeCuda();

}  // namespace crypta::infer

#endif  // CRYPTA_INFER_MODEL_RUNNER_H_
