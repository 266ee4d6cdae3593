// crypta._native: the Python binding of the C++ client SDK (src/client) — the one
// implementation of attestation verification, OHTTP and the Open Inference Protocol codec.
// Nothing of the protocol is written again in Python: python/crypta/*.py only shapes
// arguments and results.
//
// Every call that does network I/O or cryptography releases the GIL, so threads run
// concurrently. Errors raise the classes registered by crypta/errors.py (set_error_classes),
// chosen by the C++ error code and what the call was doing.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/client.h"
#include "client/platform.h"
#include "client/sdk_support.h"
#include "client/tee_environment.h"
#include "client/verify_options.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "common/time_util.h"
#include "crypto/bhttp.h"

namespace py = pybind11;

namespace crypta::python {
namespace {

using client::VerifiedService;
using nlohmann::json;

// Exception classes by role, set once by crypta/errors.py.
py::dict& ErrorClasses() {
  static py::dict* classes = new py::dict();
  return *classes;
}

using Phase = client::SdkPhase;

// Raises the class registered for `role` (client::SdkErrorRole), with .code set.
[[noreturn]] void RaiseAs(const Error& error, const char* role) {
  py::gil_scoped_acquire gil;
  py::dict& classes = ErrorClasses();
  py::object cls = classes.contains(role)
                       ? classes[role]
                       : py::object(py::reinterpret_borrow<py::object>(PyExc_RuntimeError));
  py::object instance = cls(error.message());
  std::string code(ErrorCodeName(error.code()));  // "PERMISSION_DENIED" -> "permission_denied"
  for (char& c : code) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  py::setattr(instance, "code", py::str(code));
  PyErr_SetObject(cls.ptr(), instance.ptr());
  throw py::error_already_set();
}

[[noreturn]] void Raise(const Error& error, Phase phase) {
  RaiseAs(error, client::SdkErrorRole(error.code(), phase));
}

template <typename T>
T Check(Result<T> r, Phase phase) {
  if (!r) Raise(r.error(), phase);
  return std::move(*r);
}

// Runs `f` with the GIL released (network I/O and cryptography), returning its result.
template <typename F>
auto WithoutGil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

py::object ToPython(const json& j) {
  return py::module_::import("json").attr("loads")(
      j.dump(-1, ' ', false, json::error_handler_t::replace));
}

py::bytes ToBytes(ByteSpan b) {
  return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
}

// NumPy dtypes <-> OIP datatypes (every dtype the runtime serves: infer::DataType).
infer::DataType DataTypeOf(const py::dtype& dtype, const std::string& name) {
  const char kind = dtype.kind();
  const size_t size = static_cast<size_t>(dtype.itemsize());
  if (!py::bool_(dtype.attr("isnative"))) {
    throw py::value_error("input \"" + name +
                          "\": non-native byte order; use arr.astype(arr.dtype.newbyteorder('='))");
  }
  if (kind == 'f' && size == 4) return infer::DataType::kFp32;
  if (kind == 'f' && size == 8) return infer::DataType::kFp64;
  if (kind == 'i' && size == 8) return infer::DataType::kInt64;
  if (kind == 'i' && size == 4) return infer::DataType::kInt32;
  if (kind == 'u' && size == 1) return infer::DataType::kUint8;
  if (kind == 'b' && size == 1) return infer::DataType::kBool;
  throw py::value_error("input \"" + name + "\": dtype " +
                        py::cast<std::string>(py::str(static_cast<const py::handle&>(dtype))) +
                        " is not served (float32, float64, int64, int32, uint8, bool)");
}

// An output tensor as an ndarray that owns the decoded bytes (no copy).
py::array ToArray(infer::Tensor tensor) {
  auto* data = new Bytes(std::move(tensor.data));
  py::capsule owner(data, [](void* p) { delete static_cast<Bytes*>(p); });
  const py::dtype dtype(client::DtypeName(tensor.dtype));
  std::vector<py::ssize_t> shape(tensor.shape.begin(), tensor.shape.end());
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = dtype.itemsize();
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return py::array(dtype, shape, strides, data->data(), owner);
}

// One request of svc.encrypt(): the wire bytes and the context that alone opens its answer.
struct EncryptedRequest {
  std::shared_ptr<const VerifiedService> service;
  py::bytes data;
  std::shared_ptr<OhttpClientContext> context;
};

py::dict ResponseDict(const BhttpResponse& r) {
  py::dict headers;
  for (const BhttpField& f : r.headers) headers[py::str(f.name)] = py::str(f.value);
  py::dict out;
  out["status"] = r.status;
  out["headers"] = headers;
  out["body"] = ToBytes(r.content);
  return out;
}

// The runtime's signed receipt of one prediction (issue 17, client/receipt.h), verified by
// VerifiedService::Predict / PredictJson before the answer was returned. Keeps what
// re-verifying it offline needs: the encapsulated request, the response content and the
// attestation the receipt names. Immutable.
class Receipt {
 public:
  explicit Receipt(std::shared_ptr<const client::PredictResult> r) : r_(std::move(r)) {}

