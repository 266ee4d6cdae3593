// Confidential inference against plain OIP on the same crypta-runtime (issue 5, Benchmarks).
//
// The runtime must run with --allow-plaintext-infer so that both paths reach the same
// server, model and batcher. The program verifies the service once with the client SDK
// (VerifyService: fresh nonce, sim evidence against the platform's sim root, the expected
// measurement, report_data binding the OHTTP key config), builds one OIP JSON request body
// from the .npy input, checks that both paths return the same outputs, then runs:
//   rounds   --rounds N interleaved rounds on one kept-alive connection, each
//            (a) confidential: VerifiedService::EncryptInto (BHTTP encode + HPKE encapsulation
//                in place, into a buffer the connection reuses, as VerifiedService::Send does)
//                + POST /v1/ohttp + VerifiedService::Decrypt (decapsulation + BHTTP decode);
//            (b) plain: POST /v2/models/<m>/infer with the same JSON body.
//            Prints p50/p99 of each, the overhead at p50, the client's own crypto time,
//            and the runtime's server-side gateway time from /metrics (the /v1/ohttp handler
//            minus the inner OIP handler it dispatched to: model compute excluded).
//   clients  --clients C [--requests R]: C concurrent clients (one kept-alive connection
//            each) send R requests in all per path, the confidential path first:
//            throughput (req/s), p50/p99 and errors.
//   hold     --hold N [--duration S]: N concurrent kept-alive connections send requests
//            (--hold-path confidential|plain) back to back for S seconds: p50/p99,
//            requests, errors, connections opened; exit status 1 if any request failed.
//   --ohttp chunked (issue 18): the confidential path is chunked OHTTP instead
//            (client/exchange.h ChunkedOhttpExchange on the kept-alive connection: sealed in
//            16 KiB chunks while it is sent, opened by the runtime while it arrives, the
//            answer opened while it is received); client_crypto is then not separable.
//   generate --prompt TEXT [--max-tokens N] (issue 18; the model must generate): --rounds N
//            interleaved streamed generations, generate_stream through chunked OHTTP against
//            plain generate_stream (server-sent events): time to first token (from the start
//            of the request) and inter-token latency (between consecutive events, as the
//            client receives them), p50/p99 of each and the confidential/plain ratios.
// Both paths use the same httplib client code (TCP_NODELAY, keep-alive), so the difference
// is the encryption and the gateway. Client and server share the machine's cores.
//
// Environment: CRYPTA_METRICS_TOKEN, the runtime's metrics token (its per-route detail of the
// requests inside OHTTP, for the gateway time).
// Usage: runtime_load --url http://H:P --model M --input X.npy --sim-root CA.pem
//          --measurement HEX [--input-name input] [--rounds 100] [--clients 0]
//          [--requests 0] [--hold 0] [--duration 60] [--hold-path confidential]
//          [--rows N] [--label NAME] [--out FILE.json] [--encoding binary|json]
//          [--device auto|cpu|cuda] [--ohttp oneshot|chunked]
//        runtime_load --url http://H:P --model M --sim-root CA.pem --measurement HEX
//          --prompt TEXT [--max-tokens 32] [--rounds 30] [--label NAME] [--out FILE.json]
// --encoding: the OIP body of both paths; binary (default) is the binary tensor data
// extension (raw tensor bytes after a JSON header, binary outputs), json is OIP JSON.
// --rows N sends only the first N rows (dim 0) of the .npy input.
// --device: where the runtime says the model computes ("device" in GET /v2/models/<m>) is
// printed and recorded; cpu or cuda makes it a requirement (exit 1 when it differs, so a
// GPU run that silently fell back to the CPU is not reported as one). auto (default): any.
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/exchange.h"
#include "common/encoding.h"
#include "infer/npy.h"
#include "infer/oip.h"

namespace crypta {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "runtime_load: %s\n", what.c_str());
  std::exit(2);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r) Die(what + ": " + r.error().ToString());
  return std::move(*r);
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// p50/p99 (nearest rank) and mean of microsecond samples.
json Summary(std::vector<double> v) {
  if (v.empty()) return {{"n", 0}};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(std::ceil(q * v.size())) - 1]; };
  double sum = 0;
  for (double x : v) sum += x;
  return {{"n", v.size()},
          {"p50_us", at(0.50)},
          {"p99_us", at(0.99)},
          {"mean_us", sum / static_cast<double>(v.size())}};
}

