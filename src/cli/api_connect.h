// What every command that talks to the control plane shares: server discovery, the common
// flags, and table/JSON output.
//
// Discovery: --url/--token/--ca-cert (an explicit --data-dir counts as a flag), else
// CRYPTA_URL/CRYPTA_TOKEN/CRYPTA_CA_CERT, else the data dir that `crypta up` writes:
// <dir>/url, <dir>/admin.token and <dir>/tls/ca.pem (default $XDG_DATA_HOME/crypta or
// ~/.local/share/crypta).
#ifndef CRYPTA_CLI_API_CONNECT_H_
#define CRYPTA_CLI_API_CONNECT_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/client.h"
#include "common/status.h"

namespace crypta::cli {

struct ServerArgs {
  std::string url;
  std::string token;
  std::string ca_cert;
  std::string data_dir;
  std::string output = "table";
};

// The value of an environment variable, or "".
std::string Env(const char* name);
std::string Trim(std::string s);

// Resolves url, token and CA certificate as described above and makes a client.
Result<api::ApiClient> Connect(const ServerArgs& args);

// --url, --token, --ca-cert, --data-dir; with `listing` also --output table|json.
void AddServerOptions(CLI::App* cmd, ServerArgs* args, bool listing);

// One percent-encoded path segment.
std::string Segment(const std::string& s);

// A table cell: strings (control characters replaced by '?'), Unix-seconds fields as
// RFC 3339 when `is_time`, null or missing as "-".
std::string Cell(const nlohmann::json& row, const std::string& field, bool is_time = false);

// Aligned columns separated by two spaces; the last column is not padded.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// The array `field` of a listing response (an empty array if the server omitted it).
nlohmann::json ListOf(const nlohmann::json& response, const char* field);

// Prints `response` as JSON when args.output is "json" (returns true), else returns false.
bool PrintJsonIfAsked(const ServerArgs& args, const nlohmann::json& response);

// A CLI callback: connects, runs `body`, and maps its error to exit code 1 (permission
// denials prefixed "permission denied").
std::function<void()> WithClient(
    std::shared_ptr<ServerArgs> args, int* exit_code,
    std::function<Status(const api::ApiClient&, const ServerArgs&)> body);

}  // namespace crypta::cli

#endif  // CRYPTA_CLI_API_CONNECT_H_
