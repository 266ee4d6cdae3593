#include "attest/gpu_collector.h"

#include <dlfcn.h>

#include <cstring>
#include <vector>

#include "attest/nvidia/report.h"
#include "attest/sim/sim_socket.h"

namespace crypta::attest {
namespace {

// NVML's confidential-computing structures (nvml.h, R535 and later), declared here so that
// NVML is never a build dependency. Sizes as nvml.h defines them.
struct NvmlGpuCertificate {
  unsigned int cert_chain_size;
  unsigned int attestation_cert_chain_size;
  unsigned char cert_chain[0x1000];
  unsigned char attestation_cert_chain[0x1400];
};
struct NvmlGpuAttestationReport {
  unsigned int is_cec_report_present;
  unsigned int attestation_report_size;
  unsigned int cec_attestation_report_size;
  unsigned char nonce[0x20];
  unsigned char attestation_report[0x2000];
  unsigned char cec_attestation_report[0x1000];
};
using NvmlDevice = void*;
using NvmlReturn = int;  // 0 = NVML_SUCCESS

class NvmlGpuAttester : public GpuAttester {
 public:
  ~NvmlGpuAttester() override {
    if (shutdown_ != nullptr) shutdown_();
    if (lib_ != nullptr) ::dlclose(lib_);
  }
  std::string name() const override { return "nvml"; }

  static Result<std::unique_ptr<GpuAttester>> Open(const std::string& library) {
    auto self = std::unique_ptr<NvmlGpuAttester>(new NvmlGpuAttester());
    self->lib_ = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (self->lib_ == nullptr) {
      const char* why = ::dlerror();
      return MakeError(ErrorCode::kUnavailable,
                       "GPU attestation: cannot load NVIDIA's NVML (" + library +
                           "): " + (why ? why : "unknown error") +
                           "; install the NVIDIA driver (R535 or later) inside the "
                           "confidential VM");
    }
    const char* missing = nullptr;
    auto sym = [&](const char* name) {
      void* p = ::dlsym(self->lib_, name);
      if (p == nullptr && missing == nullptr) missing = name;
      return p;
    };
    auto init = reinterpret_cast<NvmlReturn (*)()>(sym("nvmlInit_v2"));
    self->shutdown_ = reinterpret_cast<NvmlReturn (*)()>(sym("nvmlShutdown"));
    self->error_string_ = reinterpret_cast<const char* (*)(NvmlReturn)>(sym("nvmlErrorString"));
    self->count_ = reinterpret_cast<NvmlReturn (*)(unsigned*)>(sym("nvmlDeviceGetCount_v2"));
    self->handle_ = reinterpret_cast<NvmlReturn (*)(unsigned, NvmlDevice*)>(
        sym("nvmlDeviceGetHandleByIndex_v2"));
    self->uuid_ =
        reinterpret_cast<NvmlReturn (*)(NvmlDevice, char*, unsigned)>(sym("nvmlDeviceGetUUID"));
    self->report_ = reinterpret_cast<NvmlReturn (*)(NvmlDevice, NvmlGpuAttestationReport*)>(
        sym("nvmlDeviceGetConfComputeGpuAttestationReport"));
    self->certificate_ = reinterpret_cast<NvmlReturn (*)(NvmlDevice, NvmlGpuCertificate*)>(
        sym("nvmlDeviceGetConfComputeGpuCertificate"));
    if (missing != nullptr) {
      self->shutdown_ = nullptr;
      return MakeError(ErrorCode::kUnavailable,
                       std::string("GPU attestation: ") + library + " lacks " + missing +
                           " (an NVIDIA driver with confidential computing, R535 or later, "
                           "is needed)");
    }
    if (NvmlReturn r = init(); r != 0) {
      self->shutdown_ = nullptr;
      return MakeError(ErrorCode::kUnavailable,
                       "GPU attestation: nvmlInit failed: " + self->Describe(r));
    }
    return std::unique_ptr<GpuAttester>(std::move(self));
  }