struct Config {
  std::string url, model, input, input_name = "input", sim_root, measurement, label, out;
  std::string hold_path = "confidential";
  std::string encoding = "binary";  // binary (OIP binary tensor data extension) | json
  std::string device = "auto";      // auto: any; cpu | cuda: required of the runtime
  std::string ohttp = "oneshot";    // the confidential path: oneshot | chunked
  std::string prompt;               // generate mode
  int max_tokens = 32;
  int rows = 0;  // 0: the whole .npy; N: its first N rows (dim 0)
  int rounds = 100, clients = 0, requests = 0, hold = 0, duration_s = 60;
};

// What every request needs; immutable once built, shared by all client threads.
struct Shared {
  std::unique_ptr<client::VerifiedService> service;
  std::string host;
  int port = 0;
  std::string infer_path;             // /v2/models/<m>/infer
  std::string body;                   // the OIP request body (both paths)
  std::optional<size_t> json_length;  // binary tensor data: Inference-Header-Content-Length
  BhttpRequest inner;                 // the same request as Binary HTTP (confidential path)
  BhttpRequestView inner_view;        // views of `inner` (what the SDK's Send encodes)
  bool chunked = false;               // --ohttp chunked
  std::atomic<uint64_t> connects{0};
};

// client::HttpTransport over one kept-alive httplib::Client, so that ChunkedOhttpExchange runs
// on the benchmark's connection (the SDK's transport opens a connection per call). Only
// PostStreaming is used.
class ConnTransport : public client::HttpTransport {
 public:
  ConnTransport(httplib::Client& http, std::string url) : http_(http), url_(std::move(url)) {}
  Result<client::HttpReply> Get(const std::string&, size_t) const override {
    return MakeError(ErrorCode::kUnimplemented, "GET");
  }
  Result<client::HttpReply> Post(const std::string&, std::string_view, ByteSpan,
                                 size_t) const override {
    return MakeError(ErrorCode::kUnimplemented, "POST");
  }
  Status PostStreaming(const std::string& path, client::HttpStreamCall& call,
                       size_t) const override {
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.headers.emplace("Content-Type", call.content_type);
    for (const auto& [name, value] : call.headers) req.headers.emplace(name, value);
    if (call.body_length) {
      req.content_length_ = *call.body_length;
    } else {
      req.headers.emplace("Transfer-Encoding", "chunked");
      req.is_chunked_content_provider_ = true;
    }
    std::optional<Error> failed;
    req.content_provider_ = [&](size_t, size_t, httplib::DataSink& sink) {
      Result<std::optional<ByteSpan>> piece = call.next_body();
      if (!piece) {
        failed = piece.error();
        return false;
      }
      if (!*piece) {
        sink.done();
        return true;
      }
      return sink.write(reinterpret_cast<const char*>((*piece)->data()), (*piece)->size());
    };
    req.response_handler = [&](const httplib::Response& res) {
      Status ok = call.on_head(res.status, res.get_header_value("Content-Type"));
      if (!ok) failed = ok.error();
      return ok.has_value();
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      Status ok = call.on_body(ByteSpan(reinterpret_cast<const uint8_t*>(data), n));
      if (!ok) failed = ok.error();
      return ok.has_value();
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool sent = http_.send(req, res, error);
    if (failed) return MakeError(*failed);
    if (!sent) return MakeError(ErrorCode::kUnavailable, httplib::to_string(error));
    return OkStatus();
  }
  const std::string& base_url() const override { return url_; }

 private:
  httplib::Client& http_;
  std::string url_;
};

// A BhttpResponse assembled from ChunkedOhttpExchange's events.
std::function<Status(BhttpStreamEvent&)> Collect(BhttpResponse& out) {
  return [&out](BhttpStreamEvent& e) -> Status {
    client::AddToResponse(e, out);
    return OkStatus();
  };
}

// One client connection (kept alive; httplib reconnects when the server closes it).
class Conn {
 public:
  explicit Conn(Shared& s) : s_(s), http_(s.host, s.port), transport_(http_, "http://" + s.host) {
    http_.set_keep_alive(true);
    http_.set_connection_timeout(10, 0);
    http_.set_read_timeout(120, 0);
    http_.set_write_timeout(120, 0);
    // Called for every new socket: TCP_NODELAY, and a count of (re)connections.
    http_.set_socket_options([&s](socket_t sock) {
      int one = 1;
      setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      s.connects.fetch_add(1, std::memory_order_relaxed);
    });
    if (s.json_length) {
      plain_headers_.emplace("Inference-Header-Content-Length", std::to_string(*s.json_length));
    }
  }

