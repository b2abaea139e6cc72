// The numeric kernels behind the drift methods: radix sort, the merge walk (KS + Wasserstein),
// numpy-identical histogram edges/counts, and the binned divergences. Each mirrors the exact
// floating-point formula of the scipy/numpy/Evidently function it stands for.
#include <algorithm>
#include <array>
#include <bit>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "monitoring/internal/stats.h"

namespace studio::monitoring {

namespace {

inline uint64_t KeyOf(double d) {
  const uint64_t u = std::bit_cast<uint64_t>(d);
  // Negative: flip all bits; positive: flip the sign bit. Unsigned order == numeric order.
  return (u & 0x8000000000000000ULL) ? ~u : (u | 0x8000000000000000ULL);
}
inline double ValueOf(uint64_t k) {
  const uint64_t u = (k & 0x8000000000000000ULL) ? (k & 0x7FFFFFFFFFFFFFFFULL) : ~k;
  return std::bit_cast<double>(u);
}

}  // namespace

void RadixSortDoubles(std::vector<double>& values, std::vector<uint64_t>& scratch) {
  const size_t n = values.size();
  if (n < 2) return;
  if (n < 256) {
    std::sort(values.begin(), values.end());
    return;
  }
  constexpr int kBits = 11;
  constexpr int kPasses = 6;  // 66 bits >= 64
  constexpr size_t kBuckets = size_t{1} << kBits;
  // The doubles' storage holds keys between passes; it is only touched through memcpy on
  // bytes (no aliasing of double as uint64_t).
  scratch.resize(n);
  unsigned char* bufs[2] = {reinterpret_cast<unsigned char*>(values.data()),
                            reinterpret_cast<unsigned char*>(scratch.data())};
  auto load = [](const unsigned char* b, size_t i) {
    uint64_t k;
    std::memcpy(&k, b + i * 8, 8);
    return k;
  };
  auto store = [](unsigned char* b, size_t i, uint64_t k) { std::memcpy(b + i * 8, &k, 8); };
  std::vector<std::array<uint32_t, kBuckets>> hist(kPasses);
  for (auto& h : hist) h.fill(0);
  for (size_t i = 0; i < n; ++i) {
    double d;
    std::memcpy(&d, bufs[0] + i * 8, 8);
    const uint64_t k = KeyOf(d);
    store(bufs[0], i, k);
    for (int p = 0; p < kPasses; ++p) ++hist[p][(k >> (p * kBits)) & (kBuckets - 1)];
  }
  int src = 0;
  for (int p = 0; p < kPasses; ++p) {
    auto& h = hist[p];
    const int shift = p * kBits;
    // A pass where every key has the same digit changes nothing.
    if (h[(load(bufs[src], 0) >> shift) & (kBuckets - 1)] == n) continue;
    uint32_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      const uint32_t c = h[b];
      h[b] = sum;
      sum += c;
    }
    const unsigned char* in = bufs[src];
    unsigned char* out = bufs[1 - src];
    for (size_t i = 0; i < n; ++i) {
      const uint64_t k = load(in, i);
      store(out, h[(k >> shift) & (kBuckets - 1)]++, k);
    }
    src = 1 - src;
  }
  for (size_t i = 0; i < n; ++i) {
    const double d = ValueOf(load(bufs[src], i));
    std::memcpy(bufs[0] + i * 8, &d, 8);
  }
}

MergeWalk MergeWalkSorted(std::span<const double> a, std::span<const double> b) {
  MergeWalk w;
  const size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return w;
  const double dn1 = static_cast<double>(n1), dn2 = static_cast<double>(n2);
  size_t i = 0, j = 0;
  double maxd = -std::numeric_limits<double>::infinity();
  double mind = std::numeric_limits<double>::infinity();
  KahanSum wsum;
  double prev_x = 0, prev_diff = 0;
  bool have_prev = false;
  int64_t distinct = 0, distinct_a = 0;
  while (i < n1 || j < n2) {
    double x;
    if (j >= n2 || (i < n1 && a[i] <= b[j])) {
      x = a[i];
    } else {
      x = b[j];
    }
    const size_t i0 = i;
    while (i < n1 && a[i] == x) ++i;
    while (j < n2 && b[j] == x) ++j;
    ++distinct;
    if (i > i0) ++distinct_a;
    // scipy: searchsorted(side='right') / n, then the difference.
    const double diff = static_cast<double>(i) / dn1 - static_cast<double>(j) / dn2;
    maxd = std::max(maxd, diff);
    mind = std::min(mind, diff);
    if (have_prev) wsum.Add(std::fabs(prev_diff) * (x - prev_x));
    prev_x = x;
    prev_diff = diff;
    have_prev = true;
  }
  w.max_s = maxd;
  w.min_s = std::clamp(-mind, 0.0, 1.0);
  w.wasserstein = wsum.Value();
  w.distinct_union = distinct;
  w.distinct_a = distinct_a;
  return w;
}

double WassersteinSorted(std::span<const double> a, std::span<const double> b) {
  return MergeWalkSorted(a, b).wasserstein;
}

std::vector<double> SturgesEdges(double lo, double hi, int64_t count) {
  double first = lo, last = hi;
  if (first == last) {
    first -= 0.5;
    last += 0.5;
  }
  const double ptp = hi - lo;
  const double width = ptp / (std::log2(static_cast<double>(count)) + 1.0);
  int64_t nbins = 1;
  if (width != 0) nbins = static_cast<int64_t>(std::ceil((last - first) / width));
  // np.linspace(first, last, nbins + 1)
  std::vector<double> edges(static_cast<size_t>(nbins + 1));
  const double delta = last - first;
  const double div = static_cast<double>(nbins);
  const double step = delta / div;
  for (int64_t k = 0; k <= nbins; ++k) {
    double y = static_cast<double>(k);
    if (step == 0) {
      y = y / div * delta;
    } else {
      y = y * step;
    }
    edges[k] = y + first;
  }
  edges[nbins] = last;
  return edges;
}

