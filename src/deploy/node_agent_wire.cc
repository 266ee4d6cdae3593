// The node agent's wire formats (node_agent.h): the assignments answer, the runtime's
// serving line and its attestation endpoint.
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "common/encoding.h"
#include "deploy/node_agent.h"
#include "deploy/sim_launch.h"

namespace crypta::deploy {

using nlohmann::json;

namespace {

constexpr char kServingPrefix[] = "crypta-runtime: serving ";

}  // namespace

// "http://HOST:PORT" from a serving line, or "" when the line is not one.
std::string ParseServingLine(std::string_view line) {
  const size_t at = line.find(kServingPrefix);
  if (at == std::string_view::npos) return "";
  std::string_view url = line.substr(at + sizeof(kServingPrefix) - 1);
  while (!url.empty() && (url.back() == ' ' || url.back() == '\r')) url.remove_suffix(1);
  const size_t scheme = url.starts_with("http://") ? 7 : url.starts_with("https://") ? 8 : 0;
  if (scheme == 0 || url.size() > 200) return "";
  const std::string_view authority = url.substr(scheme);
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size()) return "";
  for (size_t i = 0; i < authority.size(); ++i) {
    const char c = authority[i];
    const bool ok = i > colon ? (c >= '0' && c <= '9')
                              : (std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                                 c == '-' || c == ':' || c == '[' || c == ']');
    if (!ok) return "";
  }
  return std::string(url);
}

bool IsValidAgentName(const std::string& s) {
  if (s.empty() || s.size() > 63 || s[0] == '.') return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

Status ProbeAttestation(const std::string& endpoint) {
  if (endpoint.starts_with("https://")) {
    // A TLS runtime may require client SVIDs, which the agent does not hold: check that the
    // port accepts connections.
    const std::string authority = endpoint.substr(8);
    const size_t colon = authority.rfind(':');
    std::string host = authority.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (colon == std::string::npos ||
        ::getaddrinfo(host.c_str(), authority.substr(colon + 1).c_str(), &hints, &found) != 0) {
      return MakeError(ErrorCode::kUnavailable, "cannot resolve " + endpoint);
    }
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool connected = fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0;
    if (fd >= 0) ::close(fd);
    ::freeaddrinfo(found);
    if (!connected) return MakeError(ErrorCode::kUnavailable, "connect " + endpoint + " failed");
    return OkStatus();
  }
  try {
    httplib::Client client(endpoint);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    client.set_write_timeout(5);
    const httplib::Result res = client.Get("/v1/attestation");
    if (!res) {
      return MakeError(ErrorCode::kUnavailable,
                       "GET " + endpoint + "/v1/attestation: " + httplib::to_string(res.error()));
    }
    if (res->status != 200) {
      return MakeError(ErrorCode::kUnavailable,
                       "GET " + endpoint + "/v1/attestation: HTTP " + std::to_string(res->status));
    }
    return OkStatus();
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kUnavailable, "GET " + endpoint + "/v1/attestation: " + e.what());
  }
}

Result<std::vector<Assignment>> ParseAssignments(const json& answer) {
  auto bad = [](const std::string& what) {
    return MakeError(ErrorCode::kInvalidArgument, "assignments: " + what);
  };
  if (!answer.is_object()) return bad("not a JSON object");
  const auto list = answer.find("deployments");
  if (list == answer.end() || list->is_null()) return std::vector<Assignment>{};
  if (!list->is_array()) return bad("deployments: not an array");
  if (list->size() > 1024) return bad("deployments: more than 1024");
  std::vector<Assignment> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& d = (*list)[i];
    const std::string at = "deployments[" + std::to_string(i) + "]";
    if (!d.is_object()) return bad(at + ": not an object");
    Assignment a;
    for (auto [field, target] : {std::pair{"tenant", &a.tenant}, std::pair{"name", &a.name}}) {
      const auto it = d.find(field);
      if (it == d.end() || !it->is_string() || !IsValidAgentName(it->get<std::string>())) {
        return bad(at + "." + field + ": want 1-63 characters of [A-Za-z0-9._-]");
      }
      *target = it->get<std::string>();
    }
    const auto gen = d.find("generation");
    if (gen == d.end() || !gen->is_number_integer() || gen->get<int64_t>() < 0) {
      return bad(at + ".generation: want a non-negative integer");
    }
    a.generation = gen->get<int64_t>();
    const auto args = d.find("args");
    if (args == d.end() || !args->is_array() || args->size() > 256) {
      return bad(at + ".args: want an array of at most 256 strings");
    }
    for (const json& arg : *args) {
      if (!arg.is_string() || arg.get<std::string>().size() > 4096) {
        return bad(at + ".args: want strings of at most 4096 bytes");
      }
      a.args.push_back(arg.get<std::string>());
    }
    if (const auto hd = d.find("host_data"); hd != d.end() && !hd->is_null()) {
      if (!hd->is_string()) return bad(at + ".host_data: want hex");
      a.host_data = hd->get<std::string>();
      Result<Bytes> bytes = HexDecode(a.host_data);
      if (!bytes || bytes->size() > 32) {
        return bad(at + ".host_data: want hex of up to 32 bytes, got \"" +
                   a.host_data.substr(0, 80) + "\"");
      }
    }
    if (const auto dbg = d.find("debug"); dbg != d.end() && !dbg->is_null()) {
      if (!dbg->is_boolean()) return bad(at + ".debug: want true or false");
      a.debug = dbg->get<bool>();
    }
    if (const auto gpus = d.find("gpus"); gpus != d.end() && !gpus->is_null()) {
      if (!gpus->is_number_integer() || gpus->get<int64_t>() < 0 ||
          gpus->get<int64_t>() > kSimGpusPerNode) {
        return bad(at + ".gpus: want 0 to " + std::to_string(kSimGpusPerNode));
      }
      a.gpus = static_cast<int>(gpus->get<int64_t>());
    }
    if (!seen.insert(a.tenant + "/" + a.name).second) {
      return bad(at + ": " + a.tenant + "/" + a.name + " listed twice");
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace crypta::deploy