  const std::string& Jws() const { return r_->receipt; }

  // The receipt bundle JSON (what `crypta predict --receipt FILE` writes).
  py::bytes Bundle() const {
    Result<std::string> b = WithoutGil([&] { return r_->ReceiptBundle(); });
    return py::bytes(Check(std::move(b), Phase::kCall));
  }

  // The verified payload ({"alg","kid","request_digest",...}), checked again against the
  // kept attestation, request and response (VerifyReceiptClaims).
  py::object Claims() const {
    if (r_->attestation == nullptr) {
      Raise(Error(ErrorCode::kFailedPrecondition, "receipt: no attestation kept"), Phase::kCall);
    }
    Result<client::ReceiptClaims> c = WithoutGil([&] {
      return client::VerifyReceiptClaims(r_->receipt, *r_->attestation, r_->encapsulated_request,
                                         r_->response_content);
    });
    return ToPython(Check(std::move(c), Phase::kCall).ToJson());
  }

 private:
  std::shared_ptr<const client::PredictResult> r_;
};

// Refuses to send when a receipt is wanted from a runtime that issues none (as `crypta
// predict --receipt` does).
void RequireReceipts(const VerifiedService& s) {
  if (!s.issues_receipts()) {
    Raise(Error(ErrorCode::kFailedPrecondition,
                "refusing to send the input: a receipt was asked for, but the service's "
                "attestation binds no receipt key (a crypta-runtime without receipts)"),
          Phase::kCall);
  }
}

Receipt KeepReceipt(client::PredictResult result) {
  result.outputs.clear();
  result.response.clear();
  return Receipt(std::make_shared<const client::PredictResult>(std::move(result)));
}

// One streamed generation (VerifiedService::GenerateStream): next() hands over each token's
// text as it is decrypted, blocking with the GIL released, and StopIteration only once the
// stream ended whole (its receipt verified, from a runtime that signs them); a stream cut off,
// tampered with or failed raises instead, and again on every later call. close() stops reading
// (waiting at most until the next piece arrives, or the read timeout); next() then stops.
class TextStream {
 public:
  explicit TextStream(std::unique_ptr<client::GenerationStream> stream)
      : stream_(std::move(stream)) {}
  TextStream(const TextStream&) = delete;
  TextStream& operator=(const TextStream&) = delete;

  // Destroyed by Python with the GIL held: destroying a stream still open waits for its
  // reading thread, so other threads run meanwhile.
  ~TextStream() {
#if PY_VERSION_HEX >= 0x030D0000
    const bool finalizing = Py_IsFinalizing() != 0;
#else
    const bool finalizing = _Py_IsFinalizing() != 0;
#endif
    if (PyGILState_Check() != 0 && !finalizing) {
      py::gil_scoped_release release;
      Stop();
    } else {
      Stop();
    }
  }

  py::str Next() {
    Result<std::optional<client::GenerationEvent>> event = WithoutGil([&] {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stream_) return Result<std::optional<client::GenerationEvent>>(std::nullopt);
      Result<std::optional<client::GenerationEvent>> r = stream_->Next();
      if (r && !*r) {  // ended whole: keep what the receipt covers, stop the reader
        auto result = std::make_shared<const client::PredictResult>(stream_->result());
        stream_.reset();
        std::lock_guard<std::mutex> ended(result_mu_);
        result_ = std::move(result);
      }
      return r;
    });
    if (!event) Raise(event.error(), Phase::kCall);
    if (!*event) throw py::stop_iteration();
    const std::string& text = (*event)->text_output;
    PyObject* decoded =
        PyUnicode_DecodeUTF8(text.data(), static_cast<py::ssize_t>(text.size()), "replace");
    if (decoded == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::str>(decoded);
  }

