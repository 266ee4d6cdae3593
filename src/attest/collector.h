// Attesters: collect evidence inside a TEE for 64 bytes of report_data.
//
//   ConfigfsTsmAttester  Linux configfs-tsm (/sys/kernel/config/tsm/report; SNP and TDX
//                        guests; Documentation/ABI/testing/configfs-tsm)
//   SevGuestAttester     /dev/sev-guest SNP_GET_REPORT / SNP_GET_EXT_REPORT (Linux
//                        include/uapi/linux/sev-guest.h)
//   TdxGuestAttester     /dev/tdx_guest TDREPORT, quoted by the host's QGS over vsock
//   GramineAttester      Gramine's /dev/attestation pseudo-files (SGX)
//   SimAttester          the sim TEE's report socket (CRYPTA_SIM_SOCKET)
// DetectAttester picks the first that exists. Every path is relative to a root so tests
// run against fake directory trees.
#ifndef CRYPTA_ATTEST_COLLECTOR_H_
#define CRYPTA_ATTEST_COLLECTOR_H_

#include <functional>
#include <memory>
#include <string>

#include "attest/evidence.h"

namespace crypta::attest {

class Attester {
 public:
  virtual ~Attester() = default;
  virtual std::string name() const = 0;
  // report_data up to 64 bytes (zero-padded).
  virtual Result<Evidence> Collect(ByteSpan report_data) = 0;
};

class ConfigfsTsmAttester : public Attester {
 public:
  // `entry_name` empty = a fresh random entry per Collect (the normal case).
  explicit ConfigfsTsmAttester(std::string report_dir = "/sys/kernel/config/tsm/report",
                               std::string entry_name = "")
      : dir_(std::move(report_dir)), entry_name_(std::move(entry_name)) {}
  std::string name() const override { return "configfs-tsm"; }
  Result<Evidence> Collect(ByteSpan report_data) override;

 private:
  std::string dir_;
  std::string entry_name_;
};

// The ioctl is injected: Ioctl(request, argument) returns 0 or -errno.
class SevGuestAttester : public Attester {
 public:
  using Ioctl = std::function<int(unsigned long request, void* arg)>;
  SevGuestAttester(std::string device, Ioctl ioctl_fn)
      : device_(std::move(device)), ioctl_(std::move(ioctl_fn)) {}
  // Opens the device and uses the real ioctl.
  static Result<std::unique_ptr<SevGuestAttester>> Open(
      const std::string& device = "/dev/sev-guest");
  ~SevGuestAttester() override;
  std::string name() const override { return "sev-guest"; }
  Result<Evidence> Collect(ByteSpan report_data) override;

 private:
  std::string device_;
  Ioctl ioctl_;
  int fd_ = -1;
};

// /dev/tdx_guest: TDX_CMD_GET_REPORT0 gives the TDREPORT (linux/tdx-guest.h); a TDREPORT
// is only MAC'd for this platform, so it is turned into a quote by the host's Quote
// Generation Service (QGS), which `qgs` reaches (normally vsock CID 2, port 4050). Both
// are injected so tests run without TDX hardware.
class TdxGuestAttester : public Attester {
 public:
  using Ioctl = std::function<int(unsigned long request, void* arg)>;
  // Sends one framed QGS request, returns the framed response.
  using QgsTransport = std::function<Result<Bytes>(ByteSpan request)>;
  TdxGuestAttester(Ioctl ioctl_fn, QgsTransport qgs)
      : ioctl_(std::move(ioctl_fn)), qgs_(std::move(qgs)) {}
  std::string name() const override { return "tdx-guest"; }
  Result<Evidence> Collect(ByteSpan report_data) override;

  // The QGS GET_QUOTE_REQ message for a TDREPORT, and parsing of GET_QUOTE_RESP (both
  // with the 4-byte big-endian length prefix used on the QGS socket).
  static Bytes EncodeQgsGetQuote(ByteSpan tdreport);
  static Result<Bytes> ParseQgsQuoteResponse(ByteSpan framed);

 private:
  Ioctl ioctl_;
  QgsTransport qgs_;
};

class GramineAttester : public Attester {
 public:
  explicit GramineAttester(std::string dir = "/dev/attestation") : dir_(std::move(dir)) {}
  std::string name() const override { return "gramine"; }
  Result<Evidence> Collect(ByteSpan report_data) override;

 private:
  std::string dir_;
};

class SimAttester : public Attester {
 public:
  explicit SimAttester(std::string socket_path) : socket_(std::move(socket_path)) {}
  std::string name() const override { return "sim"; }
  Result<Evidence> Collect(ByteSpan report_data) override;

 private:
  std::string socket_;
};

// Looks, under `root` ("/" normally), for configfs-tsm, /dev/sev-guest, /dev/tdx_guest,
// /dev/attestation,
// then the sim socket named by `sim_socket` (CRYPTA_SIM_SOCKET). Fails naming what it
// looked for when none exists.
Result<std::unique_ptr<Attester>> DetectAttester(const std::string& root,
                                                 const std::string& sim_socket);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_COLLECTOR_H_