  // One confidential request; crypto_us gets the client's encapsulate + decapsulate time.
  // Returns "" or what went wrong; `response` gets the decrypted body.
  std::string Confidential(double& total_us, double& crypto_us, std::string* response = nullptr,
                           std::optional<size_t>* response_json_length = nullptr) {
    if (s_.chunked) return Chunked(total_us, crypto_us, response, response_json_length);
    const auto t0 = Clock::now();
    // As VerifiedService::Send does: encoded and sealed in place into a buffer reused by
    // this connection (Send reuses one per thread).
    Result<OhttpClientContext> context = s_.service->EncryptInto(s_.inner_view, wire_);
    if (!context) return "encrypt: " + context.error().ToString();
    const auto t1 = Clock::now();
    httplib::Result r = http_.Post("/v1/ohttp", reinterpret_cast<const char*>(wire_.data()),
                                   wire_.size(), "message/ohttp-req");
    const auto t2 = Clock::now();
    if (!r) return "POST /v1/ohttp: " + httplib::to_string(r.error());
    if (r->status != 200)
      return "POST /v1/ohttp: HTTP " + std::to_string(r->status) + " " + r->body;
    Result<BhttpResponse> inner = s_.service->Decrypt(*context, AsBytes(r->body));
    const auto t3 = Clock::now();
    if (!inner) return "decrypt: " + inner.error().ToString();
    if (inner->status != 200) return "inner HTTP " + std::to_string(inner->status);
    total_us = Micros(t3 - t0);
    crypto_us = Micros((t1 - t0) + (t3 - t2));
    if (response) *response = std::string(AsStringView(inner->content));
    if (response_json_length) {
      const std::string* v = FindBhttpField(inner->headers, "inference-header-content-length");
      *response_json_length = v ? std::optional<size_t>(std::stoul(*v)) : std::nullopt;
    }
    return "";
  }

  // The same through chunked OHTTP, overlapped with the transfer (crypto_us stays 0).
  std::string Chunked(double& total_us, double& crypto_us, std::string* response,
                      std::optional<size_t>* response_json_length) {
    const auto t0 = Clock::now();
    bhttp_.resize(BhttpEncodedSize(s_.inner_view));
    Result<size_t> encoded = EncodeBhttpRequestInto(s_.inner_view, bhttp_);
    if (!encoded) return "encode: " + encoded.error().ToString();
    BhttpResponse inner;
    Status ok = client::ChunkedOhttpExchange(transport_, s_.service->key_config(), bhttp_,
                                             size_t{64} << 20, wire_, Collect(inner));
    total_us = Micros(Clock::now() - t0);
    crypto_us = 0;
    if (!ok) return "chunked exchange: " + ok.error().ToString();
    if (inner.status != 200) return "inner HTTP " + std::to_string(inner.status);
    if (response) *response = std::string(AsStringView(inner.content));
    if (response_json_length) {
      const std::string* v = FindBhttpField(inner.headers, "inference-header-content-length");
      *response_json_length = v ? std::optional<size_t>(std::stoul(*v)) : std::nullopt;
    }
    return "";
  }

