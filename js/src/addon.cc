// crypta.node: the Node.js binding of the C++ client SDK (src/client) — the one
// implementation of attestation verification, OHTTP and the Open Inference Protocol codec.
// Nothing of the protocol is written again in JavaScript: js/index.js only shapes arguments
// and results. Plain C Node-API (node_api.h, NAPI_VERSION 8), no node-addon-api.
//
// Every call that does network I/O or cryptography is napi async work returning a Promise:
// it runs on a libuv worker thread, which never touches a napi value; its inputs are copied
// before it is queued, or (predict's tensors) referenced by a napi_ref so that the typed
// arrays' memory stays valid while the worker reads it in place. Errors reject with the
// classes that js/index.js registers (setErrorClasses), chosen by the C++ error code and what
// the call was doing (the same roles as python/src/crypta_module.cc), with `.code`
// (ErrorCodeName, e.g. "UNAUTHENTICATED") and `.role` set.
#include <node_api.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
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

namespace crypta::js {
namespace {

using client::VerifiedService;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Per-environment state (worker_threads each load their own instance).

struct AddonData {
  napi_ref error_classes = nullptr;  // {role: class} from setErrorClasses
  napi_ref service_ctor = nullptr;
  napi_ref request_ctor = nullptr;
  napi_ref stream_ctor = nullptr;
};

AddonData* Data(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<AddonData*>(data);
}

// ---------------------------------------------------------------------------------------------
// Errors.

using Phase = client::SdkPhase;

napi_value String(napi_env env, std::string_view s) {
  napi_value v = nullptr;
  napi_create_string_utf8(env, s.data(), s.size(), &v);
  return v;
}

// An instance of the class registered for `role` (a plain Error when none is), with .code
// and .role set. Never fails: falls back to napi_create_error.
napi_value MakeJsError(napi_env env, const char* role, std::string_view code,
                       std::string_view message) {
  napi_value msg = String(env, message);
  napi_value error = nullptr;
  AddonData* data = Data(env);
  if (data != nullptr && data->error_classes != nullptr) {
    napi_value classes = nullptr, cls = nullptr;
    napi_valuetype type = napi_undefined;
    if (napi_get_reference_value(env, data->error_classes, &classes) == napi_ok &&
        classes != nullptr && napi_get_named_property(env, classes, role, &cls) == napi_ok &&
        napi_typeof(env, cls, &type) == napi_ok && type == napi_function) {
      if (napi_new_instance(env, cls, 1, &msg, &error) != napi_ok) {
        error = nullptr;
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
          napi_value ignored;
          napi_get_and_clear_last_exception(env, &ignored);
        }
      }
    }
  }
  if (error == nullptr) napi_create_error(env, nullptr, msg, &error);
  napi_set_named_property(env, error, "code", String(env, code));
  napi_set_named_property(env, error, "role", String(env, role));
  return error;
}

napi_value MakeJsError(napi_env env, const Error& e, Phase phase) {
  return MakeJsError(env, client::SdkErrorRole(e.code(), phase), ErrorCodeName(e.code()),
                     e.message());
}

// Throws (unless an exception is pending already) and returns nullptr, for `return Throw...`.
napi_value Throw(napi_env env, napi_value error) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw(env, error);
  return nullptr;
}
napi_value ThrowInvalid(napi_env env, std::string_view message) {
  return Throw(env, MakeJsError(env, "invalid_argument", "INVALID_ARGUMENT", message));
}
napi_value ThrowError(napi_env env, const Error& e, Phase phase) {
  return Throw(env, MakeJsError(env, e, phase));
}

// A failed napi_* call: throws its message (unless something is thrown already).
napi_value ThrowNapi(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return nullptr;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  const char* text = info != nullptr && info->error_message != nullptr ? info->error_message
                                                                       : "Node-API call failed";
  return Throw(env, MakeJsError(env, "error", "INTERNAL", text));
}

#define NAPI_OK(call)                             \
  do {                                            \
    if ((call) != napi_ok) return ThrowNapi(env); \
  } while (0)

// Like NAPI_OK inside functions returning bool.
#define NAPI_OK_B(call)      \
  do {                       \
    if ((call) != napi_ok) { \
      ThrowNapi(env);        \
      return false;          \
    }                        \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Values in and out.

napi_valuetype TypeOf(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (v == nullptr || napi_typeof(env, v, &t) != napi_ok) return napi_undefined;
  return t;
}

bool IsNullish(napi_env env, napi_value v) {
  const napi_valuetype t = TypeOf(env, v);
  return t == napi_undefined || t == napi_null;
}

bool GetString(napi_env env, napi_value v, const std::string& what, std::string* out) {
  if (TypeOf(env, v) != napi_string) {
    ThrowInvalid(env, what + ": want a string");
    return false;
  }
  size_t size = 0;
  NAPI_OK_B(napi_get_value_string_utf8(env, v, nullptr, 0, &size));
  out->assign(size, '\0');
  if (size > 0) NAPI_OK_B(napi_get_value_string_utf8(env, v, out->data(), size + 1, &size));
  return true;
}

napi_value Prop(napi_env env, napi_value obj, const char* name) {
  napi_value v = nullptr;
  if (TypeOf(env, obj) != napi_object) return nullptr;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return nullptr;
  return v;
}

// Optional fields of an options object: absent (undefined/null) leaves `out` as it is.
bool OptString(napi_env env, napi_value obj, const char* name, std::string* out) {
  napi_value v = Prop(env, obj, name);
  if (IsNullish(env, v)) return true;
  return GetString(env, v, name, out);
}

bool OptBool(napi_env env, napi_value obj, const char* name, bool* out) {
  napi_value v = Prop(env, obj, name);
  if (IsNullish(env, v)) return true;
  if (TypeOf(env, v) != napi_boolean) {
    ThrowInvalid(env, std::string(name) + ": want a boolean");
    return false;
  }
  NAPI_OK_B(napi_get_value_bool(env, v, out));
  return true;
}

bool GetInteger(napi_env env, napi_value v, const std::string& what, int64_t min, int64_t max,
                int64_t* out) {
  double d = 0;
  if (TypeOf(env, v) == napi_bigint) {
    bool lossless = false;
    int64_t i = 0;
    NAPI_OK_B(napi_get_value_bigint_int64(env, v, &i, &lossless));
    if (!lossless || i < min || i > max) {
      ThrowInvalid(env, what + ": out of range");
      return false;
    }
    *out = i;
    return true;
  }
  if (TypeOf(env, v) != napi_number) {
    ThrowInvalid(env, what + ": want an integer");
    return false;
  }
  NAPI_OK_B(napi_get_value_double(env, v, &d));
  if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) ||
      d > static_cast<double>(max)) {
    ThrowInvalid(env, what + ": want an integer in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]");
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool OptInteger(napi_env env, napi_value obj, const char* name, int64_t min, int64_t max,
                int64_t* out) {
  napi_value v = Prop(env, obj, name);
  if (IsNullish(env, v)) return true;
  return GetInteger(env, v, name, min, max, out);
}

bool OptStringList(napi_env env, napi_value obj, const char* name, std::vector<std::string>* out) {
  napi_value v = Prop(env, obj, name);
  if (IsNullish(env, v)) return true;
  bool is_array = false;
  NAPI_OK_B(napi_is_array(env, v, &is_array));
  if (!is_array) {
    ThrowInvalid(env, std::string(name) + ": want an array of strings");
    return false;
  }
  uint32_t n = 0;
  NAPI_OK_B(napi_get_array_length(env, v, &n));
  out->clear();
  for (uint32_t i = 0; i < n; ++i) {
    napi_value item = nullptr;
    NAPI_OK_B(napi_get_element(env, v, i, &item));
    std::string s;
    if (!GetString(env, item, std::string(name) + "[" + std::to_string(i) + "]", &s)) return false;
    out->push_back(std::move(s));
  }
  return true;
}

size_t TypedArrayElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:
      return 8;  // float64, bigint64, biguint64
  }
}

// Bytes from a Buffer, any TypedArray, a DataView, an ArrayBuffer or a string (UTF-8).
bool GetBytes(napi_env env, napi_value v, const std::string& what, Bytes* out) {
  if (TypeOf(env, v) == napi_string) {
    std::string s;
    if (!GetString(env, v, what, &s)) return false;
    out->assign(s.begin(), s.end());
    return true;
  }
  bool is = false;
  void* data = nullptr;
  size_t size = 0;
  NAPI_OK_B(napi_is_typedarray(env, v, &is));
  if (is) {
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    napi_value buffer;
    NAPI_OK_B(napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset));
    size = length * TypedArrayElementSize(type);
  } else {
    NAPI_OK_B(napi_is_dataview(env, v, &is));
    if (is) {
      napi_value buffer;
      size_t offset = 0;
      NAPI_OK_B(napi_get_dataview_info(env, v, &size, &data, &buffer, &offset));
    } else {
      NAPI_OK_B(napi_is_arraybuffer(env, v, &is));
      if (!is) {
        ThrowInvalid(env, what + ": want a Buffer, Uint8Array, ArrayBuffer or string");
        return false;
      }
      NAPI_OK_B(napi_get_arraybuffer_info(env, v, &data, &size));
    }
  }
  const auto* p = static_cast<const uint8_t*>(data);
  if (size == 0 || p == nullptr) {
    out->clear();
  } else {
    out->assign(p, p + size);
  }
  return true;
}

