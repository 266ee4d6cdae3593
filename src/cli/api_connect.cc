// Server discovery and output helpers shared by the control-plane commands (api_connect.h).
#include "cli/api_connect.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "api/data_dir.h"
#include "cli/commands.h"
#include "common/time_util.h"

namespace crypta::cli {

using nlohmann::json;

namespace {

constexpr char kNoServer[] =
    "no control plane: pass --url/--token, set CRYPTA_URL/CRYPTA_TOKEN, or start `crypta up`";

}  // namespace

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string Trim(std::string s) {
  const size_t end = s.find_last_not_of(" \t\r\n");
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s.substr(std::min(s.size(), s.find_first_not_of(" \t\r\n")));
}

Result<api::ApiClient> Connect(const ServerArgs& args) {
  std::string url = args.url, token = args.token, ca = args.ca_cert;
  if (args.data_dir.empty()) {
    if (url.empty()) url = Env("CRYPTA_URL");
    if (token.empty()) token = Env("CRYPTA_TOKEN");
    if (ca.empty()) ca = Env("CRYPTA_CA_CERT");
  }
  const std::string dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
  if (url.empty()) {
    auto text = api::ReadPublicFile(dir + "/url");
    if (!text) {
      return MakeError(ErrorCode::kUnavailable, std::string(kNoServer) + " (no " + dir + "/url)");
    }
    url = Trim(*text);
  }
  if (token.empty()) {
    auto text = api::ReadPrivateFile(dir + "/" + api::kAdminTokenFileName);
    if (!text) {
      return MakeError(ErrorCode::kUnauthenticated,
                       "no API token: pass --token, set CRYPTA_TOKEN, or use the data dir of "
                       "`crypta up` (" +
                           text.error().message() + ")");
    }
    token = Trim(*text);
  }
  if (ca.empty() && url.rfind("https://", 0) == 0) {
    const std::string pinned = dir + "/tls/ca.pem";
    if (::access(pinned.c_str(), R_OK) == 0) ca = pinned;
  }
  return api::ApiClient::Create(url, token, ca);
}

void AddServerOptions(CLI::App* cmd, ServerArgs* args, bool listing) {
  cmd->add_option("--url", args->url, "Control plane URL, https://HOST:PORT (or CRYPTA_URL)");
  cmd->add_option("--token", args->token, "API token (or CRYPTA_TOKEN)");
  cmd->add_option("--ca-cert", args->ca_cert,
                  "The control plane's CA certificate to pin (or CRYPTA_CA_CERT; default "
                  "<data-dir>/tls/ca.pem)");
  cmd->add_option("--data-dir", args->data_dir,
                  "Data dir of a local `crypta up` (reads its url, admin.token, tls/ca.pem)");
  if (listing) {
    cmd->add_option("--output,-o", args->output, "Output format")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
  }
}

std::string Segment(const std::string& s) { return api::ApiClient::EncodeSegment(s); }

std::string Cell(const json& row, const std::string& field, bool is_time) {
  auto it = row.find(field);
  if (it == row.end() || it->is_null()) return "-";
  if (it->is_string()) {
    std::string text = it->get<std::string>();
    if (text.empty()) return "-";
    // Server-provided text goes to a terminal: no control characters (escape sequences).
    for (char& c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return text;
  }
  if (is_time && it->is_number_integer()) return FormatRfc3339(it->get<int64_t>());
  return it->dump();
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

json ListOf(const json& response, const char* field) {
  auto it = response.find(field);
  return it != response.end() && it->is_array() ? *it : json::array();
}

bool PrintJsonIfAsked(const ServerArgs& args, const json& response) {
  if (args.output != "json") return false;
  std::printf("%s\n", response.dump(2).c_str());
  return true;
}

std::function<void()> WithClient(
    std::shared_ptr<ServerArgs> args, int* exit_code,
    std::function<Status(const api::ApiClient&, const ServerArgs&)> body) {
  return [args, exit_code, body] {
    auto client = Connect(*args);
    if (!client) {
      *exit_code = ReportError(client.error());
      return;
    }
    Status s = body(*client, *args);
    if (s) {
      *exit_code = 0;
    } else if (s.error().code() == ErrorCode::kPermissionDenied) {
      // The server's detail says why (role, cross-tenant); say what it was first.
      *exit_code = ReportError(s.error().WithContext("permission denied"));
    } else {
      *exit_code = ReportError(s.error());
    }
  };
}

}  // namespace crypta::cli