  // Streamed generation, confidential (generate_stream in chunked OHTTP) or plain (SSE):
  // the arrival time (µs from the start) of every token event.
  std::string Stream(bool confidential, const std::string& body, std::vector<double>& arrivals) {
    arrivals.clear();
    const std::string path = s_.infer_path;  // /v2/models/<m>/generate_stream
    std::string pending;
    const auto t0 = Clock::now();
    auto on_text = [&](std::string_view text) {
      pending.append(text);
      for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
        arrivals.push_back(Micros(Clock::now() - t0));
        pending.erase(0, end + 2);
      }
    };
    if (!confidential) {
      httplib::Request req;
      req.method = "POST";
      req.path = path;
      req.body = body;
      req.headers.emplace("Content-Type", "application/json");
      req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
        on_text(std::string_view(d, n));
        return true;
      };
      httplib::Response res;
      httplib::Error error = httplib::Error::Success;
      if (!http_.send(req, res, error)) return "plain stream: " + httplib::to_string(error);
      if (res.status != 200) return "plain stream: HTTP " + std::to_string(res.status);
      return "";
    }
    BhttpRequestView view;
    view.method = "POST";
    view.scheme = "https";
    view.authority = "crypta-runtime";
    view.path = path;
    view.headers = {{"content-type", "application/json"}};
    view.content = AsBytes(body);
    bhttp_.resize(BhttpEncodedSize(view));
    if (!EncodeBhttpRequestInto(view, bhttp_)) return "encode";
    int status = 0;
    Status ok =
        client::ChunkedOhttpExchange(transport_, s_.service->key_config(), bhttp_, size_t{64} << 20,
                                     wire_, [&](BhttpStreamEvent& e) -> Status {
                                       if (e.kind == BhttpStreamEvent::Kind::kHead)
                                         status = e.status;
                                       if (e.kind == BhttpStreamEvent::Kind::kContent)
                                         on_text(AsStringView(e.content));
                                       return OkStatus();
                                     });
    if (!ok) return "confidential stream: " + ok.error().ToString();
    if (status != 200) return "confidential stream: inner HTTP " + std::to_string(status);
    return "";
  }

  std::string Plain(double& total_us, std::string* response = nullptr,
                    std::optional<size_t>* response_json_length = nullptr) {
    const auto t0 = Clock::now();
    httplib::Result r =
        http_.Post(s_.infer_path.c_str(), plain_headers_, s_.body,
                   s_.json_length ? "application/octet-stream" : "application/json");
    total_us = Micros(Clock::now() - t0);
    if (!r) return "POST " + s_.infer_path + ": " + httplib::to_string(r.error());
    if (r->status != 200) return "POST infer: HTTP " + std::to_string(r->status) + " " + r->body;
    if (response) *response = r->body;
    if (response_json_length) {
      *response_json_length = r->has_header("Inference-Header-Content-Length")
                                  ? std::optional<size_t>(std::stoul(
                                        r->get_header_value("Inference-Header-Content-Length")))
                                  : std::nullopt;
    }
    return "";
  }

  // A request sealed beforehand (--presealed): POST /v1/ohttp + Decrypt only.
  std::string SendSealed(const OhttpClientContext& context, const Bytes& wire, double& total_us) {
    const auto t0 = Clock::now();
    httplib::Result r = http_.Post("/v1/ohttp", reinterpret_cast<const char*>(wire.data()),
                                   wire.size(), "message/ohttp-req");
    if (!r) return "POST /v1/ohttp: " + httplib::to_string(r.error());
    if (r->status != 200) return "POST /v1/ohttp: HTTP " + std::to_string(r->status);
    Result<BhttpResponse> inner = s_.service->Decrypt(context, AsBytes(r->body));
    total_us = Micros(Clock::now() - t0);
    if (!inner) return "decrypt: " + inner.error().ToString();
    if (inner->status != 200) return "inner HTTP " + std::to_string(inner->status);
    return "";
  }

  // Whichever path `confidential` names.
  std::string Once(bool confidential, double& total_us) {
    double crypto_us = 0;
    return confidential ? Confidential(total_us, crypto_us) : Plain(total_us);
  }

 private:
  Shared& s_;
  httplib::Client http_;
  ConnTransport transport_;  // http_ as a client::HttpTransport (chunked OHTTP)
  httplib::Headers plain_headers_;
  Bytes wire_;   // the encapsulated request, reused (ciphertext only between requests)
  Bytes bhttp_;  // chunked: the BHTTP request before sealing, reused
};

// The runtime's latency histogram sum and count for one route and channel.
std::pair<double, double> Histogram(const std::string& metrics, const std::string& route,
                                    const std::string& channel) {
  const std::string labels = "{route=\"" + route + "\",channel=\"" + channel + "\"} ";
  double sum = 0, count = 0;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = "crypta_runtime_http_request_duration_seconds_";
    if (line.rfind(name + "sum" + labels, 0) == 0) sum = std::stod(line.substr(line.rfind(' ')));
    if (line.rfind(name + "count" + labels, 0) == 0) {
      count = std::stod(line.substr(line.rfind(' ')));
    }
  }
  return {sum, count};
}

std::string Metrics(Shared& s) {
  httplib::Client c(s.host, s.port);
  // The per-route detail of requests inside OHTTP needs the runtime's metrics token
  // (--metrics-token-file); without it the inner routes read as 0.
  httplib::Headers headers;
  if (const char* token = std::getenv("CRYPTA_METRICS_TOKEN"); token != nullptr && *token) {
    headers.emplace("Authorization", std::string("Bearer ") + token);
  }
  httplib::Result r = c.Get("/metrics", headers);
  if (!r || r->status != 200) Die("GET /metrics failed");
  return r->body;
}

// Mean server-side time (µs) of requests in [before, after]: the outer /v1/ohttp handler,
// the inner OIP infer handler it dispatched to, and plain OIP infer.
json ServerSide(const std::string& before, const std::string& after) {
  auto delta = [&](const std::string& route, const std::string& channel) {
    auto [s0, n0] = Histogram(before, route, channel);
    auto [s1, n1] = Histogram(after, route, channel);
    return n1 > n0 ? (s1 - s0) / (n1 - n0) * 1e6 : 0.0;
  };
  const std::string infer = "/v2/models/{model}/infer";
  const double outer = delta("/v1/ohttp", "plain");
  const double inner = delta(infer, "ohttp");
  return {{"ohttp_handler_mean_us", outer},
          {"inner_infer_mean_us", inner},
          {"plain_infer_mean_us", delta(infer, "plain")},
          {"gateway_mean_us", outer - inner}};
}