// Hands `bytes` to Node without a copy where it allows external memory: `external` wraps
// the owner's data (its finalizer frees it); otherwise `copy` makes a copy.
template <typename External, typename Copy>
napi_value Hand(napi_env env, Bytes bytes, External external, Copy copy) {
  napi_value out = nullptr;
  if (!bytes.empty()) {
    auto* owner = new Bytes(std::move(bytes));
    napi_finalize free_owner = [](napi_env, void*, void* hint) {
      delete static_cast<Bytes*>(hint);
    };
    if (external(owner, free_owner, &out) == napi_ok) return out;
    bytes = std::move(*owner);
    delete owner;
  }
  if (copy(bytes, &out) != napi_ok) return ThrowNapi(env);
  return out;
}

// A Buffer that owns `bytes`.
napi_value ToBuffer(napi_env env, Bytes bytes) {
  return Hand(
      env, std::move(bytes),
      [env](Bytes* b, napi_finalize f, napi_value* out) {
        return napi_create_external_buffer(env, b->size(), b->data(), f, b, out);
      },
      [env](const Bytes& b, napi_value* out) {
        void* data = nullptr;
        return napi_create_buffer_copy(env, b.size(), b.data(), &data, out);
      });
}

// An ArrayBuffer that owns `bytes`.
napi_value ToArrayBuffer(napi_env env, Bytes bytes) {
  return Hand(
      env, std::move(bytes),
      [env](Bytes* b, napi_finalize f, napi_value* out) {
        return napi_create_external_arraybuffer(env, b->data(), b->size(), f, b, out);
      },
      [env](const Bytes& b, napi_value* out) {
        void* data = nullptr;
        napi_status s = napi_create_arraybuffer(env, b.size(), &data, out);
        if (s == napi_ok && !b.empty()) std::memcpy(data, b.data(), b.size());
        return s;
      });
}

napi_value JsonToJs(napi_env env, const json& j) {
  napi_value out = nullptr;
  switch (j.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      napi_get_null(env, &out);
      return out;
    case json::value_t::boolean:
      napi_get_boolean(env, j.get<bool>(), &out);
      return out;
    case json::value_t::number_integer:
      napi_create_double(env, static_cast<double>(j.get<int64_t>()), &out);
      return out;
    case json::value_t::number_unsigned:
      napi_create_double(env, static_cast<double>(j.get<uint64_t>()), &out);
      return out;
    case json::value_t::number_float:
      napi_create_double(env, j.get<double>(), &out);
      return out;
    case json::value_t::string:
      return String(env, j.get_ref<const std::string&>());
    case json::value_t::binary: {
      const auto& b = j.get_binary();
      return ToBuffer(env, Bytes(b.begin(), b.end()));
    }
    case json::value_t::array: {
      napi_create_array_with_length(env, j.size(), &out);
      uint32_t i = 0;
      for (const json& item : j) {
        napi_value v = JsonToJs(env, item);
        if (v == nullptr) return nullptr;
        napi_set_element(env, out, i++, v);
      }
      return out;
    }
    case json::value_t::object: {
      napi_create_object(env, &out);
      for (auto it = j.begin(); it != j.end(); ++it) {
        napi_value v = JsonToJs(env, it.value());
        if (v == nullptr) return nullptr;
        napi_value key = String(env, it.key());
        napi_set_property(env, out, key, v);
      }
      return out;
    }
  }
  napi_get_undefined(env, &out);
  return out;
}

// Parses text the C++ side answered (an OIP JSON response) into a JS value.
napi_value ParseJsonText(napi_env env, std::string_view text, Phase phase) {
  Result<json> parsed = ParseJsonStrict(text, {64u << 20, 128});
  if (!parsed) {
    return ThrowError(env, parsed.error().WithContext("the service's JSON answer"), phase);
  }
  return JsonToJs(env, *parsed);
}

napi_value Undefined(napi_env env) {
  napi_value v = nullptr;
  napi_get_undefined(env, &v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Async work: `fn` (returning Result<T>) on a worker thread, `convert(env, T&)` back on the
// JavaScript thread; the promise resolves with convert's value or rejects with the error.

class Work {
 public:
  virtual ~Work() = default;
  virtual void Execute() = 0;                    // worker thread: no napi calls
  virtual napi_value Resolve(napi_env env) = 0;  // JavaScript thread
  std::optional<Error> error;
  Phase phase = Phase::kCall;
  std::vector<napi_ref> keep;  // values that must outlive the work (predict's typed arrays)
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
};

template <typename T, typename Fn, typename Convert>
class TypedWork final : public Work {
 public:
  TypedWork(Fn fn, Convert convert) : fn_(std::move(fn)), convert_(std::move(convert)) {}
  void Execute() override {
    try {
      Result<T> r = fn_();
      if (r) {
        value_.emplace(std::move(*r));
      } else {
        error.emplace(std::move(r).error());
      }
    } catch (const std::exception& e) {
      error.emplace(ErrorCode::kInternal, std::string("unexpected failure: ") + e.what());
    }
  }
  napi_value Resolve(napi_env env) override { return convert_(env, *value_); }

 private:
  Fn fn_;
  Convert convert_;
  std::optional<T> value_;
};

void ExecuteWork(napi_env, void* data) { static_cast<Work*>(data)->Execute(); }

void CompleteWork(napi_env env, napi_status status, void* data) {
  std::unique_ptr<Work> w(static_cast<Work*>(data));
  napi_value outcome = nullptr;
  bool ok = false;
  if (status == napi_cancelled) {
    outcome = MakeJsError(env, "error", "CANCELLED", "the call was cancelled");
  } else if (w->error) {
    outcome = MakeJsError(env, *w->error, w->phase);
  } else {
    try {
      outcome = w->Resolve(env);
    } catch (const std::exception& e) {
      outcome = nullptr;
      Throw(env,
            MakeJsError(env, "error", "INTERNAL", std::string("unexpected failure: ") + e.what()));
    }
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_get_and_clear_last_exception(env, &outcome);
    } else if (outcome == nullptr) {
      outcome = MakeJsError(env, "error", "INTERNAL", "could not convert the result");
    } else {
      ok = true;
    }
  }
  if (ok) {
    napi_resolve_deferred(env, w->deferred, outcome);
  } else {
    napi_reject_deferred(env, w->deferred, outcome);
  }
  for (napi_ref r : w->keep) napi_delete_reference(env, r);
  napi_delete_async_work(env, w->work);
}

// Queues the work; returns its promise (nullptr with an exception pending on failure, after
// releasing `keep`).
template <typename Fn, typename Convert>
napi_value Queue(napi_env env, const char* name, Phase phase, Fn fn, Convert convert,
                 std::vector<napi_ref> keep = {}) {
  using R = std::invoke_result_t<Fn&>;
  using T = typename R::value_type;
  auto w = std::make_unique<TypedWork<T, Fn, Convert>>(std::move(fn), std::move(convert));
  w->phase = phase;
  w->keep = std::move(keep);
  napi_value promise = nullptr, resource_name = String(env, name);
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, nullptr, resource_name, ExecuteWork, CompleteWork, w.get(),
                             &w->work) != napi_ok) {
    for (napi_ref r : w->keep) napi_delete_reference(env, r);
    return ThrowNapi(env);
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    for (napi_ref r : w->keep) napi_delete_reference(env, r);
    napi_delete_async_work(env, w->work);
    return ThrowNapi(env);
  }
  w.release();  // CompleteWork owns it now
  return promise;
}

// ---------------------------------------------------------------------------------------------
// Call arguments and wrapped objects.

struct Args {
  napi_value self = nullptr;
  napi_value argv[6] = {};
  size_t argc = 6;
};

bool GetArgs(napi_env env, napi_callback_info info, Args* a) {
  a->argc = 6;
  NAPI_OK_B(napi_get_cb_info(env, info, &a->argc, a->argv, &a->self, nullptr));
  for (size_t i = a->argc; i < 6; ++i) a->argv[i] = Undefined(env);
  return true;
}

template <typename Holder>
Holder* Unwrap(napi_env env, napi_value self, const char* what) {
  void* p = nullptr;
  if (napi_unwrap(env, self, &p) != napi_ok || p == nullptr) {
    ThrowInvalid(env, std::string("not a ") + what);
    return nullptr;
  }
  return static_cast<Holder*>(p);
}

