#include "attest/collector.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "attest/sim/sim_socket.h"
#include "attest/snp/cert_table.h"
#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "crypto/random.h"

namespace crypta::attest {
namespace {

namespace fs = std::filesystem;
constexpr size_t kMaxBlob = 1 << 20;

Bytes Pad64(ByteSpan report_data) {
  Bytes rd(report_data.begin(), report_data.end());
  rd.resize(64, 0);
  return rd;
}

Status CheckReportDataSize(ByteSpan report_data) {
  if (report_data.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "report_data longer than 64 bytes");
  }
  return OkStatus();
}

Status WriteExisting(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::in | std::ios::out | std::ios::trunc);
  if (!out)
    return MakeError(ErrorCode::kUnavailable, "cannot write " + path + ": " + std::strerror(errno));
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out.flush()) return MakeError(ErrorCode::kUnavailable, "write to " + path + " failed");
  return OkStatus();
}

Result<std::string> ReadTrimmed(const std::string& path) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes b, ReadFileBytes(path, 4096));
  std::string s = ToString(b);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

// Linux include/uapi/linux/sev-guest.h.
struct SnpReportReq {
  uint8_t user_data[64];
  uint32_t vmpl;
  uint8_t rsvd[28];
};
struct SnpReportResp {
  uint8_t data[4000];
};
struct SnpGuestRequestIoctl {
  uint8_t msg_version;
  uint64_t req_data;
  uint64_t resp_data;
  uint64_t exitinfo2;
};
struct SnpExtReportReq {
  SnpReportReq data;
  uint64_t certs_address;
  uint32_t certs_len;
};
constexpr unsigned long kSnpGetReport = _IOWR('S', 0x0, SnpGuestRequestIoctl);
constexpr unsigned long kSnpGetExtReport = _IOWR('S', 0x2, SnpGuestRequestIoctl);
constexpr size_t kSnpCertsBufferSize = 4 * 4096;  // page multiple, as the driver requires

// Linux include/uapi/linux/tdx-guest.h.
struct TdxReportReq {
  uint8_t reportdata[64];
  uint8_t tdreport[1024];
};
constexpr unsigned long kTdxGetReport0 = _IOWR('T', 1, TdxReportReq);

// Intel QGS message header (qgs_msg_lib): major 1, minor 0, type, size, error code.
constexpr uint32_t kQgsGetQuoteReq = 0;
constexpr uint32_t kQgsGetQuoteResp = 1;
constexpr size_t kQgsHeaderSize = 16;

}  // namespace

Result<Evidence> ConfigfsTsmAttester::Collect(ByteSpan report_data) {
  CRYPTA_RETURN_IF_ERROR(CheckReportDataSize(report_data));
  std::string entry = dir_ + "/" + entry_name_;
  if (entry_name_.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes suffix, RandomBytes(8));
    entry = dir_ + "/crypta-" + HexEncode(suffix);
  }
  if (::mkdir(entry.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kUnavailable,
                     "configfs-tsm: cannot create " + entry + ": " + std::strerror(errno));
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() { ::rmdir(path.c_str()); }
  } cleanup{entry};
  // Documentation/ABI/testing/configfs-tsm: write inblob, read outblob; the generation
  // counter detects another writer racing us between the two.
  CRYPTA_RETURN_IF_ERROR(WriteExisting(entry + "/inblob", Pad64(report_data)));
  CRYPTA_ASSIGN_OR_RETURN(std::string gen_before, ReadTrimmed(entry + "/generation"));
  CRYPTA_ASSIGN_OR_RETURN(Bytes outblob, ReadFileBytes(entry + "/outblob", kMaxBlob));
  CRYPTA_ASSIGN_OR_RETURN(std::string gen_after, ReadTrimmed(entry + "/generation"));
  if (gen_before != gen_after) {
    return MakeError(ErrorCode::kUnavailable,
                     "configfs-tsm: report changed while reading (concurrent writer)");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string provider, ReadTrimmed(entry + "/provider"));
  Evidence ev;
  if (provider == "sev_guest") {
    ev.tee = TeeType::kSevSnp;
    if (fs::exists(entry + "/auxblob")) {
      CRYPTA_ASSIGN_OR_RETURN(Bytes aux, ReadFileBytes(entry + "/auxblob", kMaxBlob));
      // The host's certificate table: the VCEK (or VLEK) the report needs.
      if (!aux.empty()) CRYPTA_RETURN_IF_ERROR(snp::AddSnpCertTable(aux, &ev.collateral));
    }
  } else if (provider == "tdx_guest") {
    ev.tee = TeeType::kTdx;
  } else {
    return MakeError(ErrorCode::kUnimplemented,
                     "configfs-tsm: unknown provider \"" + provider + "\"");
  }
  ev.raw = std::move(outblob);
  return ev;
}