json Rounds(Shared& s, int rounds) {
  Conn conn(s);
  std::vector<double> conf, plain, crypto, conf_net, diff;
  double t = 0, c = 0;
  for (int i = 0; i < 3; ++i) {  // warm-up: connection, allocator, model caches
    conn.Confidential(t, c);
    conn.Plain(t);
  }
  const std::string before = Metrics(s);
  for (int i = 0; i < rounds; ++i) {
    double tc = 0, tp = 0, cc = 0;
    // Alternate which path goes first so neither always follows the other.
    std::string e1 = i % 2 ? conn.Plain(tp) : conn.Confidential(tc, cc);
    std::string e2 = i % 2 ? conn.Confidential(tc, cc) : conn.Plain(tp);
    if (!e1.empty() || !e2.empty()) Die("round " + std::to_string(i) + ": " + e1 + e2);
    conf.push_back(tc);
    plain.push_back(tp);
    crypto.push_back(cc);
    conf_net.push_back(tc - cc);
    diff.push_back(tc - tp);
  }
  json out = {{"rounds", rounds},
              {"confidential", Summary(conf)},
              {"plain", Summary(plain)},
              {"client_crypto", Summary(crypto)},
              {"confidential_minus_client_crypto", Summary(conf_net)},
              {"paired_difference", Summary(diff)},
              {"server", ServerSide(before, Metrics(s))}};
  const double c50 = out["confidential"]["p50_us"], p50 = out["plain"]["p50_us"];
  out["overhead_p50_pct"] = (c50 - p50) / p50 * 100.0;
  out["server_overhead_p50_us"] =
      out["confidential_minus_client_crypto"]["p50_us"].get<double>() - p50;
  return out;
}

// Interleaved streamed generations: time to first token and inter-token latency per path.
json GenerateRounds(Shared& s, const std::string& body, int rounds, int max_tokens) {
  Conn conn(s);
  std::vector<double> arrivals;
  for (int i = 0; i < 2; ++i) {  // warm-up
    conn.Stream(true, body, arrivals);
    conn.Stream(false, body, arrivals);
  }
  std::vector<double> ttft[2], itl[2], total[2];
  for (int i = 0; i < rounds; ++i) {
    for (int k = 0; k < 2; ++k) {
      const bool confidential = (i + k) % 2 == 0;  // alternate which path goes first
      std::string e = conn.Stream(confidential, body, arrivals);
      if (!e.empty()) Die("round " + std::to_string(i) + ": " + e);
      if (static_cast<int>(arrivals.size()) != max_tokens) {
        Die("round " + std::to_string(i) + ": " + std::to_string(arrivals.size()) +
            " events, want " + std::to_string(max_tokens));
      }
      const int p = confidential ? 0 : 1;
      ttft[p].push_back(arrivals[0]);
      for (size_t j = 1; j < arrivals.size(); ++j) itl[p].push_back(arrivals[j] - arrivals[j - 1]);
      total[p].push_back(arrivals.back());
    }
  }
  json out = {
      {"rounds", rounds},
      {"max_tokens", max_tokens},
      {"confidential",
       {{"ttft", Summary(ttft[0])}, {"itl", Summary(itl[0])}, {"total", Summary(total[0])}}},
      {"plain",
       {{"ttft", Summary(ttft[1])}, {"itl", Summary(itl[1])}, {"total", Summary(total[1])}}}};
  for (const char* what : {"ttft", "itl", "total"}) {
    out[std::string(what) + "_p50_ratio"] = out["confidential"][what]["p50_us"].get<double>() /
                                            out["plain"][what]["p50_us"].get<double>();
  }
  return out;
}