template <typename Holder>
void DeleteHolder(napi_env, void* data, void*) {
  delete static_cast<Holder*>(data);
}

template <typename Holder>
bool WrapNew(napi_env env, napi_value self, Holder* holder) {
  if (napi_wrap(env, self, holder, DeleteHolder<Holder>, nullptr, nullptr) != napi_ok) {
    delete holder;
    ThrowNapi(env);
    return false;
  }
  return true;
}

napi_value NewFromRef(napi_env env, napi_ref ctor_ref) {
  napi_value ctor = nullptr, out = nullptr;
  NAPI_OK(napi_get_reference_value(env, ctor_ref, &ctor));
  NAPI_OK(napi_new_instance(env, ctor, 0, nullptr, &out));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tensors: typed arrays <-> infer::DataType.

bool DataTypeOf(napi_env env, napi_typedarray_type type, const std::string& dtype_name,
                const std::string& input, infer::DataType* out) {
  std::optional<infer::DataType> kind;
  switch (type) {
    case napi_float32_array:
      kind = infer::DataType::kFp32;
      break;
    case napi_float64_array:
      kind = infer::DataType::kFp64;
      break;
    case napi_bigint64_array:
      kind = infer::DataType::kInt64;
      break;
    case napi_int32_array:
      kind = infer::DataType::kInt32;
      break;
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      kind = infer::DataType::kUint8;
      break;
    default:
      break;
  }
  if (!kind) {
    ThrowInvalid(env, "input \"" + input +
                          "\": this typed array is not served (Float32Array, Float64Array, "
                          "BigInt64Array, Int32Array, Uint8Array; Uint8Array with dtype 'bool')");
    return false;
  }
  if (dtype_name.empty()) {
    *out = *kind;
    return true;
  }
  std::string upper;
  for (char c : dtype_name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::optional<infer::DataType> named;
  if (upper == "BOOL") named = infer::DataType::kBool;
  if (upper == "FLOAT32" || upper == "FP32") named = infer::DataType::kFp32;
  if (upper == "FLOAT64" || upper == "FP64") named = infer::DataType::kFp64;
  if (upper == "INT64") named = infer::DataType::kInt64;
  if (upper == "INT32") named = infer::DataType::kInt32;
  if (upper == "UINT8") named = infer::DataType::kUint8;
  if (!named) {
    ThrowInvalid(env, "input \"" + input + "\": dtype '" + dtype_name +
                          "' is not served (float32, float64, int64, int32, uint8, bool)");
    return false;
  }
  const bool fits =
      *named == *kind || (*named == infer::DataType::kBool && *kind == infer::DataType::kUint8);
  if (!fits) {
    ThrowInvalid(
        env, "input \"" + input + "\": dtype '" + dtype_name + "' does not match its typed array" +
                 (*named == infer::DataType::kBool ? " (bool wants a Uint8Array of 0/1)" : ""));
    return false;
  }
  *out = *named;
  return true;
}

napi_typedarray_type ArrayTypeOf(infer::DataType type) {
  switch (type) {
    case infer::DataType::kFp32:
      return napi_float32_array;
    case infer::DataType::kFp64:
      return napi_float64_array;
    case infer::DataType::kInt64:
      return napi_bigint64_array;
    case infer::DataType::kInt32:
      return napi_int32_array;
    case infer::DataType::kUint8:
    case infer::DataType::kBool:
      return napi_uint8_array;
  }
  return napi_uint8_array;
}

// {data: TypedArray of the dtype, shape: number[], dtype: 'float32'|...|'bool'}, owning the
// decoded bytes (no copy).
napi_value TensorToJs(napi_env env, infer::Tensor& tensor) {
  const size_t element = infer::ElementSize(tensor.dtype);
  const size_t count = element == 0 ? 0 : tensor.data.size() / element;
  const infer::DataType dtype = tensor.dtype;
  napi_value buffer = ToArrayBuffer(env, std::move(tensor.data));
  if (buffer == nullptr) return nullptr;
  napi_value data = nullptr, shape = nullptr, out = nullptr;
  NAPI_OK(napi_create_typedarray(env, ArrayTypeOf(dtype), count, buffer, 0, &data));
  NAPI_OK(napi_create_array_with_length(env, tensor.shape.size(), &shape));
  for (size_t i = 0; i < tensor.shape.size(); ++i) {
    napi_value d = nullptr;
    NAPI_OK(napi_create_double(env, static_cast<double>(tensor.shape[i]), &d));
    NAPI_OK(napi_set_element(env, shape, static_cast<uint32_t>(i), d));
  }
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_set_named_property(env, out, "data", data));
  NAPI_OK(napi_set_named_property(env, out, "shape", shape));
  NAPI_OK(napi_set_named_property(env, out, "dtype", String(env, client::DtypeName(dtype))));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decrypted HTTP responses: {status, headers: {name: value}, body: Buffer}.

napi_value ResponseToJs(napi_env env, BhttpResponse& r) {
  napi_value out = nullptr, headers = nullptr, status = nullptr;
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_create_object(env, &headers));
  for (const BhttpField& f : r.headers) {
    NAPI_OK(napi_set_named_property(env, headers, f.name.c_str(), String(env, f.value)));
  }
  NAPI_OK(napi_create_int32(env, r.status, &status));
  napi_value body = ToBuffer(env, std::move(r.content));
  if (body == nullptr) return nullptr;
  NAPI_OK(napi_set_named_property(env, out, "status", status));
  NAPI_OK(napi_set_named_property(env, out, "headers", headers));
  NAPI_OK(napi_set_named_property(env, out, "body", body));
  return out;
}

// (payload, method, path, contentType, headers) -> a Binary HTTP request to the runtime.
bool GetHttpRequest(napi_env env, const Args& a, BhttpRequest* request) {
  Bytes content;
  std::string method, path, content_type;
  if (!IsNullish(env, a.argv[0]) && !GetBytes(env, a.argv[0], "payload", &content)) return false;
  if (!GetString(env, a.argv[1], "method", &method)) return false;
  if (!GetString(env, a.argv[2], "path", &path)) return false;
  if (!IsNullish(env, a.argv[3]) && !GetString(env, a.argv[3], "contentType", &content_type)) {
    return false;
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!IsNullish(env, a.argv[4])) {
    if (TypeOf(env, a.argv[4]) != napi_object) {
      ThrowInvalid(env, "headers: want an object of strings");
      return false;
    }
    napi_value names = nullptr;
    uint32_t n = 0;
    NAPI_OK_B(napi_get_property_names(env, a.argv[4], &names));
    NAPI_OK_B(napi_get_array_length(env, names, &n));
    for (uint32_t i = 0; i < n; ++i) {
      napi_value key = nullptr, value = nullptr;
      NAPI_OK_B(napi_get_element(env, names, i, &key));
      NAPI_OK_B(napi_get_property(env, a.argv[4], key, &value));
      std::string k, v;
      if (!GetString(env, key, "header name", &k)) return false;
      if (!GetString(env, value, "header " + k, &v)) return false;
      headers.emplace_back(std::move(k), std::move(v));
    }
  }
  *request = client::ServiceRequest(std::move(method), std::move(path), content_type,
                                    std::move(headers), std::move(content));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Service: a VerifiedService (immutable; shared with work in flight).

struct ServiceHolder {
  std::shared_ptr<const VerifiedService> service;
};

struct RequestHolder {
  std::shared_ptr<const VerifiedService> service;
  std::shared_ptr<const OhttpClientContext> context;
};

ServiceHolder* ThisService(napi_env env, const Args& a) {
  ServiceHolder* h = Unwrap<ServiceHolder>(env, a.self, "verified service");
  if (h != nullptr && !h->service) {
    ThrowInvalid(env, "not a verified service (use verifyService)");
    return nullptr;
  }
  return h;
}

napi_value ServiceConstruct(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  if (!WrapNew(env, a.self, new ServiceHolder())) return nullptr;
  return a.self;
}

// The release the transparency log proved (issue 17, client/transparency.h) in camelCase, or
// null when no log was checked.
napi_value PublishedToJs(napi_env env, const std::optional<client::PublishedRelease>& p) {
  if (!p) {
    napi_value null = nullptr;
    NAPI_OK(napi_get_null(env, &null));
    return null;
  }
  const transparency::ReleaseEntry& r = p->release.entry;
  return JsonToJs(env, json{{"index", p->release.index},
                            {"tenant", r.tenant},
                            {"workload", r.workload},
                            {"measurement", r.measurement},
                            {"modelDigest", r.model_digest},
                            {"hostData", r.host_data},
                            {"note", r.note},
                            {"time", r.time},
                            {"origin", p->checkpoint.origin},
                            {"checkpointSize", p->checkpoint.size},
                            {"stateFile", p->state_file}});
}

// info() -> {tee, simulated, measurement, ohttpKeyId, issuesReceipts, published, claims,
// runtimeData}
napi_value ServiceInfo(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  const VerifiedService& s = *h->service;
  napi_value out = nullptr, simulated = nullptr, key_id = nullptr;
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_get_boolean(env, s.claims().simulated, &simulated));
  NAPI_OK(napi_create_int32(env, s.key_config().key_id, &key_id));
  NAPI_OK(
      napi_set_named_property(env, out, "tee", String(env, attest::TeeTypeName(s.claims().tee))));
  NAPI_OK(napi_set_named_property(env, out, "simulated", simulated));
  NAPI_OK(napi_set_named_property(env, out, "measurement",
                                  String(env, HexEncode(s.claims().measurement))));
  NAPI_OK(napi_set_named_property(env, out, "ohttpKeyId", key_id));
  napi_value issues_receipts = nullptr;
  NAPI_OK(napi_get_boolean(env, s.issues_receipts(), &issues_receipts));
  NAPI_OK(napi_set_named_property(env, out, "issuesReceipts", issues_receipts));
  napi_value published = PublishedToJs(env, s.published());
  if (published == nullptr) return nullptr;
  NAPI_OK(napi_set_named_property(env, out, "published", published));
  napi_value claims = JsonToJs(env, s.ToJson());
  napi_value runtime_data = JsonToJs(env, s.runtime_data());
  if (claims == nullptr || runtime_data == nullptr) return nullptr;
  NAPI_OK(napi_set_named_property(env, out, "claims", claims));
  NAPI_OK(napi_set_named_property(env, out, "runtimeData", runtime_data));
  return out;
}

// A prediction with the runtime's receipt (issue 17, client/receipt.h), already verified by
// VerifiedService::Predict / PredictJson: the bundle and the verified payload are made on the
// worker thread.
struct ReceiptedResult {
  client::PredictResult result;
  std::string bundle;
  client::ReceiptClaims claims;
};

// A receipt is asked for: refuse before sending to a runtime that issues none (as `crypta
// predict --receipt` does).
Status RequireReceipts(const VerifiedService& s) {
  if (s.issues_receipts()) return OkStatus();
  return MakeError(ErrorCode::kFailedPrecondition,
                   "refusing to send the input: a receipt was asked for, but the service's "
                   "attestation binds no receipt key (a crypta-runtime without receipts)");
}

Result<ReceiptedResult> WithReceipt(Result<client::PredictResult> r) {
  if (!r) return MakeError(r.error());
  ReceiptedResult out;
  out.result = std::move(*r);
  if (out.result.attestation == nullptr) {
    return MakeError(ErrorCode::kUnauthenticated, "receipt: the answer carried none");
  }
  CRYPTA_ASSIGN_OR_RETURN(out.bundle, out.result.ReceiptBundle());
  CRYPTA_ASSIGN_OR_RETURN(
      out.claims,
      client::VerifyReceiptClaims(out.result.receipt, *out.result.attestation,
                                  out.result.encapsulated_request, out.result.response_content));
  return out;
}

// {jws, claims, bundle}: the receipt as js/index.js hands it out.
napi_value ReceiptToJs(napi_env env, const ReceiptedResult& r) {
  napi_value out = nullptr;
  NAPI_OK(napi_create_object(env, &out));
  napi_value claims = JsonToJs(env, r.claims.ToJson());
  if (claims == nullptr) return nullptr;
  NAPI_OK(napi_set_named_property(env, out, "jws", String(env, r.result.receipt)));
  NAPI_OK(napi_set_named_property(env, out, "claims", claims));
  NAPI_OK(napi_set_named_property(env, out, "bundle", String(env, r.bundle)));
  return out;
}

// {value, receipt}
napi_value WithReceiptToJs(napi_env env, napi_value value, const ReceiptedResult& r) {
  if (value == nullptr) return nullptr;
  napi_value receipt = ReceiptToJs(env, r);
  if (receipt == nullptr) return nullptr;
  napi_value out = nullptr;
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_set_named_property(env, out, "value", value));
  NAPI_OK(napi_set_named_property(env, out, "receipt", receipt));
  return out;
}

