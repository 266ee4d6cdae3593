#include "infer/oip.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include "testing/test_util.h"

namespace crypta::infer {
namespace {

ModelSignature ImageSignature() {
  ModelSignature sig;
  sig.inputs.push_back({"input", DataType::kFp32, {-1, 2, 2}});
  sig.outputs.push_back({"logits", DataType::kFp32, {-1, 3}});
  sig.outputs.push_back({"label", DataType::kInt64, {-1}});
  return sig;
}

ModelSignature OneInput(DataType dtype, std::vector<int64_t> shape) {
  ModelSignature sig;
  sig.inputs.push_back({"x", dtype, std::move(shape)});
  sig.outputs.push_back({"y", dtype, {-1}});
  return sig;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  std::vector<T> out(t.data.size() / sizeof(T));
  std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

TEST(OipTest, ParsesFlatRequestWithIdAndOutputs) {
  const std::string body = R"({"id":"r1","inputs":[{"name":"input","shape":[1,2,2],
      "datatype":"FP32","data":[1,2.5,-3,4e-1]}],"outputs":[{"name":"label"}]})";
  CRYPTA_ASSIGN_OR_FAIL(InferRequest req, ParseInferRequest(body, ImageSignature()));
  EXPECT_EQ(req.id, "r1");
  ASSERT_EQ(req.inputs.size(), 1u);
  EXPECT_EQ(req.inputs[0].shape, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(Values<float>(req.inputs[0]), (std::vector<float>{1.0f, 2.5f, -3.0f, 0.4f}));
  EXPECT_EQ(req.outputs, std::vector<std::string>{"label"});
}

TEST(OipTest, NestedDataEqualsFlatData) {
  const std::string flat =
      R"({"inputs":[{"name":"input","shape":[2,2,2],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]})";
  const std::string nested =
      R"({"inputs":[{"name":"input","shape":[2,2,2],"datatype":"FP32",
          "data":[[[1,2],[3,4]],[[5,6],[7,8]]]}]})";
  CRYPTA_ASSIGN_OR_FAIL(InferRequest a, ParseInferRequest(flat, ImageSignature()));
  CRYPTA_ASSIGN_OR_FAIL(InferRequest b, ParseInferRequest(nested, ImageSignature()));
  EXPECT_EQ(a.inputs[0].data, b.inputs[0].data);
}

TEST(OipTest, Int64IsExact) {
  const std::string body =
      R"({"inputs":[{"name":"x","shape":[3],"datatype":"INT64",
          "data":[9007199254740993,-9223372036854775808,9223372036854775807]}]})";
  CRYPTA_ASSIGN_OR_FAIL(InferRequest req,
                        ParseInferRequest(body, OneInput(DataType::kInt64, {-1})));
  EXPECT_EQ(Values<int64_t>(req.inputs[0]),
            (std::vector<int64_t>{9007199254740993LL, std::numeric_limits<int64_t>::min(),
                                  std::numeric_limits<int64_t>::max()}));
  // And back out through the response encoder without going through a double.
  const std::string resp = EncodeInferResponse("m", "", req.inputs);
  EXPECT_NE(resp.find("9007199254740993"), std::string::npos);
  CRYPTA_ASSIGN_OR_FAIL(std::vector<Tensor> back, ParseInferResponse(resp));
  EXPECT_EQ(back[0].data, req.inputs[0].data);
}

TEST(OipTest, BoolIsTrueFalseOnly) {
  const auto sig = OneInput(DataType::kBool, {-1});
  CRYPTA_ASSIGN_OR_FAIL(
      InferRequest req,
      ParseInferRequest(
          R"({"inputs":[{"name":"x","shape":[3],"datatype":"BOOL","data":[true,false,true]}]})",
          sig));
  EXPECT_EQ(req.inputs[0].data, (Bytes{1, 0, 1}));
  auto bad = ParseInferRequest(
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"BOOL","data":[1,0]}]})", sig);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("true or false"), std::string::npos);
}

TEST(OipTest, IntegerRangesAreChecked) {
  EXPECT_FALSE(
      ParseInferRequest(R"({"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[256]}]})",
                        OneInput(DataType::kUint8, {-1})));
  EXPECT_FALSE(ParseInferRequest(
      R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[2147483648]}]})",
      OneInput(DataType::kInt32, {-1})));
  EXPECT_FALSE(
      ParseInferRequest(R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1.5]}]})",
                        OneInput(DataType::kInt64, {-1})));
  EXPECT_FALSE(ParseInferRequest(
      R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[9223372036854775808]}]})",
      OneInput(DataType::kInt64, {-1})));
  EXPECT_FALSE(
      ParseInferRequest(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1e300]}]})",
                        OneInput(DataType::kFp32, {-1})));
}