Result<std::unique_ptr<SevGuestAttester>> SevGuestAttester::Open(const std::string& device) {
  int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return MakeError(ErrorCode::kUnavailable,
                     "cannot open " + device + ": " + std::strerror(errno));
  auto a = std::make_unique<SevGuestAttester>(device, [fd](unsigned long req, void* arg) {
    return ::ioctl(fd, req, arg) < 0 ? -errno : 0;
  });
  a->fd_ = fd;
  return a;
}

SevGuestAttester::~SevGuestAttester() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Evidence> SevGuestAttester::Collect(ByteSpan report_data) {
  CRYPTA_RETURN_IF_ERROR(CheckReportDataSize(report_data));
  // SNP_GET_EXT_REPORT returns the report and the host's certificate table (the VCEK);
  // hosts that provide no certificates still return the report.
  SnpExtReportReq req{};
  Bytes rd = Pad64(report_data);
  std::memcpy(req.data.user_data, rd.data(), 64);
  Bytes certs(kSnpCertsBufferSize, 0);
  req.certs_address = reinterpret_cast<uint64_t>(certs.data());
  req.certs_len = static_cast<uint32_t>(certs.size());
  SnpReportResp resp{};
  SnpGuestRequestIoctl io{};
  io.msg_version = 1;
  io.req_data = reinterpret_cast<uint64_t>(&req);
  io.resp_data = reinterpret_cast<uint64_t>(&resp);
  int rc = ioctl_(kSnpGetExtReport, &io);
  if (rc != 0) {
    // Hosts that do not serve certificates may refuse the extended request: fall back to
    // the plain report (the verifier then needs the VCEK from collateral or a cache).
    req.certs_len = 0;
    io = SnpGuestRequestIoctl{1, reinterpret_cast<uint64_t>(&req.data),
                              reinterpret_cast<uint64_t>(&resp), 0};
    int plain_rc = ioctl_(kSnpGetReport, &io);
    if (plain_rc != 0) {
      return MakeError(ErrorCode::kUnavailable,
                       device_ + ": SNP_GET_EXT_REPORT failed (" + std::strerror(-rc) +
                           ") and SNP_GET_REPORT failed (" + std::strerror(-plain_rc) +
                           ", exitinfo2 " + std::to_string(io.exitinfo2) + ")");
    }
  }
  // SNP ABI MSG_REPORT_RSP: status u32, report_size u32, reserved[24], report.
  ByteReader r(ByteSpan(resp.data, sizeof(resp.data)));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t status, r.ReadU32LE("MSG_REPORT_RSP.STATUS"));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t size, r.ReadU32LE("MSG_REPORT_RSP.REPORT_SIZE"));
  if (status != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "SNP_GET_EXT_REPORT: firmware status " + std::to_string(status));
  }
  if (size != 1184) {
    return MakeError(ErrorCode::kDataLoss,
                     "SNP_GET_EXT_REPORT: report size " + std::to_string(size) + ", want 1184");
  }
  CRYPTA_RETURN_IF_ERROR(r.Skip(24, "MSG_REPORT_RSP.reserved"));
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan report, r.ReadBytes(size, "MSG_REPORT_RSP.REPORT"));
  Evidence ev{TeeType::kSevSnp, Bytes(report.begin(), report.end()), {}};
  if (req.certs_len > 0 && req.certs_len <= certs.size()) {
    CRYPTA_RETURN_IF_ERROR(
        snp::AddSnpCertTable(ByteSpan(certs).first(req.certs_len), &ev.collateral));
  }
  return ev;
}

