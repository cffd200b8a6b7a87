#pragma once
/// \file
/// A log-linear latency histogram: percentiles exact to 1% (`netcall bench`, SPEC §3).
///
/// Values (nanoseconds) fall in buckets: each power of two is split into 128 equal parts, so a
/// bucket's width is at most 1/128 (0.8%) of the values it holds. Recording is O(1) with no
/// allocation; memory is fixed (about 40 KiB).

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace netcall {

class latency_histogram {
 public:
  /// Records one value in nanoseconds.
  void record(std::uint64_t ns) {
    ++counts_[index_of(ns)];
    ++count_;
    sum_ += ns;
    max_ = std::max(max_, ns);
    min_ = std::min(min_, ns);
  }

  /// Adds every value recorded in `other`.
  void merge(const latency_histogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  std::uint64_t count() const { return count_; }
  /// Mean in nanoseconds (0 when empty).
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  std::uint64_t max() const { return count_ ? max_ : 0; }
  std::uint64_t min() const { return count_ ? min_ : 0; }

  /// The value at percentile `p` (0 < p <= 100) in nanoseconds: the midpoint of the bucket
  /// holding it, clamped to the recorded min and max (so within 1% of the true value).
  double percentile(double p) const {
    if (count_ == 0) return 0.0;
    const auto rank = static_cast<std::uint64_t>(
        std::max(1.0, std::min<double>(count_, p / 100.0 * static_cast<double>(count_) + 0.5)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const double mid = (static_cast<double>(lower_bound(i)) + static_cast<double>(upper_bound(i))) / 2;
        return std::clamp(mid, static_cast<double>(min_), static_cast<double>(max_));
      }
    }
    return static_cast<double>(max_);
  }

 private:
  static constexpr int sub_bits = 7;  // 128 buckets per power of two
  static constexpr std::size_t sub_count = std::size_t{1} << sub_bits;
  static constexpr std::size_t bucket_count = (64 - sub_bits + 1) * sub_count;

  static std::size_t index_of(std::uint64_t v) {
    if (v < sub_count) return static_cast<std::size_t>(v);  // exact below 128 ns
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - sub_bits;
    const std::uint64_t sub = (v >> shift) & (sub_count - 1);
    return (static_cast<std::size_t>(shift) + 1) * sub_count + static_cast<std::size_t>(sub);
  }
  static std::uint64_t lower_bound(std::size_t i) {
    if (i < sub_count) return i;
    const std::size_t shift = i / sub_count - 1;
    return (sub_count + i % sub_count) << shift;
  }
  static std::uint64_t upper_bound(std::size_t i) {
    if (i < sub_count) return i;
    const std::size_t shift = i / sub_count - 1;
    return ((sub_count + i % sub_count + 1) << shift) - 1;
  }

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
};

}  // namespace netcall