// `clients` threads, each with its own connection, share `requests` (0: until `deadline`).
// With `presealed` (confidential, one-shot OHTTP): every request is sealed before the clock
// starts (each client its share), so the run measures the confidential path without the
// client's own HPKE sealing — what the client's crypto costs on the shared cores.
json Concurrent(Shared& s, bool confidential, int clients, int requests, Clock::time_point deadline,
                bool presealed = false) {
  std::atomic<int> next{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::mutex mu;
  std::vector<double> all;
  std::string first_error;
  const uint64_t connects_before = s.connects.load();
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      Conn conn(s);
      std::vector<std::pair<OhttpClientContext, Bytes>> sealed;
      if (presealed) {
        const int share = requests / clients + (i < requests % clients ? 1 : 0);
        for (int k = 0; k < share; ++k) {
          Bytes wire;
          Result<OhttpClientContext> context = s.service->EncryptInto(s.inner_view, wire);
          if (!context) Die("preseal: " + context.error().ToString());
          sealed.emplace_back(std::move(*context), std::move(wire));
        }
      }
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      std::vector<double> mine;
      size_t at = 0;
      while (presealed ? at < sealed.size()
                       : (requests > 0 ? next.fetch_add(1) < requests : Clock::now() < deadline)) {
        double us = 0;
        std::string e = presealed ? conn.SendSealed(sealed[at].first, sealed[at].second, us)
                                  : conn.Once(confidential, us);
        ++at;
        if (e.empty()) {
          mine.push_back(us);
        } else if (errors.fetch_add(1) == 0) {
          std::lock_guard<std::mutex> lock(mu);
          first_error = e;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      all.insert(all.end(), mine.begin(), mine.end());
    });
  }
  while (ready.load() < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = Clock::now();
  go.store(true);
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  json out = Summary(all);
  out["path"] = presealed ? "presealed" : confidential ? "confidential" : "plain";
  out["clients"] = clients;
  out["seconds"] = seconds;
  out["ok"] = all.size();
  out["errors"] = errors.load();
  out["req_per_s"] = static_cast<double>(all.size()) / seconds;
  out["connections_opened"] = s.connects.load() - connects_before;
  if (!first_error.empty()) out["first_error"] = first_error;
  return out;
}

void PrintLine(const char* what, const json& j) {
  if (j.value("n", 0) == 0) {
    std::printf("  %-34s no successful requests\n", what);
    return;
  }
  std::printf("  %-34s p50 %10.1f us  p99 %10.1f us  mean %10.1f us  (n=%d)\n", what,
              j["p50_us"].get<double>(), j["p99_us"].get<double>(), j["mean_us"].get<double>(),
              j["n"].get<int>());
}

void PrintConcurrent(const json& j) {
  std::printf("  %-12s %3d clients: %8.1f req/s  ok %llu  errors %llu  connections %llu\n",
              j["path"].get<std::string>().c_str(), j["clients"].get<int>(),
              j["req_per_s"].get<double>(), j["ok"].get<unsigned long long>(),
              j["errors"].get<unsigned long long>(),
              j["connections_opened"].get<unsigned long long>());
  PrintLine("  latency", j);
  if (j.contains("first_error")) {
    std::printf("    first error: %s\n", j["first_error"].get<std::string>().c_str());
  }
}

Config ParseFlags(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Die("missing value for " + flag);
    const std::string v = argv[++i];
    auto num = [&] { return std::atoi(v.c_str()); };
    if (flag == "--url")
      c.url = v;
    else if (flag == "--model")
      c.model = v;
    else if (flag == "--input")
      c.input = v;
    else if (flag == "--input-name")
      c.input_name = v;
    else if (flag == "--sim-root")
      c.sim_root = v;
    else if (flag == "--measurement")
      c.measurement = v;
    else if (flag == "--label")
      c.label = v;
    else if (flag == "--out")
      c.out = v;
    else if (flag == "--encoding")
      c.encoding = v;
    else if (flag == "--device")
      c.device = v;
    else if (flag == "--ohttp")
      c.ohttp = v;
    else if (flag == "--prompt")
      c.prompt = v;
    else if (flag == "--max-tokens")
      c.max_tokens = num();
    else if (flag == "--hold-path")
      c.hold_path = v;
    else if (flag == "--rows")
      c.rows = num();
    else if (flag == "--rounds")
      c.rounds = num();
    else if (flag == "--clients")
      c.clients = num();
    else if (flag == "--requests")
      c.requests = num();
    else if (flag == "--hold")
      c.hold = num();
    else if (flag == "--duration")
      c.duration_s = num();
    else
      Die("unknown flag " + flag);
  }
  if (c.url.empty() || c.model.empty() || (c.input.empty() && c.prompt.empty()) ||
      c.sim_root.empty() || c.measurement.empty()) {
    Die("usage: runtime_load --url URL --model M --input X.npy --sim-root CA.pem "
        "--measurement HEX [--rounds N] [--clients C --requests R] [--hold N --duration S]");
  }
  if (c.hold_path != "confidential" && c.hold_path != "plain") Die("--hold-path");
  if (c.ohttp != "oneshot" && c.ohttp != "chunked") Die("--ohttp oneshot|chunked");
  if (c.encoding != "binary" && c.encoding != "json") Die("--encoding binary|json");
  if (c.device != "auto" && c.device != "cpu" && c.device != "cuda") Die("--device auto|cpu|cuda");
  if (c.label.empty()) c.label = c.model;
  return c;
}