Bytes TdxGuestAttester::EncodeQgsGetQuote(ByteSpan tdreport) {
  ByteWriter body;
  auto le32 = [&body](uint32_t v) {
    for (int i = 0; i < 4; ++i) body.WriteU8(static_cast<uint8_t>(v >> (8 * i)));
  };
  const uint32_t size = static_cast<uint32_t>(kQgsHeaderSize + 8 + tdreport.size());
  body.WriteU8(1), body.WriteU8(0), body.WriteU8(0), body.WriteU8(0);  // major 1, minor 0 (u16 LE)
  le32(kQgsGetQuoteReq);
  le32(size);
  le32(0);  // error_code
  le32(static_cast<uint32_t>(tdreport.size()));
  le32(0);  // id_list_size
  body.WriteBytes(tdreport);
  ByteWriter framed;
  framed.WriteU32BE(static_cast<uint32_t>(body.size()));
  framed.WriteBytes(body.bytes());
  return framed.Take();
}

Result<Bytes> TdxGuestAttester::ParseQgsQuoteResponse(ByteSpan framed) {
  ByteReader r(framed);
  CRYPTA_ASSIGN_OR_RETURN(uint32_t len, r.ReadU32BE("QGS frame length"));
  if (len != r.remaining()) {
    return MakeError(ErrorCode::kDataLoss, "QGS response: frame says " + std::to_string(len) +
                                               " bytes, got " + std::to_string(r.remaining()));
  }
  CRYPTA_ASSIGN_OR_RETURN(uint16_t major, r.ReadU16LE("QGS major_version"));
  CRYPTA_RETURN_IF_ERROR(r.Skip(2, "QGS minor_version"));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t type, r.ReadU32LE("QGS type"));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t size, r.ReadU32LE("QGS size"));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t error, r.ReadU32LE("QGS error_code"));
  if (major != 1 || type != kQgsGetQuoteResp || size != len) {
    return MakeError(ErrorCode::kDataLoss, "QGS response: not a version-1 GET_QUOTE_RESP");
  }
  if (error != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "QGS refused the quote: error code " + std::to_string(error));
  }
  CRYPTA_ASSIGN_OR_RETURN(uint32_t id_size, r.ReadU32LE("QGS selected_id_size"));
  CRYPTA_ASSIGN_OR_RETURN(uint32_t quote_size, r.ReadU32LE("QGS quote_size"));
  CRYPTA_RETURN_IF_ERROR(r.Skip(id_size, "QGS selected_id"));
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan quote, r.ReadBytes(quote_size, "QGS quote"));
  CRYPTA_RETURN_IF_ERROR(r.Finish("QGS response"));
  if (quote.empty()) return MakeError(ErrorCode::kUnavailable, "QGS returned an empty quote");
  return Bytes(quote.begin(), quote.end());
}

