// The judge: each rule in its order, the low-volume guard, the effect floor
// with the significance test, and that noise on a healthy version never
// rolls it back.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "router/health_judge.h"

using nlohmann::json;
using upmesh::HealthFigures;
using upmesh::LogHistogram;
using upmesh::MonitorConfig;
using upmesh::router::Health;
using upmesh::router::HealthName;
using upmesh::router::Judge;
using upmesh::router::Judgement;
using upmesh::router::SummaryJson;
using upmesh::router::TwoProportionZ;

namespace {

// `requests` requests of which `errors` are 5xx; every success took
// `latency_us` and returned `body` bytes.
HealthFigures Figures(uint64_t requests, uint64_t errors, uint64_t latency_us = 10000, uint64_t body = 2000) {
  HealthFigures figures;
  figures.ok = requests - errors;
  figures.server_errors = errors;
  figures.latency_us.AddToBin(LogHistogram::BinOf(latency_us), figures.ok);
  figures.body_bytes.AddToBin(LogHistogram::BinOf(body), figures.ok);
  return figures;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("judge: health names", "[health-judge]") {
  CHECK(std::string(HealthName(Health::kWatching)) == "watching");
  CHECK(std::string(HealthName(Health::kHealthy)) == "healthy");
  CHECK(std::string(HealthName(Health::kInconclusive)) == "inconclusive");
  CHECK(std::string(HealthName(Health::kUnhealthy)) == "unhealthy");
  CHECK(std::string(HealthName(Health::kRolledBack)) == "rolledBack");
}

TEST_CASE("judge: the same figures on both sides are healthy", "[health-judge]") {
  MonitorConfig config;
  HealthFigures same = Figures(500, 5);
  Judgement judgement = Judge(same, &same, 0, config);
  CHECK(judgement.health == Health::kHealthy);
  CHECK(judgement.rule.empty());
  CHECK(Contains(judgement.detail, "500 requests"));
}

TEST_CASE("judge: consecutiveFailures fires first, without any volume or comparison", "[health-judge]") {
  MonitorConfig config;  // consecutive_failures 10
  HealthFigures none;
  Judgement judgement = Judge(none, nullptr, 10, config);
  CHECK(judgement.health == Health::kUnhealthy);
  CHECK(judgement.rule == "consecutiveFailures");
  CHECK(judgement.detail == "10 failures in a row (threshold 10)");
  CHECK(Judge(none, nullptr, 9, config).health == Health::kInconclusive);
  // It wins over every other rule.
  HealthFigures bad = Figures(1000, 500, 900000, 1);
  HealthFigures good = Figures(1000, 0);
  CHECK(Judge(bad, &good, 25, config).rule == "consecutiveFailures");
  config.consecutive_failures = 3;
  CHECK(Judge(none, nullptr, 3, config).rule == "consecutiveFailures");
  CHECK(Judge(none, nullptr, 2, config).health == Health::kInconclusive);
}

TEST_CASE("judge: below minRequests on either side it is inconclusive", "[health-judge]") {
  MonitorConfig config;  // min_requests 50
  HealthFigures old_good = Figures(1000, 0);
  // Every request failed, but only 49 of them (and a run below the limit).
  HealthFigures few_bad = Figures(49, 49);
  Judgement judgement = Judge(few_bad, &old_good, 9, config);
  CHECK(judgement.health == Health::kInconclusive);
  CHECK(judgement.detail == "49 requests in the window, 50 needed");

  // Enough on the new side, too few on the old one.
  HealthFigures new_bad = Figures(1000, 900);
  HealthFigures old_few = Figures(49, 0);
  judgement = Judge(new_bad, &old_few, 0, config);
  CHECK(judgement.health == Health::kInconclusive);
  CHECK(judgement.detail == "the old version has 49 requests to compare with, 50 needed");
  judgement = Judge(new_bad, nullptr, 0, config);
  CHECK(judgement.health == Health::kInconclusive);
  CHECK(judgement.detail == "the old version has 0 requests to compare with, 50 needed");

  // At exactly minRequests the rules apply.
  CHECK(Judge(Figures(50, 50), &old_good, 0, config).rule == "errorRate");
}

TEST_CASE("judge: never unhealthy below minRequests, whatever the figures (but the catastrophe rule)",
          "[health-judge]") {
  MonitorConfig config;
  HealthFigures old_good = Figures(10000, 0, 1000, 5000);
  for (uint64_t n = 0; n < 50; ++n) {
    for (uint64_t errors = 0; errors <= n; ++errors) {
      // Slow, tiny bodies, every comparison a mismatch: still too few requests.
      HealthFigures candidate = Figures(n, errors, 5000000, 1);
      candidate.compared = 1000;
      candidate.mismatched = 1000;
      Judgement judgement = Judge(candidate, &old_good, 9, config);
      INFO("n=" << n << " errors=" << errors);
      REQUIRE(judgement.health == Health::kInconclusive);
      // The same on the old side.
      REQUIRE(Judge(old_good, &candidate, 0, config).health == Health::kInconclusive);
    }
  }
}

TEST_CASE("judge: 10 % errors against 0 % on 200 requests is errorRate", "[health-judge]") {
  MonitorConfig config;
  HealthFigures candidate = Figures(200, 20);
  HealthFigures old = Figures(200, 0);
  Judgement judgement = Judge(candidate, &old, 0, config);
  CHECK(judgement.health == Health::kUnhealthy);
  CHECK(judgement.rule == "errorRate");
  CHECK(Contains(judgement.detail, "error rate 10.0 % vs 0.0 % on the old version, z = 4.6"));
  // Every kind of failure counts as an error, 4xx does not.
  HealthFigures mixed = Figures(200, 0);
  mixed.ok = 180;
  mixed.refused = 5;
  mixed.reset = 5;
  mixed.timeouts = 5;
  mixed.bad_framing = 5;
  CHECK(Judge(mixed, &old, 0, config).rule == "errorRate");
  HealthFigures client_errors = Figures(200, 0);
  client_errors.ok = 100;
  client_errors.client_errors = 100;
  CHECK(Judge(client_errors, &old, 0, config).health == Health::kHealthy);
  // Better than the old one is healthy.
  CHECK(Judge(old, &candidate, 0, config).health == Health::kHealthy);
}

TEST_CASE("judge: the effect floor: a significant but tiny increase is healthy", "[health-judge]") {
  MonitorConfig config;  // 2 points and z >= 3
  HealthFigures candidate = Figures(1000000, 15000);  // 1.5 %
  HealthFigures old = Figures(1000000, 10000);        // 1.0 %
  double z = TwoProportionZ(15000, 1000000, 10000, 1000000);
  CHECK(z > 30);  // overwhelmingly significant...
  Judgement judgement = Judge(candidate, &old, 0, config);
  CHECK(judgement.health == Health::kHealthy);  // ...but half a point does not matter
  // A bigger effect on the same volume fires.
  CHECK(Judge(Figures(1000000, 30000), &old, 0, config).rule == "errorRate");
  // The floor is configurable.
  config.max_error_rate_increase = 0.4;
  CHECK(Judge(candidate, &old, 0, config).rule == "errorRate");
}

TEST_CASE("judge: a large but not significant increase is healthy", "[health-judge]") {
  MonitorConfig config;
  // 3 of 50 (6 %) against 0 of 50: six points worse, z only about 1.8.
  HealthFigures candidate = Figures(50, 3);
  HealthFigures old = Figures(50, 0);
  CHECK(TwoProportionZ(3, 50, 0, 50) == Approx(1.758).epsilon(0.01));
  CHECK(Judge(candidate, &old, 0, config).health == Health::kHealthy);
  config.min_z_score = 1.5;
  CHECK(Judge(candidate, &old, 0, config).rule == "errorRate");
}

TEST_CASE("judge: a healthy version with the old one's behaviour is never unhealthy under noise",
          "[health-judge]") {
  MonitorConfig config;
  std::mt19937_64 random(20240601);
  std::binomial_distribution<uint64_t> errors_of(200, 0.01);
  std::lognormal_distribution<double> latency_of(std::log(10000.0), 0.5);  // µs, median 10 ms
  std::normal_distribution<double> body_of(2000, 300);
  auto draw = [&]() {
    HealthFigures figures;
    figures.server_errors = errors_of(random);
    figures.ok = 200 - figures.server_errors;
    for (uint64_t i = 0; i < figures.ok; ++i) {
      figures.latency_us.Add(static_cast<uint64_t>(latency_of(random)));
      figures.body_bytes.Add(static_cast<uint64_t>(std::max(0.0, body_of(random))));
    }
    return figures;
  };
  int unhealthy = 0, healthy = 0, over_floor = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    HealthFigures candidate = draw();
    HealthFigures old = draw();
    if (static_cast<double>(candidate.errors()) - static_cast<double>(old.errors()) >= 4) over_floor++;  // >= 2 points
    Judgement judgement = Judge(candidate, &old, 0, config);
    if (judgement.health == Health::kUnhealthy) {
      unhealthy++;
      UNSCOPED_INFO("trial " << trial << ": " << judgement.rule << ": " << judgement.detail);
    }
    if (judgement.health == Health::kHealthy) healthy++;
  }
  CHECK(unhealthy == 0);
  CHECK(healthy == 1000);
  // The effect floor alone would have fired on some trials: the z-test is what keeps them healthy.
  CHECK(over_floor > 0);
}

TEST_CASE("judge: a real error increase is found under noise", "[health-judge]") {
  MonitorConfig config;
  std::mt19937_64 random(99);
  std::binomial_distribution<uint64_t> bad(200, 0.10);
  std::binomial_distribution<uint64_t> good(200, 0.01);
  int found = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    HealthFigures candidate = Figures(200, bad(random));
    HealthFigures old = Figures(200, good(random));
    if (Judge(candidate, &old, 0, config).rule == "errorRate") found++;
  }
  CHECK(found >= 800);
}