// Each case changes one thing in a valid request; the error must name the problem.
TEST(OipTest, RejectsMalformedRequestsNamingTheField) {
  const auto sig = ImageSignature();
  const struct {
    std::string body;
    std::string needle;
  } cases[] = {
      {R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[1,2,3]}]})",
       "has 3 elements, shape needs 4"},
      {R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4,5]}]})",
       "more elements than the shape"},
      {R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"INT64","data":[1,2,3,4]}]})",
       "datatype INT64, want FP32"},
      {R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]})",
       "shape [1,4], want [-1,2,2]"},
      {R"({"inputs":[{"name":"image","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4]}]})",
       "'image' is not an input"},
      {R"({"inputs":[]})", "\"inputs\" must be a non-empty array"},
      {R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP16","data":[1,2,3,4]}]})",
       "unsupported datatype \"FP16\""},
      {R"({"inputs":[{"name":"input","shape":[1,-2,2],"datatype":"FP32","data":[1,2,3,4]}]})",
       "non-negative integers"},
      {R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[1,2,"3",4]}]})",
       "\"data\"[2] is not a number"},
      {R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4]}],
          "outputs":[{"name":"probs"}]})",
       "'probs' is not an output"},
      {R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4]},
                     {"name":"input","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4]}]})",
       "given twice"},
      {R"({"inputs":[{"name":"input","shape":[65536,65536,65536],"datatype":"FP32","data":[]}]})",
       "exceeds"},
      {R"([1,2])", "not a JSON object"},
      {R"({"inputs":)", "not valid JSON"},
      {std::string(100, '[') + std::string(100, ']'), "nested deeper"},
  };
  for (const auto& c : cases) {
    auto r = ParseInferRequest(c.body, sig);
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_NE(r.error().message().find(c.needle), std::string::npos)
        << c.body << " -> " << r.error().message();
  }
}

TEST(OipTest, MissingInputIsNamed) {
  ModelSignature sig = ImageSignature();
  sig.inputs.push_back({"mask", DataType::kBool, {-1}});
  auto r = ParseInferRequest(
      R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4]}]})", sig);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "missing input 'mask'");
}

TEST(OipTest, BodyOverCapIsResourceExhausted) {
  std::string body(kMaxOipBodyBytes + 1, ' ');
  auto r = ParseInferRequest(body, ImageSignature());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
}

TEST(OipTest, RequestRoundTripsThroughEncoder) {
  InferRequest req;
  req.id = "abc";
  Tensor t{"input", DataType::kFp32, {1, 2, 2}, {}};
  const float values[] = {0.1f, -1e-7f, 3.4e38f, 1.0f / 3.0f};
  t.data.resize(sizeof(values));
  std::memcpy(t.data.data(), values, sizeof(values));
  req.inputs.push_back(t);
  req.outputs = {"logits"};
  CRYPTA_ASSIGN_OR_FAIL(InferRequest back,
                        ParseInferRequest(EncodeInferRequest(req), ImageSignature()));
  EXPECT_EQ(back.id, "abc");
  EXPECT_EQ(back.inputs[0].data, t.data);  // floats survive bit-exactly
  EXPECT_EQ(back.outputs, req.outputs);
}

TEST(OipTest, ResponseCarriesEveryDatatype) {
  std::vector<Tensor> outs;
  outs.push_back({"f64", DataType::kFp64, {2}, {}});
  const double d[] = {1.0 / 3.0, -2.5};
  outs.back().data.resize(sizeof(d));
  std::memcpy(outs.back().data.data(), d, sizeof(d));
  outs.push_back({"i32", DataType::kInt32, {1}, {0xff, 0xff, 0xff, 0xff}});
  outs.push_back({"u8", DataType::kUint8, {2}, {0, 255}});
  outs.push_back({"b", DataType::kBool, {2}, {1, 0}});
  const std::string body = EncodeInferResponse("tiny", "id7", outs);
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["model_name"], "tiny");
  EXPECT_EQ(j["id"], "id7");
  EXPECT_EQ(j["outputs"][1]["data"][0], -1);
  EXPECT_EQ(j["outputs"][3]["data"][0], true);
  CRYPTA_ASSIGN_OR_FAIL(std::vector<Tensor> back, ParseInferResponse(body));
  ASSERT_EQ(back.size(), outs.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    EXPECT_EQ(back[i].name, outs[i].name);
    EXPECT_EQ(back[i].dtype, outs[i].dtype);
    EXPECT_EQ(back[i].shape, outs[i].shape);
    EXPECT_EQ(back[i].data, outs[i].data);
  }
}