  void Close() {
    WithoutGil([&] {
      Stop();
      return 0;
    });
  }

  // Once the stream ended whole: its receipt (None from a runtime without receipts, before
  // the end, or after close()).
  py::object ReceiptOf() const {
    std::shared_ptr<const client::PredictResult> r = Ended();
    if (r == nullptr || r->receipt.empty()) return py::none();
    return py::cast(Receipt(r));
  }

  bool Done() const { return Ended() != nullptr; }

 private:
  void Stop() {
    std::unique_ptr<client::GenerationStream> closing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing = std::move(stream_);
    }
    closing.reset();  // joins the reading thread
  }
  std::shared_ptr<const client::PredictResult> Ended() const {
    std::lock_guard<std::mutex> lock(result_mu_);
    return result_;
  }

  std::mutex mu_;  // Next is not thread-safe: one next() or close() at a time (GIL released)
  std::unique_ptr<client::GenerationStream> stream_;  // guarded by mu_; null once ended or closed
  mutable std::mutex result_mu_;  // never held while waiting: read with the GIL held
  std::shared_ptr<const client::PredictResult> result_;  // once ended whole (result_mu_)
};

class Service {
 public:
  explicit Service(std::shared_ptr<const VerifiedService> s) : s_(std::move(s)) {}

  py::object Predict(const std::string& model, const py::dict& inputs, bool with_receipt) const {
    std::vector<py::array> keep;  // the arrays stay alive (and their buffers valid) during I/O
    std::vector<std::string> names;
    std::vector<infer::TensorView> views;
    keep.reserve(inputs.size());
    names.reserve(inputs.size());
    // numpy.ascontiguousarray, looked up once (kept for the interpreter's life, never freed).
    static const py::object* contiguous =
        new py::object(py::module_::import("numpy").attr("ascontiguousarray"));
    for (auto item : inputs) {
      names.push_back(py::str(item.first));
      py::array a = (*contiguous)(item.second);  // a copy only if not C-contiguous
      keep.push_back(a);
    }
    for (size_t i = 0; i < keep.size(); ++i) {
      const py::array& a = keep[i];
      infer::TensorView v;
      v.name = names[i];
      v.dtype = DataTypeOf(a.dtype(), names[i]);
      v.shape.assign(a.shape(), a.shape() + a.ndim());
      v.data = ByteSpan(static_cast<const uint8_t*>(a.data()), static_cast<size_t>(a.nbytes()));
      views.push_back(std::move(v));
    }
    py::dict result;
    if (!with_receipt) {
      Result<std::vector<infer::Tensor>> out = WithoutGil([&] { return s_->Infer(model, views); });
      std::vector<infer::Tensor> tensors = Check(std::move(out), Phase::kCall);
      for (infer::Tensor& t : tensors) {
        const std::string name = t.name;
        result[py::str(name)] = ToArray(std::move(t));
      }
      return result;
    }
    RequireReceipts(*s_);
    Result<client::PredictResult> out = WithoutGil([&] { return s_->Predict(model, views); });
    client::PredictResult predicted = Check(std::move(out), Phase::kCall);
    for (infer::Tensor& t : predicted.outputs) {
      const std::string name = t.name;
      result[py::str(name)] = ToArray(std::move(t));
    }
    return py::make_tuple(result, KeepReceipt(std::move(predicted)));
  }

  py::object InferJson(const std::string& model, const std::string& body, bool with_receipt) const {
    if (!with_receipt) {
      Result<std::string> out = WithoutGil([&] { return s_->InferJson(model, body); });
      std::string text = Check(std::move(out), Phase::kCall);
      return py::module_::import("json").attr("loads")(text);
    }
    RequireReceipts(*s_);
    Result<client::PredictResult> out = WithoutGil([&] { return s_->PredictJson(model, body); });
    client::PredictResult predicted = Check(std::move(out), Phase::kCall);
    py::object parsed = py::module_::import("json").attr("loads")(predicted.response);
    return py::make_tuple(parsed, KeepReceipt(std::move(predicted)));
  }

  // POST /v2/models/<model>/generate: the whole generated text.
  std::string Generate(const std::string& model, const std::string& prompt,
                       int64_t max_tokens) const {
    Result<std::string> out = WithoutGil([&] { return s_->Generate(model, prompt, max_tokens); });
    return Check(std::move(out), Phase::kCall);
  }

