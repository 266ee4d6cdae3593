// Fuzzes the OIP v2 request and response parsers: no input may crash them, and whatever
// parses must re-encode and parse again to the same tensors — in the binary extension
// always, in JSON whenever JSON can carry the values (it has no NaN or infinity, which only
// binary data can bring in).
//
// Input layout: a first byte 0x01 selects the binary tensor data extension; the next 4
// bytes (little-endian) are then the Inference-Header-Content-Length and the rest is the
// body. Any other input is a whole-JSON body.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "infer/oip.h"

namespace {

// False when a floating-point tensor holds NaN or an infinity (not representable in JSON).
template <typename Tensors>
bool JsonCanCarry(const Tensors& tensors) {
  using crypta::infer::DataType;
  for (const auto& t : tensors) {
    if (t.dtype == DataType::kFp32) {
      for (size_t i = 0; i + 4 <= t.data.size(); i += 4) {
        float f;
        std::memcpy(&f, t.data.data() + i, 4);
        if (!std::isfinite(f)) return false;
      }
    } else if (t.dtype == DataType::kFp64) {
      for (size_t i = 0; i + 8 <= t.data.size(); i += 8) {
        double d;
        std::memcpy(&d, t.data.data() + i, 8);
        if (!std::isfinite(d)) return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta::infer;
  std::optional<size_t> json_length;
  if (size >= 5 && data[0] == 0x01) {
    json_length = static_cast<size_t>(data[1]) | static_cast<size_t>(data[2]) << 8 |
                  static_cast<size_t>(data[3]) << 16 | static_cast<size_t>(data[4]) << 24;
    data += 5;
    size -= 5;
  }
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ModelSignature sig;
  sig.inputs = {{"input", DataType::kFp32, {-1, 3}},
                {"ids", DataType::kInt64, {-1}},
                {"mask", DataType::kBool, {-1}}};
  sig.outputs = {{"logits", DataType::kFp32, {-1, 3}}};
  auto request = ParseInferRequest(body, sig, json_length);
  if (request) {
    const bool json_ok = JsonCanCarry(request->inputs);
    auto again = ParseInferRequest(EncodeInferRequest(*request), sig);
    if (json_ok && (!again || again->inputs.size() != request->inputs.size())) std::abort();
    const OipBody binary = EncodeInferRequestBinary(*request);
    auto again_binary = ParseInferRequest(binary.body, sig, binary.json_length);
    if (!again_binary || again_binary->inputs.size() != request->inputs.size()) std::abort();
    for (size_t i = 0; i < request->inputs.size(); ++i) {
      if (json_ok && again->inputs[i].data != request->inputs[i].data) std::abort();
      if (again_binary->inputs[i].data != request->inputs[i].data) std::abort();
    }
    if (again_binary->binary_data_output != request->binary_data_output ||
        again_binary->output_binary != request->output_binary) {
      std::abort();
    }
  }
  auto response = ParseInferResponse(body, json_length);
  if (response) {
    auto again = ParseInferResponse(EncodeInferResponse("m", "id", *response));
    if (JsonCanCarry(*response) && (!again || again->size() != response->size())) std::abort();
    InferRequest all_binary;
    all_binary.binary_data_output = true;
    const OipBody binary = EncodeInferResponseFor("m", all_binary, *response);
    auto again_binary = ParseInferResponse(binary.body, binary.json_length);
    if (!again_binary || again_binary->size() != response->size()) std::abort();
    for (size_t i = 0; i < response->size(); ++i) {
      if (again_binary->at(i).data != response->at(i).data) std::abort();
    }
  }
  return 0;
}
