// MetricsText: the Prometheus text format 0.0.4 as promtool reads it: HELP
// and TYPE once per family, escaping, histograms cumulative with +Inf, _sum
// and _count, and refused names. LogHistogram::Fold: log-linear bins into
// fixed `le` buckets.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "shared/log_histogram.h"
#include "shared/metrics_text.h"

using upmesh::LogHistogram;
using upmesh::MetricsText;
using Type = MetricsText::Type;

TEST_CASE("a family has HELP and TYPE once, then its samples", "[metrics-text]") {
  MetricsText out;
  out.Family("upmesh_requests_total", Type::kCounter, "Requests.");
  out.Counter({{"version", "1"}, {"code", "2xx"}}, 20);
  out.Counter({{"version", "2"}, {"code", "5xx"}}, 3);
  out.Family("upmesh_workers", Type::kGauge, "Workers.");
  out.Gauge({}, 2);
  REQUIRE(out.status().ok());
  CHECK(out.text() ==
        "# HELP upmesh_requests_total Requests.\n"
        "# TYPE upmesh_requests_total counter\n"
        "upmesh_requests_total{version=\"1\",code=\"2xx\"} 20\n"
        "upmesh_requests_total{version=\"2\",code=\"5xx\"} 3\n"
        "# HELP upmesh_workers Workers.\n"
        "# TYPE upmesh_workers gauge\n"
        "upmesh_workers 2\n");
}

TEST_CASE("label values escape backslash, quote and newline; HELP backslash and newline", "[metrics-text]") {
  MetricsText out;
  out.Family("m", Type::kGauge, "two\nlines \\ \"q\"");
  out.Gauge({{"v", "x\"y"}}, 1);
  out.Gauge({{"v", "a\\b\"c\nd"}}, 2);
  REQUIRE(out.status().ok());
  CHECK(out.text() == "# HELP m two\\nlines \\\\ \"q\"\n# TYPE m gauge\nm{v=\"x\\\"y\"} 1\n"
                      "m{v=\"a\\\\b\\\"c\\nd\"} 2\n");
}