napi_value TensorsToJs(napi_env env, std::vector<infer::Tensor>& tensors) {
  napi_value out = nullptr;
  NAPI_OK(napi_create_object(env, &out));
  for (infer::Tensor& t : tensors) {
    napi_value v = TensorToJs(env, t);
    if (v == nullptr) return nullptr;
    NAPI_OK(napi_set_property(env, out, String(env, t.name), v));
  }
  return out;
}

// predict(model, [{name, data: TypedArray, shape: number[], dtype?}], withReceipt?) ->
//   Promise<{[output]: {data, shape, dtype}}>; withReceipt: Promise<{value: outputs, receipt}>
napi_value ServicePredict(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  std::string model;
  if (!GetString(env, a.argv[0], "model", &model)) return nullptr;
  bool is_array = false;
  NAPI_OK(napi_is_array(env, a.argv[1], &is_array));
  if (!is_array) return ThrowInvalid(env, "inputs: want an array of {name, data, shape}");
  uint32_t n = 0;
  NAPI_OK(napi_get_array_length(env, a.argv[1], &n));
  if (n == 0) return ThrowInvalid(env, "inputs: at least one input tensor is required");
  bool with_receipt = false;
  if (!IsNullish(env, a.argv[2])) NAPI_OK(napi_get_value_bool(env, a.argv[2], &with_receipt));

  // Names and views live in the work's closure; the typed arrays stay referenced (and their
  // memory valid) until the work completes.
  struct Inputs {
    std::vector<std::string> names;
    std::vector<infer::TensorView> views;
  };
  auto inputs = std::make_shared<Inputs>();
  inputs->names.reserve(n);
  inputs->views.reserve(n);
  std::vector<napi_ref> keep;
  auto fail = [&]() -> napi_value {
    for (napi_ref r : keep) napi_delete_reference(env, r);
    return nullptr;
  };
  for (uint32_t i = 0; i < n; ++i) {
    napi_value item = nullptr;
    if (napi_get_element(env, a.argv[1], i, &item) != napi_ok) {
      ThrowNapi(env);
      return fail();
    }
    std::string name, dtype_name;
    if (!GetString(env, Prop(env, item, "name"), "input " + std::to_string(i) + " name", &name) ||
        !OptString(env, item, "dtype", &dtype_name)) {
      return fail();
    }
    napi_value data = Prop(env, item, "data");
    bool is_typed = false;
    if (data == nullptr || napi_is_typedarray(env, data, &is_typed) != napi_ok || !is_typed) {
      ThrowInvalid(env, "input \"" + name + "\": data must be a typed array");
      return fail();
    }
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void* ptr = nullptr;
    napi_value arraybuffer = nullptr;
    if (napi_get_typedarray_info(env, data, &type, &length, &ptr, &arraybuffer, &offset) !=
        napi_ok) {
      ThrowNapi(env);
      return fail();
    }
    infer::TensorView view;
    if (!DataTypeOf(env, type, dtype_name, name, &view.dtype)) return fail();
    napi_value shape = Prop(env, item, "shape");
    bool shape_is_array = false;
    if (shape == nullptr || napi_is_array(env, shape, &shape_is_array) != napi_ok ||
        !shape_is_array) {
      ThrowInvalid(env, "input \"" + name + "\": shape must be an array of dimensions");
      return fail();
    }
    uint32_t rank = 0;
    napi_get_array_length(env, shape, &rank);
    for (uint32_t d = 0; d < rank; ++d) {
      napi_value dim = nullptr;
      int64_t v = 0;
      if (napi_get_element(env, shape, d, &dim) != napi_ok ||
          !GetInteger(env, dim, "input \"" + name + "\" shape[" + std::to_string(d) + "]", 0,
                      int64_t{1} << 40, &v)) {
        return fail();
      }
      view.shape.push_back(v);
    }
    Result<uint64_t> count = infer::ElementCount(view.shape);
    if (!count) {
      ThrowError(env, count.error().WithContext("input \"" + name + "\" shape"), Phase::kPlatform);
      return fail();
    }
    if (*count != length) {
      ThrowInvalid(env, "input \"" + name + "\": shape holds " + std::to_string(*count) +
                            " elements, data " + std::to_string(length));
      return fail();
    }
    napi_ref ref = nullptr;
    if (napi_create_reference(env, data, 1, &ref) != napi_ok) {
      ThrowNapi(env);
      return fail();
    }
    keep.push_back(ref);
    const size_t bytes = length * infer::ElementSize(view.dtype);
    view.data = bytes == 0 ? ByteSpan() : ByteSpan(static_cast<const uint8_t*>(ptr), bytes);
    inputs->names.push_back(std::move(name));
    inputs->views.push_back(std::move(view));
  }
  for (size_t i = 0; i < inputs->views.size(); ++i) inputs->views[i].name = inputs->names[i];

  std::shared_ptr<const VerifiedService> service = h->service;
  if (with_receipt) {
    return Queue(
        env, "crypta.predict", Phase::kCall,
        [service, model = std::move(model), inputs]() -> Result<ReceiptedResult> {
          CRYPTA_RETURN_IF_ERROR(RequireReceipts(*service));
          return WithReceipt(service->Predict(model, inputs->views));
        },
        [](napi_env env, ReceiptedResult& r) -> napi_value {
          return WithReceiptToJs(env, TensorsToJs(env, r.result.outputs), r);
        },
        std::move(keep));
  }
  return Queue(
      env, "crypta.predict", Phase::kCall,
      [service, model = std::move(model), inputs]() {
        return service->Infer(model, inputs->views);
      },
      [](napi_env env, std::vector<infer::Tensor>& tensors) -> napi_value {
        return TensorsToJs(env, tensors);
      },
      std::move(keep));
}

