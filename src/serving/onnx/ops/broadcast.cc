#include <algorithm>
#include <cstring>

#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx::ops {

Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank) {
    return InvalidArgument(what + " " + std::to_string(axis) + " is out of range for rank " +
                           std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> ReadInts(const Tensor& t, const std::string& what) {
  std::vector<int64_t> out(static_cast<size_t>(t.size()));
  if (t.dtype() == DType::kInt64) {
    std::copy_n(t.data<int64_t>(), t.size(), out.begin());
  } else if (t.dtype() == DType::kInt32) {
    std::copy_n(t.data<int32_t>(), t.size(), out.begin());
  } else {
    return InvalidArgument(what + " must be int64, got " + TypeName(t.dtype()));
  }
  return out;
}

void CopyTensor(const Tensor& from, Tensor& to) { CopyReshaped(from, from.shape(), to); }

void CopyReshaped(const Tensor& from, std::vector<int64_t> shape, Tensor& to) {
  to.Resize(from.dtype(), std::move(shape));
  if (from.dtype() == DType::kString) {
    to.strings() = from.strings();
  } else if (from.byte_size() > 0) {
    std::memcpy(to.raw(), from.raw(), from.byte_size());
  }
  to.map_keys = from.map_keys;
}

Result<BroadcastPlan> PlanBroadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  BroadcastPlan p;
  const size_t rank = std::max(a.size(), b.size());
  p.out_shape.assign(rank, 1);
  p.a_strides.assign(rank, 0);
  p.b_strides.assign(rank, 0);
  p.same_shape = a == b;
  // Dimensions aligned from the right; missing leading dimensions are 1.
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return InvalidArgument("shapes " + ShapeToString(a) + " and " + ShapeToString(b) +
                             " cannot be broadcast");
    }
    p.out_shape[i] = da == 1 ? db : da;
  }
  int64_t sa = 1, sb = 1;
  for (size_t k = rank; k-- > 0;) {
    const int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    p.a_strides[k] = da == 1 ? 0 : sa;  // size-1 dimensions repeat
    p.b_strides[k] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  p.size = ShapeSize(p.out_shape);
  return p;
}

Status CheckArity(const NodeInfo& node, size_t min_in, size_t max_in, size_t min_out,
                  size_t max_out) {
  const size_t n = node.constant_inputs.size();
  if (n < min_in || n > max_in) {
    return NodeError(node, "expects " + std::to_string(min_in) +
                               (max_in != min_in ? ".." + std::to_string(max_in) : "") +
                               " inputs, the node has " + std::to_string(n));
  }
  if (node.num_outputs < min_out || node.num_outputs > max_out) {
    return NodeError(node, "expects " + std::to_string(min_out) +
                               (max_out != min_out ? ".." + std::to_string(max_out) : "") +
                               " outputs, the node has " + std::to_string(node.num_outputs));
  }
  return Status::Ok();
}

Status MissingInput(size_t index) {
  return InvalidArgument("required input " + std::to_string(index) + " is missing");
}

}  // namespace studio::serving::onnx::ops