TEST_CASE("judge: a 20x slower version is latencyP50", "[health-judge]") {
  MonitorConfig config;  // over 3x and at least 20 ms slower
  HealthFigures old = Figures(200, 0, 10000);         // 10 ms
  HealthFigures candidate = Figures(200, 0, 200000);  // 200 ms
  Judgement judgement = Judge(candidate, &old, 0, config);
  CHECK(judgement.health == Health::kUnhealthy);
  CHECK(judgement.rule == "latencyP50");
  CHECK(Contains(judgement.detail, "p50 latency"));
  CHECK(Contains(judgement.detail, "on the old version"));
  // Faster is fine.
  CHECK(Judge(old, &candidate, 0, config).health == Health::kHealthy);
}

TEST_CASE("judge: a slow tail alone is latencyP99", "[health-judge]") {
  MonitorConfig config;
  HealthFigures old = Figures(200, 0, 10000);
  HealthFigures candidate = Figures(200, 0, 10000);
  // 10 of 200 (5 %) take 500 ms: p50 unchanged, p99 25x.
  candidate.latency_us.Clear();
  candidate.latency_us.AddToBin(LogHistogram::BinOf(10000), 190);
  candidate.latency_us.AddToBin(LogHistogram::BinOf(500000), 10);
  Judgement judgement = Judge(candidate, &old, 0, config);
  CHECK(judgement.rule == "latencyP99");
  CHECK(Contains(judgement.detail, "p99 latency"));
}