namespace {

Status SendAll(int fd, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError(ErrorCode::kUnavailable, "QGS: send failed");
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status RecvAll(int fd, MutableByteSpan out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::recv(fd, out.data() + done, out.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError(ErrorCode::kUnavailable, "QGS: connection closed early");
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

// The host's Quote Generation Service over vsock (the TDX guest convention: CID 2, port 4050).
Result<Bytes> VsockQgsRoundTrip(ByteSpan request) {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return MakeError(ErrorCode::kUnavailable,
                     "QGS: no vsock: " + std::string(std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = 2;
  addr.svm_port = 4050;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "QGS: cannot reach vsock 2:4050: " + std::string(std::strerror(errno)));
  }
  CRYPTA_RETURN_IF_ERROR(SendAll(fd, request));
  uint8_t len_be[4];
  CRYPTA_RETURN_IF_ERROR(RecvAll(fd, MutableByteSpan(len_be, 4)));
  uint32_t len = (uint32_t{len_be[0]} << 24) | (uint32_t{len_be[1]} << 16) |
                 (uint32_t{len_be[2]} << 8) | len_be[3];
  if (len > kMaxBlob) return MakeError(ErrorCode::kResourceExhausted, "QGS: response too large");
  Bytes out(4 + len);
  std::memcpy(out.data(), len_be, 4);
  CRYPTA_RETURN_IF_ERROR(RecvAll(fd, MutableByteSpan(out.data() + 4, len)));
  return out;
}

}  // namespace

Result<Evidence> TdxGuestAttester::Collect(ByteSpan report_data) {
  CRYPTA_RETURN_IF_ERROR(CheckReportDataSize(report_data));
  TdxReportReq req{};
  Bytes rd = Pad64(report_data);
  std::memcpy(req.reportdata, rd.data(), 64);
  int rc = ioctl_(kTdxGetReport0, &req);
  if (rc != 0) {
    return MakeError(ErrorCode::kUnavailable, "/dev/tdx_guest: TDX_CMD_GET_REPORT0 failed: " +
                                                  std::string(std::strerror(-rc)));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes response, qgs_(EncodeQgsGetQuote(ByteSpan(req.tdreport, 1024))));
  CRYPTA_ASSIGN_OR_RETURN(Bytes quote, ParseQgsQuoteResponse(response));
  return Evidence{TeeType::kTdx, std::move(quote), {}};
}

Result<Evidence> GramineAttester::Collect(ByteSpan report_data) {
  CRYPTA_RETURN_IF_ERROR(CheckReportDataSize(report_data));
  CRYPTA_RETURN_IF_ERROR(WriteExisting(dir_ + "/user_report_data", Pad64(report_data)));
  CRYPTA_ASSIGN_OR_RETURN(Bytes quote, ReadFileBytes(dir_ + "/quote", kMaxBlob));
  if (quote.empty()) return MakeError(ErrorCode::kUnavailable, "gramine: empty quote");
  return Evidence{TeeType::kSgx, std::move(quote), {}};
}

Result<Evidence> SimAttester::Collect(ByteSpan report_data) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes raw, RequestSimEvidence(socket_, report_data));
  return Evidence{TeeType::kSim, std::move(raw), {}};
}

Result<std::unique_ptr<Attester>> DetectAttester(const std::string& root,
                                                 const std::string& sim_socket) {
  std::string base = root == "/" ? "" : root;
  std::error_code ec;
  if (fs::is_directory(base + "/sys/kernel/config/tsm/report", ec)) {
    return std::unique_ptr<Attester>(
        std::make_unique<ConfigfsTsmAttester>(base + "/sys/kernel/config/tsm/report"));
  }
  if (fs::exists(base + "/dev/sev-guest", ec)) {
    CRYPTA_ASSIGN_OR_RETURN(auto a, SevGuestAttester::Open(base + "/dev/sev-guest"));
    return std::unique_ptr<Attester>(std::move(a));
  }
  if (fs::exists(base + "/dev/tdx_guest", ec)) {
    std::string device = base + "/dev/tdx_guest";
    int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return MakeError(ErrorCode::kUnavailable,
                       "cannot open " + device + ": " + std::strerror(errno));
    // The descriptor lives as long as the process: the attester is used until exit.
    auto ioctl_fn = [fd](unsigned long req, void* arg) {
      return ::ioctl(fd, req, arg) < 0 ? -errno : 0;
    };
    return std::unique_ptr<Attester>(
        std::make_unique<TdxGuestAttester>(ioctl_fn, VsockQgsRoundTrip));
  }
  if (fs::exists(base + "/dev/attestation/quote", ec)) {
    return std::unique_ptr<Attester>(std::make_unique<GramineAttester>(base + "/dev/attestation"));
  }
  if (!sim_socket.empty() && fs::exists(sim_socket, ec)) {
    return std::unique_ptr<Attester>(std::make_unique<SimAttester>(sim_socket));
  }
  return MakeError(ErrorCode::kUnavailable,
                   "no TEE found: looked for configfs-tsm (/sys/kernel/config/tsm/report), "
                   "/dev/sev-guest, Gramine's /dev/attestation and the sim TEE socket "
                   "(CRYPTA_SIM_SOCKET)");
}

}  // namespace crypta::attest
