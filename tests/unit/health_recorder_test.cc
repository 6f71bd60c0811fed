// The worker's HealthRecorder: what goes into a report, failure runs that
// carry across reports, samples capped per report, Retain, HasNews.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "worker/health_recorder.h"

using upmesh::FailureSample;
using upmesh::HealthReport;
using upmesh::kMaxSamplesPerReport;
using upmesh::Outcome;
using upmesh::VersionReport;
using upmesh::worker::HealthRecorder;
using upmesh::worker::VersionHealth;

namespace {

FailureSample Sample(const std::string& target) {
  FailureSample sample;
  sample.method = "GET";
  sample.target = target;
  sample.status = 502;
  sample.error = "refused";
  return sample;
}

}  // namespace

TEST_CASE("recorder: a fresh recorder has no news and an empty report", "[health-recorder]") {
  HealthRecorder recorder;
  CHECK_FALSE(recorder.HasNews());
  recorder.ForVersion("v1");  // looked up, nothing recorded
  CHECK_FALSE(recorder.HasNews());
  HealthReport report = recorder.TakeReport(7);
  CHECK(report.seq == 7);
  CHECK(report.versions.empty());
}

TEST_CASE("recorder: outcomes, latency of responses and the body sizes given", "[health-recorder]") {
  HealthRecorder recorder;
  VersionHealth* v1 = recorder.ForVersion("v1");
  CHECK(recorder.ForVersion("v1") == v1);  // the same record every time
  v1->Record(Outcome::kOk, 2000, 512, 100, nullptr);
  v1->Record(Outcome::kOk, 4000, 1024, 101, nullptr);
  v1->Record(Outcome::kClientError, 1000, std::nullopt, 102, nullptr);  // latency counts; no size given
  v1->Record(Outcome::kOk, -5, std::nullopt, 103, nullptr);  // a clock that went back: 0 µs; a 3xx: no size
  FailureSample sample = Sample("/x");
  v1->Record(Outcome::kTimeout, 900000, std::nullopt, 104, &sample);     // failures: no latency, no size
  v1->RecordShielded();
  v1->RecordComparison(true);
  v1->RecordComparison(false);
  CHECK(recorder.HasNews());

  HealthReport report = recorder.TakeReport(3);
  REQUIRE(report.versions.count("v1") == 1);
  const VersionReport& got = report.versions.at("v1");
  CHECK(got.figures.ok == 3);
  CHECK(got.figures.client_errors == 1);
  CHECK(got.figures.timeouts == 1);
  CHECK(got.figures.requests() == 5);
  CHECK(got.figures.errors() == 1);
  CHECK(got.figures.shielded == 1);
  CHECK(got.figures.compared == 2);
  CHECK(got.figures.mismatched == 1);
  CHECK(got.figures.latency_us.count() == 4);
  CHECK(got.figures.latency_us.Quantile(0) == 0);
  CHECK(got.figures.latency_us.Quantile(1) == Approx(4000).epsilon(0.125));
  CHECK(got.figures.body_bytes.count() == 2);
  CHECK(got.figures.body_bytes.Quantile(1) == Approx(1024).epsilon(0.125));
  CHECK(got.failure_run == 1);
  CHECK(got.first_failure_at_ms == 104);
  REQUIRE(got.samples.size() == 1);
  CHECK(got.samples[0].target == "/x");
}

TEST_CASE("recorder: the failure run counts failures since the last success", "[health-recorder]") {
  HealthRecorder recorder;
  VersionHealth* v1 = recorder.ForVersion("v1");
  v1->Record(Outcome::kServerError, 0, 0, 10, nullptr);
  v1->Record(Outcome::kRefused, 0, 0, 11, nullptr);
  CHECK(v1->failure_run() == 2);
  v1->Record(Outcome::kClientError, 0, 0, 12, nullptr);  // a 4xx is an answer: the run ends
  CHECK(v1->failure_run() == 0);
  v1->Record(Outcome::kReset, 0, 0, 13, nullptr);
  v1->Record(Outcome::kBadFraming, 0, 0, 14, nullptr);
  v1->Record(Outcome::kTimeout, 0, 0, 15, nullptr);
  CHECK(v1->failure_run() == 3);
  HealthReport report = recorder.TakeReport(1);
  CHECK(report.versions.at("v1").failure_run == 3);
  CHECK(report.versions.at("v1").first_failure_at_ms == 10);  // the first in the report, not the run's
}

