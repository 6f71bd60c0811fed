// MetricsText: a writer for the Prometheus text exposition format, version
// 0.0.4 (what GET /metrics answers, docs/rest-api.md).
//
// A page is a sequence of families. Family() writes a family's "# HELP" and
// "# TYPE" lines once; the samples that follow belong to it:
//   Counter()/Gauge()  one line: name{labels} value
//   Histogram()        name_bucket{labels,le="..."} per bound, cumulative,
//                      then le="+Inf", name_sum and name_count
// Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__", not "le" on a histogram);
// a family may appear only once. Label values are escaped (\\, \", \n), HELP
// text too (\\, \n). The first misuse is kept as status() and nothing more is
// written: a page is whole or an error, never half right.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace upmesh {

class MetricsText {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  using Labels = std::vector<std::pair<std::string, std::string>>;

  static bool IsValidMetricName(std::string_view name);
  static bool IsValidLabelName(std::string_view name);
  // A sample value: integers exactly, others in the shortest form that reads
  // back the same; +Inf, -Inf, NaN.
  static std::string FormatValue(double value);

  void Family(const std::string& name, Type type, std::string_view help);
  void Counter(const Labels& labels, double value) { Sample(Type::kCounter, labels, value); }
  void Gauge(const Labels& labels, double value) { Sample(Type::kGauge, labels, value); }
  // `counts[i]`: observations in (bounds[i-1], bounds[i]], not cumulative;
  // counts has one more entry than bounds (the observations above the last
  // bound). Bounds must grow strictly.
  void Histogram(const Labels& labels, const std::vector<double>& bounds, const std::vector<uint64_t>& counts,
                 double sum);

  const Status& status() const { return status_; }
  const std::string& text() const { return text_; }

 private:
  static void AppendEscaped(std::string_view value, std::string* out);
  void Sample(Type type, const Labels& labels, double value);
  // Appends name{labels[,le="le"]} value\n.
  void Line(const std::string& name, const Labels& labels, const char* le, const std::string& value);
  bool CheckLabels(const Labels& labels);
  void Fail(std::string message);

  std::string text_;
  Status status_;
  std::string family_;
  Type type_ = Type::kGauge;
  std::set<std::string> families_;
};

}  // namespace upmesh
