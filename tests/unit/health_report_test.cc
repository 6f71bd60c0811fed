// HealthFigures arithmetic and the HEALTH report codec: round trip,
// validation errors naming the field, the limits on versions and samples,
// and the truncation of sample text.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "shared/health_report.h"

using nlohmann::json;
using upmesh::DecodeHealthReport;
using upmesh::EncodeHealthReport;
using upmesh::FailureSample;
using upmesh::FailureSampleToJson;
using upmesh::HealthFigures;
using upmesh::HealthFiguresFromJson;
using upmesh::HealthFiguresToJson;
using upmesh::HealthReport;
using upmesh::IsFailure;
using upmesh::kMaxSamplesPerReport;
using upmesh::kMaxSampleText;
using upmesh::kMaxVersionsPerReport;
using upmesh::Outcome;
using upmesh::Status;
using upmesh::VersionReport;

namespace {

// The error DecodeHealthReport gives for `text`, or "OK".
std::string DecodeError(const std::string& text) {
  HealthReport report;
  Status status = DecodeHealthReport(text, &report);
  return status.ok() ? "OK" : status.message();
}

// A report with one version "v1" whose entry is `entry`.
std::string OneVersion(const std::string& entry) { return R"({"seq": 1, "versions": {"v1": )" + entry + "}}"; }

}  // namespace

TEST_CASE("figures: every outcome lands in its counter; errors exclude ok and 4xx", "[health-report]") {
  CHECK_FALSE(IsFailure(Outcome::kOk));
  CHECK_FALSE(IsFailure(Outcome::kClientError));
  for (Outcome failure : {Outcome::kServerError, Outcome::kRefused, Outcome::kReset, Outcome::kTimeout,
                          Outcome::kBadFraming}) {
    CHECK(IsFailure(failure));
  }
  HealthFigures figures;
  CHECK(figures.empty());
  figures.Record(Outcome::kOk);
  figures.Record(Outcome::kOk);
  figures.Record(Outcome::kClientError);
  figures.Record(Outcome::kServerError);
  figures.Record(Outcome::kRefused);
  figures.Record(Outcome::kReset);
  figures.Record(Outcome::kTimeout);
  figures.Record(Outcome::kTimeout);
  figures.Record(Outcome::kBadFraming);
  CHECK(figures.ok == 2);
  CHECK(figures.client_errors == 1);
  CHECK(figures.server_errors == 1);
  CHECK(figures.refused == 1);
  CHECK(figures.reset == 1);
  CHECK(figures.timeouts == 2);
  CHECK(figures.bad_framing == 1);
  CHECK(figures.errors() == 6);
  CHECK(figures.requests() == 9);
  CHECK_FALSE(figures.empty());
}

TEST_CASE("figures: shielded or compared alone are news, but not requests", "[health-report]") {
  HealthFigures shielded;
  shielded.shielded = 1;
  CHECK(shielded.requests() == 0);
  CHECK_FALSE(shielded.empty());
  HealthFigures compared;
  compared.compared = 2;
  compared.mismatched = 1;
  CHECK(compared.requests() == 0);
  CHECK_FALSE(compared.empty());
}

TEST_CASE("figures: Add then Subtract gives back the original, never below zero", "[health-report]") {
  HealthFigures a;
  a.ok = 10;
  a.server_errors = 2;
  a.shielded = 1;
  a.compared = 4;
  a.mismatched = 1;
  a.latency_us.Add(1000);
  a.body_bytes.Add(300);
  HealthFigures b;
  b.ok = 5;
  b.timeouts = 3;
  b.latency_us.Add(90000);
  b.latency_us.Add(90000);
  HealthFigures sum = a;
  sum.Add(b);
  CHECK(sum.ok == 15);
  CHECK(sum.timeouts == 3);
  CHECK(sum.errors() == 5);
  CHECK(sum.requests() == 20);
  CHECK(sum.compared == 4);
  CHECK(sum.latency_us.count() == 3);
  CHECK(sum.body_bytes.count() == 1);
  sum.Subtract(b);
  CHECK(HealthFiguresToJson(sum) == HealthFiguresToJson(a));
  sum.Subtract(b);  // more than is there: saturates at zero
  CHECK(sum.ok == 5);
  CHECK(sum.timeouts == 0);
  CHECK(sum.latency_us.count() == 1);
  sum.Subtract(a);
  CHECK(sum.empty());
  CHECK(sum.latency_us.count() == 0);
}