TEST_CASE("judge: latency needs both the ratio and the absolute floor", "[health-judge]") {
  MonitorConfig config;
  // 10x slower but only 9 ms: under the 20 ms floor.
  HealthFigures fast_old = Figures(200, 0, 1000);
  CHECK(Judge(Figures(200, 0, 10000), &fast_old, 0, config).health == Health::kHealthy);
  // 50 ms slower but only 1.5x: under the ratio.
  HealthFigures slow_old = Figures(200, 0, 100000);
  CHECK(Judge(Figures(200, 0, 150000), &slow_old, 0, config).health == Health::kHealthy);
  // Both: 4x and 30 ms.
  HealthFigures old = Figures(200, 0, 10000);
  CHECK(Judge(Figures(200, 0, 40000), &old, 0, config).rule == "latencyP50");
  // Thresholds from the config.
  config.min_latency_increase_ms = 0;
  config.latency_ratio = 5;
  CHECK(Judge(Figures(200, 0, 40000), &old, 0, config).health == Health::kHealthy);
  CHECK(Judge(Figures(200, 0, 60000), &old, 0, config).rule == "latencyP50");
}

TEST_CASE("judge: the latency rule needs minRequests latency samples on both sides", "[health-judge]") {
  MonitorConfig config;
  // 200 requests, but 160 failed (no latency sample): 40 slow answers are too few to judge latency.
  MonitorConfig lenient = config;
  lenient.max_error_rate_increase = 100;  // keep the error rule out of the way
  HealthFigures candidate = Figures(200, 160, 900000);
  HealthFigures old = Figures(200, 0, 1000);
  CHECK(candidate.latency_us.count() == 40);
  CHECK(Judge(candidate, &old, 0, lenient).health == Health::kHealthy);
  HealthFigures enough = Figures(200, 150, 900000);
  CHECK(Judge(enough, &old, 0, lenient).rule == "latencyP50");
}

