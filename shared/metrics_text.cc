#include "shared/metrics_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace upmesh {
namespace {

bool IsNameChar(char c, bool first, bool colon) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return letter || (!first && c >= '0' && c <= '9');
}

bool IsValidName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

const char* TypeName(MetricsText::Type type) {
  switch (type) {
    case MetricsText::Type::kCounter: return "counter";
    case MetricsText::Type::kGauge: return "gauge";
    case MetricsText::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

bool MetricsText::IsValidMetricName(std::string_view name) { return IsValidName(name, true); }

bool MetricsText::IsValidLabelName(std::string_view name) {
  return IsValidName(name, false) && name.substr(0, 2) != "__";
}

void MetricsText::AppendEscaped(std::string_view value, std::string* out_ptr) {
  std::string& out = *out_ptr;
  if (value.find_first_of("\\\"\n") == std::string_view::npos) {  // the usual case: nothing to escape
    out += value;
    return;
  }
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

std::string MetricsText::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  if (value == std::trunc(value) && std::fabs(value) < 1e15) return std::to_string(static_cast<int64_t>(value));
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

void MetricsText::Fail(std::string message) {
  if (status_.ok()) status_ = Status::InvalidArgument(std::move(message));
}

void MetricsText::Family(const std::string& name, Type type, std::string_view help) {
  if (!status_.ok()) return;
  if (!IsValidMetricName(name)) return Fail("metric name " + name + ": not [a-zA-Z_:][a-zA-Z0-9_:]*");
  if (!families_.insert(name).second) return Fail("metric " + name + ": a family appears only once");
  family_ = name;
  type_ = type;
  text_ += "# HELP " + name + " ";
  for (char c : help) {
    if (c == '\\') text_ += "\\\\";
    else if (c == '\n') text_ += "\\n";
    else text_ += c;
  }
  text_ += "\n# TYPE " + name + " " + TypeName(type) + "\n";
}

bool MetricsText::CheckLabels(const Labels& labels) {
  std::set<std::string_view> seen;
  for (const auto& [name, value] : labels) {
    if (!IsValidLabelName(name)) {
      Fail("metric " + family_ + ": label name " + name + " is not [a-zA-Z_][a-zA-Z0-9_]* (nor __*)");
      return false;
    }
    if (!seen.insert(name).second || (type_ == Type::kHistogram && name == "le")) {
      Fail("metric " + family_ + ": label " + name + " repeated or reserved");
      return false;
    }
  }
  return true;
}

void MetricsText::Line(const std::string& name, const Labels& labels, const char* le, const std::string& value) {
  // Appended piece by piece: a page of a full table has thousands of lines.
  text_ += name;
  if (!labels.empty() || le) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += label;
      text_ += "=\"";
      AppendEscaped(label_value, &text_);
      text_ += '"';
    }
    if (le) {
      if (!first) text_ += ',';
      text_ += "le=\"";
      text_ += le;
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

void MetricsText::Sample(Type type, const Labels& labels, double value) {
  if (!status_.ok()) return;
  if (family_.empty() || type_ != type) return Fail("a " + std::string(TypeName(type)) + " sample outside its family");
  if (!CheckLabels(labels)) return;
  Line(family_, labels, nullptr, FormatValue(value));
}

void MetricsText::Histogram(const Labels& labels, const std::vector<double>& bounds,
                            const std::vector<uint64_t>& counts, double sum) {
  if (!status_.ok()) return;
  if (family_.empty() || type_ != Type::kHistogram) return Fail("a histogram sample outside its family");
  if (counts.size() != bounds.size() + 1) return Fail("metric " + family_ + ": one count per bucket and one above");
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || std::isinf(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return Fail("metric " + family_ + ": bucket bounds must be finite and grow");
    }
  }
  if (!CheckLabels(labels)) return;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    Line(family_ + "_bucket", labels, FormatValue(bounds[i]).c_str(), std::to_string(cumulative));
  }
  cumulative += counts.back();
  Line(family_ + "_bucket", labels, "+Inf", std::to_string(cumulative));
  Line(family_ + "_sum", labels, nullptr, FormatValue(sum));
  Line(family_ + "_count", labels, nullptr, std::to_string(cumulative));
}

}  // namespace upmesh