TEST(OipTest, NanOutputsBecomeNullAndBack) {
  Tensor t{"y", DataType::kFp32, {1}, {}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  t.data.resize(4);
  std::memcpy(t.data.data(), &nan, 4);
  const std::string body = EncodeInferResponse("m", "", {t});
  EXPECT_NE(body.find("null"), std::string::npos);
  CRYPTA_ASSIGN_OR_FAIL(std::vector<Tensor> back, ParseInferResponse(body));
  EXPECT_TRUE(std::isnan(Values<float>(back[0])[0]));
}

TEST(OipTest, ErrorResponseBecomesAnError) {
  auto r = ParseInferResponse(R"({"error":"input 'x': shape [1], want [-1,3]"})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("want [-1,3]"), std::string::npos);
}

TEST(OipTest, ModelMetadataListsSignature) {
  auto j = ModelMetadataJson("tiny", "pytorch_torchscript", ImageSignature());
  EXPECT_EQ(j["name"], "tiny");
  EXPECT_EQ(j["platform"], "pytorch_torchscript");
  EXPECT_EQ(j["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::parse("[-1,2,2]"));
  EXPECT_EQ(j["outputs"][1]["name"], "label");
}

// ---------------------------------------------------------------- binary tensor data

Tensor FloatTensor(std::string name, std::vector<int64_t> shape, std::vector<float> v) {
  Tensor t{std::move(name), DataType::kFp32, std::move(shape), {}};
  t.data.resize(v.size() * 4);
  std::memcpy(t.data.data(), v.data(), t.data.size());
  return t;
}

// A body with the given JSON header and raw bytes after it.
std::string WithBinary(const std::string& header, const std::string& raw) { return header + raw; }

std::string FloatBytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

TEST(OipBinaryTest, ParsesTheSpecsLayout) {
  // The extension's example shape: JSON header, then the tensor's raw little-endian bytes.
  const std::string header = R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32",)"
                             R"("parameters":{"binary_data_size":16}}],)"
                             R"("outputs":[{"name":"label","parameters":{"binary_data":false}}],)"
                             R"("parameters":{"binary_data_output":true}})";
  const std::string body = WithBinary(header, FloatBytes({1, 2.5f, -3, 0.25f}));
  CRYPTA_ASSIGN_OR_FAIL(InferRequest req, ParseInferRequest(body, ImageSignature(), header.size()));
  ASSERT_EQ(req.inputs.size(), 1u);
  EXPECT_EQ(Values<float>(req.inputs[0]), (std::vector<float>{1, 2.5f, -3, 0.25f}));
  EXPECT_TRUE(req.binary_data_output);
  EXPECT_FALSE(WantsBinaryOutput(req, "label"));  // its own flag wins
  EXPECT_TRUE(WantsBinaryOutput(req, "logits"));  // the request-wide flag
}

TEST(OipBinaryTest, RequestRoundTrip) {
  InferRequest req;
  req.id = "b1";
  req.inputs.push_back(FloatTensor("input", {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, -8.5f}));
  req.outputs = {"logits"};
  req.output_binary["logits"] = true;
  OipBody body = EncodeInferRequestBinary(req);
  ASSERT_TRUE(body.json_length.has_value());
  EXPECT_EQ(body.body.size(), *body.json_length + 32);
  EXPECT_EQ(body.body.substr(0, *body.json_length).find("\"data\""), std::string::npos);
  CRYPTA_ASSIGN_OR_FAIL(InferRequest back,
                        ParseInferRequest(body.body, ImageSignature(), body.json_length));
  EXPECT_EQ(back.id, "b1");
  EXPECT_EQ(back.inputs[0].data, req.inputs[0].data);
  EXPECT_EQ(back.inputs[0].shape, req.inputs[0].shape);
  EXPECT_TRUE(WantsBinaryOutput(back, "logits"));
  // The JSON encoding of the same request parses to the same tensors.
  CRYPTA_ASSIGN_OR_FAIL(InferRequest json_back,
                        ParseInferRequest(EncodeInferRequest(req), ImageSignature()));
  EXPECT_EQ(json_back.inputs[0].data, req.inputs[0].data);
  EXPECT_TRUE(WantsBinaryOutput(json_back, "logits"));
}

TEST(OipBinaryTest, ResponseRoundTripMixesBinaryAndJson) {
  InferRequest req;
  req.id = "r9";
  req.binary_data_output = true;
  req.output_binary["label"] = false;
  Tensor label{"label", DataType::kInt64, {1}, {}};
  label.data.resize(8);
  const int64_t seven = 7;
  std::memcpy(label.data.data(), &seven, 8);
  const std::vector<Tensor> outs = {FloatTensor("logits", {1, 3}, {0.5f, -1, 2}), label};
  OipBody body = EncodeInferResponseFor("tiny", req, outs);
  ASSERT_TRUE(body.json_length.has_value());
  EXPECT_EQ(body.body.size(), *body.json_length + 12);  // only logits is binary
  CRYPTA_ASSIGN_OR_FAIL(std::vector<Tensor> back, ParseInferResponse(body.body, body.json_length));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].data, outs[0].data);
  EXPECT_EQ(back[1].data, outs[1].data);
  // Nothing asked for binary: plain JSON, no header.
  OipBody plain = EncodeInferResponseFor("tiny", InferRequest{}, outs);
  EXPECT_FALSE(plain.json_length.has_value());
  EXPECT_EQ(plain.body, EncodeInferResponse("tiny", "", outs));
}

TEST(OipBinaryTest, RejectsMalformedSizesNamingTheProblem) {
  const ModelSignature sig = OneInput(DataType::kFp32, {-1});
  const std::string raw = FloatBytes({1, 2});
  struct Case {
    std::string header;
    std::string raw;
    std::optional<size_t> json_length;  // nullopt: header.size()
    std::string want;
  };
  const std::string ok_prefix = R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32",)";
  const std::vector<Case> cases = {
      {ok_prefix + R"("parameters":{"binary_data_size":7}}]})", raw, {}, "need 8"},
      {ok_prefix + R"("parameters":{"binary_data_size":-8}}]})", raw, {}, "non-negative"},
      {ok_prefix + R"("parameters":{"binary_data_size":"8"}}]})", raw, {}, "non-negative"},
      {ok_prefix + R"("parameters":[8]}]})", raw, {}, "\"parameters\" must be an object"},
      {ok_prefix + R"("data":[1,2],"parameters":{"binary_data_size":8}}]})",
       raw,
       {},
       "both \"data\" and"},
      // Fewer bytes after the header than declared.
      {ok_prefix + R"("parameters":{"binary_data_size":8}}]})",
       raw.substr(0, 6),
       {},
       "exceeds the 6 bytes"},
      // More bytes than any tensor claims.
      {ok_prefix + R"("parameters":{"binary_data_size":8}}]})",
       raw + "xy",
       {},
       "2 bytes after the JSON header"},
      // JSON data with stray bytes after it.
      {ok_prefix + R"("data":[1,2]}]})", "zz", {}, "2 bytes after the JSON header"},
      // The header length cuts the JSON short or runs past the body.
      {ok_prefix + R"("parameters":{"binary_data_size":8}}]})", raw, 10, "not valid JSON"},
      {ok_prefix + R"("parameters":{"binary_data_size":8}}]})", raw, 100000,
       "Inference-Header-Content-Length 100000 exceeds the body's"},
      {R"({"parameters":{"binary_data_output":1},"inputs":[{"name":"x","shape":[2],)"
       R"("datatype":"FP32","parameters":{"binary_data_size":8}}]})",
       raw,
       {},
       "\"binary_data_output\" must be true or false"},
  };
  for (const Case& c : cases) {
    const std::string body = c.header + c.raw;
    auto r = ParseInferRequest(body, sig, c.json_length.value_or(c.header.size()));
    ASSERT_FALSE(r.has_value()) << c.header;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << c.header;
    EXPECT_NE(r.error().message().find(c.want), std::string::npos)
        << c.header << " -> " << r.error().message();
  }
  // binary_data_size without the header: the whole body is JSON, which names the header.
  auto no_header = ParseInferRequest(ok_prefix + R"("parameters":{"binary_data_size":8}}]})", sig);
  ASSERT_FALSE(no_header.has_value());
  EXPECT_NE(no_header.error().message().find("Inference-Header-Content-Length is missing"),
            std::string::npos);
}

TEST(OipBinaryTest, BinaryBoolMustBeZeroOrOne) {
  const std::string header = R"({"inputs":[{"name":"x","shape":[2],"datatype":"BOOL",)"
                             R"("parameters":{"binary_data_size":2}}]})";
  const ModelSignature sig = OneInput(DataType::kBool, {-1});
  CRYPTA_ASSIGN_OR_FAIL(InferRequest ok,
                        ParseInferRequest(header + std::string("\x01\x00", 2), sig, header.size()));
  EXPECT_EQ(ok.inputs[0].data, (Bytes{1, 0}));
  auto bad = ParseInferRequest(header + std::string("\x01\x02", 2), sig, header.size());
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("BOOL element 1"), std::string::npos);
}

TEST(OipBinaryTest, HeaderValueParsing) {
  EXPECT_EQ(ParseInferenceHeaderContentLength("123").value_or(0), 123u);
  EXPECT_EQ(ParseInferenceHeaderContentLength("0").value_or(1), 0u);
  for (std::string_view bad : {"", "-1", "12a", " 12", "99999999999999999999999", "67108865"}) {
    auto r = ParseInferenceHeaderContentLength(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message().find("Inference-Header-Content-Length"), std::string::npos);
  }
}

}  // namespace
}  // namespace crypta::infer