std::vector<int64_t> HistogramSorted(std::span<const double> sorted,
                                     std::span<const double> edges) {
  std::vector<int64_t> counts;
  if (edges.size() < 2) return counts;
  counts.resize(edges.size() - 1);
  int64_t prev = std::lower_bound(sorted.begin(), sorted.end(), edges[0]) - sorted.begin();
  for (size_t k = 1; k < edges.size(); ++k) {
    const bool last = k + 1 == edges.size();
    const int64_t cur =
        last ? std::upper_bound(sorted.begin(), sorted.end(), edges[k]) - sorted.begin()
             : std::lower_bound(sorted.begin(), sorted.end(), edges[k]) - sorted.begin();
    counts[k - 1] = cur - prev;
    prev = cur;
  }
  return counts;
}

std::vector<ValueCount> ValueCountsSorted(std::span<const double> a, std::span<const double> b) {
  std::vector<ValueCount> out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const double x = (j >= b.size() || (i < a.size() && a[i] <= b[j])) ? a[i] : b[j];
    const size_t i0 = i, j0 = j;
    while (i < a.size() && a[i] == x) ++i;
    while (j < b.size() && b[j] == x) ++j;
    out.push_back({x, static_cast<int64_t>(i - i0), static_cast<int64_t>(j - j0)});
  }
  return out;
}

void FillZeroes(std::vector<double>& shares) {
  double min_nonzero = std::numeric_limits<double>::infinity();
  for (double s : shares) {
    if (s != 0) min_nonzero = std::min(min_nonzero, s);
  }
  if (!std::isfinite(min_nonzero)) return;  // all zero: numpy would raise; leave as is
  const double fill = min_nonzero <= 0.0001 ? min_nonzero / 1e6 : 0.0001;
  for (double& s : shares) {
    if (s == 0) s = fill;
  }
}

double Psi(std::span<const double> ref, std::span<const double> cur) {
  KahanSum sum;
  for (size_t k = 0; k < ref.size(); ++k) sum.Add((ref[k] - cur[k]) * std::log(ref[k] / cur[k]));
  return sum.Value();
}

namespace {
double RelEntr(double x, double y) {
  if (std::isnan(x) || std::isnan(y)) return std::nan("");
  if (x > 0 && y > 0) return x * std::log(x / y);
  if (x == 0 && y >= 0) return 0;
  return std::numeric_limits<double>::infinity();
}
double SumOf(std::span<const double> v) {
  KahanSum s;
  for (double x : v) s.Add(x);
  return s.Value();
}
}  // namespace

double KlDiv(std::span<const double> ref, std::span<const double> cur) {
  const double sp = SumOf(ref), sq = SumOf(cur);
  KahanSum s;
  for (size_t k = 0; k < ref.size(); ++k) s.Add(RelEntr(ref[k] / sp, cur[k] / sq));
  return s.Value();
}

double JensenShannon(std::span<const double> p, std::span<const double> q) {
  const double sp = SumOf(p), sq = SumOf(q);
  KahanSum left, right;
  for (size_t k = 0; k < p.size(); ++k) {
    const double pk = p[k] / sp, qk = q[k] / sq;
    const double m = (pk + qk) / 2.0;
    left.Add(RelEntr(pk, m));
    right.Add(RelEntr(qk, m));
  }
  const double js = left.Value() + right.Value();
  return std::sqrt(js / 2.0);
}

double PopulationStd(std::span<const double> values) {
  if (values.empty()) return std::nan("");
  const double n = static_cast<double>(values.size());
  const double mean = SumOf(values) / n;
  KahanSum s;
  for (double x : values) s.Add((x - mean) * (x - mean));
  return std::sqrt(s.Value() / n);
}

double ChiSquareSf(double x, double dof) {
  if (std::isnan(x) || !(dof > 0)) return std::nan("");
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return boost::math::gamma_q(dof / 2.0, x / 2.0);
}

std::pair<double, double> ChiSquare(std::span<const double> observed,
                                    std::span<const double> expected) {
  KahanSum stat;
  for (size_t k = 0; k < observed.size(); ++k) {
    const double d = observed[k] - expected[k];
    stat.Add(d * d / expected[k]);
  }
  const double s = stat.Value();
  return {s, ChiSquareSf(s, static_cast<double>(observed.size()) - 1)};
}

namespace {
// cephes ndtr.
double Ndtr(double a) {
  const double x = a * 0.70710678118654752440;
  const double z = std::fabs(x);
  double y;
  if (z < 0.70710678118654752440) {
    y = 0.5 + 0.5 * std::erf(x);
  } else {
    y = 0.5 * std::erfc(z);
    if (x > 0) y = 1.0 - y;
  }
  return y;
}
}  // namespace

std::pair<double, double> ZTest(int64_t ones_a, int64_t n_a, int64_t ones_b, int64_t n_b) {
  const double n1 = static_cast<double>(n_a), n2 = static_cast<double>(n_b);
  const double p1 = static_cast<double>(ones_a) / n1;
  const double p2 = static_cast<double>(ones_b) / n2;
  const double big_p = (p1 * n1 + p2 * n2) / (n1 + n2);
  const double z = (p1 - p2) / std::sqrt(big_p * (1 - big_p) * (1.0 / n1 + 1.0 / n2));
  const double p = 2 * (1 - Ndtr(std::fabs(z)));
  return {z, p};
}

}  // namespace studio::monitoring