// inferJson(model, body: string, withReceipt?) -> Promise<object> (the OIP response);
// withReceipt: Promise<{value: response, receipt}>
napi_value ServiceInferJson(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  std::string model, body;
  if (!GetString(env, a.argv[0], "model", &model) || !GetString(env, a.argv[1], "request", &body)) {
    return nullptr;
  }
  bool with_receipt = false;
  if (!IsNullish(env, a.argv[2])) NAPI_OK(napi_get_value_bool(env, a.argv[2], &with_receipt));
  std::shared_ptr<const VerifiedService> service = h->service;
  if (with_receipt) {
    return Queue(
        env, "crypta.infer", Phase::kCall,
        [service, model = std::move(model), body = std::move(body)]() -> Result<ReceiptedResult> {
          CRYPTA_RETURN_IF_ERROR(RequireReceipts(*service));
          return WithReceipt(service->PredictJson(model, body));
        },
        [](napi_env env, ReceiptedResult& r) -> napi_value {
          return WithReceiptToJs(env, ParseJsonText(env, r.result.response, Phase::kCall), r);
        });
  }
  return Queue(
      env, "crypta.infer", Phase::kCall,
      [service, model = std::move(model), body = std::move(body)]() {
        return service->InferJson(model, body);
      },
      [](napi_env env, std::string& text) { return ParseJsonText(env, text, Phase::kCall); });
}

// metadata(model) -> Promise<object>
napi_value ServiceMetadata(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  std::string model;
  if (!GetString(env, a.argv[0], "model", &model)) return nullptr;
  std::shared_ptr<const VerifiedService> service = h->service;
  return Queue(
      env, "crypta.metadata", Phase::kCall,
      [service, model = std::move(model)]() { return service->ModelMetadata(model); },
      [](napi_env env, json& j) { return JsonToJs(env, j); });
}

// ---------------------------------------------------------------------------------------------
// Text generation (issue 18; models whose signature declares "generate").

// (model, prompt, maxTokens) of generate and generateStream.
bool GetGeneration(napi_env env, const Args& a, std::string* model, std::string* prompt,
                   int64_t* max_tokens) {
  *max_tokens = 16;
  if (!GetString(env, a.argv[0], "model", model) || !GetString(env, a.argv[1], "prompt", prompt)) {
    return false;
  }
  return IsNullish(env, a.argv[2]) ||
         GetInteger(env, a.argv[2], "maxTokens", 1, int64_t{1} << 31, max_tokens);
}

// generate(model, prompt, maxTokens) -> Promise<string>: the whole generated text.
napi_value ServiceGenerate(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  std::string model, prompt;
  int64_t max_tokens = 0;
  if (!GetGeneration(env, a, &model, &prompt, &max_tokens)) return nullptr;
  return Queue(
      env, "crypta.generate", Phase::kCall,
      [service = h->service, model = std::move(model), prompt = std::move(prompt), max_tokens]()
          -> Result<std::string> { return service->Generate(model, prompt, max_tokens); },
      [](napi_env env, std::string& text) { return String(env, text); });
}

// One streamed generation (client::GenerationStream). Its Next blocks, so it only ever runs
// as async work on a worker thread, one at a time (next_mu); the JavaScript thread never waits
// for it. Destroying the stream waits for its reading thread (until the next piece arrives,
// or the read timeout), so that too happens off the JavaScript thread.
struct StreamBox {
  std::mutex next_mu;
  std::unique_ptr<client::GenerationStream> stream;  // null once ended whole or closed
  std::mutex mu;
  bool ended = false;   // guarded by mu: the stream ended whole
  std::string receipt;  // guarded by mu: then its receipt ("" without receipts)
  std::string bundle;   // guarded by mu: and the receipt bundle
};
struct StreamHolder {
  std::shared_ptr<StreamBox> box;
};

void CloseStream(StreamBox& box) {
  std::unique_ptr<client::GenerationStream> closing;
  {
    std::lock_guard<std::mutex> lock(box.next_mu);
    closing = std::move(box.stream);
  }
  closing.reset();  // joins the reading thread
}

// The finalizer (JavaScript thread): a stream still open is closed on a thread of its own.
void DeleteStreamHolder(napi_env, void* data, void*) {
  std::unique_ptr<StreamHolder> h(static_cast<StreamHolder*>(data));
  std::shared_ptr<StreamBox> box = std::move(h->box);
  if (box == nullptr) return;
  {
    std::unique_lock<std::mutex> lock(box->next_mu, std::try_to_lock);
    if (lock.owns_lock() && box->stream == nullptr) return;
  }
  try {
    std::thread([box] { CloseStream(*box); }).detach();
  } catch (const std::exception&) {
    CloseStream(*box);
  }
}

napi_value StreamConstruct(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  auto* holder = new StreamHolder();
  if (napi_wrap(env, a.self, holder, DeleteStreamHolder, nullptr, nullptr) != napi_ok) {
    delete holder;
    return ThrowNapi(env);
  }
  return a.self;
}

StreamHolder* ThisStream(napi_env env, const Args& a) {
  StreamHolder* h = Unwrap<StreamHolder>(env, a.self, "generation stream");
  if (h != nullptr && !h->box) {
    ThrowInvalid(env, "not a generation stream (use generateStream)");
    return nullptr;
  }
  return h;
}

// generateStream(model, prompt, maxTokens) -> NativeGenerationStream: the request is sent now
// (the stream reads on a thread of its own); its errors come from the first next().
napi_value ServiceGenerateStream(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  std::string model, prompt;
  int64_t max_tokens = 0;
  if (!GetGeneration(env, a, &model, &prompt, &max_tokens)) return nullptr;
  Result<std::unique_ptr<client::GenerationStream>> stream =
      h->service->GenerateStream(model, prompt, max_tokens);
  if (!stream) return ThrowError(env, stream.error(), Phase::kCall);
  napi_value out = NewFromRef(env, Data(env)->stream_ctor);
  if (out == nullptr) return nullptr;
  StreamHolder* s = Unwrap<StreamHolder>(env, out, "generation stream");
  if (s == nullptr) return nullptr;
  s->box = std::make_shared<StreamBox>();
  s->box->stream = std::move(*stream);
  return out;
}

// stream.next() -> Promise<string | null>: the next token's text, or null once the stream
// ended whole (or was closed); rejects when it was cut off, tampered with or failed (and again
// on every later call).
napi_value StreamNext(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  StreamHolder* h = ThisStream(env, a);
  if (h == nullptr) return nullptr;
  return Queue(
      env, "crypta.generateStream.next", Phase::kCall,
      [box = h->box]() -> Result<std::optional<std::string>> {
        std::lock_guard<std::mutex> lock(box->next_mu);
        if (box->stream == nullptr) return std::optional<std::string>();
        CRYPTA_ASSIGN_OR_RETURN(std::optional<client::GenerationEvent> event, box->stream->Next());
        if (event) return std::optional<std::string>(std::move(event->text_output));
        // Ended whole: keep the receipt and its bundle, stop the (finished) reader.
        const client::PredictResult& result = box->stream->result();
        std::string bundle;
        if (!result.receipt.empty()) {
          CRYPTA_ASSIGN_OR_RETURN(bundle, result.ReceiptBundle());
        }
        {
          std::lock_guard<std::mutex> state(box->mu);
          box->ended = true;
          box->receipt = result.receipt;
          box->bundle = std::move(bundle);
        }
        box->stream.reset();
        return std::optional<std::string>();
      },
      [](napi_env env, std::optional<std::string>& text) -> napi_value {
        if (text) return String(env, *text);
        napi_value null = nullptr;
        NAPI_OK(napi_get_null(env, &null));
        return null;
      });
}