TEST_CASE("judge: bodies a tenth the size are bodySize", "[health-judge]") {
  MonitorConfig config;  // 4x and 100 bytes apart
  HealthFigures old = Figures(200, 0, 10000, 10000);
  HealthFigures candidate = Figures(200, 0, 10000, 1000);
  Judgement judgement = Judge(candidate, &old, 0, config);
  CHECK(judgement.health == Health::kUnhealthy);
  CHECK(judgement.rule == "bodySize");
  CHECK(Contains(judgement.detail, "median 2xx body"));
  // Ten times larger is as suspicious.
  CHECK(Judge(old, &candidate, 0, config).rule == "bodySize");
  // Empty bodies where there were some.
  CHECK(Judge(Figures(200, 0, 10000, 0), &old, 0, config).rule == "bodySize");
}

TEST_CASE("judge: body size needs both the ratio and the byte floor", "[health-judge]") {
  MonitorConfig config;
  HealthFigures tiny_old = Figures(200, 0, 10000, 40);
  CHECK(Judge(Figures(200, 0, 10000, 4), &tiny_old, 0, config).health == Health::kHealthy);  // 10x but 36 bytes
  HealthFigures old = Figures(200, 0, 10000, 3000);
  CHECK(Judge(Figures(200, 0, 10000, 1000), &old, 0, config).health == Health::kHealthy);  // 3x, under 4x
  CHECK(Judge(Figures(200, 0, 10000, 700), &old, 0, config).rule == "bodySize");             // over 4x
}

TEST_CASE("judge: mismatchRate fires over maxMismatchPercent of compared answers", "[health-judge]") {
  MonitorConfig config;  // more than 10 %
  HealthFigures old = Figures(200, 0);
  HealthFigures candidate = Figures(200, 0);
  candidate.compared = 100;
  candidate.mismatched = 11;
  Judgement judgement = Judge(candidate, &old, 0, config);
  CHECK(judgement.rule == "mismatchRate");
  CHECK(Contains(judgement.detail, "11.0 % of 100 compared answers differed"));
  candidate.mismatched = 10;  // exactly 10 %: not more
  CHECK(Judge(candidate, &old, 0, config).health == Health::kHealthy);
  // Fewer than minRequests comparisons: not judged.
  candidate.compared = 49;
  candidate.mismatched = 49;
  CHECK(Judge(candidate, &old, 0, config).health == Health::kHealthy);
  config.max_mismatch_percent = 0;
  candidate.compared = 50;
  candidate.mismatched = 1;
  CHECK(Judge(candidate, &old, 0, config).rule == "mismatchRate");
}

TEST_CASE("judge: rules fire in their order", "[health-judge]") {
  MonitorConfig config;
  HealthFigures old = Figures(500, 0, 10000, 10000);
  HealthFigures everything = Figures(500, 100, 500000, 100);
  everything.compared = 500;
  everything.mismatched = 500;
  CHECK(Judge(everything, &old, 0, config).rule == "errorRate");
  HealthFigures no_errors = Figures(500, 0, 500000, 100);
  no_errors.compared = 500;
  no_errors.mismatched = 500;
  CHECK(Judge(no_errors, &old, 0, config).rule == "latencyP50");
  HealthFigures fast = Figures(500, 0, 10000, 100);
  fast.compared = 500;
  fast.mismatched = 500;
  CHECK(Judge(fast, &old, 0, config).rule == "bodySize");
  HealthFigures same_size = Figures(500, 0, 10000, 10000);
  same_size.compared = 500;
  same_size.mismatched = 500;
  CHECK(Judge(same_size, &old, 0, config).rule == "mismatchRate");
}

