// The int8 mode's refusal of non-finite activations at prefill sizes, through the ABI: the check runs
// on the stored bits of every row in parallel (int_linear_apply.cpp first_nonfinite), so it is
// exercised here for each activation dtype, with several threads, naming the first bad element in
// row order and leaving y untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "int_fast_abi_support.hpp"

namespace {

using namespace int_fast_abi;
using int_fast_test::MatrixCase;

TEST(IntFastPrefillAbi, Int8RefusesNonFiniteActivationsAtPrefillSizes) {
  const incq_impl_desc* int8 = find_impl("inc_cpu.fast.int_wo_linear_int8");
  ASSERT_NE(int8, nullptr) << "plugin at " << plugin_path();
  MatrixCase c;
  c.K = 96;
  c.N = 40;
  const auto m = int_fast_test::make_matrix(c, 2);
  const int64_t M = 300;
  for (int32_t dtype : {INCQ_DTYPE_BF16, INCQ_DTYPE_F16, INCQ_DTYPE_F32}) {
    const incq_layer_desc d = linear_desc(c, dtype, "model.layers.3.mlp.up_proj");
    BundleBuilder b;
    add_tensors(b, m);
    Layer l(int8, d);
    ASSERT_EQ(l.load(b.bundle(c.packing)), INCQ_OK);
    struct Bad {
      int64_t row, col;
      double value;
      const char* want;
    };
    // Two bad elements: the message names the first in row order whichever thread finds it.
    for (const Bad& bad : {Bad{200, 5, NAN, "[200, 5] is NaN"}, Bad{17, 95, INFINITY, "[17, 95] is Inf"},
                           Bad{299, 0, -INFINITY, "[299, 0] is Inf"}}) {
      Activations x(dtype, M, c.K, c.K + 5), y(dtype, M, c.N);
      const std::vector<float> v = int_fast_test::make_x(M, c.K, 9);
      for (int64_t r = 0; r < M; ++r)
        for (int64_t k = 0; k < c.K; ++k) x.set(r, k, v[static_cast<size_t>(r * c.K + k)]);
      x.set(bad.row, bad.col, bad.value);
      if (bad.row < M - 1) x.set(M - 1, 7, NAN);  // a later one
      std::memset(y.bytes.data(), 0x5A, y.bytes.size());
      const std::vector<uint8_t> y_before = y.bytes;
      const incq_exec exec = own_threads_exec(4);
      std::string msg;
      EXPECT_EQ(apply_linear(l, x, y, &msg, &exec), INCQ_ERR_INVALID_ARGUMENT) << "dtype " << dtype;
      EXPECT_NE(msg.find(bad.want), std::string::npos) << "dtype " << dtype << ": " << msg;
      EXPECT_NE(msg.find("up_proj"), std::string::npos) << msg;
      EXPECT_EQ(y.bytes, y_before) << "dtype " << dtype << ": y was written";
    }
  }
}

}  // namespace