  Result<Bytes> Collect(ByteSpan nonce) override {
    if (nonce.size() != kGpuNonceSize) {
      return MakeError(ErrorCode::kInvalidArgument, "GPU attestation: the nonce is 32 bytes");
    }
    unsigned count = 0;
    if (NvmlReturn r = count_(&count); r != 0) {
      return MakeError(ErrorCode::kUnavailable, "GPU attestation: listing GPUs: " + Describe(r));
    }
    if (count == 0) return MakeError(ErrorCode::kNotFound, "GPU attestation: no GPU is visible");
    if (count > nvidia::kMaxGpuDevices) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "GPU attestation: more than " + std::to_string(nvidia::kMaxGpuDevices) + " GPUs");
    }
    std::vector<nvidia::GpuDeviceEvidence> devices;
    for (unsigned i = 0; i < count; ++i) {
      const std::string which = "GPU " + std::to_string(i);
      NvmlDevice device = nullptr;
      if (NvmlReturn r = handle_(i, &device); r != 0) {
        return MakeError(ErrorCode::kUnavailable, "GPU attestation: " + which + ": " + Describe(r));
      }
      // Large (12 KiB and 9 KiB) structures: on the heap.
      auto report = std::make_unique<NvmlGpuAttestationReport>();
      std::memset(report.get(), 0, sizeof(*report));
      std::memcpy(report->nonce, nonce.data(), kGpuNonceSize);
      if (NvmlReturn r = report_(device, report.get()); r != 0) {
        return MakeError(ErrorCode::kUnavailable, "GPU attestation: " + which +
                                                      ": attestation report: " + Describe(r) +
                                                      " (is CC mode on?)");
      }
      auto cert = std::make_unique<NvmlGpuCertificate>();
      std::memset(cert.get(), 0, sizeof(*cert));
      if (NvmlReturn r = certificate_(device, cert.get()); r != 0) {
        return MakeError(ErrorCode::kUnavailable,
                         "GPU attestation: " + which + ": certificate chain: " + Describe(r));
      }
      if (report->attestation_report_size == 0 ||
          report->attestation_report_size > sizeof(report->attestation_report) ||
          cert->attestation_cert_chain_size == 0 ||
          cert->attestation_cert_chain_size > sizeof(cert->attestation_cert_chain)) {
        return MakeError(ErrorCode::kInvalidArgument, "GPU attestation: " + which +
                                                          ": NVML returned an empty or oversize "
                                                          "report or certificate chain");
      }
      nvidia::GpuDeviceEvidence d;
      d.report.assign(report->attestation_report,
                      report->attestation_report + report->attestation_report_size);
      // The attestation chain is PEM text, leaf (the GSP FMC key) first.
      d.certificate_chain_pem.assign(reinterpret_cast<const char*>(cert->attestation_cert_chain),
                                     cert->attestation_cert_chain_size);
      d.arch = "hopper";
      char uuid[96] = {0};
      if (uuid_(device, uuid, sizeof(uuid) - 1) == 0) d.uuid = uuid;
      devices.push_back(std::move(d));
    }
    return nvidia::EncodeGpuEvidence(devices);
  }

 private:
  NvmlGpuAttester() = default;
  std::string Describe(NvmlReturn r) const {
    const char* s = error_string_ ? error_string_(r) : nullptr;
    return (s ? std::string(s) : "NVML error") + " (" + std::to_string(r) + ")";
  }

  void* lib_ = nullptr;
  NvmlReturn (*shutdown_)() = nullptr;
  const char* (*error_string_)(NvmlReturn) = nullptr;
  NvmlReturn (*count_)(unsigned*) = nullptr;
  NvmlReturn (*handle_)(unsigned, NvmlDevice*) = nullptr;
  NvmlReturn (*uuid_)(NvmlDevice, char*, unsigned) = nullptr;
  NvmlReturn (*report_)(NvmlDevice, NvmlGpuAttestationReport*) = nullptr;
  NvmlReturn (*certificate_)(NvmlDevice, NvmlGpuCertificate*) = nullptr;
};

class SimGpuAttester : public GpuAttester {
 public:
  explicit SimGpuAttester(std::string socket) : socket_(std::move(socket)) {}
  std::string name() const override { return "sim"; }
  Result<Bytes> Collect(ByteSpan nonce) override {
    if (nonce.size() != kGpuNonceSize) {
      return MakeError(ErrorCode::kInvalidArgument, "GPU attestation: the nonce is 32 bytes");
    }
    return RequestSimGpuEvidence(socket_, nonce);
  }

 private:
  std::string socket_;
};

}  // namespace

Result<std::unique_ptr<GpuAttester>> OpenNvmlGpuAttester(const std::string& library) {
  return NvmlGpuAttester::Open(library);
}

Result<std::unique_ptr<GpuAttester>> OpenSimGpuAttester(const std::string& socket_path) {
  if (socket_path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "GPU attestation: sim GPUs need the sim TEE's socket ($CRYPTA_SIM_SOCKET)");
  }
  return std::unique_ptr<GpuAttester>(std::make_unique<SimGpuAttester>(socket_path));
}

Result<std::unique_ptr<GpuAttester>> OpenGpuAttester(const std::string& kind,
                                                     const std::string& sim_socket) {
  if (kind == "none") return std::unique_ptr<GpuAttester>();
  if (kind == "nvml") return OpenNvmlGpuAttester();
  if (kind == "sim") return OpenSimGpuAttester(sim_socket);
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown GPU evidence source \"" + kind + "\" (want none, nvml or sim)");
}

}  // namespace crypta::attest