TEST_CASE("report: encode then decode gives the same report", "[health-report]") {
  HealthReport report;
  report.seq = 42;
  VersionReport& v1 = report.versions["v1"];
  v1.figures.ok = 7;
  v1.figures.client_errors = 1;
  v1.figures.server_errors = 2;
  v1.figures.refused = 3;
  v1.figures.reset = 4;
  v1.figures.timeouts = 5;
  v1.figures.bad_framing = 6;
  v1.figures.shielded = 8;
  v1.figures.compared = 9;
  v1.figures.mismatched = 1;
  v1.figures.latency_us.Add(1500);
  v1.figures.latency_us.Add(250000);
  v1.figures.body_bytes.Add(4096);
  v1.failure_run = 11;
  v1.first_failure_at_ms = 1700000000123;
  FailureSample sample;
  sample.method = "GET";
  sample.target = "/a?b=c";
  sample.status = 502;
  sample.error = "connect to backend 127.0.0.1:1 failed: Connection refused";
  sample.at_ms = 1700000000124;
  v1.samples.push_back(sample);
  report.versions["v2"].figures.ok = 1;  // no failures: no firstFailureAtMs

  std::string text = EncodeHealthReport(report);
  json encoded = json::parse(text);
  CHECK(encoded["seq"] == 42);
  CHECK(encoded["versions"]["v1"]["failureRun"] == 11);
  CHECK(encoded["versions"]["v1"]["serverErrors"] == 2);
  CHECK_FALSE(encoded["versions"]["v2"].contains("firstFailureAtMs"));

  HealthReport back;
  REQUIRE(DecodeHealthReport(text, &back).ok());
  CHECK(back.seq == 42);
  REQUIRE(back.versions.size() == 2);
  const VersionReport& d1 = back.versions.at("v1");
  CHECK(HealthFiguresToJson(d1.figures) == HealthFiguresToJson(v1.figures));
  CHECK(d1.figures.requests() == 28);
  CHECK(d1.figures.errors() == 20);
  CHECK(d1.failure_run == 11);
  CHECK(d1.first_failure_at_ms == 1700000000123);
  REQUIRE(d1.samples.size() == 1);
  CHECK(d1.samples[0].method == "GET");
  CHECK(d1.samples[0].target == "/a?b=c");
  CHECK(d1.samples[0].status == 502);
  CHECK(d1.samples[0].error == sample.error);
  CHECK(d1.samples[0].at_ms == 1700000000124);
  CHECK(d1.samples[0].worker.empty());
  CHECK(back.versions.at("v2").figures.ok == 1);
  CHECK(back.versions.at("v2").first_failure_at_ms == 0);
  CHECK(back.versions.at("v2").samples.empty());
  CHECK(back.versions.at("v2").failure_run == 0);
  CHECK(EncodeHealthReport(back) == text);
}

TEST_CASE("report: absent fields default, an empty versions object is fine", "[health-report]") {
  HealthReport report;
  report.seq = 99;
  REQUIRE(DecodeHealthReport(R"({"versions": {}})", &report).ok());
  CHECK(report.seq == 0);
  CHECK(report.versions.empty());
  REQUIRE(DecodeHealthReport(OneVersion(R"({"ok": 3})"), &report).ok());
  const VersionReport& v1 = report.versions.at("v1");
  CHECK(v1.figures.ok == 3);
  CHECK(v1.figures.requests() == 3);
  CHECK(v1.failure_run == 0);
  CHECK(v1.samples.empty());
  CHECK(v1.figures.latency_us.count() == 0);
}

