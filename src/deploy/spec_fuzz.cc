// Fuzz target: ParseDeploymentSpec on untrusted YAML. Whatever parses must validate,
// survive the JSON round trip unchanged and have 32 bytes of host data.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "deploy/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = crypta::deploy::ParseDeploymentSpec(text, "fuzz.yaml");
  if (!parsed) return 0;
  if (!crypta::deploy::ValidateSpec(parsed->spec)) std::abort();
  const nlohmann::json j = crypta::deploy::SpecToJson(parsed->spec);
  auto back = crypta::deploy::SpecFromJson(j);
  if (!back || crypta::deploy::SpecToJson(*back) != j) std::abort();
  if (crypta::deploy::SpecHostData(*back) != crypta::deploy::SpecHostData(parsed->spec)) {
    std::abort();
  }
  return 0;
}
