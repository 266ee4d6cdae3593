// crypta-model-check: does a model file load as what it claims, before `crypta model push`
// seals it (issue 12)? Run by the CLI in a child process with memory and CPU limits, so a
// hostile or broken file cannot take the CLI down with it.
//
//   crypta-model-check FILE [--backend torchscript|onnx] [--signature SIG.json]
//
// The backend is inferred when not given: a ZIP archive is PyTorch's format (TorchScript, or
// a state_dict / pickled module, which cannot be served), anything else is tried as ONNX. The
// model is loaded with crypta's own runners (infer::LoadModel) and run once on zeros shaped
// like its inputs (dynamic dimensions as 1), so a signature that does not fit the model is
// found here rather than at the first request. On success prints one JSON line
// {"backend": ..., "signature": {"inputs": [...], "outputs": [...]}} and exits 0; otherwise one
// line on stderr ("crypta-model-check: FILE: why") and exit 1 (2 for usage errors).
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_util.h"
#include "infer/model_runner.h"

namespace {

using namespace crypta;

constexpr uint64_t kMaxModelFileBytes = uint64_t{16} << 30;

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// What a PyTorch ZIP archive holds, from its entry names (stored in the clear in the local
// headers and the central directory): TorchScript archives have code/ and constants.pkl;
// torch.save() of a state_dict or module has only data.pkl (and data/).
enum class TorchArchive { kTorchScript, kPickle, kUnknown };
TorchArchive ClassifyTorchArchive(std::string_view bytes) {
  if (Contains(bytes, "/code/") || Contains(bytes, "constants.pkl"))
    return TorchArchive::kTorchScript;
  if (Contains(bytes, "data.pkl")) return TorchArchive::kPickle;
  return TorchArchive::kUnknown;
}

[[noreturn]] void Fail(const std::string& file, const std::string& why, int code = 1) {
  std::fprintf(stderr, "crypta-model-check: %s: %s\n", file.c_str(), why.c_str());
  std::exit(code);
}

std::vector<infer::Tensor> Zeros(const infer::ModelSignature& signature) {
  std::vector<infer::Tensor> out;
  for (const infer::TensorSpec& spec : signature.inputs) {
    infer::Tensor t;
    t.name = spec.name;
    t.dtype = spec.dtype;
    uint64_t count = 1;
    for (int64_t d : spec.shape) {
      t.shape.push_back(d < 0 ? 1 : d);
      count *= static_cast<uint64_t>(d < 0 ? 1 : d);
    }
    t.data.assign(count * infer::ElementSize(spec.dtype), 0);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, backend, signature_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--backend" || arg == "--signature") && i + 1 < argc) {
      (arg == "--backend" ? backend : signature_path) = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: crypta-model-check FILE [--backend torchscript|onnx] [--signature SIG.json]\n");
      return 0;
    } else if (file.empty() && !arg.empty() && arg[0] != '-') {
      file = arg;
    } else {
      Fail(file.empty() ? "-" : file, "unexpected argument " + arg, 2);
    }
  }
  if (file.empty()) Fail("-", "no model file given", 2);
  if (!backend.empty() && backend != "torchscript" && backend != "onnx") {
    Fail(file, "--backend: want torchscript or onnx, got " + backend, 2);
  }
  Result<Bytes> bytes = ReadFileBytes(file, kMaxModelFileBytes);
  if (!bytes) Fail(file, bytes.error().message());
  const std::string_view view = AsStringView(*bytes);
  const bool zip = view.size() >= 4 && view.substr(0, 4) == std::string_view("PK\x03\x04", 4);

  if (zip) {
    const TorchArchive kind = ClassifyTorchArchive(view);
    if (kind == TorchArchive::kPickle) {
      Fail(file,
           "this is a PyTorch state_dict (or a pickled module), not a TorchScript module: export "
           "it with torch.jit.trace or torch.onnx.export (docs/models.md)");
    }
    if (backend == "onnx") Fail(file, "a PyTorch archive, not an ONNX model (--backend onnx)");
    backend = "torchscript";
  } else if (backend.empty()) {
    backend = "onnx";
  } else if (backend == "torchscript") {
    Fail(file,
         "not a TorchScript archive (TorchScript files are ZIP archives from torch.jit.save)");
  }

  infer::LoadOptions options;
  options.backend = backend;
  options.threads = 1;
  if (!signature_path.empty()) {
    Result<Bytes> text = ReadFileBytes(signature_path, 1 << 20);
    if (!text) Fail(signature_path, text.error().message());
    Result<infer::ModelSignature> sig = infer::ParseModelSignatureJson(AsStringView(*text));
    if (!sig) Fail(signature_path, sig.error().message());
    options.signature = std::move(*sig);
  } else if (backend == "torchscript") {
    Fail(file,
         "a TorchScript model does not declare its inputs and outputs: give its signature "
         "(--signature FILE.json; docs/models.md)");
  }
  Result<std::unique_ptr<infer::ModelRunner>> runner = infer::LoadModel(*bytes, options);
  if (!runner) {
    Fail(file, (backend == "onnx" && !zip ? "not a model crypta can serve (tried ONNX): "
                                          : "does not load as " + backend + ": ") +
                   runner.error().message());
  }
  const infer::ModelSignature& signature = (*runner)->signature();
  Result<std::vector<infer::Tensor>> outputs = (*runner)->Run(Zeros(signature));
  if (!outputs) {
    Fail(file, "loads, but does not run on inputs shaped like its signature: " +
                   outputs.error().message());
  }
  std::printf("{\"backend\":\"%s\",\"signature\":%s}\n", backend.c_str(),
              infer::ModelSignatureToJson(signature).c_str());
  return 0;
}
