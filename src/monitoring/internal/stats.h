#pragma once

// Building blocks of the drift statistics; only src/monitoring uses these.

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "monitoring/drift.h"

namespace studio::monitoring {

// LSD radix sort of doubles by their IEEE bits (NaN must already be removed). `scratch` is
// reused between calls to avoid reallocations.
void RadixSortDoubles(std::vector<double>& values, std::vector<uint64_t>& scratch);

// One walk over two sorted samples: the KS extremes (scipy's maxS and minS over the ECDF
// differences at every data point) and the Wasserstein-1 distance, plus distinct counts.
struct MergeWalk {
  double max_s = 0;  // max(cdf_a - cdf_b)
  double min_s = 0;  // clip(-min(cdf_a - cdf_b), 0, 1)
  double wasserstein = 0;
  int64_t distinct_union = 0;
  int64_t distinct_a = 0;
};
MergeWalk MergeWalkSorted(std::span<const double> a, std::span<const double> b);
KsResult KsFromExtremes(int64_t n1, int64_t n2, double max_s, double min_s);
double SmirnovSf(int64_t n, double x);

// numpy.histogram_bin_edges(x, bins="sturges") for a sample of `count` values in [lo, hi].
std::vector<double> SturgesEdges(double lo, double hi, int64_t count);
// numpy.histogram(sorted, edges)[0]: [e_i, e_{i+1}) with the last bin closed.
std::vector<int64_t> HistogramSorted(std::span<const double> sorted, std::span<const double> edges);

// Distinct values of a ∪ b with their counts in each (both sorted).
struct ValueCount {
  double value;
  int64_t a;
  int64_t b;
};
std::vector<ValueCount> ValueCountsSorted(std::span<const double> a, std::span<const double> b);

// Evidently's get_binned_data epsilon: zeros become 1e-4, or min_nonzero/1e6 when the smallest
// non-zero share is already <= 1e-4.
void FillZeroes(std::vector<double>& shares);

double Psi(std::span<const double> ref, std::span<const double> cur);    // epsilon-filled shares
double KlDiv(std::span<const double> ref, std::span<const double> cur);  // scipy.stats.entropy
double PopulationStd(std::span<const double> values);                    // np.std (ddof=0)
// chi2.sf(x, k) = Q(k/2, x/2).
double ChiSquareSf(double x, double dof);
// Evidently's two-proportion z-test on 0/1 counts: {z, p}.
std::pair<double, double> ZTest(int64_t ones_a, int64_t n_a, int64_t ones_b, int64_t n_b);

// Neumaier-compensated sum (numpy's pairwise sum is as accurate; naive summation is not).
class KahanSum {
 public:
  void Add(double x) {
    const double t = sum_ + x;
    if (!std::isfinite(t)) {  // inf/NaN: plain IEEE semantics, no compensation
      sum_ = t;
      return;
    }
    if (std::abs(sum_) >= std::abs(x)) {
      c_ += (sum_ - t) + x;
    } else {
      c_ += (x - t) + sum_;
    }
    sum_ = t;
  }
  double Value() const { return std::isfinite(sum_) ? sum_ + c_ : sum_; }

 private:
  double sum_ = 0, c_ = 0;
};

}  // namespace studio::monitoring
