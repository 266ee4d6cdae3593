// ONNX runner: the graph pass (onnx_graph.h), then OpenCV DNN. The only translation unit
// that includes OpenCV; cv::Exception never leaves it.
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "infer/backends.h"
#include "infer/onnx_graph.h"

namespace crypta::infer {
namespace {

// OpenCV computes in FP32: integer inputs must be exactly representable.
constexpr double kMaxExactFloatInteger = 16777216.0;  // 2^24

std::string ShortMessage(const std::exception& e) {
  std::string msg = e.what();
  // cv::Exception::what() is "OpenCV(4.6.0) <file>:<line>: error: (-2:...) <err> in function
  // '<func>'"; keep the part after "error: ".
  if (size_t pos = msg.find("error: "); pos != std::string::npos) msg = msg.substr(pos + 7);
  if (size_t nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  if (msg.size() > 300) msg.resize(300);
  return msg;
}

// OpenCV's importer names the failing node as "Node [<op>@<domain>]" or a layer "of type
// <op>"; pull the op type out so the error can name it.
std::string FailingOp(const std::string& message) {
  static const std::regex kNode(R"(Node \[([A-Za-z0-9_]+)@)");
  static const std::regex kType(R"(of type \"?([A-Za-z0-9_]+))");
  std::smatch m;
  if (std::regex_search(message, m, kNode) || std::regex_search(message, m, kType)) return m[1];
  return "";
}

template <typename T>
void ToFloats(const Tensor& t, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, t.data.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(v);
  }
}

template <typename T>
Status IntegersToFloats(const Tensor& t, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, t.data.data() + i * sizeof(T), sizeof(T));
    if (std::fabs(static_cast<double>(v)) > kMaxExactFloatInteger) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "input '" + t.name + "': " + std::to_string(v) +
                           " is not exactly representable in FP32 (the ONNX backend computes "
                           "in FP32; integers must be within +-2^24)");
    }
    out[i] = static_cast<float>(v);
  }
  return OkStatus();
}

Result<cv::Mat> ToMat(const Tensor& t) {
  std::vector<int> sizes;
  for (int64_t d : t.shape) {
    if (d > INT32_MAX)
      return MakeError(ErrorCode::kInvalidArgument, "input '" + t.name + "' too large");
    sizes.push_back(static_cast<int>(d));
  }
  if (sizes.empty()) sizes.push_back(1);
  cv::Mat mat(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
  const size_t n = t.data.size() / ElementSize(t.dtype);
  float* out = mat.ptr<float>();
  switch (t.dtype) {
    case DataType::kFp32:
      if (n > 0) std::memcpy(out, t.data.data(), n * sizeof(float));
      break;
    case DataType::kFp64:
      ToFloats<double>(t, out, n);
      break;
    case DataType::kInt64:
      CRYPTA_RETURN_IF_ERROR(IntegersToFloats<int64_t>(t, out, n));
      break;
    case DataType::kInt32:
      CRYPTA_RETURN_IF_ERROR(IntegersToFloats<int32_t>(t, out, n));
      break;
    case DataType::kUint8:
    case DataType::kBool:
      ToFloats<uint8_t>(t, out, n);
      break;
  }
  return mat;
}

// The Mat's shape, or the declared shape with its one -1 filled in when OpenCV changed the
// rank (it drops or adds unit dimensions for some layers).
std::vector<int64_t> OutputShape(const cv::Mat& mat, const TensorSpec& spec) {
  std::vector<int64_t> shape;
  for (int i = 0; i < mat.dims; ++i) shape.push_back(mat.size[i]);
  if (shape.size() == spec.shape.size()) return shape;
  const int64_t total = static_cast<int64_t>(mat.total());
  int64_t known = 1;
  int unknown = 0;
  for (int64_t d : spec.shape) {
    if (d == -1) {
      ++unknown;
    } else {
      known *= d;
    }
  }
  if (unknown > 1 || known == 0 || total % known != 0) return shape;
  if (unknown == 0 && known != total) return shape;
  std::vector<int64_t> fitted = spec.shape;
  for (int64_t& d : fitted) {
    if (d == -1) d = total / known;
  }
  return fitted;
}

template <typename T>
void StoreAll(const cv::Mat& as_double, Tensor& out) {
  const size_t n = as_double.total();
  out.data.resize(n * sizeof(T));
  const double* in = as_double.ptr<double>();
  for (size_t i = 0; i < n; ++i) {
    T v;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      v = static_cast<T>(in[i]);
    } else if constexpr (std::is_same_v<T, bool>) {
      v = in[i] != 0.0;
    } else {
      v = static_cast<T>(std::nearbyint(in[i]));
    }
    std::memcpy(out.data.data() + i * sizeof(T), &v, sizeof(T));
  }
}

Result<Tensor> FromMat(const cv::Mat& mat, const TensorSpec& spec) {
  Tensor out;
  out.name = spec.name;
  out.dtype = spec.dtype;
  out.shape = OutputShape(mat, spec);
  const cv::Mat dense = mat.isContinuous() ? mat : mat.clone();
  if (spec.dtype == DataType::kFp32 && dense.depth() == CV_32F) {
    out.data.resize(dense.total() * sizeof(float));
    if (!out.data.empty()) std::memcpy(out.data.data(), dense.ptr<float>(), out.data.size());
  } else {
    cv::Mat as_double;
    dense.convertTo(as_double, CV_64F);
    switch (spec.dtype) {
      case DataType::kFp32:
        StoreAll<float>(as_double, out);
        break;
      case DataType::kFp64:
        StoreAll<double>(as_double, out);
        break;
      case DataType::kInt64:
        StoreAll<int64_t>(as_double, out);
        break;
      case DataType::kInt32:
        StoreAll<int32_t>(as_double, out);
        break;
      case DataType::kUint8:
        StoreAll<uint8_t>(as_double, out);
        break;
      case DataType::kBool:
        StoreAll<bool>(as_double, out);
        break;
    }
  }
  if (auto s = CheckTensorAgainstSpec(out, spec, "output '" + spec.name + "'"); !s) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "model output disagrees with the signature: " + s.error().message());
  }
  return out;
}

