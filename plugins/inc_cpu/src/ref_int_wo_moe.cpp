#include "ref_int_wo_moe.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "incq/plugin_helpers.hpp"
#include "int_wo_gemm.hpp"
#include "moe_reference.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

// dst [rows, w.N] = src [rows, w.K] * W + bias, all in double.
void gemm_double(const IntWoMatrix& w, const std::vector<double>& src, int64_t rows,
                 std::vector<double>& dst, const incq_exec* exec) {
  auto load_x = [&](int64_t m, int64_t k) { return src[static_cast<size_t>(m * w.K + k)]; };
  auto store_y = [&](int64_t m, int64_t n, double v) { dst[static_cast<size_t>(m * w.N + n)] = v; };
  auto block = [&](int64_t b) { int_wo_gemm_column_block(w, rows, b, load_x, store_y); };
  for_each_block(exec, column_block_count(w), block);
}

}  // namespace

void ref_int_wo_moe_apply(const IntWoExperts& ex, const std::string& layer, int32_t act_dtype,
                          int32_t top_k, const incq_tensor* hidden, const incq_tensor* topk_ids,
                          const incq_tensor* topk_weights, incq_tensor* out,
                          const incq_exec* exec) {
  auto project = [&](int64_t e, MoeProj proj, const std::vector<double>& src, int64_t rows, std::vector<double>& dst) {
    const size_t i = static_cast<size_t>(e);
    const IntWoMatrix& w = proj == MoeProj::Gate ? ex.gate[i] : proj == MoeProj::Up ? ex.up[i] : ex.down[i];
    dst.resize(static_cast<size_t>(rows * w.N));
    gemm_double(w, src, rows, dst, exec);
  };
  moe_reference_apply(ex.num_experts, ex.hidden, ex.intermediate, layer, act_dtype, top_k, hidden, topk_ids,
                      topk_weights, out, project);
}

}  // namespace incq::inc_cpu
