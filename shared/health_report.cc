#include "shared/health_report.h"

#include <algorithm>

#include "shared/json_reader.h"
#include "shared/wire.h"

namespace upmesh {
namespace {

using nlohmann::json;

// The counters of HealthFigures and their JSON names, in one place.
struct Counter {
  const char* name;
  uint64_t HealthFigures::*field;
};
constexpr Counter kCounters[] = {
    {"ok", &HealthFigures::ok},
    {"clientErrors", &HealthFigures::client_errors},
    {"serverErrors", &HealthFigures::server_errors},
    {"refused", &HealthFigures::refused},
    {"reset", &HealthFigures::reset},
    {"timeouts", &HealthFigures::timeouts},
    {"badFraming", &HealthFigures::bad_framing},
    {"shielded", &HealthFigures::shielded},
    {"compared", &HealthFigures::compared},
    {"mismatched", &HealthFigures::mismatched},
};

std::string Truncated(std::string text) {
  if (text.size() > kMaxSampleText) text.resize(kMaxSampleText);
  return text;
}

Status ReadUnsigned(const json& object, const char* key, const std::string& path, uint64_t* out) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  if (!it->is_number_unsigned()) return Status::InvalidArgument(path + "." + key + ": must be a non-negative integer");
  *out = it->get<uint64_t>();
  return Status::Ok();
}

Status SampleFromJson(const json& object, const std::string& path, FailureSample* sample) {
  if (!object.is_object()) return Status::InvalidArgument(path + ": must be an object");
  for (const char* key : {"method", "target", "error"}) {
    auto it = object.find(key);
    if (it != object.end() && !it->is_string()) return Status::InvalidArgument(path + "." + key + ": must be a string");
  }
  sample->method = Truncated(object.value("method", ""));
  sample->target = Truncated(object.value("target", ""));
  sample->error = Truncated(object.value("error", ""));
  uint64_t status = 0, at = 0;
  Status read = ReadUnsigned(object, "status", path, &status);
  if (read.ok()) read = ReadUnsigned(object, "atMs", path, &at);
  if (!read.ok()) return read;
  if (status > 999) return Status::InvalidArgument(path + ".status: must be an HTTP status");
  sample->status = static_cast<int>(status);
  sample->at_ms = static_cast<int64_t>(at);
  return Status::Ok();
}

}  // namespace

void HealthFigures::Record(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: ok++; break;
    case Outcome::kClientError: client_errors++; break;
    case Outcome::kServerError: server_errors++; break;
    case Outcome::kRefused: refused++; break;
    case Outcome::kReset: reset++; break;
    case Outcome::kTimeout: timeouts++; break;
    case Outcome::kBadFraming: bad_framing++; break;
  }
}

void HealthFigures::Add(const HealthFigures& other) {
  for (const Counter& counter : kCounters) this->*counter.field += other.*counter.field;
  latency_us.Merge(other.latency_us);
  body_bytes.Merge(other.body_bytes);
}

void HealthFigures::Subtract(const HealthFigures& other) {
  for (const Counter& counter : kCounters) {
    uint64_t& mine = this->*counter.field;
    mine -= std::min(mine, other.*counter.field);
  }
  latency_us.Subtract(other.latency_us);
  body_bytes.Subtract(other.body_bytes);
}

json HealthFiguresToJson(const HealthFigures& figures, bool compact) {
  json out = json::object();
  for (const Counter& counter : kCounters) {
    if (!compact || figures.*counter.field != 0) out[counter.name] = figures.*counter.field;
  }
  if (!compact || figures.latency_us.count() > 0) out["latencyUs"] = figures.latency_us.ToJson();
  if (!compact || figures.body_bytes.count() > 0) out["bodyBytes"] = figures.body_bytes.ToJson();
  return out;
}

Status HealthFiguresFromJson(const json& object, const std::string& path, HealthFigures* figures) {
  if (!object.is_object()) return Status::InvalidArgument(path + ": must be an object");
  HealthFigures result;
  for (const Counter& counter : kCounters) {
    UPMESH_RETURN_IF_ERROR(ReadUnsigned(object, counter.name, path, &(result.*counter.field)));
  }
  if (auto it = object.find("latencyUs"); it != object.end()) {
    UPMESH_RETURN_IF_ERROR(LogHistogram::FromJson(*it, path + ".latencyUs", &result.latency_us));
  }
  if (auto it = object.find("bodyBytes"); it != object.end()) {
    UPMESH_RETURN_IF_ERROR(LogHistogram::FromJson(*it, path + ".bodyBytes", &result.body_bytes));
  }
  *figures = std::move(result);
  return Status::Ok();
}

