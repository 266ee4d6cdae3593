// Fuzzes the OIP v2 request and response parsers: no input may crash them, and whatever
// parses must re-encode and parse again to the same tensors.
//
// Input layout: a first byte 0x01 selects the binary tensor data extension; the next 4
// bytes (little-endian) are then the Inference-Header-Content-Length and the rest is the
// body. Any other input is a whole-JSON body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "infer/oip.h"

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
    auto again = ParseInferRequest(EncodeInferRequest(*request), sig);
    if (!again || again->inputs.size() != request->inputs.size()) std::abort();
    const OipBody binary = EncodeInferRequestBinary(*request);
    auto again_binary = ParseInferRequest(binary.body, sig, binary.json_length);
    if (!again_binary || again_binary->inputs.size() != request->inputs.size()) std::abort();
    for (size_t i = 0; i < request->inputs.size(); ++i) {
      if (again->inputs[i].data != request->inputs[i].data) std::abort();
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
    if (!again || again->size() != response->size()) std::abort();
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