TEST_CASE("report: malformed reports are refused naming the field", "[health-report]") {
  const std::string at_most_versions = "health report.versions: must be an object of at most " +
                                       std::to_string(kMaxVersionsPerReport) + " versions";
  CHECK(DecodeError("") == "health report: line 1, column 1: unexpected end of input; expected '[', '{', or a literal");
  CHECK(DecodeError("{") == "health report: line 1, column 2: unexpected end of input; expected string literal");
  CHECK(DecodeError(std::string(100, '[')) == "health report: line 1, column 65: nesting deeper than 64 levels");
  CHECK(DecodeError("[1]") == "health report: not a JSON object");
  CHECK(DecodeError("{}") == at_most_versions);
  CHECK(DecodeError(R"({"versions": []})") == at_most_versions);
  CHECK(DecodeError(R"({"seq": -1, "versions": {}})") == "health report.seq: must be a non-negative integer");
  CHECK(DecodeError(R"({"seq": "1", "versions": {}})") == "health report.seq: must be a non-negative integer");
  CHECK(DecodeError(OneVersion("5")) == "health report.versions.v1: must be an object");
  CHECK(DecodeError(OneVersion(R"({"ok": -1})")) == "health report.versions.v1.ok: must be a non-negative integer");
  CHECK(DecodeError(OneVersion(R"({"timeouts": 1.5})")) ==
        "health report.versions.v1.timeouts: must be a non-negative integer");
  CHECK(DecodeError(OneVersion(R"({"mismatched": "2"})")) ==
        "health report.versions.v1.mismatched: must be a non-negative integer");
  CHECK(DecodeError(OneVersion(R"({"failureRun": -3})")) ==
        "health report.versions.v1.failureRun: must be a non-negative integer");
  CHECK(DecodeError(OneVersion(R"({"firstFailureAtMs": "x"})")) ==
        "health report.versions.v1.firstFailureAtMs: must be a non-negative integer");
  CHECK(DecodeError(OneVersion(R"({"latencyUs": {}})")).rfind("health report.versions.v1.latencyUs: ", 0) == 0);
  CHECK(DecodeError(OneVersion(R"({"bodyBytes": [[999, 1]]})")).rfind("health report.versions.v1.bodyBytes: ", 0) == 0);
  CHECK(DecodeError(OneVersion(R"({"samples": {}})")) == "health report.versions.v1.samples: must be an array of at most 3");
  CHECK(DecodeError(OneVersion(R"({"samples": [5]})")) == "health report.versions.v1.samples[]: must be an object");
  CHECK(DecodeError(OneVersion(R"({"samples": [{"method": 1}]})")) ==
        "health report.versions.v1.samples[].method: must be a string");
  CHECK(DecodeError(OneVersion(R"({"samples": [{"target": null}]})")) ==
        "health report.versions.v1.samples[].target: must be a string");
  CHECK(DecodeError(OneVersion(R"({"samples": [{"error": []}]})")) ==
        "health report.versions.v1.samples[].error: must be a string");
  CHECK(DecodeError(OneVersion(R"({"samples": [{"status": -502}]})")) ==
        "health report.versions.v1.samples[].status: must be a non-negative integer");
  CHECK(DecodeError(OneVersion(R"({"samples": [{"status": 1000}]})")) ==
        "health report.versions.v1.samples[].status: must be an HTTP status");
  CHECK(DecodeError(OneVersion(R"({"samples": [{"atMs": -1}]})")) ==
        "health report.versions.v1.samples[].atMs: must be a non-negative integer");
  CHECK(DecodeError(OneVersion(R"({"samples": [{"status": 999}]})")) == "OK");

  // A refused report leaves the target as it was.
  HealthReport report;
  report.seq = 5;
  REQUIRE_FALSE(DecodeHealthReport(OneVersion(R"({"ok": -1})"), &report).ok());
  CHECK(report.seq == 5);
  CHECK(report.versions.empty());
}