// stream.close() -> Promise<undefined>: stops reading (on a worker thread).
napi_value StreamClose(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  StreamHolder* h = ThisStream(env, a);
  if (h == nullptr) return nullptr;
  return Queue(
      env, "crypta.generateStream.close", Phase::kCall,
      [box = h->box]() -> Result<bool> {
        CloseStream(*box);
        return true;
      },
      [](napi_env env, bool&) { return Undefined(env); });
}

// stream.receipt() -> {jws, bundle} | null: once the stream ended whole, its verified receipt
// (null before, after an early close, or from a runtime without receipts).
napi_value StreamReceipt(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  StreamHolder* h = ThisStream(env, a);
  if (h == nullptr) return nullptr;
  std::string jws, bundle;
  bool ended = false;
  {
    std::lock_guard<std::mutex> lock(h->box->mu);
    ended = h->box->ended;
    jws = h->box->receipt;
    bundle = h->box->bundle;
  }
  napi_value out = nullptr, done = nullptr;
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_get_boolean(env, ended, &done));
  NAPI_OK(napi_set_named_property(env, out, "ended", done));
  if (jws.empty()) {
    napi_value null = nullptr;
    NAPI_OK(napi_get_null(env, &null));
    NAPI_OK(napi_set_named_property(env, out, "jws", null));
    NAPI_OK(napi_set_named_property(env, out, "bundle", null));
  } else {
    NAPI_OK(napi_set_named_property(env, out, "jws", String(env, jws)));
    NAPI_OK(napi_set_named_property(env, out, "bundle", String(env, bundle)));
  }
  return out;
}

// encrypt(payload, method, path, contentType, headers) -> Promise<NativeEncryptedRequest>
napi_value ServiceEncrypt(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  BhttpRequest request;
  if (!GetHttpRequest(env, a, &request)) return nullptr;
  std::shared_ptr<const VerifiedService> service = h->service;
  return Queue(
      env, "crypta.encrypt", Phase::kCall,
      [service, request = std::move(request)]() { return service->Encrypt(request); },
      [service](napi_env env, OhttpEncapsulatedRequest& e) -> napi_value {
        napi_value out = NewFromRef(env, Data(env)->request_ctor);
        if (out == nullptr) return nullptr;
        RequestHolder* r = Unwrap<RequestHolder>(env, out, "encrypted request");
        if (r == nullptr) return nullptr;
        r->service = service;
        r->context = std::make_shared<const OhttpClientContext>(std::move(e.context));
        napi_value data = ToBuffer(env, std::move(e.encapsulated_request));
        if (data == nullptr) return nullptr;
        napi_property_descriptor d = {"data",  nullptr, nullptr,         nullptr,
                                      nullptr, data,    napi_enumerable, nullptr};
        NAPI_OK(napi_define_properties(env, out, 1, &d));
        return out;
      });
}

// send(payload, method, path, contentType, headers) -> Promise<{status, headers, body}>
napi_value ServiceSend(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  ServiceHolder* h = ThisService(env, a);
  if (h == nullptr) return nullptr;
  BhttpRequest request;
  if (!GetHttpRequest(env, a, &request)) return nullptr;
  std::shared_ptr<const VerifiedService> service = h->service;
  return Queue(
      env, "crypta.send", Phase::kCall,
      [service, request = std::move(request)]() { return service->Send(request); },
      [](napi_env env, BhttpResponse& r) { return ResponseToJs(env, r); });
}

napi_value RequestConstruct(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  if (!WrapNew(env, a.self, new RequestHolder())) return nullptr;
  return a.self;
}

// request.decrypt(response bytes) -> Promise<{status, headers, body}>
napi_value RequestDecrypt(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  RequestHolder* h = Unwrap<RequestHolder>(env, a.self, "encrypted request");
  if (h == nullptr) return nullptr;
  if (!h->service || !h->context) return ThrowInvalid(env, "not an encrypted request");
  Bytes wire;
  if (!GetBytes(env, a.argv[0], "response", &wire)) return nullptr;
  return Queue(
      env, "crypta.decrypt", Phase::kCall,
      [service = h->service, context = h->context, wire = std::move(wire)]() {
        return service->Decrypt(*context, wire);
      },
      [](napi_env env, BhttpResponse& r) { return ResponseToJs(env, r); });
}

// verifyService(url, options) -> Promise<NativeService>. The options object carries
// client::VerifyOptions' fields in camelCase (contents, not paths: js/index.js reads files).
napi_value VerifyServiceJs(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  std::string url;
  if (!GetString(env, a.argv[0], "url", &url)) return nullptr;
  napi_value o = a.argv[1];
  if (!IsNullish(env, o) && TypeOf(env, o) != napi_object) {
    return ThrowInvalid(env, "options: want an object");
  }
  client::VerifyOptions options;
  int64_t timeout = options.timeout_s;
  if (!OptStringList(env, o, "measurements", &options.measurements) ||
      !OptStringList(env, o, "hostData", &options.host_data) ||
      !OptString(env, o, "policyText", &options.policy_text) ||
      !OptBool(env, o, "allowSimulated", &options.allow_simulated) ||
      !OptBool(env, o, "allowDebug", &options.allow_debug) ||
      !OptBool(env, o, "allowMissingRevocation", &options.allow_missing_revocation) ||
      !OptString(env, o, "simRootPem", &options.sim_root_pem) ||
      !OptString(env, o, "dataDir", &options.data_dir) ||
      !OptString(env, o, "earToken", &options.ear_token) ||
      !OptString(env, o, "jwksJson", &options.jwks_json) ||
      !OptString(env, o, "referenceValuesToken", &options.reference_values_token) ||
      !OptString(env, o, "modelDigest", &options.model_digest) ||
      !OptString(env, o, "workload", &options.workload) ||
      !OptString(env, o, "acceptTcb", &options.accept_tcb) ||
      !OptInteger(env, o, "timeoutS", 1, 86400, &timeout) ||
      !OptString(env, o, "caBundlePem", &options.ca_bundle_pem) ||
      !OptStringList(env, o, "spiffeIds", &options.spiffe_ids) ||
      !OptString(env, o, "trustDomain", &options.trust_domain) ||
      !OptString(env, o, "clientCertPem", &options.client_cert_pem) ||
      !OptString(env, o, "clientKeyPem", &options.client_key_pem) ||
      !OptString(env, o, "transparencyUrl", &options.transparency_url) ||
      !OptString(env, o, "logKey", &options.log_key) ||
      !OptString(env, o, "transparencyCa", &options.transparency_ca) ||
      !OptString(env, o, "transparencyState", &options.transparency_state) ||
      !OptString(env, o, "transparencyTenant", &options.transparency_tenant)) {
    return nullptr;
  }
  options.timeout_s = static_cast<int>(timeout);
  // Usage errors (bad hex, a policy that does not parse, ...) are InvalidArgumentError.
  Result<client::Expectations> e = client::BuildExpectations(options);
  if (!e) return ThrowError(env, e.error(), Phase::kPlatform);
  Result<client::ClientOptions> c = client::BuildClientOptions(options, *e);
  if (!c) return ThrowError(env, c.error(), Phase::kPlatform);
  return Queue(
      env, "crypta.verifyService", Phase::kVerify,
      [url = std::move(url), e = std::move(*e), c = std::move(*c)]() {
        return client::VerifyService(url, e, c);
      },
      [](napi_env env, VerifiedService& s) -> napi_value {
        napi_value out = NewFromRef(env, Data(env)->service_ctor);
        if (out == nullptr) return nullptr;
        ServiceHolder* h = Unwrap<ServiceHolder>(env, out, "verified service");
        if (h == nullptr) return nullptr;
        h->service = std::make_shared<const VerifiedService>(std::move(s));
        return out;
      });
}

// verifyReceipt(bundle: Buffer, allowSimulated, simRootPem, at: Unix seconds (0 = now),
// atText: RFC 3339 or "") -> Promise<object>: client::VerifyReceiptBundle offline, resolving
// to VerifiedReceipt::ToJson(); every refusal rejects with VerificationError naming the failed
// check ("attestation: ..." or "receipt: ...").
napi_value VerifyReceiptJs(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  Bytes bundle;
  if (!GetBytes(env, a.argv[0], "bundle", &bundle)) return nullptr;
  client::RecordVerifyOptions options;
  std::string at_text;
  if (TypeOf(env, a.argv[1]) != napi_boolean) {
    return ThrowInvalid(env, "allowSimulated: want a boolean");
  }
  NAPI_OK(napi_get_value_bool(env, a.argv[1], &options.allow_simulated));
  if (!GetString(env, a.argv[2], "simRoot", &options.sim_root_pem) ||
      !GetInteger(env, a.argv[3], "at", 0, int64_t{1} << 40, &options.now) ||
      !GetString(env, a.argv[4], "at", &at_text)) {
    return nullptr;
  }
  if (!at_text.empty()) {
    Result<int64_t> at = ParseRfc3339(at_text);
    if (!at) return ThrowError(env, at.error().WithContext("at"), Phase::kPlatform);
    options.now = *at;
  }
  if (options.allow_simulated && options.sim_root_pem.empty()) {
    return ThrowInvalid(env, "allowSimulated needs the platform's sim root: simRoot (PEM or path)");
  }
  return Queue(
      env, "crypta.verifyReceipt", Phase::kVerify,
      [bundle = std::move(bundle), options]() -> Result<json> {
        if (bundle.size() > client::kMaxReceiptBundleBytes) {
          return MakeError(ErrorCode::kInvalidArgument, "receipt bundle: larger than 192 MiB");
        }
        Result<client::VerifiedReceipt> v =
            client::VerifyReceiptBundle(AsStringView(bundle), options);
        if (!v) {
          // Every refusal is a VerificationError (kVerify makes kResourceExhausted
          // "unavailable": a bundle past a cap is not that).
          if (v.error().code() == ErrorCode::kResourceExhausted) {
            return MakeError(ErrorCode::kInvalidArgument, v.error().message());
          }
          return MakeError(v.error());
        }
        return v->ToJson();
      },
      [](napi_env env, json& j) { return JsonToJs(env, j); });
}