json FailureSampleToJson(const FailureSample& sample) {
  json out = {{"method", sample.method}, {"target", sample.target}, {"status", sample.status}, {"atMs", sample.at_ms}};
  if (!sample.error.empty()) out["error"] = sample.error;
  if (!sample.worker.empty()) out["worker"] = sample.worker;
  return out;
}

std::string EncodeHealthReport(const HealthReport& report) {
  json versions = json::object();
  for (const auto& [uuid, version] : report.versions) {
    json entry = HealthFiguresToJson(version.figures, /*compact=*/true);
    if (version.failure_run > 0) entry["failureRun"] = version.failure_run;
    if (version.first_failure_at_ms > 0) entry["firstFailureAtMs"] = version.first_failure_at_ms;
    if (!version.samples.empty()) {
      json samples = json::array();
      for (const FailureSample& sample : version.samples) samples.push_back(FailureSampleToJson(sample));
      entry["samples"] = std::move(samples);
    }
    versions[uuid] = std::move(entry);
  }
  return json{{"seq", report.seq}, {"versions", versions}, {"servers", report.servers}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

Status DecodeHealthReport(std::string_view text, HealthReport* report) {
  json root;
  if (Status parsed = ParseJson(text, wire::kWorkerReportLimits, &root); !parsed.ok()) {
    return Status::InvalidArgument("health report: " + parsed.message());
  }
  if (!root.is_object()) return Status::InvalidArgument("health report: not a JSON object");
  HealthReport result;
  UPMESH_RETURN_IF_ERROR(ReadUnsigned(root, "seq", "health report", &result.seq));
  auto versions = root.find("versions");
  if (versions == root.end() || !versions->is_object() || versions->size() > kMaxVersionsPerReport) {
    return Status::InvalidArgument("health report.versions: must be an object of at most " +
                                   std::to_string(kMaxVersionsPerReport) + " versions");
  }
  for (auto it = versions->begin(); it != versions->end(); ++it) {
    std::string path = "health report.versions." + NameForMessage(it.key());
    VersionReport version;
    UPMESH_RETURN_IF_ERROR(HealthFiguresFromJson(it.value(), path, &version.figures));
    UPMESH_RETURN_IF_ERROR(ReadUnsigned(it.value(), "failureRun", path, &version.failure_run));
    uint64_t first = 0;
    UPMESH_RETURN_IF_ERROR(ReadUnsigned(it.value(), "firstFailureAtMs", path, &first));
    version.first_failure_at_ms = static_cast<int64_t>(first);
    if (auto samples = it.value().find("samples"); samples != it.value().end()) {
      if (!samples->is_array() || samples->size() > kMaxSamplesPerReport) {
        return Status::InvalidArgument(path + ".samples: must be an array of at most " +
                                       std::to_string(kMaxSamplesPerReport));
      }
      for (const json& entry : *samples) {
        FailureSample sample;
        UPMESH_RETURN_IF_ERROR(SampleFromJson(entry, path + ".samples[]", &sample));
        version.samples.push_back(std::move(sample));
      }
    }
    result.versions.emplace(it.key(), std::move(version));
  }
  if (auto servers = root.find("servers"); servers != root.end()) {
    if (!servers->is_object() || servers->size() > kMaxServersPerReport) {
      return Status::InvalidArgument("health report.servers: must be an object of at most " +
                                     std::to_string(kMaxServersPerReport) + " servers");
    }
    for (auto it = servers->begin(); it != servers->end(); ++it) {
      if (!it.value().is_object() || !it.value().value("state", json()).is_string()) {
        return Status::InvalidArgument("health report.servers." + NameForMessage(it.key()) + ": must be an object with a \"state\"");
      }
    }
    result.servers = *servers;
  }
  *report = std::move(result);
  return Status::Ok();
}

}  // namespace upmesh
