// LogHistogram: the log-linear bin layout, quantiles within 12.5 %, merge and
// subtract (a sliding window), and the sparse JSON codec.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/log_histogram.h"

using nlohmann::json;
using upmesh::LogHistogram;
using upmesh::Status;

TEST_CASE("values below 4 have a bin each, then four bins per power of two", "[log-histogram]") {
  for (uint64_t v = 0; v < 4; ++v) {
    CHECK(LogHistogram::BinOf(v) == v);
    CHECK(LogHistogram::ValueOf(v) == v);
  }
  // [4, 8): width 1, one value per bin.
  CHECK(LogHistogram::BinOf(4) == 4);
  CHECK(LogHistogram::BinOf(7) == 7);
  // [8, 16): bins of width 2.
  CHECK(LogHistogram::BinOf(8) == 8);
  CHECK(LogHistogram::BinOf(9) == 8);
  CHECK(LogHistogram::BinOf(10) == 9);
  CHECK(LogHistogram::BinOf(15) == 11);
  CHECK(LogHistogram::BinOf(16) == 12);
  CHECK(LogHistogram::ValueOf(8) == 9);    // the middle of [8, 10)
  CHECK(LogHistogram::ValueOf(12) == 18);  // the middle of [16, 20)
  // The header's promise: 160 bins cover 2^40.
  CHECK(LogHistogram::BinOf(uint64_t{1} << 40) == 156);
  CHECK(LogHistogram::BinOf((uint64_t{1} << 40) - 1) == 155);
  // The largest value still fits below kMaxBins.
  CHECK(LogHistogram::BinOf(std::numeric_limits<uint64_t>::max()) == 251);
  CHECK(LogHistogram::BinOf(std::numeric_limits<uint64_t>::max()) < LogHistogram::kMaxBins);
}

TEST_CASE("bins are monotonic and every value lies in its bin, within 12.5 % of ValueOf", "[log-histogram]") {
  std::mt19937_64 random(7);
  size_t previous_bin = 0;
  for (uint64_t v = 0; v < 5000; ++v) {
    size_t bin = LogHistogram::BinOf(v);
    CHECK(bin >= previous_bin);
    CHECK(bin <= previous_bin + 1);  // dense: no bin skipped
    previous_bin = bin;
  }
  for (int i = 0; i < 20000; ++i) {
    uint64_t v = random() >> (random() % 64);
    if (v < 4) continue;
    uint64_t middle = LogHistogram::ValueOf(LogHistogram::BinOf(v));
    double error = std::abs(static_cast<double>(middle) - static_cast<double>(v)) / static_cast<double>(v);
    INFO(v);
    REQUIRE(error <= 0.125);
    REQUIRE(LogHistogram::BinOf(middle) == LogHistogram::BinOf(v));  // the middle lies in the same bin
  }
}

TEST_CASE("quantiles: ranks by ceil(q * n), exact below 4, 0 when empty", "[log-histogram]") {
  LogHistogram empty;
  CHECK(empty.count() == 0);
  CHECK(empty.Quantile(0.5) == 0);
  CHECK(empty.Quantile(0.99) == 0);

  LogHistogram small;
  for (uint64_t v : {0, 1, 1, 2, 3}) small.Add(v);
  CHECK(small.count() == 5);
  // Sorted: 0 1 1 2 3.
  CHECK(small.Quantile(0) == 0);     // rank 1
  CHECK(small.Quantile(0.2) == 0);   // rank 1
  CHECK(small.Quantile(0.21) == 1);  // rank ceil(1.05) = 2
  CHECK(small.Quantile(0.5) == 1);   // rank ceil(2.5) = 3
  CHECK(small.Quantile(0.6) == 1);   // rank 3
  CHECK(small.Quantile(0.61) == 2);  // rank 4
  CHECK(small.Quantile(0.8) == 2);   // rank 4
  CHECK(small.Quantile(0.81) == 3);  // rank 5
  CHECK(small.Quantile(1) == 3);
  CHECK(small.Quantile(7) == 3);    // clamped to 1
  CHECK(small.Quantile(-1) == 0);   // clamped to 0

  // 1..1000: the median near 500 and p99 near 990, within a bin's error.
  LogHistogram uniform;
  for (uint64_t v = 1; v <= 1000; ++v) uniform.Add(v);
  CHECK(uniform.count() == 1000);
  CHECK(uniform.Quantile(0.5) == Approx(500).epsilon(0.125));
  CHECK(uniform.Quantile(0.99) == Approx(990).epsilon(0.125));
  CHECK(uniform.Quantile(0.5) < uniform.Quantile(0.99));
}