// ---------------------------------------------------------------------------------------------
// Platform: the control plane's admin API and model/data sealing (client/platform.h).

struct PlatformHolder {
  std::shared_ptr<const api::ApiClient> api;
};

// new Platform(url, token, caPath)
napi_value PlatformConstruct(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  std::string url, token, ca;
  if (!GetString(env, a.argv[0], "url", &url) || !GetString(env, a.argv[1], "token", &token)) {
    return nullptr;
  }
  if (!IsNullish(env, a.argv[2]) && !GetString(env, a.argv[2], "ca", &ca)) return nullptr;
  Result<api::ApiClient> client = api::ApiClient::Create(url, token, ca);
  if (!client) return ThrowError(env, client.error(), Phase::kPlatform);
  auto* h = new PlatformHolder{std::make_shared<const api::ApiClient>(std::move(*client))};
  if (!WrapNew(env, a.self, h)) return nullptr;
  return a.self;
}

napi_value PlatformUrl(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  PlatformHolder* h = Unwrap<PlatformHolder>(env, a.self, "platform");
  if (h == nullptr) return nullptr;
  return String(env, h->api->base_url());
}

// request(method, path, body: string|undefined) -> Promise<object>
napi_value PlatformRequest(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  PlatformHolder* h = Unwrap<PlatformHolder>(env, a.self, "platform");
  if (h == nullptr) return nullptr;
  std::string method, path, body;
  if (!GetString(env, a.argv[0], "method", &method) || !GetString(env, a.argv[1], "path", &path)) {
    return nullptr;
  }
  if (!IsNullish(env, a.argv[2]) && !GetString(env, a.argv[2], "body", &body)) return nullptr;
  if (method != "GET" && method != "POST" && method != "PUT" && method != "DELETE") {
    return ThrowInvalid(env, "method: want GET, POST, PUT or DELETE");
  }
  if (path.empty() || path[0] != '/') return ThrowInvalid(env, "path: must start with '/'");
  return Queue(
      env, "crypta.platform.request", Phase::kPlatform,
      [api = h->api, method = std::move(method), path = std::move(path),
       body = std::move(body)]() -> Result<json> {
        if (method == "GET") return api->Get(path);
        if (method == "DELETE") return api->Delete(path);
        if (method == "PUT") return api->Put(path, body, "application/json");
        CRYPTA_ASSIGN_OR_RETURN(json parsed, ParseJsonStrict(body.empty() ? "{}" : body));
        return api->Post(path, parsed);
      },
      [](napi_env env, json& j) { return JsonToJs(env, j); });
}

// pushModel({tenant, key, name, file, tees, rotateDays, tmpDir, backend, signatureJson,
//            modelChecker}) ->
//   Promise<{reference, size, kekVersion, record}>
napi_value PlatformPushModel(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  PlatformHolder* h = Unwrap<PlatformHolder>(env, a.self, "platform");
  if (h == nullptr) return nullptr;
  napi_value o = a.argv[0];
  if (TypeOf(env, o) != napi_object) return ThrowInvalid(env, "request: want an object");
  client::PushModelRequest r;
  if (!GetString(env, Prop(env, o, "tenant"), "tenant", &r.tenant) ||
      !GetString(env, Prop(env, o, "key"), "key", &r.key) ||
      !GetString(env, Prop(env, o, "name"), "name", &r.name) ||
      !GetString(env, Prop(env, o, "file"), "file", &r.file) ||
      !OptStringList(env, o, "tees", &r.tees) ||
      !OptInteger(env, o, "rotateDays", 0, 36500, &r.rotate_days) ||
      !OptString(env, o, "tmpDir", &r.tmp_dir) || !OptString(env, o, "backend", &r.backend) ||
      !OptString(env, o, "signatureJson", &r.signature_json) ||
      !OptString(env, o, "modelChecker", &r.model_checker)) {
    return nullptr;
  }
  return Queue(
      env, "crypta.platform.pushModel", Phase::kPlatform,
      [api = h->api, r = std::move(r)]() { return client::PushModel(*api, r); },
      [](napi_env env, client::PushedModel& p) -> napi_value {
        napi_value out = nullptr, size = nullptr, version = nullptr;
        NAPI_OK(napi_create_object(env, &out));
        NAPI_OK(napi_create_double(env, static_cast<double>(p.size), &size));
        NAPI_OK(napi_create_uint32(env, p.kek_version, &version));
        napi_value record = JsonToJs(env, p.record);
        if (record == nullptr) return nullptr;
        NAPI_OK(napi_set_named_property(env, out, "reference", String(env, p.reference)));
        NAPI_OK(napi_set_named_property(env, out, "size", size));
        NAPI_OK(napi_set_named_property(env, out, "kekVersion", version));
        NAPI_OK(napi_set_named_property(env, out, "record", record));
        return out;
      });
}

// sealData(tenant, key, data, objectId) -> Promise<{blob: Buffer, objectId}>
napi_value PlatformSealData(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  PlatformHolder* h = Unwrap<PlatformHolder>(env, a.self, "platform");
  if (h == nullptr) return nullptr;
  std::string tenant, key, object_id;
  Bytes data;
  if (!GetString(env, a.argv[0], "tenant", &tenant) || !GetString(env, a.argv[1], "key", &key) ||
      !GetBytes(env, a.argv[2], "data", &data)) {
    return nullptr;
  }
  if (!IsNullish(env, a.argv[3]) && !GetString(env, a.argv[3], "objectId", &object_id)) {
    return nullptr;
  }
  return Queue(
      env, "crypta.platform.sealData", Phase::kPlatform,
      [api = h->api, tenant = std::move(tenant), key = std::move(key), data = std::move(data),
       object_id = std::move(object_id)]() {
        return client::SealDataForWorkload(*api, tenant, key, data, object_id);
      },
      [](napi_env env, client::SealedData& s) -> napi_value {
        napi_value out = nullptr;
        NAPI_OK(napi_create_object(env, &out));
        napi_value blob = ToBuffer(env, std::move(s.blob));
        if (blob == nullptr) return nullptr;
        NAPI_OK(napi_set_named_property(env, out, "blob", blob));
        NAPI_OK(napi_set_named_property(env, out, "objectId", String(env, s.object_id)));
        return out;
      });
}

// ---------------------------------------------------------------------------------------------
// TeeEnvironment: inside a TEE, secrets by attestation (client/tee_environment.h). Not
// thread-safe in C++, so calls are serialized here.

struct TeeBox {
  std::mutex mu;
  std::unique_ptr<client::TeeEnvironment> env;
};
struct TeeHolder {
  std::shared_ptr<TeeBox> box;
};

// new TeeEnvironment({brokerUrl, brokerCaPath, tee, simSocket, maxModelBytes})
napi_value TeeConstruct(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  napi_value o = a.argv[0];
  if (!IsNullish(env, o) && TypeOf(env, o) != napi_object) {
    return ThrowInvalid(env, "options: want an object");
  }
  client::TeeEnvironmentOptions options;
  int64_t max_bytes = static_cast<int64_t>(options.max_model_bytes);
  if (!OptString(env, o, "brokerUrl", &options.broker_url) ||
      !OptString(env, o, "brokerCaPath", &options.broker_ca_path) ||
      !OptString(env, o, "tee", &options.tee) ||
      !OptString(env, o, "simSocket", &options.sim_socket) ||
      !OptString(env, o, "gpuEvidence", &options.gpu_evidence) ||
      !OptInteger(env, o, "maxModelBytes", 1, int64_t{1} << 50, &max_bytes)) {
    return nullptr;
  }
  options.max_model_bytes = static_cast<uint64_t>(max_bytes);
  Result<std::unique_ptr<client::TeeEnvironment>> created = client::TeeEnvironment::Create(options);
  if (!created) return ThrowError(env, created.error(), Phase::kTee);
  auto box = std::make_shared<TeeBox>();
  box->env = std::move(*created);
  if (!WrapNew(env, a.self, new TeeHolder{std::move(box)})) return nullptr;
  return a.self;
}