TEST_CASE("judge: two-proportion z", "[health-judge]") {
  CHECK(TwoProportionZ(20, 200, 0, 200) == Approx(4.588).epsilon(0.001));
  CHECK(TwoProportionZ(0, 200, 20, 200) == Approx(-4.588).epsilon(0.001));
  CHECK(TwoProportionZ(10, 100, 10, 100) == 0);
  CHECK(TwoProportionZ(5, 0, 0, 10) == 0);    // no requests
  CHECK(TwoProportionZ(0, 10, 0, 0) == 0);
  CHECK(TwoProportionZ(0, 100, 0, 100) == 0);  // no variance at all
  CHECK(TwoProportionZ(100, 100, 100, 100) == 0);
  // Unequal sizes: 30/1000 vs 10/1000 -> p = 0.02, se = sqrt(0.02 * 0.98 * 0.002).
  CHECK(TwoProportionZ(30, 1000, 10, 1000) == Approx(0.02 / std::sqrt(0.02 * 0.98 * 0.002)));
  CHECK(TwoProportionZ(30, 1000, 2, 100) > 0);
}

TEST_CASE("judge: the summary of a window", "[health-judge]") {
  HealthFigures figures = Figures(300, 3, 20000, 4096);
  figures.client_errors = 7;
  json summary = SummaryJson(figures);
  CHECK(summary["requests"] == 307);
  CHECK(summary["serverErrors"] == 3);
  CHECK(summary["clientErrors"] == 7);
  CHECK(summary["errorRate"].get<double>() == Approx(0.98));  // 3 / 307 = 0.977 %, two decimals
  CHECK(summary["p50Ms"].get<double>() == Approx(20.0).epsilon(0.125));
  CHECK(summary["p99Ms"].get<double>() == Approx(20.0).epsilon(0.125));
  CHECK(summary["medianBodyBytes"].get<uint64_t>() == Approx(4096).epsilon(0.125));
  CHECK_FALSE(summary.contains("latencyUs"));
  CHECK_FALSE(summary.contains("bodyBytes"));
  json empty = SummaryJson(HealthFigures());
  CHECK(empty["requests"] == 0);
  CHECK(empty["errorRate"] == 0);
  CHECK(empty["p99Ms"] == 0);
  CHECK(empty["medianBodyBytes"] == 0);
}

// With maxErrorRateIncrease 0 and minZScore 0 (both accepted) identical
// error rates are not "worse than the old version": only an increase fires.
TEST_CASE("judge: zero error thresholds do not fire on an identical error rate", "[health-judge]") {
  MonitorConfig config;
  config.max_error_rate_increase = 0;
  config.min_z_score = 0;
  HealthFigures no_errors = Figures(200, 0);
  HealthFigures some_errors = Figures(200, 2);
  Judgement zero = Judge(no_errors, &no_errors, 0, config);
  INFO(zero.rule << ": " << zero.detail);
  CHECK(zero.health == Health::kHealthy);
  Judgement one_percent = Judge(some_errors, &some_errors, 0, config);
  INFO(one_percent.rule << ": " << one_percent.detail);
  CHECK(one_percent.health == Health::kHealthy);
  // A real increase still fires with these thresholds.
  CHECK(Judge(some_errors, &no_errors, 0, config).rule == "errorRate");
}

// With minSizeDifferenceBytes 0 (or sizeRatio 1) identical median sizes,
// 0 bytes included (204s), do not differ: only a real difference fires.
TEST_CASE("judge: a zero size floor does not fire on identical body sizes", "[health-judge]") {
  MonitorConfig config;
  config.min_size_difference_bytes = 0;
  HealthFigures empty_bodies = Figures(200, 0, 10000, 0);
  Judgement empty = Judge(empty_bodies, &empty_bodies, 0, config);
  INFO(empty.rule << ": " << empty.detail);
  CHECK(empty.health == Health::kHealthy);
  config.size_ratio = 1;
  HealthFigures same_bodies = Figures(200, 0, 10000, 2000);
  Judgement same = Judge(same_bodies, &same_bodies, 0, config);
  INFO(same.rule << ": " << same.detail);
  CHECK(same.health == Health::kHealthy);
  // A real difference still fires with these thresholds.
  CHECK(Judge(Figures(200, 0, 10000, 500), &empty_bodies, 0, config).rule == "bodySize");
}