TEST_CASE("values: integers exact, fractions shortest, infinities and NaN", "[metrics-text]") {
  CHECK(MetricsText::FormatValue(0) == "0");
  CHECK(MetricsText::FormatValue(18446744073709.0) == "18446744073709");
  CHECK(MetricsText::FormatValue(0.0005) == "0.0005");
  CHECK(MetricsText::FormatValue(2.5) == "2.5");
  CHECK(MetricsText::FormatValue(1.0 / 3) == "0.3333333333333333");
  CHECK(MetricsText::FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(MetricsText::FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(MetricsText::FormatValue(std::nan("")) == "NaN");
}

TEST_CASE("a histogram is cumulative, ends with +Inf, _sum and _count", "[metrics-text]") {
  MetricsText out;
  out.Family("d_seconds", Type::kHistogram, "D.");
  out.Histogram({{"version", "1"}}, {0.1, 1}, {2, 3, 4}, 7.5);
  REQUIRE(out.status().ok());
  CHECK(out.text() ==
        "# HELP d_seconds D.\n# TYPE d_seconds histogram\n"
        "d_seconds_bucket{version=\"1\",le=\"0.1\"} 2\n"
        "d_seconds_bucket{version=\"1\",le=\"1\"} 5\n"
        "d_seconds_bucket{version=\"1\",le=\"+Inf\"} 9\n"
        "d_seconds_sum{version=\"1\"} 7.5\n"
        "d_seconds_count{version=\"1\"} 9\n");
}

TEST_CASE("names are validated and misuse is an error with nothing more written", "[metrics-text]") {
  CHECK(MetricsText::IsValidMetricName("upmesh:a_b9"));
  CHECK_FALSE(MetricsText::IsValidMetricName("9a"));
  CHECK_FALSE(MetricsText::IsValidMetricName("a-b"));
  CHECK_FALSE(MetricsText::IsValidMetricName(""));
  CHECK(MetricsText::IsValidLabelName("_x1"));
  CHECK_FALSE(MetricsText::IsValidLabelName("a:b"));
  CHECK_FALSE(MetricsText::IsValidLabelName("__name"));

  SECTION("bad metric name") {
    MetricsText out;
    out.Family("bad-name", Type::kGauge, "x");
    CHECK_FALSE(out.status().ok());
    CHECK(out.text().empty());
  }
  SECTION("a family twice") {
    MetricsText out;
    out.Family("a", Type::kGauge, "x");
    out.Family("a", Type::kGauge, "x");
    CHECK(out.status().message().find("only once") != std::string::npos);
  }
  SECTION("bad label name, repeated label, le on a histogram") {
    for (MetricsText::Labels labels : std::vector<MetricsText::Labels>{{{"a-b", "1"}}, {{"a", "1"}, {"a", "2"}}, {{"le", "1"}}}) {
      MetricsText out;
      out.Family("h", Type::kHistogram, "x");
      size_t before = out.text().size();
      out.Histogram(labels, {1}, {0, 0}, 0);
      CHECK_FALSE(out.status().ok());
      CHECK(out.text().size() == before);
    }
  }
  SECTION("a sample of the wrong type or outside a family") {
    MetricsText none;
    none.Gauge({}, 1);
    CHECK_FALSE(none.status().ok());
    MetricsText wrong;
    wrong.Family("c_total", Type::kCounter, "x");
    wrong.Gauge({}, 1);
    CHECK_FALSE(wrong.status().ok());
  }
  SECTION("histogram bounds must grow and counts match them") {
    MetricsText out;
    out.Family("h", Type::kHistogram, "x");
    out.Histogram({}, {1, 1}, {0, 0, 0}, 0);
    CHECK_FALSE(out.status().ok());
    MetricsText counts;
    counts.Family("h", Type::kHistogram, "x");
    counts.Histogram({}, {1, 2}, {0, 0}, 0);
    CHECK_FALSE(counts.status().ok());
  }
}

TEST_CASE("bins end where the next begins", "[metrics-text][log-histogram]") {
  for (size_t bin = 0; bin < 200; ++bin) {  // edges below 2^53: exact in a double
    INFO(bin);
    auto edge = static_cast<uint64_t>(LogHistogram::UpperEdgeOf(bin));
    CHECK(LogHistogram::BinOf(edge) == bin + 1);
    CHECK(LogHistogram::BinOf(edge - 1) == bin);
  }
  CHECK(LogHistogram::UpperEdgeOf(3) == 4);
  CHECK(LogHistogram::UpperEdgeOf(LogHistogram::BinOf(448)) == 512);  // [448, 512)
  CHECK(LogHistogram::UpperEdgeOf(LogHistogram::kMaxBins - 1) == std::ldexp(1.0, 64));
}

TEST_CASE("Fold counts a bin in the first bucket whose bound is >= its upper edge", "[metrics-text][log-histogram]") {
  LogHistogram histogram;
  histogram.Add(0);     // bin [0, 1) -> le 1
  histogram.Add(1);     // [1, 2) -> le 2 (not le 1: the bin may hold values above 1)
  histogram.Add(500);   // [448, 512) straddles 500 -> le 1000
  histogram.Add(511);   // the same bin
  histogram.Add(512);   // [512, 640) -> le 1000
  histogram.Add(5000);  // above every bound -> the last entry
  std::vector<uint64_t> folded = histogram.Fold({1, 2, 500, 1000});
  CHECK(folded == std::vector<uint64_t>{1, 1, 0, 3, 1});
  CHECK(LogHistogram().Fold({1, 2}) == std::vector<uint64_t>{0, 0, 0});
  // No observation lands below its value's bucket: everything <= bound b is
  // counted at or above b, so the cumulative counts are lower bounds.
  LogHistogram many;
  for (uint64_t v = 0; v < 100000; v += 7) many.Add(v);
  std::vector<double> bounds = {500, 1000, 2500, 5000, 10000, 25000, 50000};
  std::vector<uint64_t> buckets = many.Fold(bounds);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets[i];
    uint64_t at_most = static_cast<uint64_t>(bounds[i]) / 7 + 1;  // values 0, 7, ... <= bound
    CHECK(cumulative <= at_most);
    CHECK(cumulative >= at_most * 7 / 10);  // a bin is at most 1/4 of its power of two
  }
  cumulative += buckets.back();
  CHECK(cumulative == many.count());
}

TEST_CASE("EstimatedSum is within 12.5 % of the true sum", "[metrics-text][log-histogram]") {
  LogHistogram histogram;
  double truth = 0;
  for (uint64_t v = 1; v < 1000000; v = v * 3 + 1) {
    histogram.Add(v);
    truth += static_cast<double>(v);
  }
  CHECK(std::fabs(histogram.EstimatedSum() - truth) <= truth * 0.125);
  CHECK(LogHistogram().EstimatedSum() == 0);
}