  // POST /v2/models/<model>/generate_stream through chunked OHTTP: the request is sent now;
  // the tokens (and the request's own errors) come from the stream's next().
  std::unique_ptr<TextStream> GenerateStream(const std::string& model, const std::string& prompt,
                                             int64_t max_tokens) const {
    Result<std::unique_ptr<client::GenerationStream>> stream =
        WithoutGil([&] { return s_->GenerateStream(model, prompt, max_tokens); });
    return std::make_unique<TextStream>(Check(std::move(stream), Phase::kCall));
  }

  bool IssuesReceipts() const { return s_->issues_receipts(); }

  // The release the transparency log proved for this service (issue 17), or None when no
  // log was checked.
  py::object Published() const {
    const std::optional<client::PublishedRelease>& p = s_->published();
    if (!p) return py::none();
    const transparency::ReleaseEntry& r = p->release.entry;
    py::dict out;
    out["index"] = p->release.index;
    out["tenant"] = r.tenant;
    out["workload"] = r.workload;
    out["measurement"] = r.measurement;
    out["model_digest"] = r.model_digest;
    out["host_data"] = r.host_data;
    out["note"] = r.note;
    out["time"] = r.time;
    out["origin"] = p->checkpoint.origin;
    out["checkpoint_size"] = p->checkpoint.size;
    out["state_file"] = p->state_file;
    return out;
  }

  py::object Metadata(const std::string& model) const {
    Result<json> out = WithoutGil([&] { return s_->ModelMetadata(model); });
    return ToPython(Check(std::move(out), Phase::kCall));
  }

  EncryptedRequest Encrypt(const py::bytes& payload, const std::string& method,
                           const std::string& path, const std::string& content_type,
                           const std::map<std::string, std::string>& headers) const {
    BhttpRequest request = Request(payload, method, path, content_type, headers);
    Result<OhttpEncapsulatedRequest> r = WithoutGil([&] { return s_->Encrypt(request); });
    OhttpEncapsulatedRequest e = Check(std::move(r), Phase::kCall);
    return EncryptedRequest{s_, ToBytes(e.encapsulated_request),
                            std::make_shared<OhttpClientContext>(std::move(e.context))};
  }

  py::dict Send(const py::bytes& payload, const std::string& method, const std::string& path,
                const std::string& content_type,
                const std::map<std::string, std::string>& headers) const {
    BhttpRequest request = Request(payload, method, path, content_type, headers);
    Result<BhttpResponse> r = WithoutGil([&] { return s_->Send(request); });
    return ResponseDict(Check(std::move(r), Phase::kCall));
  }

  py::object Claims() const { return ToPython(s_->ToJson()); }
  py::object RuntimeData() const { return ToPython(s_->runtime_data()); }
  std::string Tee() const { return std::string(attest::TeeTypeName(s_->claims().tee)); }
  bool Simulated() const { return s_->claims().simulated; }
  std::string Measurement() const { return HexEncode(s_->claims().measurement); }
  int KeyId() const { return s_->key_config().key_id; }
  const std::shared_ptr<const VerifiedService>& service() const { return s_; }

 private:
  static BhttpRequest Request(const py::bytes& payload, const std::string& method,
                              const std::string& path, const std::string& content_type,
                              const std::map<std::string, std::string>& headers) {
    const std::string_view body = payload;
    return client::ServiceRequest(method, path, content_type, {headers.begin(), headers.end()},
                                  Bytes(body.begin(), body.end()));
  }