int Main(int argc, char** argv) {
  const Config cfg = ParseFlags(argc, argv);
  Shared s;
  // http://HOST:PORT
  const size_t colon = cfg.url.rfind(':');
  if (cfg.url.rfind("http://", 0) != 0 || colon < 7) Die("--url must be http://HOST:PORT");
  s.host = cfg.url.substr(7, colon - 7);
  s.port = std::atoi(cfg.url.c_str() + colon + 1);

  client::Expectations e;
  e.measurements = {Must(HexDecode(cfg.measurement), "--measurement")};
  e.allow_simulated = true;
  e.sim_root_pem = ReadFile(cfg.sim_root);
  const auto v0 = Clock::now();
  s.service = std::make_unique<client::VerifiedService>(
      Must(client::VerifyService(cfg.url, e), "VerifyService"));
  const double verify_us = Micros(Clock::now() - v0);
  s.chunked = cfg.ohttp == "chunked";

  if (!cfg.prompt.empty()) {
    s.infer_path = "/v2/models/" + cfg.model + "/generate_stream";
    const std::string body =
        json{{"text_input", cfg.prompt}, {"parameters", {{"max_tokens", cfg.max_tokens}}}}.dump();
    std::printf(
        "runtime_load %s: %s model %s, streamed generation of %d tokens, verified in "
        "%.1f ms\n",
        cfg.label.c_str(), cfg.url.c_str(), cfg.model.c_str(), cfg.max_tokens, verify_us / 1000);
    json g = GenerateRounds(s, body, cfg.rounds, cfg.max_tokens);
    std::printf(" %d interleaved streamed generations, one kept-alive connection:\n", cfg.rounds);
    for (const char* path : {"confidential", "plain"}) {
      PrintLine((std::string(path) + " time to first token").c_str(), g[path]["ttft"]);
      PrintLine((std::string(path) + " inter-token latency").c_str(), g[path]["itl"]);
      PrintLine((std::string(path) + " whole stream").c_str(), g[path]["total"]);
    }
    std::printf("  confidential / plain at p50: TTFT %.3f, ITL %.3f, whole stream %.3f\n",
                g["ttft_p50_ratio"].get<double>(), g["itl_p50_ratio"].get<double>(),
                g["total_p50_ratio"].get<double>());
    if (!cfg.out.empty()) {
      std::ofstream(cfg.out)
          << json{{"runtime_load", {{"label", cfg.label}, {"generate", g}}}}.dump(1) << "\n";
    }
    return 0;
  }

  infer::InferRequest request;
  infer::Tensor input =
      Must(infer::ParseNpy(AsBytes(ReadFile(cfg.input)), cfg.input_name), cfg.input);
  if (cfg.rows > 0 && !input.shape.empty() && cfg.rows < input.shape[0]) {
    input.data.resize(input.data.size() / input.shape[0] * cfg.rows);  // row-major: a prefix
    input.shape[0] = cfg.rows;
  }
  request.inputs.push_back(std::move(input));
  std::string shape;
  for (int64_t d : request.inputs[0].shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
  if (cfg.encoding == "binary") {
    request.binary_data_output = true;
    infer::OipBody body = infer::EncodeInferRequestBinary(request);
    s.body = std::move(body.body);
    s.json_length = body.json_length;
  } else {
    s.body = infer::EncodeInferRequest(request);
  }
  s.infer_path = "/v2/models/" + cfg.model + "/infer";
  s.inner.method = "POST";
  s.inner.scheme = "https";
  s.inner.authority = "crypta-runtime";
  s.inner.path = s.infer_path;
  s.inner.headers = {
      {"accept", "application/json"},
      {"content-type", s.json_length ? "application/octet-stream" : "application/json"}};
  if (s.json_length) {
    s.inner.headers.push_back({"inference-header-content-length", std::to_string(*s.json_length)});
  }
  s.inner.content = ToBytes(s.body);
  s.inner_view = ViewOf(s.inner);

  // Both paths must give the same answer (plain is the baseline, not something else).
  {
    Conn conn(s);
    std::string a, b;
    std::optional<size_t> la, lb;
    double t = 0, c = 0;
    std::string ea = conn.Confidential(t, c, &a, &la), eb = conn.Plain(t, &b, &lb);
    if (!ea.empty() || !eb.empty()) Die("first requests: " + ea + " " + eb);
    auto oa = Must(infer::ParseInferResponse(a, la), "confidential response");
    auto ob = Must(infer::ParseInferResponse(b, lb), "plain response");
    if (oa.size() != ob.size() || oa[0].shape != ob[0].shape || oa[0].data != ob[0].data) {
      Die("the confidential and plain outputs differ");
    }
  }
  // Where the model computes, as the runtime reports it (plain OIP model metadata).
  std::string device = "unknown";
  {
    httplib::Client meta(s.host, s.port);
    auto res = meta.Get("/v2/models/" + cfg.model);
    if (!res || res->status != 200) Die("GET /v2/models/" + cfg.model + " failed");
    const json j = json::parse(res->body, nullptr, false);
    if (j.is_object() && j.contains("device") && j["device"].is_string()) {
      device = j["device"].get<std::string>();
    }
    if (cfg.device != "auto" && device != cfg.device) {
      Die("--device " + cfg.device + ": the runtime computes on " + device);
    }
  }
  std::printf(
      "runtime_load %s: %s model %s on %s, input shape [%s], %s request body %zu bytes, "
      "verified in %.1f ms\n",
      cfg.label.c_str(), cfg.url.c_str(), cfg.model.c_str(), device.c_str(), shape.c_str(),
      cfg.encoding.c_str(), s.body.size(), verify_us / 1000);

  json report = {{"label", cfg.label},
                 {"model", cfg.model},
                 {"input_shape", request.inputs[0].shape},
                 {"encoding", cfg.encoding},
                 {"body_bytes", s.body.size()}};
  report["device"] = device;
  int status = 0;
  if (cfg.rounds > 0) {
    json r = Rounds(s, cfg.rounds);
    r["ohttp"] = cfg.ohttp;
    std::printf(" %d interleaved rounds, one kept-alive connection, %s OHTTP:\n", cfg.rounds,
                cfg.ohttp.c_str());
    PrintLine("confidential (OHTTP)", r["confidential"]);
    PrintLine("plain OIP", r["plain"]);
    PrintLine("client encapsulate+decapsulate", r["client_crypto"]);
    PrintLine("confidential - client crypto", r["confidential_minus_client_crypto"]);
    PrintLine("paired (confidential - plain)", r["paired_difference"]);
    std::printf("  overhead at p50: %+.2f%% (%+.1f us); without the client's crypto %+.1f us\n",
                r["overhead_p50_pct"].get<double>(),
                r["confidential"]["p50_us"].get<double>() - r["plain"]["p50_us"].get<double>(),
                r["server_overhead_p50_us"].get<double>());
    const json& sv = r["server"];
    std::printf(
        "  server (/metrics means): /v1/ohttp %.1f us, inner infer %.1f us, plain infer "
        "%.1f us -> gateway %.1f us\n",
        sv["ohttp_handler_mean_us"].get<double>(), sv["inner_infer_mean_us"].get<double>(),
        sv["plain_infer_mean_us"].get<double>(), sv["gateway_mean_us"].get<double>());
    report["rounds"] = r;
  }
  if (cfg.clients > 0) {
    const int n = cfg.requests > 0 ? cfg.requests : 100 * cfg.clients;
    json c = {Concurrent(s, true, cfg.clients, n, {}), Concurrent(s, false, cfg.clients, n, {})};
    if (!s.chunked) c.push_back(Concurrent(s, true, cfg.clients, n, {}, /*presealed=*/true));
    std::printf(" %d concurrent clients, %d requests per path:\n", cfg.clients, n);
    for (const json& j : c) PrintConcurrent(j);
    const double plain = std::max(c[1]["req_per_s"].get<double>(), 1e-9);
    const double ratio = c[0]["req_per_s"].get<double>() / plain;
    std::printf("  confidential / plain throughput: %.3f\n", ratio);
    report["concurrent"] = c;
    report["concurrent_throughput_ratio"] = ratio;
    if (c.size() == 3) {
      const double presealed_ratio = c[2]["req_per_s"].get<double>() / plain;
      std::printf(
          "  confidential with requests sealed beforehand / plain: %.3f (the client's "
          "sealing on the shared cores: %.3f of the %.3f gap)\n",
          presealed_ratio, presealed_ratio - ratio, 1 - ratio);
      report["presealed_throughput_ratio"] = presealed_ratio;
    }
  }
  if (cfg.hold > 0) {
    const auto deadline = Clock::now() + std::chrono::seconds(cfg.duration_s);
    json h = Concurrent(s, cfg.hold_path == "confidential", cfg.hold, 0, deadline);
    h["duration_s"] = cfg.duration_s;
    std::printf(" %d concurrent kept-alive connections for %d s:\n", cfg.hold, cfg.duration_s);
    PrintConcurrent(h);
    if (h["errors"].get<uint64_t>() != 0 || h["ok"].get<uint64_t>() == 0) {
      std::printf("  FAILED: the load run must have zero errors\n");
      status = 1;
    }
    report["hold"] = h;
  }
  if (!cfg.out.empty()) {
    std::ofstream(cfg.out) << json{{"runtime_load", report}}.dump(1) << "\n";
  }
  std::fflush(stdout);
  return status;
}

}  // namespace
}  // namespace crypta

int main(int argc, char** argv) { return crypta::Main(argc, argv); }
