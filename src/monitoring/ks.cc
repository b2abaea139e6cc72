// Two-sample Kolmogorov–Smirnov p-values, following scipy 1.10 exactly:
//   ks_2samp (stats/_stats_py.py): exact when max(n1, n2) <= 10000, else kstwo.sf(d, round(en));
//   _compute_prob_outside_square / _compute_outer_prob_inside_method (stats/_stats_pythran.py);
//   kstwo.sf = _kolmogn(cdf=False) (stats/_ksstats.py) with its Ruben–Gambino, Durbin matrix,
//   Pomeranz, Pelz–Good and 2·smirnov branches; smirnov = cephes _smirnov3's lower sum.
// Each branch is a port of the corresponding scipy routine, so results agree to rounding.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "monitoring/drift.h"
#include "monitoring/internal/stats.h"

namespace studio::monitoring {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kE128 = 128;
const double kEP128 = std::ldexp(1.0, kE128);
const double kEM128 = std::ldexp(1.0, -kE128);

double Clip01(double p) { return std::clamp(p, 0.0, 1.0); }

// ---- exact two-sample distributions ----

double ProbOutsideSquare(int64_t n, int64_t h) {
  double p = 0.0;
  int64_t k = static_cast<int64_t>(std::floor(static_cast<double>(n) / static_cast<double>(h)));
  while (k >= 0) {
    double p1 = 1.0;
    for (int64_t j = 0; j < h; ++j) {
      p1 = static_cast<double>(n - k * h - j) * p1 / static_cast<double>(n + k * h + j + 1);
    }
    p = p1 * (1.0 - p);
    --k;
  }
  return 2 * p;
}

double OuterProbInsideMethod(int64_t m, int64_t n, int64_t g, int64_t h) {
  if (m < n) std::swap(m, n);
  const int64_t mg = m / g;
  const int64_t ng = n / g;
  int64_t minj = 0;
  int64_t maxj = std::min(static_cast<int64_t>(std::ceil(static_cast<double>(h) / mg)), n + 1);
  int64_t curlen = maxj - minj;
  // scipy sizes this min(2*maxj+2, n+1); a full column is always enough and never read past.
  std::vector<double> a(static_cast<size_t>(n + 2), 1.0);
  for (int64_t j = minj; j < maxj; ++j) a[j] = 0.0;
  for (int64_t i = 1; i <= m; ++i) {
    const int64_t lastminj = minj;
    const int64_t lastlen = curlen;
    minj = std::max(static_cast<int64_t>(
                        std::floor(static_cast<double>(ng * i - h) / static_cast<double>(mg))) +
                        1,
                    int64_t{0});
    minj = std::min(minj, n);
    maxj = std::min(
        static_cast<int64_t>(std::ceil(static_cast<double>(ng * i + h) / static_cast<double>(mg))),
        n + 1);
    if (maxj <= minj) return 1.0;
    double val = minj == 0 ? 0.0 : 1.0;
    for (int64_t jj = 0; jj < maxj - minj; ++jj) {
      const int64_t j = jj + minj;
      val = (a[jj + minj - lastminj] * static_cast<double>(i) + val * static_cast<double>(j)) /
            static_cast<double>(i + j);
      a[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      for (int64_t t = maxj - minj; t < maxj - minj + (lastlen - curlen); ++t) a[t] = 1;
    }
  }
  return a[maxj - minj - 1];
}

// ---- kstwo (one-sample two-sided KS distribution, finite n) ----

double LogNFactorialDivNPowN(double n) {
  static const double kStirling[] = {-2.955065359477124183e-2,  6.4102564102564102564e-3,
                                     -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                     -5.952380952380952381e-4,  7.9365079365079365079e-4,
                                     -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double rn = 1.0 / n;
  const double x = rn / n;
  double poly = 0;
  for (double c : kStirling) poly = poly * x + c;
  return std::log(n) / 2 - n + std::log(2 * kPi) / 2 + rn * poly;
}

using Matrix = std::vector<double>;  // row-major m×m

void MatMul(const Matrix& a, const Matrix& b, Matrix& out, int m) {
  std::fill(out.begin(), out.end(), 0.0);
  for (int i = 0; i < m; ++i) {
    for (int k = 0; k < m; ++k) {
      const double aik = a[i * m + k];
      if (aik == 0) continue;
      const double* brow = &b[k * m];
      double* orow = &out[i * m];
      for (int j = 0; j < m; ++j) orow[j] += aik * brow[j];
    }
  }
}

// Durbin matrix, Marsaglia–Tsang–Wang: Pr(D_n <= d).
double KolmognDmtwCdf(int64_t n, double d) {
  if (d >= 1.0) return 1.0;
  const double nd = static_cast<double>(n) * d;
  if (nd <= 0.5) return 0.0;
  const int k = static_cast<int>(std::ceil(nd));
  const double h = k - nd;
  const int m = 2 * k - 1;
  Matrix hm(static_cast<size_t>(m) * m, 0.0);
  std::vector<double> v(m), w(m);
  double fac = 1.0;
  for (int j = 1; j <= m; ++j) {
    v[j - 1] = 1.0 - std::pow(h, j);
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] *= fac;
  }
  const double tt = std::pow(std::max(2 * h - 1.0, 0.0), m) - 2 * std::pow(h, m);
  v[m - 1] = (1.0 + tt) * fac;
  for (int i = 1; i < m; ++i) {
    for (int r = i - 1; r < m; ++r) hm[r * m + i] = w[r - (i - 1)];
  }
  for (int r = 0; r < m; ++r) hm[r * m] = v[r];
  for (int c = 0; c < m; ++c) hm[(m - 1) * m + c] = v[m - 1 - c];
  Matrix pw(static_cast<size_t>(m) * m, 0.0), tmp(static_cast<size_t>(m) * m);
  for (int i = 0; i < m; ++i) pw[i * m + i] = 1.0;
  int64_t nn = n;
  int64_t expnt = 0, hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      MatMul(pw, hm, tmp, m);
      pw.swap(tmp);
      expnt += hexpnt;
    }
    MatMul(hm, hm, tmp, m);
    hm.swap(tmp);
    hexpnt *= 2;
    if (std::fabs(hm[(k - 1) * m + (k - 1)]) > kEP128) {
      for (double& x : hm) x /= kEP128;
      hexpnt += kE128;
    }
    nn /= 2;
  }
  double p = pw[(k - 1) * m + (k - 1)];
  for (int64_t i = 1; i <= n; ++i) {
    p = static_cast<double>(i) * p / static_cast<double>(n);
    if (std::fabs(p) < kEM128) {
      p *= kEP128;
      expnt -= kE128;
    }
  }
  if (expnt != 0) p = std::ldexp(p, static_cast<int>(expnt));
  return Clip01(p);
}

