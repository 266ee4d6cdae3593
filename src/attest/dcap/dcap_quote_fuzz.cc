// Fuzz target: DCAP quote parsing (SGX v3, TDX v4/v5) and the PCK chain / SGX extension
// parsing that follows it. Invariants: a parsed quote's pieces have their fixed sizes and
// the signed range is a prefix of the input; nothing crashes.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "attest/dcap/pck.h"
#include "attest/dcap/quote.h"
#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  using namespace crypta::attest::dcap;
  ByteSpan input(data, size);
  if (Result<ParsedQuote> q = ParseQuote(input)) {
    if (q->quote_signature.size() != 64 || q->attestation_key.size() != 64 ||
        q->qe_report.size() != kSgxReportBodySize || q->signed_data.size() > size ||
        !std::ranges::equal(q->signed_data, input.first(q->signed_data.size())) ||
        q->report_data().size() != 64) {
      __builtin_trap();
    }
    if (auto certs = Certificate::ParsePemBundle(AsStringView(q->cert_data))) {
      for (const Certificate& c : *certs) (void)ParsePckExtensions(c);
    }
  }
  (void)ParsePckExtensionValue(input);
  return 0;
}