  std::shared_ptr<const VerifiedService> s_;
};

py::dict DecryptResponse(const EncryptedRequest& request, const py::bytes& response) {
  const std::string_view wire = response;
  Result<BhttpResponse> r =
      WithoutGil([&] { return request.service->Decrypt(*request.context, AsBytes(wire)); });
  return ResponseDict(Check(std::move(r), Phase::kCall));
}

Service Verify(const std::string& url, const client::VerifyOptions& options) {
  Result<client::Expectations> e = client::BuildExpectations(options);
  if (!e) Raise(e.error(), Phase::kPlatform);  // a usage error: invalid_argument
  Result<client::ClientOptions> o = client::BuildClientOptions(options, *e);
  if (!o) Raise(o.error(), Phase::kPlatform);
  Result<VerifiedService> s = WithoutGil([&] { return client::VerifyService(url, *e, *o); });
  return Service(std::make_shared<const VerifiedService>(Check(std::move(s), Phase::kVerify)));
}

// Offline verification of a receipt bundle (client::VerifyReceiptBundle): `at` Unix seconds
// (0 = now) or `at_text` RFC 3339. Returns VerifiedReceipt::ToJson(); every refusal raises
// VerificationError naming the failed check ("attestation: ..." or "receipt: ...").
py::object VerifyReceipt(const py::bytes& bundle, bool allow_simulated,
                         const std::string& sim_root_pem, int64_t at, const std::string& at_text) {
  client::RecordVerifyOptions options;
  options.allow_simulated = allow_simulated;
  options.sim_root_pem = sim_root_pem;
  options.now = at;
  if (!at_text.empty()) {
    Result<int64_t> parsed = ParseRfc3339(at_text);
    if (!parsed) Raise(parsed.error().WithContext("at"), Phase::kPlatform);
    options.now = *parsed;
  }
  if (allow_simulated && sim_root_pem.empty()) {
    Raise(Error(ErrorCode::kInvalidArgument,
                "allow_simulated needs the platform's sim root: sim_root (the PEM or its path)"),
          Phase::kPlatform);
  }
  const std::string_view text = bundle;
  if (text.size() > client::kMaxReceiptBundleBytes) {
    RaiseAs(Error(ErrorCode::kInvalidArgument, "receipt bundle: larger than 192 MiB"),
            "verification");
  }
  Result<client::VerifiedReceipt> verified =
      WithoutGil([&] { return client::VerifyReceiptBundle(text, options); });
  if (!verified) RaiseAs(verified.error(), "verification");
  return ToPython(verified->ToJson());
}

// The control plane's admin API and model/data sealing (client/platform.h).
class Platform {
 public:
  Platform(const std::string& url, const std::string& token, const std::string& ca_path)
      : api_(Check(api::ApiClient::Create(url, token, ca_path), Phase::kPlatform)) {}

  py::object Request(const std::string& method, const std::string& path, const std::string& body) {
    Result<json> r;
    {
      py::gil_scoped_release release;
      if (method == "GET") {
        r = api_.Get(path);
      } else if (method == "DELETE") {
        r = api_.Delete(path);
      } else if (method == "POST") {
        Result<json> parsed = ParseJsonStrict(body.empty() ? "{}" : body);
        r = parsed ? api_.Post(path, *parsed) : Result<json>(MakeError(parsed.error()));
      } else if (method == "PUT") {
        r = api_.Put(path, body, "application/json");
      } else {
        r = MakeError(ErrorCode::kInvalidArgument, "method: want GET, POST, PUT or DELETE");
      }
    }
    return ToPython(Check(std::move(r), Phase::kPlatform));
  }

  py::object PushModel(const client::PushModelRequest& request) {
    Result<client::PushedModel> r = WithoutGil([&] { return client::PushModel(api_, request); });
    client::PushedModel pushed = Check(std::move(r), Phase::kPlatform);
    py::dict out;
    out["reference"] = pushed.reference;
    out["size"] = pushed.size;
    out["kek_version"] = pushed.kek_version;
    out["record"] = ToPython(pushed.record);
    return out;
  }

  py::tuple SealData(const std::string& tenant, const std::string& key, const py::bytes& data,
                     const std::string& object_id) {
    const std::string_view plain = data;
    Result<client::SealedData> r = WithoutGil(
        [&] { return client::SealDataForWorkload(api_, tenant, key, AsBytes(plain), object_id); });
    client::SealedData sealed = Check(std::move(r), Phase::kPlatform);
    return py::make_tuple(ToBytes(sealed.blob), sealed.object_id);
  }

  const std::string& url() const { return api_.base_url(); }

 private:
  api::ApiClient api_;
};

class Tee {
 public:
  explicit Tee(const client::TeeEnvironmentOptions& options)
      : env_(Check(client::TeeEnvironment::Create(options), Phase::kTee)) {}

  py::tuple LoadModel(const std::string& reference) {
    Result<runtime::BootedModel> r = WithoutGil([&] { return env_->LoadModel(reference); });
    runtime::BootedModel model = Check(std::move(r), Phase::kTee);
    // The plaintext leaves the wiped SecretBytes here: Python bytes are not wiped.
    return py::make_tuple(ToBytes(model.plaintext.Reveal()), ToPython(model.metadata));
  }