void PomeranzJ1J2(int64_t i, int64_t n, int64_t ll, int64_t ceilf, int64_t roundf, int64_t* j1,
                  int64_t* j2) {
  int64_t a, b;
  if (i == 0) {
    a = -ll - ceilf - 1;
    b = ll + ceilf - 1;
  } else {
    const int64_t ip1div2 = (i + 1) / 2, ip1mod2 = (i + 1) % 2;
    if (ip1mod2 == 0) {
      if (ip1div2 == n + 1) {
        a = n - ll - ceilf - 1;
        b = n + ll + ceilf - 1;
      } else {
        a = ip1div2 - 1 - ll - roundf - 1;
        b = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      a = ip1div2 - 1 - ll - 1;
      b = ip1div2 + ll + roundf - 1;
    }
  }
  *j1 = std::max(a + 2, int64_t{0});
  *j2 = std::min(b, n);
}

// Pomeranz recursion: Pr(D_n <= x).
double KolmognPomeranzCdf(int64_t n, double x) {
  const double t = static_cast<double>(n) * x;
  const int64_t ll = static_cast<int64_t>(std::floor(t));
  const double f = 1.0 * (t - static_cast<double>(ll));
  const double g = std::min(f, 1.0 - f);
  const int64_t ceilf = f > 0 ? 1 : 0;
  const int64_t roundf = f > 0.5 ? 1 : 0;
  const int64_t npwrs = 2 * (ll + 1);
  std::vector<double> gpower(npwrs), twogpower(npwrs), onem2gpower(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1.0;
  int64_t expnt = 0;
  const double dn = static_cast<double>(n);
  const double g_over_n = g / dn, two_g_over_n = 2 * g / dn,
               one_minus_two_g_over_n = (1 - 2 * g) / dn;
  for (int64_t m = 1; m < npwrs; ++m) {
    gpower[m] = gpower[m - 1] * g_over_n / static_cast<double>(m);
    twogpower[m] = twogpower[m - 1] * two_g_over_n / static_cast<double>(m);
    onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / static_cast<double>(m);
  }
  std::vector<double> v0(npwrs, 0.0), v1(npwrs, 0.0);
  v1[0] = 1;
  int64_t v0s = 0, v1s = 0;
  int64_t j1, j2;
  PomeranzJ1J2(0, n, ll, ceilf, roundf, &j1, &j2);
  std::vector<double> conv;
  for (int64_t i = 1; i < 2 * n + 2; ++i) {
    const int64_t k1 = j1;
    std::swap(v0, v1);
    std::swap(v0s, v1s);
    std::fill(v1.begin(), v1.end(), 0.0);
    PomeranzJ1J2(i, n, ll, ceilf, roundf, &j1, &j2);
    const std::vector<double>& pwrs =
        (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 ? twogpower : onem2gpower);
    const int64_t ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // np.convolve(V0[k1-V0s : k1-V0s+ln2], pwrs[:ln2]) — full convolution; slices clip at npwrs.
      const int64_t start = k1 - v0s;
      const int64_t alen = std::max<int64_t>(0, std::min<int64_t>(start + ln2, npwrs) - start);
      const int64_t blen = std::min<int64_t>(ln2, npwrs);
      conv.assign(static_cast<size_t>(std::max<int64_t>(alen + blen - 1, 0)), 0.0);
      for (int64_t p = 0; p < alen; ++p) {
        const double av = v0[start + p];
        for (int64_t q = 0; q < blen; ++q) conv[p + q] += av * pwrs[q];
      }
      const int64_t conv_start = j1 - k1;
      const int64_t conv_len = j2 - j1 + 1;
      double vmax = 0;
      for (int64_t c = 0; c < conv_len; ++c) {
        const int64_t idx = conv_start + c;
        v1[c] = (idx >= 0 && idx < static_cast<int64_t>(conv.size())) ? conv[idx] : 0.0;
      }
      for (double val : v1) vmax = std::max(vmax, val);
      if (0 < vmax && vmax < kEM128) {
        for (double& val : v1) val *= kEP128;
        expnt -= kE128;
      }
      v1s = v0s + j1 - k1;
    }
  }
  double ans = v1[n - v1s];
  for (int64_t m = 1; m <= n; ++m) {
    if (std::fabs(ans) > kEP128) {
      ans *= kEM128;
      expnt += kE128;
    }
    ans *= static_cast<double>(m);
  }
  if (expnt != 0) ans = std::ldexp(ans, static_cast<int>(expnt));
  return Clip01(ans);
}

// Pelz–Good asymptotic series: Pr(D_n <= x) (not clipped, like scipy).
double KolmognPelzGoodCdf(int64_t n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double pi2 = kPi * kPi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  const double z = std::sqrt(static_cast<double>(n)) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0.0;
  double q = std::exp(qlog);
  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4,
               k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16,
               k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * std::pow(z, 8);
  double kk[4] = {0, 0, 0, 0};
  const int64_t maxk = static_cast<int64_t>(std::ceil(16 * z / kPi));
  for (int64_t k = maxk; k > 0; --k) {
    const double m = static_cast<double>(2 * k - 1);
    const double m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const double qpower = std::pow(q, static_cast<double>(8 * k));
    const double coeffs[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                              k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int c = 0; c < 4; ++c) kk[c] = kk[c] * qpower + coeffs[c];
  }
  const double sqrt2pi = std::sqrt(2 * kPi);
  const double denom[4] = {z, 6 * z4, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (int c = 0; c < 4; ++c) kk[c] = kk[c] * q * sqrt2pi / denom[c];
  q = std::exp(-pi2 / 2 / z2);
  const double sqrt3z = std::sqrt(3.0) * z;
  double k2extra = 0, k3extra = 0;
  for (int64_t k = maxk; k > 0; --k) {
    const double kd = static_cast<double>(k);
    const double ks2 = kd * kd;
    const double qp = std::pow(q, ks2);
    const double kspi = kPi * kd;
    k2extra += ks2 * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
  }
  kk[2] += k2extra * (pi2 * sqrt2pi / (-36 * z3));
  kk[3] += k3extra * (pi2 * sqrt2pi / (216 * z6));
  for (int c = 0; c < 4; ++c) kk[c] /= std::pow(static_cast<double>(n), c / 2.0);
  return kk[0] + kk[1] + kk[2] + kk[3];
}

}  // namespace

// cephes _smirnov3(n, x).sf: Pr(D+_n >= x), Birnbaum–Tingey lower sum. scipy sums in
// double-double; we sum positive terms in log space (error ~1e-12 relative, far inside 1e-6).
double SmirnovSf(int64_t n, double x) {
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return std::nan("");
  if (n == 1) return 1 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;
  const double dn = static_cast<double>(n);
  // floor(n*x) and remainder, exactly (n*x = hi + lo).
  const double hi = dn * x;
  const double lo = std::fma(dn, x, -hi);
  double fl = std::floor(hi);
  if (hi == fl && lo < 0) fl -= 1;
  double alpha = static_cast<double>((static_cast<long double>(hi) - fl) + lo);
  int64_t nxfl = static_cast<int64_t>(fl);
  if (alpha >= 1) {
    nxfl += 1;
    alpha = 0;
  }
  int64_t n1mxfl = n - nxfl - (alpha == 0 ? 0 : 1);
  if (alpha == 0) n1mxfl -= 1;
  if (nxfl == 0 || (nxfl == 1 && alpha == 0)) {
    const double cdf = x * static_cast<double>(std::pow(1.0L + x, static_cast<long double>(n - 1)));
    return Clip01(1 - cdf);
  }
  constexpr double kMinLog = -7.451332191019412076235E2;
  if (-2 * dn * x * x < kMinLog) return 0.0;
  if (nxfl >= n - 1)
    return Clip01(static_cast<double>(std::pow(1.0L - x, static_cast<long double>(n))));
  if (n > 1000000) {
    const double logp = -std::pow(6 * dn * x + 1.0, 2) / 18.0 / dn;
    return Clip01(std::exp(logp));
  }
  // sf = x * sum_{v=0}^{n1mxfl} C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1)
  const int64_t nterms = n1mxfl + 1;
  // Per term: log C(n,v) (a compensated running sum, error ~1e-11 absolute), plus
  // (n-v)·log(1-x-v/n) + (v-1)·log(x+v/n) in double (error ~n·1e-16 ≈ 1e-10 relative per term).
  double log_c = 0, log_c_err = 0;
  double sum = 0, ref = 0;  // sum of exp(lt - ref), rescaled when a term passes ref by e^64
  bool have_ref = false;
  for (int64_t v = 0; v < nterms; ++v) {
    const double plus = (static_cast<double>(v) + hi + lo) / dn;  // x + v/n
    const double lt = (log_c + log_c_err) + static_cast<double>(n - v) * std::log1p(-plus) +
                      static_cast<double>(v - 1) * std::log(plus);
    if (!have_ref) {
      ref = lt;
      have_ref = true;
    } else if (lt > ref + 64) {
      sum *= std::exp(ref - lt);
      ref = lt;
    }
    const double term = std::exp(lt - ref);
    sum += term;
    if (term != 0 && v != nterms - 1 &&
        4.0 * static_cast<double>(nterms - v) * term < 2.220446049250313e-16 * sum) {
      break;
    }
    if (term == 0 && v > n / 2) break;
    // Two-sum: log_c += log((n-v)/(v+1)) keeping the rounding error.
    const double inc = std::log(static_cast<double>(n - v) / static_cast<double>(v + 1));
    const double t = log_c + inc;
    const double bp = t - log_c;
    log_c_err += (log_c - (t - bp)) + (inc - bp);
    log_c = t;
  }
  const long double res = std::exp(std::log(static_cast<long double>(x) * sum) + ref);
  return Clip01(static_cast<double>(res));
}

double KolmogorovSmirnovSf(double x, int64_t n) {
  if (n <= 0 || std::isnan(x)) return std::nan("");
  // rv_continuous.sf: support is (0.5/n, 1).
  const double dn = static_cast<double>(n);
  if (x <= 0.5 / dn) return 1.0;
  if (x >= 1.0) return 0.0;
  const double t = dn * x;
  if (t <= 1.0) {
    if (t <= 0.5) return 1.0;
    double prob;
    if (n <= 140) {
      prob = 1.0;
      for (int64_t i = 1; i <= n; ++i) prob *= static_cast<double>(i) * (1.0 / dn) * (2 * t - 1);
    } else {
      prob = std::exp(LogNFactorialDivNPowN(dn) + dn * std::log(2 * t - 1));
    }
    return Clip01(1.0 - prob);
  }
  if (t >= dn - 1) return Clip01(2 * std::pow(1.0 - x, dn));
  if (x >= 0.5) return Clip01(2 * SmirnovSf(n, x));
  const double nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return Clip01(1.0 - KolmognDmtwCdf(n, x));
    if (nxsquared <= 4) return Clip01(1.0 - KolmognPomeranzCdf(n, x));
    return Clip01(2 * SmirnovSf(n, x));
  }
  if (nxsquared >= 370.0) return 0.0;
  if (nxsquared >= 2.2) return Clip01(2 * SmirnovSf(n, x));
  double cdf;
  if (n <= 100000 && dn * std::pow(x, 1.5) <= 1.4) {
    cdf = KolmognDmtwCdf(n, x);
  } else {
    cdf = KolmognPelzGoodCdf(n, x);
  }
  return Clip01(1.0 - cdf);
}

