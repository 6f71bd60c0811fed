#include "shared/log_histogram.h"

#include <algorithm>
#include <cmath>

namespace upmesh {

size_t LogHistogram::BinOf(uint64_t value) {
  if (value < 4) return static_cast<size_t>(value);
  int exponent = 63 - __builtin_clzll(value);  // >= 2
  size_t quarter = static_cast<size_t>((value >> (exponent - 2)) & 3);
  return 4 * static_cast<size_t>(exponent - 1) + quarter;
}

uint64_t LogHistogram::ValueOf(size_t bin) {
  if (bin < 4) return bin;
  int exponent = static_cast<int>(bin / 4) + 1;
  uint64_t width = uint64_t{1} << (exponent - 2);
  uint64_t lower = (4 + bin % 4) * width;
  return lower + width / 2;
}

double LogHistogram::UpperEdgeOf(size_t bin) {
  if (bin < 4) return static_cast<double>(bin + 1);
  int exponent = static_cast<int>(bin / 4) + 1;
  return std::ldexp(static_cast<double>(4 + bin % 4 + 1), exponent - 2);
}

std::vector<uint64_t> LogHistogram::Fold(const std::vector<double>& bounds) const {
  std::vector<uint64_t> buckets(bounds.size() + 1, 0);
  size_t bucket = 0;
  for (size_t bin = 0; bin < bins_.size(); ++bin) {
    while (bucket < bounds.size() && bounds[bucket] < UpperEdgeOf(bin)) ++bucket;
    buckets[bucket] += bins_[bin];
  }
  return buckets;
}

double LogHistogram::EstimatedSum() const {
  double sum = 0;
  for (size_t bin = 0; bin < bins_.size(); ++bin) sum += static_cast<double>(bins_[bin]) * static_cast<double>(ValueOf(bin));
  return sum;
}

void LogHistogram::AddToBin(size_t bin, uint64_t count) {
  if (bin >= bins_.size()) bins_.resize(bin + 1, 0);
  bins_[bin] += count;
  count_ += count;
}

void LogHistogram::Merge(const LogHistogram& other) {
  if (other.bins_.size() > bins_.size()) bins_.resize(other.bins_.size(), 0);
  for (size_t i = 0; i < other.bins_.size(); ++i) bins_[i] += other.bins_[i];
  count_ += other.count_;
}

void LogHistogram::Subtract(const LogHistogram& other) {
  for (size_t i = 0; i < other.bins_.size() && i < bins_.size(); ++i) {
    uint64_t taken = std::min(bins_[i], other.bins_[i]);
    bins_[i] -= taken;
    count_ -= taken;
  }
}

uint64_t LogHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  double clamped = std::clamp(q, 0.0, 1.0);
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(clamped * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < bins_.size(); ++i) {
    seen += bins_[i];
    if (seen >= rank) return ValueOf(i);
  }
  return ValueOf(bins_.size() - 1);
}

nlohmann::json LogHistogram::ToJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < bins_.size(); ++i) {
    if (bins_[i] > 0) out.push_back({i, bins_[i]});
  }
  return out;
}

Status LogHistogram::FromJson(const nlohmann::json& json, const std::string& path, LogHistogram* histogram) {
  if (!json.is_array()) return Status::InvalidArgument(path + ": must be an array of [bin, count]");
  LogHistogram result;
  for (const nlohmann::json& pair : json) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_unsigned() || !pair[1].is_number_unsigned() ||
        pair[0].get<uint64_t>() >= kMaxBins) {
      return Status::InvalidArgument(path + ": each entry must be [bin < " + std::to_string(kMaxBins) + ", count]");
    }
    result.AddToBin(pair[0].get<size_t>(), pair[1].get<uint64_t>());
  }
  *histogram = std::move(result);
  return Status::Ok();
}

}  // namespace upmesh