TEST_CASE("recorder: failure runs carry across reports, the rest starts afresh", "[health-recorder]") {
  HealthRecorder recorder;
  VersionHealth* v1 = recorder.ForVersion("v1");
  FailureSample sample = Sample("/a");
  for (int i = 0; i < 4; ++i) v1->Record(Outcome::kRefused, 0, 0, 1000 + i, &sample);
  HealthReport first = recorder.TakeReport(1);
  CHECK(first.versions.at("v1").failure_run == 4);
  CHECK(first.versions.at("v1").figures.refused == 4);

  // Nothing new recorded: no news, but the report still carries the run so
  // the router's catastrophe rule keeps seeing it.
  CHECK_FALSE(recorder.HasNews());
  HealthReport idle = recorder.TakeReport(2);
  REQUIRE(idle.versions.count("v1") == 1);
  CHECK(idle.versions.at("v1").failure_run == 4);
  CHECK(idle.versions.at("v1").figures.empty());
  CHECK(idle.versions.at("v1").samples.empty());
  CHECK(idle.versions.at("v1").first_failure_at_ms == 0);

  for (int i = 0; i < 3; ++i) v1->Record(Outcome::kTimeout, 0, 0, 2000 + i, &sample);
  HealthReport second = recorder.TakeReport(3);
  CHECK(second.versions.at("v1").failure_run == 7);
  CHECK(second.versions.at("v1").figures.timeouts == 3);
  CHECK(second.versions.at("v1").figures.refused == 0);  // figures reset per report
  CHECK(second.versions.at("v1").first_failure_at_ms == 2000);

  v1->Record(Outcome::kOk, 100, 10, 3000, nullptr);
  HealthReport healed = recorder.TakeReport(4);
  CHECK(healed.versions.at("v1").failure_run == 0);
  // After the run ended and a report went out, an idle version is left out.
  CHECK(recorder.TakeReport(5).versions.empty());
}

TEST_CASE("recorder: at most kMaxSamplesPerReport samples, the first ones", "[health-recorder]") {
  HealthRecorder recorder;
  VersionHealth* v1 = recorder.ForVersion("v1");
  for (int i = 0; i < 10; ++i) {
    FailureSample sample = Sample("/" + std::to_string(i));
    v1->Record(Outcome::kServerError, 0, 0, 50 + i, &sample);
  }
  v1->Record(Outcome::kServerError, 0, 0, 70, nullptr);  // no sample given: counted only
  HealthReport report = recorder.TakeReport(1);
  const VersionReport& got = report.versions.at("v1");
  CHECK(got.figures.server_errors == 11);
  REQUIRE(got.samples.size() == kMaxSamplesPerReport);
  CHECK(got.samples[0].target == "/0");
  CHECK(got.samples[2].target == "/2");
  // The next report has room again.
  FailureSample later = Sample("/later");
  v1->Record(Outcome::kServerError, 0, 0, 80, &later);
  HealthReport next = recorder.TakeReport(2);
  REQUIRE(next.versions.at("v1").samples.size() == 1);
  CHECK(next.versions.at("v1").samples[0].target == "/later");
}

TEST_CASE("recorder: a success never takes a sample", "[health-recorder]") {
  HealthRecorder recorder;
  FailureSample sample = Sample("/ok");
  recorder.ForVersion("v1")->Record(Outcome::kOk, 1, 1, 1, &sample);
  recorder.ForVersion("v1")->Record(Outcome::kClientError, 1, 1, 1, &sample);
  HealthReport report = recorder.TakeReport(1);
  CHECK(report.versions.at("v1").samples.empty());
  CHECK(report.versions.at("v1").first_failure_at_ms == 0);
}

TEST_CASE("recorder: versions are reported separately; Retain drops the deleted ones", "[health-recorder]") {
  HealthRecorder recorder;
  recorder.ForVersion("v1")->Record(Outcome::kOk, 10, 10, 0, nullptr);
  recorder.ForVersion("v2")->Record(Outcome::kServerError, 0, 0, 5, nullptr);
  recorder.ForVersion("v3")->RecordShielded();
  recorder.Retain({"v1", "v3", "unknown"});
  HealthReport report = recorder.TakeReport(9);
  CHECK(report.versions.size() == 2);
  CHECK(report.versions.count("v1") == 1);
  CHECK(report.versions.count("v2") == 0);
  CHECK(report.versions.at("v3").figures.shielded == 1);
  CHECK(report.versions.at("v3").figures.requests() == 0);

  // A version dropped and used again starts from nothing (no old failure run).
  VersionHealth* v2 = recorder.ForVersion("v2");
  CHECK(v2->failure_run() == 0);
  recorder.Retain({});
  CHECK_FALSE(recorder.HasNews());
  CHECK(recorder.TakeReport(10).versions.empty());
}

TEST_CASE("recorder: HasNews after any kind of record", "[health-recorder]") {
  {
    HealthRecorder recorder;
    recorder.ForVersion("v")->RecordComparison(true);
    CHECK(recorder.HasNews());
    recorder.TakeReport(1);
    CHECK_FALSE(recorder.HasNews());
  }
  {
    HealthRecorder recorder;
    recorder.ForVersion("v")->RecordShielded();
    CHECK(recorder.HasNews());
  }
  {
    HealthRecorder recorder;
    recorder.ForVersion("v")->Record(Outcome::kReset, 0, 0, 1, nullptr);
    CHECK(recorder.HasNews());
    recorder.TakeReport(1);
    CHECK_FALSE(recorder.HasNews());  // the run alone is no news
  }
}