  py::bytes DecryptData(const py::bytes& blob, const std::string& object_id) {
    const std::string_view b = blob;
    Result<Bytes> r = WithoutGil([&] { return env_->DecryptData(AsBytes(b), object_id); });
    return ToBytes(Check(std::move(r), Phase::kTee));
  }

  py::bytes EncryptData(const py::bytes& data, const py::bytes& like,
                        const std::string& object_id) {
    const std::string_view d = data, l = like;
    Result<Bytes> r =
        WithoutGil([&] { return env_->EncryptData(AsBytes(d), AsBytes(l), object_id); });
    return ToBytes(Check(std::move(r), Phase::kTee));
  }

  std::string Name() const { return env_->tee(); }
  bool Simulated() const { return env_->simulated(); }
  std::string EarToken() const { return env_->ear_token(); }

 private:
  std::unique_ptr<client::TeeEnvironment> env_;
};

}  // namespace
}  // namespace crypta::python

PYBIND11_MODULE(_native, m) {
  using namespace crypta;
  using namespace crypta::python;
  m.doc() = "crypta's C++ client SDK (use the `crypta` package, not this module)";

  m.def("set_error_classes", [](py::dict classes) { ErrorClasses() = std::move(classes); });

  py::class_<client::VerifyOptions>(m, "VerifyOptions")
      .def(py::init<>())
      .def_readwrite("measurements", &client::VerifyOptions::measurements)
      .def_readwrite("host_data", &client::VerifyOptions::host_data)
      .def_readwrite("policy_text", &client::VerifyOptions::policy_text)
      .def_readwrite("allow_simulated", &client::VerifyOptions::allow_simulated)
      .def_readwrite("allow_debug", &client::VerifyOptions::allow_debug)
      .def_readwrite("allow_missing_revocation", &client::VerifyOptions::allow_missing_revocation)
      .def_readwrite("sim_root_pem", &client::VerifyOptions::sim_root_pem)
      .def_readwrite("data_dir", &client::VerifyOptions::data_dir)
      .def_readwrite("ear_token", &client::VerifyOptions::ear_token)
      .def_readwrite("jwks_json", &client::VerifyOptions::jwks_json)
      .def_readwrite("reference_values_token", &client::VerifyOptions::reference_values_token)
      .def_readwrite("model_digest", &client::VerifyOptions::model_digest)
      .def_readwrite("workload", &client::VerifyOptions::workload)
      .def_readwrite("accept_tcb", &client::VerifyOptions::accept_tcb)
      .def_readwrite("timeout_s", &client::VerifyOptions::timeout_s)
      .def_readwrite("ca_bundle_pem", &client::VerifyOptions::ca_bundle_pem)
      .def_readwrite("spiffe_ids", &client::VerifyOptions::spiffe_ids)
      .def_readwrite("trust_domain", &client::VerifyOptions::trust_domain)
      .def_readwrite("client_cert_pem", &client::VerifyOptions::client_cert_pem)
      .def_readwrite("client_key_pem", &client::VerifyOptions::client_key_pem)
      .def_readwrite("transparency_url", &client::VerifyOptions::transparency_url)
      .def_readwrite("log_key", &client::VerifyOptions::log_key)
      .def_readwrite("transparency_ca", &client::VerifyOptions::transparency_ca)
      .def_readwrite("transparency_state", &client::VerifyOptions::transparency_state)
      .def_readwrite("transparency_tenant", &client::VerifyOptions::transparency_tenant);

  py::class_<EncryptedRequest>(m, "EncryptedRequest")
      .def_readonly("data", &EncryptedRequest::data)
      .def("decrypt", &DecryptResponse, py::arg("response"));

  py::class_<Receipt>(m, "Receipt")
      .def_property_readonly("jws", &Receipt::Jws)
      .def("bundle", &Receipt::Bundle)
      .def("claims", &Receipt::Claims);

  py::class_<TextStream>(m, "GenerationStream")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &TextStream::Next)
      .def("close", &TextStream::Close)
      .def("receipt", &TextStream::ReceiptOf)
      .def_property_readonly("done", &TextStream::Done);

  py::class_<Service>(m, "Service")
      .def("predict", &Service::Predict, py::arg("model"), py::arg("inputs"),
           py::arg("with_receipt") = false)
      .def("infer_json", &Service::InferJson, py::arg("model"), py::arg("body"),
           py::arg("with_receipt") = false)
      .def("metadata", &Service::Metadata, py::arg("model"))
      .def("generate", &Service::Generate, py::arg("model"), py::arg("prompt"),
           py::arg("max_tokens"))
      .def("generate_stream", &Service::GenerateStream, py::arg("model"), py::arg("prompt"),
           py::arg("max_tokens"))
      .def("encrypt", &Service::Encrypt, py::arg("payload"), py::arg("method"), py::arg("path"),
           py::arg("content_type"), py::arg("headers"))
      .def("send", &Service::Send, py::arg("payload"), py::arg("method"), py::arg("path"),
           py::arg("content_type"), py::arg("headers"))
      .def_property_readonly("claims", &Service::Claims)
      .def_property_readonly("runtime_data", &Service::RuntimeData)
      .def_property_readonly("tee", &Service::Tee)
      .def_property_readonly("simulated", &Service::Simulated)
      .def_property_readonly("measurement", &Service::Measurement)
      .def_property_readonly("ohttp_key_id", &Service::KeyId)
      .def_property_readonly("issues_receipts", &Service::IssuesReceipts)
      .def_property_readonly("published", &Service::Published);

  m.def("verify_service", &Verify, py::arg("url"), py::arg("options"));
  m.def("verify_receipt", &VerifyReceipt, py::arg("bundle"), py::arg("allow_simulated"),
        py::arg("sim_root_pem"), py::arg("at"), py::arg("at_text"));

  py::class_<client::PushModelRequest>(m, "PushModelRequest")
      .def(py::init<>())
      .def_readwrite("tenant", &client::PushModelRequest::tenant)
      .def_readwrite("key", &client::PushModelRequest::key)
      .def_readwrite("name", &client::PushModelRequest::name)
      .def_readwrite("file", &client::PushModelRequest::file)
      .def_readwrite("tees", &client::PushModelRequest::tees)
      .def_readwrite("rotate_days", &client::PushModelRequest::rotate_days)
      .def_readwrite("tmp_dir", &client::PushModelRequest::tmp_dir)
      .def_readwrite("backend", &client::PushModelRequest::backend)
      .def_readwrite("signature_json", &client::PushModelRequest::signature_json)
      .def_readwrite("model_checker", &client::PushModelRequest::model_checker);

  py::class_<Platform>(m, "Platform")
      .def(py::init<const std::string&, const std::string&, const std::string&>(), py::arg("url"),
           py::arg("token"), py::arg("ca_path"))
      .def("request", &Platform::Request, py::arg("method"), py::arg("path"), py::arg("body"))
      .def("push_model", &Platform::PushModel, py::arg("request"))
      .def("seal_data", &Platform::SealData, py::arg("tenant"), py::arg("key"), py::arg("data"),
           py::arg("object_id"))
      .def_property_readonly("url", &Platform::url);

  py::class_<client::TeeEnvironmentOptions>(m, "TeeEnvironmentOptions")
      .def(py::init<>())
      .def_readwrite("broker_url", &client::TeeEnvironmentOptions::broker_url)
      .def_readwrite("broker_ca_path", &client::TeeEnvironmentOptions::broker_ca_path)
      .def_readwrite("tee", &client::TeeEnvironmentOptions::tee)
      .def_readwrite("sim_socket", &client::TeeEnvironmentOptions::sim_socket)
      .def_readwrite("gpu_evidence", &client::TeeEnvironmentOptions::gpu_evidence)
      .def_readwrite("max_model_bytes", &client::TeeEnvironmentOptions::max_model_bytes);

  py::class_<Tee>(m, "TeeEnvironment")
      .def(py::init<const client::TeeEnvironmentOptions&>(), py::arg("options"))
      .def("load_model", &Tee::LoadModel, py::arg("reference"))
      .def("decrypt_data", &Tee::DecryptData, py::arg("blob"), py::arg("object_id"))
      .def("encrypt_data", &Tee::EncryptData, py::arg("data"), py::arg("like"),
           py::arg("object_id"))
      .def_property_readonly("tee", &Tee::Name)
      .def_property_readonly("simulated", &Tee::Simulated)
      .def_property_readonly("ear_token", &Tee::EarToken);
}