TEST_CASE("report: at most kMaxSamplesPerReport samples and kMaxVersionsPerReport versions", "[health-report]") {
  json sample = {{"method", "GET"}, {"target", "/"}, {"status", 502}};
  json entry = {{"ok", 1}, {"samples", json::array()}};
  for (size_t i = 0; i < kMaxSamplesPerReport; ++i) entry["samples"].push_back(sample);
  HealthReport report;
  REQUIRE(DecodeHealthReport(json{{"versions", {{"v1", entry}}}}.dump(), &report).ok());
  CHECK(report.versions.at("v1").samples.size() == kMaxSamplesPerReport);
  entry["samples"].push_back(sample);
  CHECK(DecodeError(json{{"versions", {{"v1", entry}}}}.dump()) ==
        "health report.versions.v1.samples: must be an array of at most 3");

  json versions = json::object();
  for (size_t i = 0; i < kMaxVersionsPerReport; ++i) versions["v" + std::to_string(i)] = {{"ok", 1}};
  REQUIRE(DecodeHealthReport(json{{"versions", versions}}.dump(), &report).ok());
  CHECK(report.versions.size() == kMaxVersionsPerReport);
  versions["one-too-many"] = {{"ok", 1}};
  CHECK(DecodeError(json{{"versions", versions}}.dump()) ==
        "health report.versions: must be an object of at most 256 versions");
}

TEST_CASE("report: sample text is cut at kMaxSampleText bytes", "[health-report]") {
  std::string long_text(kMaxSampleText + 300, 'x');
  std::string exact(kMaxSampleText, 'y');
  json sample = {{"method", long_text}, {"target", "/" + long_text}, {"error", exact}, {"status", 504}};
  HealthReport report;
  REQUIRE(DecodeHealthReport(json{{"versions", {{"v1", {{"samples", {sample}}}}}}}.dump(), &report).ok());
  const FailureSample& decoded = report.versions.at("v1").samples.at(0);
  CHECK(decoded.method.size() == kMaxSampleText);
  CHECK(decoded.target.size() == kMaxSampleText);
  CHECK(decoded.target == "/" + std::string(kMaxSampleText - 1, 'x'));
  CHECK(decoded.error == exact);  // exactly at the limit: kept whole
  CHECK(decoded.status == 504);
}

TEST_CASE("report: sample JSON leaves out an empty error and worker", "[health-report]") {
  FailureSample sample;
  sample.method = "POST";
  sample.target = "/x";
  sample.status = 500;
  sample.at_ms = 12;
  CHECK(FailureSampleToJson(sample) ==
        json{{"method", "POST"}, {"target", "/x"}, {"status", 500}, {"atMs", 12}});
  sample.error = "reset";
  sample.worker = "w1";
  json full = FailureSampleToJson(sample);
  CHECK(full["error"] == "reset");
  CHECK(full["worker"] == "w1");
}

TEST_CASE("report: invalid UTF-8 in sample text is encoded without throwing", "[health-report]") {
  HealthReport report;
  FailureSample sample;
  sample.method = "GET";
  sample.target = std::string("/\xff\xfe", 3);
  report.versions["v1"].samples.push_back(sample);
  report.versions["v1"].failure_run = 1;
  std::string text;
  REQUIRE_NOTHROW(text = EncodeHealthReport(report));
  HealthReport back;
  REQUIRE(DecodeHealthReport(text, &back).ok());
  CHECK(back.versions.at("v1").samples.at(0).target.rfind("/", 0) == 0);
  CHECK(back.versions.at("v1").failure_run == 1);
}

TEST_CASE("figures JSON: every counter and both histograms", "[health-report]") {
  HealthFigures figures;
  figures.ok = 1;
  figures.bad_framing = 2;
  figures.latency_us.Add(3);
  json encoded = HealthFiguresToJson(figures);
  for (const char* key : {"ok", "clientErrors", "serverErrors", "refused", "reset", "timeouts", "badFraming",
                          "shielded", "compared", "mismatched", "latencyUs", "bodyBytes"}) {
    INFO(key);
    CHECK(encoded.contains(key));
  }
  CHECK(encoded["badFraming"] == 2);
  CHECK(encoded["latencyUs"] == json::parse("[[3, 1]]"));
  HealthFigures back;
  REQUIRE(HealthFiguresFromJson(encoded, "f", &back).ok());
  CHECK(back.bad_framing == 2);
  CHECK(back.errors() == 2);
  CHECK(back.latency_us.Quantile(0.5) == 3);
  Status bad = HealthFiguresFromJson(json::array(), "f", &back);
  CHECK(bad.message() == "f: must be an object");
}
