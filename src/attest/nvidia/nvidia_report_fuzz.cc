// Fuzzes the NVIDIA GPU evidence path: ParseGpuEvidence (JSON envelope or binary/hex
// report), ParseGpuReport on every device, and full verification against the pinned NVIDIA
// Device Identity CA at 2025-06-01 with NVIDIA's sample device chain (testdata/nvidia/
// nvtrust-hopper-sample/hopperCertChain.txt: its four device certificates embedded below, then
// the pinned root, so the target needs no files)
// as collateral. Never crashes; any result is fine.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "attest/nvidia/report.h"
#include "attest/nvidia/verifier.h"

namespace {

constexpr char kSampleChainPem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDfTCCAwKgAwIBAgIUU8IroV5daAiCgtoHTtn7N6pYV3EwCgYIKoZIzj0EAwMw\n"
    "ZDEbMBkGA1UEBRMSNDE0MzFENDgwRkU1RTg3Mjc0MQswCQYDVQQGEwJVUzEbMBkG\n"
    "A1UECgwSTlZJRElBIENvcnBvcmF0aW9uMRswGQYDVQQDDBJHSDEwMCBBMDEgR1NQ\n"
    "IEJST00wIBcNMjAxMDE3MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMHwxMTAvBgNV\n"
    "BAUTKDUzQzIyQkExNUU1RDY4MDg4MjgyREEwNzRFRDlGQjM3QUE1ODU3NzExCzAJ\n"
    "BgNVBAYTAlVTMRswGQYDVQQKDBJOVklESUEgQ29ycG9yYXRpb24xHTAbBgNVBAMM\n"
    "FEdIMTAwIEEwMSBHU1AgRk1DIExGMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEgDPx\n"
    "q23XZIuWevUXqLFHMD7bTiPOocq/1+RPjdVkBDxIlQpP2AjxfBSIYYcCN55G0vjO\n"
    "UFeFv8cx4NJSoCYyPWK/EvFNdyy3RNv00pdWU3ZAQmGOcorOJ+eUnWR/6Wjto4IB\n"
    "WTCCAVUwDgYDVR0PAQH/BAQDAgeAMB0GA1UdDgQWBBTTwiuhXl1oCIKC2gdO2fs3\n"
    "qlhXcTAfBgNVHSMEGDAWgBTPzHFrUzj0etDtUvSant7I+soqTzA4BgNVHREEMTAv\n"
    "oC0GCisGAQQBgxyCEgGgHwwdTlZJRElBOkdIMTAwOjQ4QjAyRDkyNDk0QkFERjQw\n"
    "gcgGBmeBBQUEAQSBvTCBugIBATB2MBAGByqGSM49AgEGBSuBBAAiA2IABE9Q2m4E\n"
    "enmB6sPZ4qh+gs85UTtdyS+/GuP5v+8IW5KaDhKJSMFQAumGGCpY1gS16l5C/p5H\n"
    "7i21IYxsxrUedEtgfcdse7hYDNoE2yexPpSbzTB6WSeKiTjnrbexkGdvlzA9Bglg\n"
    "hkgBZQMEAgIEMPXDhK67V5IXosZrF+0PKOapuNY5BBrNe0chzsAE9ydUlLqUu1zf\n"
    "2zBV7gUXYrH3XTAKBggqhkjOPQQDAwNpADBmAjEA7ooRPcqt9nC1Yo+zRV2NG2cP\n"
    "kG2mt2xVrp7KvoF7xs1mpXbGSo4Ye4bgcYOWJ/CEAjEArMWN40TlJ1DuDKV1jw10\n"
    "xoRzSZuvnn41eav2pKu0Pkoa2Cdy5Sk9lv0fIB1vsKAf\n"
    "-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\n"
    "MIICUDCCAdagAwIBAgIJQUMdSA/l6HJ0MAoGCCqGSM49BAMDMFMxJzAlBgNVBAMM\n"
    "Hk5WSURJQSBHSDEwMCBQcm92aXNpb25lciBJQ0EgMTEbMBkGA1UECgwSTlZJRElB\n"
    "IENvcnBvcmF0aW9uMQswCQYDVQQGEwJVUzAgFw0yMDEwMTcwMDAwMDBaGA85OTk5\n"
    "MTIzMTIzNTk1OVowZDEbMBkGA1UEBRMSNDE0MzFENDgwRkU1RTg3Mjc0MQswCQYD\n"
    "VQQGEwJVUzEbMBkGA1UECgwSTlZJRElBIENvcnBvcmF0aW9uMRswGQYDVQQDDBJH\n"
    "SDEwMCBBMDEgR1NQIEJST00wdjAQBgcqhkjOPQIBBgUrgQQAIgNiAARPUNpuBHp5\n"
    "gerD2eKofoLPOVE7Xckvvxrj+b/vCFuSmg4SiUjBUALphhgqWNYEtepeQv6eR+4t\n"
    "tSGMbMa1HnRLYH3HbHu4WAzaBNsnsT6Um80welkniok45623sZBnb5ejYzBhMA8G\n"
    "A1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgIEMB0GA1UdDgQWBBTPzHFrUzj0\n"
    "etDtUvSant7I+soqTzAfBgNVHSMEGDAWgBQpaMsWLNB3lXKieRAD5p66DMwKlDAK\n"
    "BggqhkjOPQQDAwNoADBlAjEArfqR6WTTScWTej2Ib/Ow0WZDty+pLP8kYmmf8H7a\n"
    "txQabkBkYrd6sqJfw+YSM9RKAjAbl2SG6I0fQ+mbpFMX4bFf7JF0V2ln5phOBGLi\n"
    "0qmpbZ5H3cZkuK1g3xxda6ru4PE=\n"
    "-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\n"
    "MIICqjCCAi+gAwIBAgIQav5xhPkiMsjfeyQiYXduVjAKBggqhkjOPQQDAzA9MR4w\n"
    "HAYDVQQDDBVOVklESUEgR0gxMDAgSWRlbnRpdHkxGzAZBgNVBAoMEk5WSURJQSBD\n"
    "b3Jwb3JhdGlvbjAgFw0yMjAzMDEwMDAwMDBaGA85OTk5MTIzMTIzNTk1OVowUzEn\n"
    "MCUGA1UEAwweTlZJRElBIEdIMTAwIFByb3Zpc2lvbmVyIElDQSAxMRswGQYDVQQK\n"
    "DBJOVklESUEgQ29ycG9yYXRpb24xCzAJBgNVBAYTAlVTMHYwEAYHKoZIzj0CAQYF\n"
    "K4EEACIDYgAEzUdWqjn1OlXhLfFOKAFTghqG+Q3zF4xgSBbZsUEyWYCC3rKjE9Nn\n"
    "o88ZpBQx85Oo0PkqP2dwoMVNTQMv5cvy9jLaTvSTXZwN2HQHE9u7x7BIYrWi0sG3\n"
    "5q1IJNSOGO5Lo4HbMIHYMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEG\n"
    "MDwGA1UdHwQ1MDMwMaAvoC2GK2h0dHA6Ly9jcmwubmRpcy5udmlkaWEuY29tL2Ny\n"
    "bC9sMi1naDEwMC5jcmwwNwYIKwYBBQUHAQEEKzApMCcGCCsGAQUFBzABhhtodHRw\n"
    "Oi8vb2NzcC5uZGlzLm52aWRpYS5jb20wHQYDVR0OBBYEFCloyxYs0HeVcqJ5EAPm\n"
    "nroMzAqUMB8GA1UdIwQYMBaAFAdCoOsDnIBge6FBYZlNriX3wpseMAoGCCqGSM49\n"
    "BAMDA2kAMGYCMQDK0BCr49DNJ48Yh5wu388bZifDFxAsiUS4U1fGmpJZFhCbODH6\n"
    "mRwcMxp6EOayZuYCMQDYKTyNc2FxWFuhHtdCE3ls4S7SInehdErTZNuhFymc4YOM\n"
    "6VlLWTY/CM+resjjqxQ=\n"
    "-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\n"
    "MIICijCCAhCgAwIBAgIQTCVe3jvQAb8/SjtgX8qJijAKBggqhkjOPQQDAzA1MSIw\n"
    "IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE\n"
    "SUEwIBcNMjIwMTEyMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMD0xHjAcBgNVBAMM\n"
    "FU5WSURJQSBHSDEwMCBJZGVudGl0eTEbMBkGA1UECgwSTlZJRElBIENvcnBvcmF0\n"
    "aW9uMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE+pg+tDUuILlZILk5wg22YEJ9Oh6c\n"
    "yPcsv3IvgRWcV4LeZK1pTCoQDIplZ0E4qsLG3G04pxsbMhxbqkiz9pqlTV2rtuVg\n"
    "SmIqnSYkU1jWXsPS9oVLCGE8VRLl1JvqyOxUo4HaMIHXMA8GA1UdEwEB/wQFMAMB\n"
    "Af8wDgYDVR0PAQH/BAQDAgEGMDsGA1UdHwQ0MDIwMKAuoCyGKmh0dHA6Ly9jcmwu\n"
    "bmRpcy5udmlkaWEuY29tL2NybC9sMS1yb290LmNybDA3BggrBgEFBQcBAQQrMCkw\n"
    "JwYIKwYBBQUHMAGGG2h0dHA6Ly9vY3NwLm5kaXMubnZpZGlhLmNvbTAdBgNVHQ4E\n"
    "FgQUB0Kg6wOcgGB7oUFhmU2uJffCmx4wHwYDVR0jBBgwFoAUV4X/g/JjzGV9aLc6\n"
    "W/SNSsv7SV8wCgYIKoZIzj0EAwMDaAAwZQIxAPIQhnveFxYIrPzBqViT2I34SfS4\n"
    "JGWFnk/1UcdmgJmp+7l6rH/C4qxwntYSgeYrlQIwdjQuofHnhd1RL09OBO34566J\n"
    "C9bYAosT/86cCojiGjhLnal9hJOH0nS/lrbaoc5a\n"
    "-----END CERTIFICATE-----\n";

const crypta::attest::nvidia::NvidiaGpuVerifier* TheVerifier() {
  static const std::shared_ptr<crypta::attest::nvidia::NvidiaGpuVerifier> verifier =
      *crypta::attest::nvidia::NvidiaGpuVerifier::CreatePinned();
  return verifier.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crypta::ByteSpan input(data, size);
  if (auto devices = crypta::attest::nvidia::ParseGpuEvidence(input)) {
    for (const auto& d : *devices) {
      if (auto report = crypta::attest::nvidia::ParseGpuReport(d.report)) {
        (void)report->Measurements();
      }
    }
    (void)crypta::attest::nvidia::EncodeGpuEvidence(*devices);
  }
  (void)crypta::attest::nvidia::ParseGpuReport(input);
  crypta::attest::Evidence evidence{.tee = crypta::attest::TeeType::kNvidiaGpu,
                                    .raw = crypta::Bytes(input.begin(), input.end()),
                                    .collateral = {}};
  // The sample's four device certificates, then NVIDIA's pinned root.
  static const std::string chain =
      std::string(kSampleChainPem) + crypta::attest::nvidia::PinnedNvidiaDeviceRoot()->ToPem();
  evidence.collateral.items["certificate_chain"] = crypta::ToBytes(chain);
  crypta::attest::VerifyOptions options;
  options.verification_time = 1748736000;  // 2025-06-01T00:00:00Z
  (void)TheVerifier()->Verify(evidence, options);
  return 0;
}
