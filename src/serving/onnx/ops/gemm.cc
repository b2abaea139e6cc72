// Gemm and MatMul. No BLAS: for the small dense layers of tabular models, a row-times-matrix
// loop over a contiguous [K, N] weight (constant weights are repacked at load) vectorizes well
// at -O2; narrow outputs (N < 8) use dot products over a [N, K] copy instead.

#include <algorithm>
#include <type_traits>

#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx::ops {
namespace {

constexpr int64_t kNarrow = 8;
constexpr int64_t kBlock = 16;

// Integer products wrap (unsigned arithmetic) instead of overflowing into UB.
template <class T>
inline T MulAdd(T acc, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(acc) + static_cast<U>(a) * static_cast<U>(b));
  } else {
    return acc + a * b;
  }
}

// y[0..n) += a * b[0..n)
template <class T>
inline void Axpy(T a, const T* __restrict b, T* __restrict y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] = MulAdd(y[j], a, b[j]);
}

template <class T>
inline T Dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T s0{}, s1{}, s2{}, s3{};
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 = MulAdd(s0, a[k], b[k]);
    s1 = MulAdd(s1, a[k + 1], b[k + 1]);
    s2 = MulAdd(s2, a[k + 2], b[k + 2]);
    s3 = MulAdd(s3, a[k + 3], b[k + 3]);
  }
  for (; k < n; ++k) s0 = MulAdd(s0, a[k], b[k]);
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(s0) + static_cast<U>(s1) + static_cast<U>(s2) +
                          static_cast<U>(s3));
  } else {
    return (s0 + s1) + (s2 + s3);
  }
}

template <class T>
std::vector<T> Transposed(const T* src, int64_t rows, int64_t cols) {
  std::vector<T> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = src[r * cols + c];
  }
  return out;
}

// Y[M,N] += alpha * A[M,K] * B, with B given as [K,N] (bkn) and/or [N,K] (bnk).
template <class T>
void MatMulRows(const T* a, int64_t a_row_stride, int64_t a_col_stride, const T* bkn, const T* bnk,
                T* y, int64_t m_rows, int64_t k_dim, int64_t n_dim, T alpha,
                std::vector<T>& scratch) {
  const bool use_dot = bnk && (n_dim < kNarrow || !bkn);
  const bool scale = alpha != T(1);
  for (int64_t m = 0; m < m_rows; ++m) {
    const T* row = a + m * a_row_stride;
    if (a_col_stride != 1) {  // transposed A: gather the row
      scratch.resize(static_cast<size_t>(k_dim));
      for (int64_t k = 0; k < k_dim; ++k) scratch[k] = row[k * a_col_stride];
      row = scratch.data();
    }
    T* yr = y + m * n_dim;
    if (use_dot) {
      for (int64_t n = 0; n < n_dim; ++n) {
        const T d = Dot(row, bnk + n * k_dim, k_dim);
        yr[n] = alpha == T(1) ? T(yr[n] + d) : T(yr[n] + alpha * d);
      }
    } else {
      // Blocks of kBlock outputs stay in registers across the whole K loop.
      int64_t n0 = 0;
      for (; n0 + kBlock <= n_dim; n0 += kBlock) {
        T acc[kBlock];
        for (int64_t j = 0; j < kBlock; ++j) acc[j] = yr[n0 + j];
        for (int64_t k = 0; k < k_dim; ++k) {
          const T av = scale ? T(alpha * row[k]) : row[k];
          const T* b = bkn + k * n_dim + n0;
          for (int64_t j = 0; j < kBlock; ++j) acc[j] = MulAdd(acc[j], av, b[j]);
        }
        for (int64_t j = 0; j < kBlock; ++j) yr[n0 + j] = acc[j];
      }
      if (n0 < n_dim) {
        for (int64_t k = 0; k < k_dim; ++k) {
          const T av = scale ? T(alpha * row[k]) : row[k];
          Axpy(av, bkn + k * n_dim + n0, yr + n0, n_dim - n0);
        }
      }
    }
  }
}

// ---- Gemm ----

template <class T>
struct Packed {
  std::vector<T> kn, nk;
};

struct GemmState {
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  DType packed_type = DType::kUndefined;  // set when B was constant at load
  Packed<float> pf;
  Packed<double> pd;
  int64_t pk = 0, pn = 0;
};

template <class T>
Packed<T>& PackOf(GemmState& s) {
  if constexpr (std::is_same_v<T, float>)
    return s.pf;
  else
    return s.pd;
}
template <class T>
const Packed<T>& PackOf(const GemmState& s) {
  if constexpr (std::is_same_v<T, float>)
    return s.pf;
  else
    return s.pd;
}