bool SpecsAgree(const TensorSpec& a, const TensorSpec& b) {
  if (a.name != b.name || a.dtype != b.dtype || a.shape.size() != b.shape.size()) return false;
  for (size_t i = 0; i < a.shape.size(); ++i) {
    if (a.shape[i] != -1 && b.shape[i] != -1 && a.shape[i] != b.shape[i]) return false;
  }
  return true;
}

Status CheckAgainstGiven(const ModelSignature& graph, const ModelSignature& given) {
  const auto check = [](const std::vector<TensorSpec>& from_graph,
                        const std::vector<TensorSpec>& declared, std::string_view kind) -> Status {
    if (from_graph.size() != declared.size()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "onnx: the graph has " + std::to_string(from_graph.size()) + " " +
                           std::string(kind) + "s, the given signature " +
                           std::to_string(declared.size()));
    }
    for (const TensorSpec& d : declared) {
      bool found = false;
      for (const TensorSpec& g : from_graph) found = found || SpecsAgree(g, d);
      if (!found) {
        return MakeError(ErrorCode::kInvalidArgument, "onnx: the given signature's " +
                                                          std::string(kind) + " '" + d.name +
                                                          "' disagrees with the graph");
      }
    }
    return OkStatus();
  };
  CRYPTA_RETURN_IF_ERROR(check(graph.inputs, given.inputs, "input"));
  return check(graph.outputs, given.outputs, "output");
}

class OnnxRunner final : public ModelRunner {
 public:
  OnnxRunner(cv::dnn::Net net, ModelSignature signature)
      : net_(std::move(net)), signature_(std::move(signature)) {
    for (const TensorSpec& out : signature_.outputs) output_names_.push_back(out.name);
  }

  std::string_view backend() const override { return "onnx"; }
  const ModelSignature& signature() const override { return signature_; }

  // Thread-safe: cv::dnn::Net keeps per-run state, so runs are serialised by mu_ (batching
  // in front of the runner is what gives concurrency its throughput).
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) override {
    CRYPTA_ASSIGN_OR_RETURN(std::vector<const Tensor*> ordered, MatchInputs(signature_, inputs));
    std::vector<cv::Mat> mats;
    for (const Tensor* t : ordered) {
      CRYPTA_ASSIGN_OR_RETURN(cv::Mat mat, ToMat(*t));
      mats.push_back(std::move(mat));
    }
    std::vector<cv::Mat> outs;
    try {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < mats.size(); ++i) net_.setInput(mats[i], signature_.inputs[i].name);
      net_.forward(outs, output_names_);
      // forward() returns views of the net's buffers: copy before the next run reuses them.
      for (cv::Mat& m : outs) m = m.clone();
    } catch (const std::exception& e) {
      return MakeError(ErrorCode::kInvalidArgument, "model rejected the input: " + ShortMessage(e));
    }
    if (outs.size() != signature_.outputs.size()) {
      return MakeError(ErrorCode::kInternal,
                       "onnx: OpenCV returned " + std::to_string(outs.size()) + " outputs");
    }
    std::vector<Tensor> outputs;
    for (size_t i = 0; i < outs.size(); ++i) {
      CRYPTA_ASSIGN_OR_RETURN(Tensor t, FromMat(outs[i], signature_.outputs[i]));
      outputs.push_back(std::move(t));
    }
    return outputs;
  }

 private:
  std::mutex mu_;
  cv::dnn::Net net_;  // guarded by mu_
  const ModelSignature signature_;
  std::vector<cv::String> output_names_;
};

}  // namespace

Result<std::unique_ptr<ModelRunner>> LoadOnnxModel(ByteSpan model, const LoadOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(PreparedOnnxModel prepared, PrepareOnnxModel(model));
  if (options.signature) {
    CRYPTA_RETURN_IF_ERROR(CheckAgainstGiven(prepared.signature, *options.signature));
  }
  try {
    if (options.threads > 0) cv::setNumThreads(options.threads);
    // OpenCV's importer logs its own diagnostics to stderr; the error we return says what
    // failed, so silence it while importing.
    const auto previous = cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    cv::dnn::Net net;
    try {
      net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(prepared.model.data()),
                                     prepared.model.size());
    } catch (...) {
      cv::utils::logging::setLogLevel(previous);
      throw;
    }
    cv::utils::logging::setLogLevel(previous);
    if (net.empty())
      return MakeError(ErrorCode::kInvalidArgument, "onnx: OpenCV built an empty net");
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return std::make_unique<OnnxRunner>(std::move(net), std::move(prepared.signature));
  } catch (const std::exception& e) {
    const std::string message = ShortMessage(e);
    const std::string op = FailingOp(e.what());
    std::string ops;
    for (const std::string& o : prepared.op_types) ops += (ops.empty() ? "" : ",") + o;
    return MakeError(ErrorCode::kInvalidArgument,
                     (op.empty() ? std::string("onnx: OpenCV 4.6 cannot import the model")
                                 : "onnx: op '" + op + "' is not supported by OpenCV 4.6") +
                         " (graph ops: " + ops + "): " + message);
  }
}

}  // namespace crypta::infer