// info() -> {tee, simulated, earToken}
napi_value TeeInfo(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  TeeHolder* h = Unwrap<TeeHolder>(env, a.self, "TEE environment");
  if (h == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(h->box->mu);
  napi_value out = nullptr, simulated = nullptr;
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_get_boolean(env, h->box->env->simulated(), &simulated));
  NAPI_OK(napi_set_named_property(env, out, "tee", String(env, h->box->env->tee())));
  NAPI_OK(napi_set_named_property(env, out, "simulated", simulated));
  NAPI_OK(napi_set_named_property(env, out, "earToken", String(env, h->box->env->ear_token())));
  return out;
}

// loadModel(reference) -> Promise<{model: Buffer, metadata}>
napi_value TeeLoadModel(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  TeeHolder* h = Unwrap<TeeHolder>(env, a.self, "TEE environment");
  if (h == nullptr) return nullptr;
  std::string reference;
  if (!GetString(env, a.argv[0], "reference", &reference)) return nullptr;
  return Queue(
      env, "crypta.tee.loadModel", Phase::kTee,
      [box = h->box, reference = std::move(reference)]() {
        std::lock_guard<std::mutex> lock(box->mu);
        return box->env->LoadModel(reference);
      },
      [](napi_env env, runtime::BootedModel& m) -> napi_value {
        napi_value out = nullptr;
        NAPI_OK(napi_create_object(env, &out));
        // The plaintext leaves the wiped SecretBytes here: JavaScript memory is not wiped.
        const ByteSpan plain = m.plaintext.Reveal();
        napi_value model = ToBuffer(env, Bytes(plain.begin(), plain.end()));
        napi_value metadata = JsonToJs(env, m.metadata);
        if (model == nullptr || metadata == nullptr) return nullptr;
        NAPI_OK(napi_set_named_property(env, out, "model", model));
        NAPI_OK(napi_set_named_property(env, out, "metadata", metadata));
        return out;
      });
}

// decryptData(blob, objectId) -> Promise<Buffer>
napi_value TeeDecryptData(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  TeeHolder* h = Unwrap<TeeHolder>(env, a.self, "TEE environment");
  if (h == nullptr) return nullptr;
  Bytes blob;
  std::string object_id;
  if (!GetBytes(env, a.argv[0], "blob", &blob) ||
      !GetString(env, a.argv[1], "objectId", &object_id)) {
    return nullptr;
  }
  return Queue(
      env, "crypta.tee.decryptData", Phase::kTee,
      [box = h->box, blob = std::move(blob), object_id = std::move(object_id)]() {
        std::lock_guard<std::mutex> lock(box->mu);
        return box->env->DecryptData(blob, object_id);
      },
      [](napi_env env, Bytes& b) { return ToBuffer(env, std::move(b)); });
}

// encryptData(data, like, objectId) -> Promise<Buffer>
napi_value TeeEncryptData(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  TeeHolder* h = Unwrap<TeeHolder>(env, a.self, "TEE environment");
  if (h == nullptr) return nullptr;
  Bytes data, like;
  std::string object_id;
  if (!GetBytes(env, a.argv[0], "data", &data) || !GetBytes(env, a.argv[1], "like", &like) ||
      !GetString(env, a.argv[2], "objectId", &object_id)) {
    return nullptr;
  }
  return Queue(
      env, "crypta.tee.encryptData", Phase::kTee,
      [box = h->box, data = std::move(data), like = std::move(like),
       object_id = std::move(object_id)]() {
        std::lock_guard<std::mutex> lock(box->mu);
        return box->env->EncryptData(data, like, object_id);
      },
      [](napi_env env, Bytes& b) { return ToBuffer(env, std::move(b)); });
}

// ---------------------------------------------------------------------------------------------
// Module.

// setErrorClasses({role: class}): the classes errors are raised as (js/index.js).
napi_value SetErrorClasses(napi_env env, napi_callback_info info) {
  Args a;
  if (!GetArgs(env, info, &a)) return nullptr;
  if (TypeOf(env, a.argv[0]) != napi_object) return ThrowInvalid(env, "want {role: class}");
  AddonData* data = Data(env);
  if (data->error_classes != nullptr) napi_delete_reference(env, data->error_classes);
  data->error_classes = nullptr;
  NAPI_OK(napi_create_reference(env, a.argv[0], 1, &data->error_classes));
  return Undefined(env);
}

// A C++ exception must not cross into Node: it becomes a CryptaError.
template <napi_value (*F)(napi_env, napi_callback_info)>
napi_value Guarded(napi_env env, napi_callback_info info) {
  try {
    return F(env, info);
  } catch (const std::exception& e) {
    return Throw(
        env, MakeJsError(env, "error", "INTERNAL", std::string("unexpected failure: ") + e.what()));
  }
}

napi_property_descriptor Method(const char* name, napi_callback cb,
                                napi_property_attributes attributes = napi_default) {
  return napi_property_descriptor{name,    nullptr, cb,         nullptr,
                                  nullptr, nullptr, attributes, nullptr};
}

napi_value DefineClass(napi_env env, napi_value exports, const char* name, napi_callback ctor,
                       const std::vector<napi_property_descriptor>& methods, napi_ref* ref) {
  napi_value cls = nullptr;
  NAPI_OK(napi_define_class(env, name, NAPI_AUTO_LENGTH, ctor, nullptr, methods.size(),
                            methods.data(), &cls));
  NAPI_OK(napi_set_named_property(env, exports, name, cls));
  if (ref != nullptr) NAPI_OK(napi_create_reference(env, cls, 1, ref));
  return cls;
}

napi_value Init(napi_env env, napi_value exports) {
  auto* data = new AddonData();
  if (napi_set_instance_data(
          env, data,
          [](napi_env env, void* p, void*) {
            auto* d = static_cast<AddonData*>(p);
            for (napi_ref r :
                 {d->error_classes, d->service_ctor, d->request_ctor, d->stream_ctor}) {
              if (r != nullptr) napi_delete_reference(env, r);
            }
            delete d;
          },
          nullptr) != napi_ok) {
    delete data;
    return ThrowNapi(env);
  }
  if (DefineClass(
          env, exports, "NativeService", Guarded<ServiceConstruct>,
          {Method("info", Guarded<ServiceInfo>), Method("predict", Guarded<ServicePredict>),
           Method("inferJson", Guarded<ServiceInferJson>),
           Method("metadata", Guarded<ServiceMetadata>), Method("encrypt", Guarded<ServiceEncrypt>),
           Method("send", Guarded<ServiceSend>), Method("generate", Guarded<ServiceGenerate>),
           Method("generateStream", Guarded<ServiceGenerateStream>)},
          &data->service_ctor) == nullptr ||
      DefineClass(env, exports, "NativeGenerationStream", Guarded<StreamConstruct>,
                  {Method("next", Guarded<StreamNext>), Method("close", Guarded<StreamClose>),
                   Method("receipt", Guarded<StreamReceipt>)},
                  &data->stream_ctor) == nullptr ||
      DefineClass(env, exports, "NativeEncryptedRequest", Guarded<RequestConstruct>,
                  {Method("decrypt", Guarded<RequestDecrypt>)}, &data->request_ctor) == nullptr ||
      DefineClass(env, exports, "NativePlatform", Guarded<PlatformConstruct>,
                  {Method("url", Guarded<PlatformUrl>), Method("request", Guarded<PlatformRequest>),
                   Method("pushModel", Guarded<PlatformPushModel>),
                   Method("sealData", Guarded<PlatformSealData>)},
                  nullptr) == nullptr ||
      DefineClass(env, exports, "NativeTeeEnvironment", Guarded<TeeConstruct>,
                  {Method("info", Guarded<TeeInfo>), Method("loadModel", Guarded<TeeLoadModel>),
                   Method("decryptData", Guarded<TeeDecryptData>),
                   Method("encryptData", Guarded<TeeEncryptData>)},
                  nullptr) == nullptr) {
    return nullptr;
  }
  napi_property_descriptor functions[] = {
      Method("verifyService", Guarded<VerifyServiceJs>, napi_enumerable),
      Method("setErrorClasses", Guarded<SetErrorClasses>, napi_enumerable),
      Method("verifyReceipt", Guarded<VerifyReceiptJs>, napi_enumerable),
  };
  NAPI_OK(napi_define_properties(env, exports, 3, functions));
  return exports;
}

}  // namespace
}  // namespace crypta::js

NAPI_MODULE_INIT() { return crypta::js::Init(env, exports); }
