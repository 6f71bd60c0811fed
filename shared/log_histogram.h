// LogHistogram: counts of non-negative integers (latencies in microseconds,
// body sizes in bytes) in log-linear bins, so quantiles of millions of values
// cost a few hundred counters and two histograms merge by adding counts.
//
// Values 0..3 have a bin each; above, every power of two [2^e, 2^(e+1)) is
// split into 4 equal bins, so a quantile is off by at most 12.5 % of its
// value. Bins are numbered densely from 0; the vector grows to the highest
// bin used (160 bins cover 2^40).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/status.h"

namespace upmesh {

class LogHistogram {
 public:
  static constexpr size_t kMaxBins = 252;  // bin 251 ends at 2^64: the last a uint64_t reaches

  static size_t BinOf(uint64_t value);
  // The value a bin stands for in quantiles: exact below 4, else its middle.
  static uint64_t ValueOf(size_t bin);
  // Where a bin ends: the smallest value above it (bin b < 4 holds b, ends at b + 1).
  static double UpperEdgeOf(size_t bin);

  void Add(uint64_t value) { AddToBin(BinOf(value), 1); }
  void AddToBin(size_t bin, uint64_t count);
  void Merge(const LogHistogram& other);
  // Removes counts merged earlier (a sliding window dropping a bucket).
  void Subtract(const LogHistogram& other);
  void Clear() { bins_.clear(); count_ = 0; }

  uint64_t count() const { return count_; }
  // The value at quantile q in [0, 1] (the bin's ValueOf); 0 when empty.
  uint64_t Quantile(double q) const;

  // The counts folded into buckets with the given growing upper bounds
  // (Prometheus' `le`): a bin is counted in the first bucket whose bound is
  // >= the bin's upper edge, so no value is counted below its own bucket
  // (a bucket may miss values of a bin that straddles its bound). One more
  // entry than `bounds`: the bins above the last bound. Not cumulative.
  std::vector<uint64_t> Fold(const std::vector<double>& bounds) const;
  // The sum of all values, estimated as each bin's ValueOf (within 12.5 %).
  double EstimatedSum() const;

  // Sparse JSON: [[bin, count], ...] for the non-empty bins.
  nlohmann::json ToJson() const;
  // InvalidArgument naming `path` unless `json` is that shape (bins < kMaxBins).
  static Status FromJson(const nlohmann::json& json, const std::string& path, LogHistogram* histogram);

 private:
  std::vector<uint64_t> bins_;
  uint64_t count_ = 0;
};

}  // namespace upmesh