template <class T>
Status GemmTyped(const GemmState& s, const Tensor& a, const Tensor& b, const Tensor* c, Tensor& y) {
  const int64_t m_dim = s.trans_a ? a.dim(1) : a.dim(0);
  const int64_t k_dim = s.trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = s.trans_b ? b.dim(1) : b.dim(0);
  const int64_t n_dim = s.trans_b ? b.dim(0) : b.dim(1);
  if (k_dim != kb) {
    return InvalidArgument("A " + ShapeToString(a.shape()) + " and B " + ShapeToString(b.shape()) +
                           " have different inner dimensions");
  }
  y.Resize(a.dtype(), {m_dim, n_dim});
  T* py = y.data<T>();
  const T beta = static_cast<T>(s.beta);
  if (c && beta != T(0)) {
    // C broadcasts unidirectionally to [M, N].
    int64_t sm = 0, sn = 0;
    const auto& cs = c->shape();
    auto bad = [&] {
      return InvalidArgument("C " + ShapeToString(cs) + " does not broadcast to " +
                             ShapeToString(y.shape()));
    };
    if (cs.size() > 2) return bad();
    if (cs.size() >= 1) {
      const int64_t cn = cs.back();
      if (cn != n_dim && cn != 1) return bad();
      sn = cn == 1 ? 0 : 1;
    }
    if (cs.size() == 2) {
      if (cs[0] != m_dim && cs[0] != 1) return bad();
      sm = cs[0] == 1 ? 0 : cs[1];
    }
    if (c->dtype() != a.dtype()) return InvalidArgument("C has a different type than A");
    const T* pc = c->data<T>();
    for (int64_t m = 0; m < m_dim; ++m) {
      for (int64_t n = 0; n < n_dim; ++n) {
        const T v = pc[m * sm + n * sn];
        py[m * n_dim + n] = beta == T(1) ? v : T(beta * v);
      }
    }
  }
  const T* pa = a.data<T>();
  const int64_t a_row_stride = s.trans_a ? 1 : k_dim;
  const int64_t a_col_stride = s.trans_a ? m_dim : 1;
  std::vector<T> scratch;
  const T alpha = static_cast<T>(s.alpha);
  if (s.packed_type == a.dtype()) {
    const auto& p = PackOf<T>(s);
    MatMulRows<T>(pa, a_row_stride, a_col_stride, p.kn.empty() ? nullptr : p.kn.data(),
                  p.nk.empty() ? nullptr : p.nk.data(), py, m_dim, k_dim, n_dim, alpha, scratch);
  } else {
    const T* pb = b.data<T>();
    MatMulRows<T>(pa, a_row_stride, a_col_stride, s.trans_b ? nullptr : pb,
                  s.trans_b ? pb : nullptr, py, m_dim, k_dim, n_dim, alpha, scratch);
  }
  return Status::Ok();
}

Status RunGemm(const GemmState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0] || !in[1]) return MissingInput(in[0] ? 1 : 0);
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  const Tensor* c = in.size() > 2 ? in[2] : nullptr;
  if (a.rank() != 2 || b.rank() != 2) {
    return InvalidArgument("A and B must be 2-D, got " + ShapeToString(a.shape()) + " and " +
                           ShapeToString(b.shape()));
  }
  if (a.dtype() != b.dtype()) return InvalidArgument("A and B have different types");
  Status st = InvalidArgument("unsupported element type " + TypeName(a.dtype()));
  DispatchFloat(a.dtype(), [&](auto tag) { st = GemmTyped<decltype(tag)>(s, a, b, c, out[0]); });
  return st;
}

template <class T>
void PackB(GemmState& s, const Tensor& b) {
  const int64_t k = s.trans_b ? b.dim(1) : b.dim(0);
  const int64_t n = s.trans_b ? b.dim(0) : b.dim(1);
  auto& p = PackOf<T>(s);
  const T* src = b.data<T>();
  if (s.trans_b) {
    p.nk.assign(src, src + b.size());
    if (n >= kNarrow) p.kn = Transposed(src, n, k);
  } else {
    p.kn.assign(src, src + b.size());
    if (n < kNarrow) p.nk = Transposed(src, k, n);
  }
  s.packed_type = b.dtype();
  s.pk = k;
  s.pn = n;
}

Result<std::unique_ptr<Kernel>> MakeGemm(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 2, 3));
  GemmState s;
  s.trans_a = node.attributes.Int("transA", 0) != 0;
  s.trans_b = node.attributes.Int("transB", 0) != 0;
  s.alpha = node.attributes.Float("alpha", 1.0f);
  s.beta = node.attributes.Float("beta", 1.0f);
  if (const Tensor* b = node.constant_inputs[1]; b && b->rank() == 2) {
    DispatchFloat(b->dtype(), [&](auto tag) { PackB<decltype(tag)>(s, *b); });
  }
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<GemmState>>(std::move(s), &RunGemm));
}

// ---- MatMul (numpy matmul: 1-D promotion, broadcast batch dimensions) ----