TEST_CASE("merge adds counts, subtract takes them out again", "[log-histogram]") {
  LogHistogram fast, slow;
  for (int i = 0; i < 100; ++i) fast.Add(1000);   // 1 ms
  for (int i = 0; i < 100; ++i) slow.Add(50000);  // 50 ms
  LogHistogram window;
  window.Merge(fast);
  CHECK(window.count() == 100);
  CHECK(window.Quantile(0.99) == Approx(1000).epsilon(0.125));
  window.Merge(slow);
  CHECK(window.count() == 200);
  CHECK(window.Quantile(0.99) == Approx(50000).epsilon(0.125));
  CHECK(window.Quantile(0.25) == Approx(1000).epsilon(0.125));

  window.Subtract(fast);  // the older bucket leaves the window
  CHECK(window.count() == 100);
  CHECK(window.Quantile(0.01) == Approx(50000).epsilon(0.125));

  // Subtracting more than is there stops at zero instead of wrapping around.
  window.Subtract(slow);
  window.Subtract(slow);
  CHECK(window.count() == 0);
  CHECK(window.Quantile(0.5) == 0);
  window.Add(3);
  CHECK(window.count() == 1);
  CHECK(window.Quantile(0.5) == 3);

  // Merging into a shorter histogram grows it; subtracting a longer one is safe.
  LogHistogram shorter;
  shorter.Add(1);
  LogHistogram longer;
  longer.Add(1);
  longer.Add(uint64_t{1} << 50);
  shorter.Subtract(longer);
  CHECK(shorter.count() == 0);
  shorter.Merge(longer);
  CHECK(shorter.count() == 2);
  CHECK(shorter.Quantile(1) == LogHistogram::ValueOf(LogHistogram::BinOf(uint64_t{1} << 50)));

  window.Clear();
  CHECK(window.count() == 0);
  CHECK(window.ToJson() == json::array());
}

TEST_CASE("JSON: sparse [bin, count] pairs that round-trip", "[log-histogram]") {
  LogHistogram histogram;
  histogram.Add(2);
  histogram.Add(2);
  histogram.Add(9);
  histogram.AddToBin(40, 5);
  CHECK(histogram.ToJson() == json::parse("[[2, 2], [8, 1], [40, 5]]"));
  LogHistogram back;
  REQUIRE(LogHistogram::FromJson(histogram.ToJson(), "h", &back).ok());
  CHECK(back.count() == 8);
  CHECK(back.ToJson() == histogram.ToJson());
  CHECK(back.Quantile(0.5) == histogram.Quantile(0.5));
  CHECK(back.Quantile(1) == LogHistogram::ValueOf(40));
}

TEST_CASE("JSON: malformed histograms are refused naming the path, the target untouched", "[log-histogram]") {
  LogHistogram target;
  target.Add(5);
  for (const char* text : {"{}", "5", "null", "[[1]]", "[[1, 2, 3]]", "[[-1, 2]]", "[[1, -2]]", "[[1.5, 2]]",
                           "[[\"1\", 2]]", "[[252, 1]]", "[[1000, 1]]", "[5]", "[[1, 2], {}]"}) {
    INFO(text);
    Status status = LogHistogram::FromJson(json::parse(text), "report.latencyUs", &target);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == Status::Code::kInvalidArgument);
    CHECK(status.message().rfind("report.latencyUs: ", 0) == 0);
    CHECK(target.count() == 1);
    CHECK(target.ToJson() == json::parse("[[5, 1]]"));
  }
  // The largest allowed bin is fine.
  REQUIRE(LogHistogram::FromJson(json::parse("[[251, 1]]"), "h", &target).ok());
  CHECK(target.count() == 1);
  CHECK(target.ToJson() == json::parse("[[251, 1]]"));
  REQUIRE(LogHistogram::FromJson(json::array(), "h", &target).ok());
  CHECK(target.count() == 0);
}

// Bins end at BinOf(UINT64_MAX) = 251: beyond it ValueOf() would wrap
// around, so FromJson refuses them and quantiles never go down as q grows.
TEST_CASE("JSON: every accepted bin has a value no smaller than the bin before", "[log-histogram]") {
  size_t first_decrease = LogHistogram::kMaxBins;
  for (size_t bin = 1; bin < LogHistogram::kMaxBins; ++bin) {
    if (LogHistogram::ValueOf(bin) < LogHistogram::ValueOf(bin - 1)) {
      first_decrease = bin;
      break;
    }
  }
  CHECK(first_decrease == LogHistogram::kMaxBins);
  LogHistogram decoded;
  CHECK_FALSE(LogHistogram::FromJson(json::parse("[[251, 1], [252, 1]]"), "latencyUs", &decoded).ok());
  REQUIRE(LogHistogram::FromJson(json::parse("[[250, 1], [251, 1]]"), "latencyUs", &decoded).ok());
  CHECK(decoded.Quantile(0.5) <= decoded.Quantile(1));
}
