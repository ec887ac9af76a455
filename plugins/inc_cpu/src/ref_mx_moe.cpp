#include "ref_mx_moe.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "activation_io.hpp"
#include "column_blocks.hpp"
#include "incq/plugin_helpers.hpp"
#include "moe_reference.hpp"
#include "mx_gemm.hpp"
#include "tensor_checks.hpp"

namespace incq::inc_cpu {
namespace {

// dst [rows, w.N] = q(src) [rows, w.K] * W^T + bias, in double. `src` is copied: gate and up
// quantize the same rows, each with its own quantizer.
void project(const MxMatrix& w, const std::vector<double>& src, int64_t rows,
             std::vector<double>& scratch, std::vector<double>& dst, const incq_exec* exec) {
  scratch.assign(src.begin(), src.begin() + rows * w.K);
  for (int64_t m = 0; m < rows; ++m) act_quant_row(w.input_quant, scratch.data() + m * w.K, w.K);
  dst.resize(static_cast<size_t>(rows * w.N));
  auto store_y = [&](int64_t m, int64_t n, double v) { dst[static_cast<size_t>(m * w.N + n)] = v; };
  auto block = [&](int64_t b) { mx_gemm_column_block(w, scratch.data(), rows, b, store_y); };
  for_each_block(exec, mx_column_block_count(w), block);
}

}  // namespace

void ref_mx_moe_apply(const MxExperts& ex, const std::string& layer, int32_t act_dtype, int32_t top_k,
                      const incq_tensor* hidden, const incq_tensor* topk_ids, const incq_tensor* topk_weights,
                      incq_tensor* out, const incq_exec* exec) {
  std::vector<double> scratch;
  auto run = [&](int64_t e, MoeProj proj, const std::vector<double>& src, int64_t rows, std::vector<double>& dst) {
    const size_t i = static_cast<size_t>(e);
    project(proj == MoeProj::Gate ? ex.gate[i] : proj == MoeProj::Up ? ex.up[i] : ex.down[i], src, rows, scratch, dst,
            exec);
  };
  moe_reference_apply(ex.num_experts, ex.hidden, ex.intermediate, layer, act_dtype, top_k, hidden, topk_ids,
                      topk_weights, out, run);
}

}  // namespace incq::inc_cpu
