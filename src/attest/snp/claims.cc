// SnpClaims: the normalized claims of a verified SEV-SNP report (declared in verifier.h).
#include <cstdio>
#include <string>

#include "attest/snp/verifier.h"
#include "common/encoding.h"

namespace crypta::attest::snp {
namespace {

std::string Hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

nlohmann::json PolicyJson(const GuestPolicy& p) {
  return {{"raw", Hex64(p.raw)},
          {"abi_major", p.abi_major},
          {"abi_minor", p.abi_minor},
          {"smt", p.smt},
          {"migrate_ma", p.migrate_ma},
          {"debug", p.debug},
          {"single_socket", p.single_socket},
          {"cxl_allow", p.cxl_allow},
          {"mem_aes_256_xts", p.mem_aes_256_xts},
          {"rapl_dis", p.rapl_dis},
          {"ciphertext_hiding", p.ciphertext_hiding},
          {"page_swap_disable", p.page_swap_disable}};
}

nlohmann::json PlatformInfoJson(const PlatformInfo& p) {
  return {{"raw", Hex64(p.raw)},
          {"smt_en", p.smt_en},
          {"tsme_en", p.tsme_en},
          {"ecc_en", p.ecc_en},
          {"rapl_dis", p.rapl_dis},
          {"ciphertext_hiding_en", p.ciphertext_hiding_en},
          {"alias_check_complete", p.alias_check_complete},
          {"tio_en", p.tio_en}};
}

}  // namespace

Claims SnpClaims(const AttestationReport& report, SnpProduct product, SnpCertKind kind) {
  Claims c;
  c.tee = TeeType::kSevSnp;
  c.simulated = false;
  c.measurement = report.measurement;
  c.host_data = report.host_data;
  c.report_data = report.report_data;
  c.debug = report.policy.debug;
  // REPORTED_TCB equals the certificate's SPLs (checked before this is called), so the
  // reported TCB meets the VCEK's: UpToDate. Minimum-TCB rules are the policy's.
  c.tcb_status = TcbStatus::kUpToDate;
  c.platform_id = report.chip_id;
  c.signer = std::string(SnpCertKindName(kind));
  c.tcb = {{"product", SnpProductName(product)},
           {"reported", DecodeTcb(report.reported_tcb, product).ToJson()},
           {"current", DecodeTcb(report.current_tcb, product).ToJson()},
           {"committed", DecodeTcb(report.committed_tcb, product).ToJson()},
           {"launch", DecodeTcb(report.launch_tcb, product).ToJson()}};
  nlohmann::json extra = {
      {"version", report.version},
      {"guest_svn", report.guest_svn},
      {"policy", PolicyJson(report.policy)},
      {"vmpl", report.vmpl},
      {"family_id", HexEncode(report.family_id)},
      {"image_id", HexEncode(report.image_id)},
      {"id_key_digest", HexEncode(report.id_key_digest)},
      {"author_key_digest", HexEncode(report.author_key_digest)},
      {"report_id", HexEncode(report.report_id)},
      {"report_id_ma", HexEncode(report.report_id_ma)},
      {"platform_info", PlatformInfoJson(report.platform_info)},
      {"signer_info",
       {{"author_key_en", report.signer_info.author_key_en},
        {"mask_chip_key", report.signer_info.mask_chip_key},
        {"signing_key", SigningKeyName(report.signer_info.signing_key)}}},
      {"current_fw", report.current_fw.ToJson()},
      {"committed_fw", report.committed_fw.ToJson()},
      {"product", SnpProductName(product)},
  };
  if (report.version >= 3) {
    extra["cpuid"] = {{"family", report.cpuid_fam_id},
                      {"model", report.cpuid_mod_id},
                      {"stepping", report.cpuid_step}};
  }
  if (report.version >= 5) {
    extra["launch_mit_vector"] = Hex64(report.launch_mit_vector);
    extra["current_mit_vector"] = Hex64(report.current_mit_vector);
  }
  c.extra = std::move(extra);
  return c;
}

}  // namespace crypta::attest::snp