KsResult KsFromExtremes(int64_t n1, int64_t n2, double max_s, double min_s) {
  // min_s = -min(cdf1 - cdf2) clipped to [0, 1]; d is the larger (ties: max_s).
  KsResult r;
  double d = min_s > max_s ? min_s : max_s;
  const int64_t g = std::gcd(n1, n2);
  double prob;
  bool asymp = std::max(n1, n2) > 10000;
  if (!asymp) {
    const int64_t lcm = (n1 / g) * n2;
    const int64_t h = static_cast<int64_t>(std::nearbyint(d * static_cast<double>(lcm)));
    d = static_cast<double>(h) * 1.0 / static_cast<double>(lcm);
    if (h == 0) {
      prob = 1.0;
    } else {
      prob = n1 == n2 ? ProbOutsideSquare(n1, h) : OuterProbInsideMethod(n1, n2, g, h);
      if (!(prob >= 0 && prob <= 1)) asymp = true;  // scipy: "Exact calculation unsuccessful"
    }
  }
  if (asymp) {
    const double a = static_cast<double>(std::max(n1, n2));
    const double b = static_cast<double>(std::min(n1, n2));
    const double en = a * b / (a + b);
    prob = KolmogorovSmirnovSf(d, static_cast<int64_t>(std::nearbyint(en)));
  }
  r.statistic = d;
  r.p_value = Clip01(prob);
  return r;
}

KsResult KsTwoSampleSorted(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) return {0.0, 1.0};
  const MergeWalk walk = MergeWalkSorted(a, b);
  return KsFromExtremes(static_cast<int64_t>(a.size()), static_cast<int64_t>(b.size()), walk.max_s,
                        walk.min_s);
}

}  // namespace studio::monitoring
