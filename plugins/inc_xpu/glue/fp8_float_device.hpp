// The device side of inc_xpu's float-format implementations (FP8, FP8 block W8A8, MXFP4/MXFP8,
// MXINT4, NVFP4, W4A8), shared by their glue files: the checkpoint matrices (validated by the CPU
// reference's readers) uploaded in the kernels' layouts, the activation quantization step of each
// scheme, and one launch sequence (quantize x → matmul) over kernels_cl/{fp8,mx,nv,w4a8}_*.cl.
#ifndef INCQ_INC_XPU_GLUE_FP8_FLOAT_DEVICE_HPP
#define INCQ_INC_XPU_GLUE_FP8_FLOAT_DEVICE_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "bundle_tensors.hpp"
#include "device_buffer.hpp"
#include "fp8_weights.hpp"
#include "int_wo_matrix.hpp"
#include "launch.hpp"
#include "layer_spec.hpp"
#include "mx_weights.hpp"
#include "program_store.hpp"

namespace incq::inc_xpu::flt {

// The error contract of the float matmuls against the oracle: weights are exact in fp32 (scale
// products round once), each lane adds one product chain of about K/128 terms, and the 128 lanes
// are added in two stages of at most 128 + 1 terms; the quantized activation x' = q * s rounds once
// (NV weight scales twice). With u = 2^-24 the sum's relative error stays below
// (K/128 + 135) u <= 1e-4 for K <= kMaxK. W4A8's integer sums are exact and shorten the chain.
constexpr double kTolerance = 1e-4;
constexpr int64_t kMaxK = 131072;

// K past kMaxK would break the stated accumulation bound (fp8_float_device.hpp).
inline std::string accumulation_limit(int64_t K) {
  if (K > kMaxK) {
    return "K = " + std::to_string(K) + " above " + std::to_string(kMaxK) +
           " (the fp32 accumulation bound behind the stated tolerance)";
  }
  return "";
}

// The CPU reference's scheme and shape rules decide what the device kernels take too; they are
// asked with a CPU device description because only their device check differs.
inline const incq_device* reference_device() {
  static const incq_device cpu{sizeof(incq_device), INCQ_DEVICE_CPU, 0, nullptr, nullptr};
  return &cpu;
}

// Every float-format kernel lives in one program (one compile per device, cached on disk).
ProgramSpec float_program_spec(const Session& s);

enum class WeightKind { Fp8, Mx, W4a8 };

// The shape and format parameters of one weight matrix [N, K] (or of each expert of a stack).
//  Fp8: codes [N, K] as stored; scales in their checkpoint dtype, scale(n, k) =
//       scales[(n / rows_per_scale) * scale_cols + k / cols_per_scale].
//  Mx:  codes and scale bytes as stored; elem 0 MXFP4, 1 MXFP8, 2 MXINT4, 3 NVFP4 (inv_global =
//       1 / weight_global_scale).
//  W4a8: int4 codes repacked from GPTQ [K/8, N] words to [N, K/2] bytes and the F16 scales from
//       [K/G, N] to [N, K/G]: the same bytes, in the order a row-streaming kernel reads them.
// bias is kept in its checkpoint dtype (0: none).
struct FloatFormat {
  WeightKind kind = WeightKind::Fp8;
  int64_t K = 0, N = 0;
  int32_t e5m2 = 0, scale_dtype = 0, rows_per_scale = 1, cols_per_scale = 1, scale_cols = 1;
  int32_t elem = 0, group = 0;
  float inv_global = 0.0f;
  int32_t bias_dtype = 0;
};

// A matrix in the device layout, still in host memory.
struct FloatImage {
  FloatFormat f;
  std::vector<uint8_t> codes, scales, bias;
};

// On the device: one matrix, or a stack of experts' matrices back to back (codes code_stride bytes
// apart, scales scale_stride bytes apart). resident = the bytes uploaded, which equal the
// checkpoint's (W4a8 drops its constant qzeros).
struct FloatMatrix {
  FloatFormat f;
  DeviceBuffer codes, scales, bias;
  uint64_t code_stride = 0, scale_stride = 0;
  uint64_t resident = 0;
};

// After inc_cpu::load_fp8_matrix succeeded on `tensors` with `prefix`: its codes and the (already
// validated) scale and bias tensors byte for byte.
FloatImage image_fp8(const inc_cpu::Fp8Matrix& m, int32_t weight_dtype, inc_cpu::BundleTensors& tensors,
                     const std::string& prefix, const std::string& what);
FloatImage image_mx(const inc_cpu::MxMatrix& m);
FloatImage image_w4a8(const inc_cpu::IntWoMatrix& m);

FloatMatrix upload_matrix(const Session& s, const FloatImage& img, const std::string& what);
// Every image must have the same format (the experts of one projection).
FloatMatrix upload_stack(const Session& s, const std::vector<FloatImage>& imgs, const std::string& what);

// How a matmul's input is quantized on the device before the product (docs/formats.md §3).
struct ActStep {
  enum class Kind { None, Fp8, Mx, Nv, Int8 };
  Kind kind = Kind::None;
  int32_t group = -1;  // elements per scale along a row; <= 0: the whole row
  int32_t elem = 0;    // Mx: 0 E2M1, 1 e4m3, 2 MX_INT with int_bits
  int32_t int_bits = 4;
  float global = 0.0f;  // Nv: input_global_scale
};

// The step of a layer's scheme (act_bits 16: None). Nv takes the matrix's input_global_scale.
ActStep act_step_of(const inc_cpu::LayerSpec& s, float nv_input_global = 0.0f);

// The kernels one matmul launches: every R x T tile of the matmul kernels (R rows of W, T rows
// of x per work-group) and the activation quantizer. cl_kernel arguments are per-object state, so
// each layer owns its set and launches under its launch mutex.
struct GemmTile {
  int rows, tokens;
  Kernel kernel;
};
struct FloatKernels {
  std::vector<GemmTile> gemm;
  Kernel quant;  // none for ActStep::None
};
FloatKernels make_float_kernels(cl_program program, WeightKind kind, const ActStep& act);

// Quantized activations of the last launch; grown (never shrunk) under the layer's launch mutex.
// Reuse is safe on the layer's in-order queue; a replaced buffer is released by OpenCL only once
// the commands using it have finished.
struct ActScratch {
  DeviceBuffer xq, xs;
};

// Where a matmul reads its input after the activation step: x itself (None) or the scratch (F32
// x' for Fp8 / Mx / Nv; for Int8 the int8 codes in scratch.xq and the row scales in scratch.xs).
struct ActInput {
  cl_mem mem;
  uint64_t offset;
  int32_t dtype;
};
ActInput enqueue_act_quant(const Session& s, const ActStep& act, const Kernel& quant, ActScratch& scratch, cl_mem x,
                           uint64_t x_off, int32_t x_dtype, int64_t M, int64_t K);

// Enqueues y[M, N] = act(x)[M, K] . W^T + bias on s's queue. x and y are cl_mem with element
// offsets, of dtypes x_dtype / y_dtype (F32, F16, BF16).
void enqueue_float_matmul(const Session& s, const FloatMatrix& w, const ActStep& act, const FloatKernels& k,
                          ActScratch& scratch, cl_mem x, uint64_t x_off, int32_t x_dtype, cl_mem y, uint64_t y_off,
                          int32_t y_dtype, int64_t M);

// The tile a matmul of M rows runs (the fastest measured on an H100; fp8_float_device.cpp).
const GemmTile& gemm_for_rows(const FloatKernels& k, WeightKind kind, int64_t M);

}  // namespace incq::inc_xpu::flt

#endif
