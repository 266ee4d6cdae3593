// NumPy .npy files (format versions 1.0, 2.0 and 3.0) <-> Tensor.
//
// Spec: numpy/lib/format.py ("NPY format"): magic "\x93NUMPY", major, minor, a little-endian
// header length (2 bytes in 1.0, 4 bytes in 2.0/3.0), an ASCII Python dict literal
// {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded with spaces and '\n', then
// the raw data.
// Supported descr: '<f4' FP32, '<f8' FP64, '<i8' INT64, '<i4' INT32, '|u1' UINT8, '|b1' BOOL
// ('<'/'|' and '=' are accepted where they mean little-endian or byte-sized). C order only.
// Pure functions, thread-safe, never throw.
#ifndef CRYPTA_INFER_NPY_H_
#define CRYPTA_INFER_NPY_H_

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/status.h"
#include "infer/model_runner.h"

namespace crypta::infer {

inline constexpr size_t kMaxNpyHeaderBytes = 64 * 1024;
inline constexpr uint64_t kMaxNpyElements = uint64_t{1} << 28;

// Parses a whole .npy file into a tensor named `name`. kInvalidArgument (naming the header
// field) for a bad magic/version/header, an unsupported descr (e.g. big-endian '>f4'),
// Fortran order, a shape over kMaxNpyElements, data shorter or longer than the shape needs,
// or BOOL bytes other than 0/1.
Result<Tensor> ParseNpy(ByteSpan file, std::string name);

// Encodes a tensor as a version 1.0 .npy file (header padded to a 64-byte boundary).
// The tensor must be well-formed (data size matching the shape).
Bytes EncodeNpy(const Tensor& t);

}  // namespace crypta::infer

#endif  // CRYPTA_INFER_NPY_H_
