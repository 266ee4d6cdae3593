// Open Inference Protocol v2 (KServe / Triton "predict protocol v2") JSON codec.
//
// Spec: https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
//   §"Inference Request JSON Object", §"Inference Response JSON Object",
//   §"Model Metadata Response JSON Object", §"Tensor Data".
// Tensor "data" is row-major; it may be flat or nested lists (both are accepted, only the
// total element count must equal the shape's). BOOL data is JSON true/false. Integers must be
// JSON integers (no fractions) in range for their type; INT64 is parsed exactly.
//
// Binary tensor data extension (KServe "Binary Tensor Data Extension", Triton
// "extension_binary_data"): the body is a JSON object of `json_length` bytes (the HTTP header
// Inference-Header-Content-Length) followed by raw tensor bytes. A tensor object carrying
// "parameters":{"binary_data_size":N} has no "data"; its N bytes (little-endian, row-major,
// no padding; BOOL one byte 0/1) follow the JSON in the order the tensors appear. A request
// asks for binary outputs with "parameters":{"binary_data_output":true} (all outputs) or
// per output "parameters":{"binary_data":true} (which overrides the request-wide flag).
// Every byte after the JSON must belong to exactly one tensor.
// The functions here are pure and thread-safe; parsing never throws.
#ifndef CRYPTA_INFER_OIP_H_
#define CRYPTA_INFER_OIP_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "infer/model_runner.h"

namespace crypta::infer {

// Caps applied to untrusted bodies.
inline constexpr size_t kMaxOipBodyBytes = size_t{64} << 20;    // 64 MiB
inline constexpr uint64_t kMaxOipElements = uint64_t{1} << 24;  // all tensors together
inline constexpr int kMaxOipJsonDepth = 64;                     // nesting of [] and {}

// The HTTP header (and, lowercased, the Binary HTTP field) giving the JSON part's length.
inline constexpr char kInferenceHeaderContentLength[] = "Inference-Header-Content-Length";
inline constexpr char kInferenceHeaderContentLengthLower[] = "inference-header-content-length";

struct InferRequest {
  std::string id;                    // optional "id", echoed in the response
  std::vector<Tensor> inputs;        // in the order of the request body
  std::vector<std::string> outputs;  // requested output names; empty = all
  // Binary tensor data extension: "parameters":{"binary_data_output":bool} and the outputs'
  // "parameters":{"binary_data":bool} (by output name, as given).
  bool binary_data_output = false;
  std::map<std::string, bool> output_binary;
};

// True when the response should carry output `name` as binary data: its own "binary_data"
// if the request gave one, else the request's "binary_data_output".
bool WantsBinaryOutput(const InferRequest& request, std::string_view name);

// A body and, when binary tensor data follows its JSON, the JSON's length (the value for
// Inference-Header-Content-Length; nullopt = the whole body is JSON).
struct OipBody {
  std::string body;
  std::optional<size_t> json_length;
};

// Parses an Inference-Header-Content-Length value: 1-20 decimal digits, at most
// kMaxOipBodyBytes. kInvalidArgument naming the header otherwise.
Result<size_t> ParseInferenceHeaderContentLength(std::string_view value);

// Parses an inference request body and checks it against the model's signature: every
// input known, each given once, none missing, datatype and shape as declared (-1 = any),
// data length equal to the shape's element count; requested outputs must exist.
// `json_length` (Inference-Header-Content-Length) splits the body into JSON and binary
// tensor data; it must not exceed the body, and each binary_data_size must equal its
// tensor's byte size and the sizes must add up to exactly the bytes after the JSON.
// kInvalidArgument naming the field, input or header; kResourceExhausted over the caps.
Result<InferRequest> ParseInferRequest(std::string_view body, const ModelSignature& sig,
                                       std::optional<size_t> json_length = std::nullopt);

// {"id"?, "inputs":[{name,shape,datatype,data}], "outputs"?:[{"name"}]} with flat data.
// Float data is written with enough digits to round-trip exactly. (Binary-output requests
// are written too: "parameters" at the top and per output.)
std::string EncodeInferRequest(const InferRequest& request);
// The same with every input as binary tensor data (one allocation of the final size).
OipBody EncodeInferRequestBinary(const InferRequest& request);
// A request for all outputs as binary data, its inputs read from `inputs` in place (each
// tensor's bytes are copied once, into the body). kInvalidArgument when a view's data size is
// not its shape's element count times the element size.
Result<OipBody> EncodeInferRequestBinary(const std::vector<TensorView>& inputs);

// {"model_name","id","outputs":[{name,shape,datatype,data}]}, flat data. A NaN or infinite
// float is written as null (JSON has no such numbers); ParseInferResponse reads null back
// as NaN.
std::string EncodeInferResponse(std::string_view model_name, std::string_view id,
                                const std::vector<Tensor>& outputs);
// The response to `request`: outputs for which WantsBinaryOutput holds go as binary tensor
// data (json_length set when any does), the others as JSON data.
OipBody EncodeInferResponseFor(std::string_view model_name, const InferRequest& request,
                               const std::vector<Tensor>& outputs);

// Parses a response body's "outputs" (for clients); `json_length` as for requests (the
// response's Inference-Header-Content-Length). A body {"error":"..."} becomes
// kFailedPrecondition carrying the server's message. kInvalidArgument for malformed bodies.
Result<std::vector<Tensor>> ParseInferResponse(std::string_view body,
                                               std::optional<size_t> json_length = std::nullopt);

// GET /v2/models/<m>: {"name","versions":["1"],"platform","inputs":[{name,datatype,shape}],
// "outputs":[...]} (-1 for dynamic dimensions, as OIP specifies).
nlohmann::json ModelMetadataJson(std::string_view name, std::string_view platform,
                                 const ModelSignature& sig);

// Decodes one OIP tensor object {name,shape,datatype,data} without a signature (used by
// the parsers above; exposed for tools that read OIP JSON files). `max_elements` caps the
// element count. kInvalidArgument naming `what`. A tensor with "binary_data_size" fails
// here (there is no binary part): use ParseInferRequest / ParseInferResponse.
Result<Tensor> TensorFromJson(const nlohmann::json& object, std::string_view what,
                              uint64_t max_elements = kMaxOipElements);
// Encodes one tensor as an OIP tensor object with flat data.
nlohmann::json TensorToJson(const Tensor& tensor);

}  // namespace crypta::infer

#endif  // CRYPTA_INFER_OIP_H_
