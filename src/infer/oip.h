// Open Inference Protocol v2 (KServe / Triton "predict protocol v2") JSON codec.
//
// Spec: https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
//   §"Inference Request JSON Object", §"Inference Response JSON Object",
//   §"Model Metadata Response JSON Object", §"Tensor Data".
// Tensor "data" is row-major; it may be flat or nested lists (both are accepted, only the
// total element count must equal the shape's). BOOL data is JSON true/false. Integers must be
// JSON integers (no fractions) in range for their type; INT64 is parsed exactly.
// The functions here are pure and thread-safe; parsing never throws.
#ifndef CRYPTA_INFER_OIP_H_
#define CRYPTA_INFER_OIP_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
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

struct InferRequest {
  std::string id;                    // optional "id", echoed in the response
  std::vector<Tensor> inputs;        // in the order of the request body
  std::vector<std::string> outputs;  // requested output names; empty = all
};

// Parses an inference request body and checks it against the model's signature: every
// input known, each given once, none missing, datatype and shape as declared (-1 = any),
// data length equal to the shape's element count; requested outputs must exist.
// kInvalidArgument naming the field or input; kResourceExhausted over the caps above.
Result<InferRequest> ParseInferRequest(std::string_view body, const ModelSignature& sig);

// {"id"?, "inputs":[{name,shape,datatype,data}], "outputs"?:[{"name"}]} with flat data.
// Float data is written with enough digits to round-trip exactly.
std::string EncodeInferRequest(const InferRequest& request);

// {"model_name","id","outputs":[{name,shape,datatype,data}]}, flat data. A NaN or infinite
// float is written as null (JSON has no such numbers); ParseInferResponse reads null back
// as NaN.
std::string EncodeInferResponse(std::string_view model_name, std::string_view id,
                                const std::vector<Tensor>& outputs);

// Parses a response body's "outputs" (for clients). A body {"error":"..."} becomes
// kFailedPrecondition carrying the server's message. kInvalidArgument for malformed bodies.
Result<std::vector<Tensor>> ParseInferResponse(std::string_view body);

// GET /v2/models/<m>: {"name","versions":["1"],"platform","inputs":[{name,datatype,shape}],
// "outputs":[...]} (-1 for dynamic dimensions, as OIP specifies).
nlohmann::json ModelMetadataJson(std::string_view name, std::string_view platform,
                                 const ModelSignature& sig);

// Decodes one OIP tensor object {name,shape,datatype,data} without a signature (used by
// the parsers above; exposed for tools that read OIP JSON files). `max_elements` caps the
// element count. kInvalidArgument naming `what`.
Result<Tensor> TensorFromJson(const nlohmann::json& object, std::string_view what,
                              uint64_t max_elements = kMaxOipElements);
// Encodes one tensor as an OIP tensor object with flat data.
nlohmann::json TensorToJson(const Tensor& tensor);

}  // namespace crypta::infer

#endif  // CRYPTA_INFER_OIP_H_
