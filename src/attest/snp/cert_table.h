// The SEV-SNP certificate table that the host attaches to an extended report
// (SNP_GET_EXT_REPORT certs buffer, configfs-tsm auxblob): entries of
// {GUID (16 bytes), offset (u32 LE), length (u32 LE)} ended by an all-zero entry, with
// offsets from the start of the table (SEV-SNP GHCB spec, "Certificate table").
#ifndef CRYPTA_ATTEST_SNP_CERT_TABLE_H_
#define CRYPTA_ATTEST_SNP_CERT_TABLE_H_

#include "attest/evidence.h"

namespace crypta::attest::snp {

// Adds the table's certificates to `collateral` as "vcek", "vlek", "ask", "ark" (entries
// with other GUIDs are skipped). Fails on a malformed table: an entry pointing outside
// the buffer, a missing terminator, or more than 64 entries.
Status AddSnpCertTable(ByteSpan table, Collateral* collateral);

}  // namespace crypta::attest::snp

#endif  // CRYPTA_ATTEST_SNP_CERT_TABLE_H_
