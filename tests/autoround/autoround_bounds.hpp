// How far AutoRound's recorded outputs may be from the exact result y = x·W + b (W dequantized
// exactly, in double), derived from the precisions of the path that produced them (DESIGN §5).
// `mag` is Σ_k |x_k·w_kn| + |b_n| (the host oracle's magnitude), K the reduction length.
// u32 = 2^-24, u16 = 2^-11 (unit roundoffs); γ_n = n·u / (1 - n·u) bounds a sum of n products in
// any order (Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
#pragma once

#include <cmath>
#include <cstdint>

namespace incq::autoround_test {

inline double gamma(double n, double u) { return n * u / (1.0 - n * u); }

// Path "fp32": AutoRound's module after .float(). fp16 scales are exact in fp32, and
// scale·(q - zero) with |q - zero| <= 255 has at most 11 + 8 significant bits, so the dequantized
// weights are exact; x is exact (fp16 values). Left: the fp32 matmul over K terms (γ_K of Σ|x·w|)
// and the bias addition (one rounding, u·|y| <= u·mag). Together: γ_{K+1}·mag.
inline double bound_fp32_path(int64_t K, double mag) { return gamma(static_cast<double>(K + 1), std::ldexp(1.0, -24)) * mag; }

// Path "fp16": AutoRound's module as its loader leaves it (float16). Roundings, in order:
//   weights  fl16(scale·(q - zero))           each |δw| <= u16·|w|      -> u16·Σ|x·w|
//   matmul   fp16 inputs, fp32 accumulation   (torch's CPU Half GEMM accumulates in float; the
//            products of two fp16 values are exact in fp32)            -> γ_K(u32)·Σ|x·w16|
//   result   rounded to fp16                                          -> u16·|acc|
//   bias     fl16(out + b)                                            -> u16·|out + b|
// |acc|, |out + b| and Σ|x·w16| are each <= mag·(1 + 2·u16) to first order, so the sum is below
// (3·u16 + γ_K(u32))·(1 + 2·u16)·mag; two roundings near zero add at most 2 half-spacings of fp16
// subnormals (2·2^-25). If the accumulation were in fp16 this bound would fail: that is a finding
// about AutoRound's path, not about incq.
inline double bound_fp16_path(int64_t K, double mag) {
  const double u16 = std::ldexp(1.0, -11);
  return (3 * u16 + gamma(static_cast<double>(K), std::ldexp(1.0, -24))) * (1 + 2 * u16) * mag +
         2 * std::ldexp(1.0, -25);
}

// incq's own error against the exact result: the implementation's declared tolerance relative to
// mag, plus the one rounding of its f32 output (as `incq verify` states it).
inline double bound_incq_f32(double tolerance, double mag, double y_exact) {
  return tolerance * mag + std::max(std::ldexp(1.0, -24) * std::fabs(y_exact), std::ldexp(1.0, -150));
}

// MoE block, path "fp32" (AutoRound's expert modules after .float(), routed by the generator).
// The oracle's MoE magnitude `mag` is a first-order bound such that matmuls erring by tol relative
// to their sums of absolute terms give |y' - y| <= tol·mag. AutoRound's fp32 matmuls err by
// γ_H (gate, up) and γ_I (down); silu, the gate·up product, the routing weight product and the
// sum over top-k each add one fp32 rounding, relative to values bounded by the same sums of
// absolute terms, so they fold into tol as a few more units of u32. tol = γ_{max(H,I) + 8}, and a
// factor 2 covers the second-order terms the first-order `mag` leaves out.
inline double bound_moe_fp32_path(int64_t H, int64_t I, double mag) {
  return 2 * gamma(static_cast<double>(std::max(H, I) + 8), std::ldexp(1.0, -24)) * mag;
}

}  // namespace incq::autoround_test