struct MatMulState {
  DType packed_type = DType::kUndefined;
  Packed<float> pf;
  Packed<double> pd;
};

// Constant weights were packed for float and double only.
template <class T>
const Packed<T>* PackOf(const MatMulState& s) {
  if constexpr (std::is_same_v<T, float>) {
    return &s.pf;
  } else if constexpr (std::is_same_v<T, double>) {
    return &s.pd;
  } else {
    return nullptr;
  }
}

template <class T>
Status MatMulTyped(const MatMulState& s, const Tensor& a, const Tensor& b, Tensor& y) {
  std::vector<int64_t> as = a.shape(), bs = b.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (as.empty() || bs.empty()) return InvalidArgument("MatMul inputs must not be scalars");
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t m_dim = as[as.size() - 2], k_dim = as.back();
  const int64_t n_dim = bs.back();
  if (bs[bs.size() - 2] != k_dim) {
    return InvalidArgument("shapes " + ShapeToString(a.shape()) + " and " +
                           ShapeToString(b.shape()) + " have different inner dimensions");
  }
  std::vector<int64_t> a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  ASSIGN_OR_RETURN(BroadcastPlan plan, PlanBroadcast(a_batch, b_batch));
  std::vector<int64_t> out_shape = plan.out_shape;
  if (!a_vec) out_shape.push_back(m_dim);
  if (!b_vec) out_shape.push_back(n_dim);
  y.Resize(a.dtype(), out_shape);
  T* py = y.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const bool packed = s.packed_type == a.dtype() && b.rank() == 2;
  const Packed<T>* p = packed ? PackOf<T>(s) : nullptr;
  std::vector<T> scratch;
  const int64_t batches = plan.size;
  const size_t brank = plan.out_shape.size();
  std::vector<int64_t> idx(brank, 0);
  int64_t ao = 0, bo = 0;  // in matrices
  for (int64_t t = 0; t < batches; ++t) {
    const T* am = pa + ao * m_dim * k_dim;
    const T* bm = pb + bo * k_dim * n_dim;
    T* ym = py + t * m_dim * n_dim;
    if (p) {
      MatMulRows<T>(am, k_dim, 1, p->kn.empty() ? nullptr : p->kn.data(),
                    p->nk.empty() ? nullptr : p->nk.data(), ym, m_dim, k_dim, n_dim, T(1), scratch);
    } else {
      MatMulRows<T>(am, k_dim, 1, bm, nullptr, ym, m_dim, k_dim, n_dim, T(1), scratch);
    }
    for (int64_t d = static_cast<int64_t>(brank) - 1; d >= 0; --d) {
      ++idx[d];
      ao += plan.a_strides[d];
      bo += plan.b_strides[d];
      if (idx[d] < plan.out_shape[d]) break;
      ao -= plan.a_strides[d] * plan.out_shape[d];
      bo -= plan.b_strides[d] * plan.out_shape[d];
      idx[d] = 0;
    }
  }
  return Status::Ok();
}

Status RunMatMul(const MatMulState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0] || !in[1]) return MissingInput(in[0] ? 1 : 0);
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  if (a.dtype() != b.dtype()) return InvalidArgument("A and B have different types");
  Status st = InvalidArgument("unsupported element type " + TypeName(a.dtype()));
  auto body = [&](auto tag) { st = MatMulTyped<decltype(tag)>(s, a, b, out[0]); };
  switch (a.dtype()) {
    case DType::kFloat32:
      body(float{});
      break;
    case DType::kFloat64:
      body(double{});
      break;
    case DType::kInt32:
      body(int32_t{});
      break;
    case DType::kInt64:
      body(int64_t{});
      break;
    case DType::kUInt32:
      body(uint32_t{});
      break;
    case DType::kUInt64:
      body(uint64_t{});
      break;
    default:
      break;
  }
  return st;
}

Result<std::unique_ptr<Kernel>> MakeMatMul(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 2, 2));
  MatMulState s;
  if (const Tensor* b = node.constant_inputs[1]; b && b->rank() == 2) {
    DispatchFloat(b->dtype(), [&](auto tag) {
      using T = decltype(tag);
      Packed<T>& p = [&]() -> Packed<T>& {
        if constexpr (std::is_same_v<T, float>)
          return s.pf;
        else
          return s.pd;
      }();
      const T* src = b->data<T>();
      p.kn.assign(src, src + b->size());
      if (b->dim(1) < kNarrow) p.nk = Transposed(src, b->dim(0), b->dim(1));
      s.packed_type = b->dtype();
    });
  }
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<MatMulState>>(std::move(s), &RunMatMul));
}

}  // namespace

void RegisterGemm(KernelRegistry& r) {
  r.Register("", "Gemm", &MakeGemm);
  r.Register("", "MatMul", &MakeMatMul);
}

}  // namespace studio::serving::onnx::ops
