/*
 * incq plugin ABI — the only thing an incq host and an incq plugin share.
 *
 * Version: see INCQ_ABI_VERSION_MAJOR / INCQ_ABI_VERSION_MINOR and plugin_api/CHANGELOG.md.
 *
 * Rules (stable for every 1.x):
 *  - Plain C11; compiles as C11 and as C++17. No C++ types, no exceptions, no abort() cross it.
 *  - Every struct that crosses the boundary starts with `size_t struct_size`. For a struct passed
 *    as input, the writer sets it to sizeof() of the struct as it knew it. For a struct the callee
 *    fills in (incq_error, incq_availability), the CALLER allocates it and sets struct_size to the
 *    size of its storage; the callee writes only fields that fit inside that size and leaves
 *    struct_size unchanged. Fields are only ever appended; a reader treats a field whose end lies
 *    beyond struct_size as absent (see INCQ_HAS_FIELD).
 *  - Structs embedded by value in another struct or used as array elements (incq_scheme inside
 *    incq_layer_desc, incq_tensor inside incq_named_tensor) are
 *    frozen for the whole major version: their layout never changes in 1.x. New scheme or tensor
 *    attributes are added as new fields appended to the enclosing struct instead.
 *  - Function-table entries are only ever appended too. An entry marked OPTIONAL may be NULL.
 *  - Every fallible entry returns an incq_status and, if the caller passed a non-NULL incq_error*,
 *    fills it (code + NUL-terminated message). The incq_error storage is owned by the caller.
 *  - Ownership is written next to every pointer:
 *      BORROWED(call)   valid only for the duration of the call that received it;
 *      BORROWED(until X) valid until the named event;
 *      OWNED(plugin)    owned by the plugin, valid until incq_plugin_api.shutdown returns;
 *      OWNED(handle)    owned by the layer handle, released by its destroy entry.
 *  - Threading contract:
 *      initialize / shutdown / probe are called serially by the host (never concurrently with
 *      anything else of the same plugin). create / set_weights / process_weights / destroy of one
 *      handle are serial for that handle; different handles may be created concurrently.
 *      apply_linear / apply_moe are re-entrant: the host may call them concurrently on the same
 *      processed handle from several threads; an implementation keeps no mutable per-handle state
 *      in apply (or protects it). Intra-op parallelism must go through incq_exec.parallel_for when
 *      the host supplies it, and must never use more than incq_exec.max_threads threads otherwise.
 *  - Device and queue are explicit and owned by the host (incq_device).
 */
#ifndef INCQ_PLUGIN_API_H
#define INCQ_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INCQ_ABI_VERSION_MAJOR 1
#define INCQ_ABI_VERSION_MINOR 0

/* The single symbol every plugin exports. */
#define INCQ_PLUGIN_ENTRY_SYMBOL "incq_plugin_get_api"

#if defined(_WIN32)
#define INCQ_EXPORT __declspec(dllexport)
#else
#define INCQ_EXPORT __attribute__((visibility("default")))
#endif

/* True when a struct written with `struct_size` bytes contains `field` entirely. */
#define INCQ_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ------------------------------------------------------------------ errors */

typedef enum incq_status {
  INCQ_OK = 0,
  INCQ_ERR_INVALID_ARGUMENT = 1, /* bad shapes, dtypes, tensors, option values */
  INCQ_ERR_UNSUPPORTED = 2,      /* valid request this implementation cannot run */
  INCQ_ERR_UNAVAILABLE = 3,      /* plugin/device/runtime not usable (see probe) */
  INCQ_ERR_OUT_OF_MEMORY = 4,
  INCQ_ERR_INTERNAL = 5,         /* a bug or an unexpected exception inside the plugin */
  INCQ_ERR_ABI = 6               /* version or struct_size mismatch */
} incq_status;

#define INCQ_ERROR_MESSAGE_CAPACITY 1024

/* Filled by the callee; storage owned by the caller. message is always NUL-terminated
 * (truncated to fit) when the callee writes it. */
typedef struct incq_error {
  size_t struct_size;
  int32_t code; /* incq_status */
  char message[INCQ_ERROR_MESSAGE_CAPACITY];
} incq_error;

/* ------------------------------------------------------------------ enums */

typedef enum incq_dtype {
  INCQ_DTYPE_INVALID = 0,
  INCQ_DTYPE_F32 = 1,
  INCQ_DTYPE_F16 = 2,
  INCQ_DTYPE_BF16 = 3,
  INCQ_DTYPE_F64 = 4,
  INCQ_DTYPE_I8 = 5,
  INCQ_DTYPE_U8 = 6,
  INCQ_DTYPE_I16 = 7,
  INCQ_DTYPE_I32 = 8,
  INCQ_DTYPE_I64 = 9,
  INCQ_DTYPE_F8_E4M3 = 10,
  INCQ_DTYPE_F8_E5M2 = 11,
  INCQ_DTYPE_BOOL = 12,
  INCQ_DTYPE_U16 = 13,
  INCQ_DTYPE_U32 = 14,
  INCQ_DTYPE_U64 = 15
} incq_dtype;

/* Bit masks used in capability descriptors are (1u << enum value). */
#define INCQ_BIT(v) (1u << (unsigned)(v))

typedef enum incq_module_kind {
  INCQ_MODULE_LINEAR = 1,
  INCQ_MODULE_MOE = 2
} incq_module_kind;

typedef enum incq_scheme_family {
  INCQ_FAMILY_DENSE = 0, /* not quantized: never handed to a plugin by the reference host */
  INCQ_FAMILY_INT = 1,   /* integer weight-only (WNA16) and W4A8 when act_bits == 8 */
  INCQ_FAMILY_FP8 = 2,   /* FP8 weight-only */
  INCQ_FAMILY_MX_FP = 3, /* MXFP4 / MXFP8 */
  INCQ_FAMILY_NV_FP = 4, /* NVFP4 */
  INCQ_FAMILY_MX_INT = 5 /* MXINT4 */
} incq_scheme_family;

/* How the checkpoint tensors are laid out (DESIGN §4). */
typedef enum incq_packing {
  INCQ_PACKING_NONE = 0,
  INCQ_PACKING_GPTQ_V1 = 1, /* qweight [K*b/32,N], qzeros store zero-1 */
  INCQ_PACKING_GPTQ_V2 = 2, /* same layout, qzeros store the zero itself */
  INCQ_PACKING_AWQ = 3,     /* qweight [K,N/8] interleaved nibbles, 4-bit only */
  INCQ_PACKING_FP8 = 4,
  INCQ_PACKING_FP8_BLOCK = 5,
  INCQ_PACKING_LLM_COMPRESSOR = 6
} incq_packing;

typedef enum incq_device_type {
  INCQ_DEVICE_CPU = 1,
  INCQ_DEVICE_OPENCL = 2
} incq_device_type;

typedef enum incq_log_level {
  INCQ_LOG_DEBUG = 0,
  INCQ_LOG_INFO = 1,
  INCQ_LOG_WARN = 2,
  INCQ_LOG_ERROR = 3
} incq_log_level;

/* ------------------------------------------------------------------ data */

/* Device and queue, owned by the host. For CPU, context and queue are NULL. For OpenCL,
 * native_context is a cl_context and native_queue a cl_command_queue (both may be NULL, in which
 * case the plugin creates its own for device `index`). */
typedef struct incq_device {
  size_t struct_size;
  int32_t type;  /* incq_device_type */
  int32_t index; /* device ordinal within its type */
  void *native_context; /* BORROWED(until the layer using it is destroyed) */
  void *native_queue;   /* BORROWED(until the layer using it is destroyed) */
} incq_device;

#define INCQ_MAX_DIMS 4

/* DLPack-style tensor view. Strides are in elements; a tensor is row-major contiguous when
 * strides[ndim-1] == 1 and strides[i] == strides[i+1]*shape[i+1]. `data` points to the first
 * element on CPU; for OpenCL, data is a cl_mem and byte_offset locates the first element. */
typedef struct incq_tensor {
  size_t struct_size;
  void *data; /* BORROWED(call) unless stated otherwise by the entry that takes it */
  int32_t dtype; /* incq_dtype */
  int32_t ndim;
  int64_t shape[INCQ_MAX_DIMS];
  int64_t strides[INCQ_MAX_DIMS];
  uint64_t byte_offset;
  int32_t device_type; /* incq_device_type where data lives */
  int32_t device_index;
} incq_tensor;

typedef struct incq_named_tensor {
  const char *name; /* BORROWED like the bundle */
  incq_tensor tensor;
} incq_named_tensor;

/* The checkpoint tensors of one layer, exactly as stored (no host-side conversion).
 * Linear names: "qweight", "qzeros", "scales", "g_idx" (optional), "bias" (optional).
 * MoE names: "<e>.<proj>.<tensor>" with e the expert index and proj one of gate_proj, up_proj,
 * down_proj, e.g. "3.down_proj.scales". Missing optional tensors are simply absent. */
typedef struct incq_weight_bundle {
  size_t struct_size;
  int32_t packing; /* incq_packing */
  size_t num_tensors;
  const incq_named_tensor *tensors; /* BORROWED(until process_weights returns) */
} incq_weight_bundle;

/* The resolved quantization scheme of one layer (the host resolves it from the INC config). */
typedef struct incq_scheme {
  size_t struct_size;
  int32_t family;     /* incq_scheme_family */
  int32_t bits;       /* weight bits: 2, 3, 4, 8 for INT */
  int32_t group_size; /* -1 means one group over all of K */
  int32_t sym;        /* 1 symmetric (full range, zero = 2^(bits-1)), 0 asymmetric */
  int32_t packing;    /* incq_packing */
  int32_t act_bits;   /* 16 for weight-only; 8 for W4A8 */
  int32_t act_dynamic;/* 1 when activations are quantized per token at run time */
  int32_t has_g_idx;  /* 1 when the checkpoint carries g_idx (act-order or explicit) */
  int32_t weight_dtype; /* FP8/MX/NV: element dtype (incq_dtype); 0 for INT */
  int32_t block_n;    /* FP8 block scales: block size along N, else 0 */
  int32_t block_k;    /* FP8 block scales: block size along K, else 0 */
  /* Activation quantization (act_bits < 16), applied to x at run time before the matmul:
   * the format family (INT: symmetric int8 as in W4A8; FP8: e4m3 with a scale per group; MX_FP /
   * MX_INT: E8M0 shared scale per group; NV_FP: e4m3 scale per group times a global scale),
   * DENSE when activations stay unquantized. */
  int32_t act_family;
  int32_t act_group_size; /* elements of one row of x sharing a scale; -1: the whole row (per token) */
  int32_t act_sym;
} incq_scheme;

/* Everything an implementation needs to decide whether and how to build a layer. For a Linear,
 * in_features/out_features are this partition's K and N (tensor-parallel shards pass their own
 * sizes). For a MoE, hidden_size is the model dimension, intermediate_size the per-expert FFN
 * dimension of this partition. */
typedef struct incq_layer_desc {
  size_t struct_size;
  int32_t module_kind; /* incq_module_kind */
  const char *name;    /* BORROWED(call): module name, for messages */
  incq_scheme scheme;
  int32_t act_dtype;   /* dtype of activations the host will pass to apply: F32, BF16 or F16 */
  int32_t has_bias;
  int64_t in_features;
  int64_t out_features;
  int64_t num_experts;
  int64_t hidden_size;
  int64_t intermediate_size;
  int32_t top_k;
  int32_t num_output_partitions;          /* 0 or 1 for a plain Linear */
  const int64_t *output_partition_sizes;  /* BORROWED(call); sums to out_features */
} incq_layer_desc;

/* How the host wants apply to run. */
typedef void (*incq_range_fn)(void *fn_ctx, int64_t begin, int64_t end);
typedef struct incq_exec {
  size_t struct_size;
  int32_t max_threads; /* upper bound on intra-op threads; 1 means run on the calling thread */
  /* OPTIONAL: the host's pool. Splits [0,n) into chunks and calls fn for each, returning when
   * all are done. Safe to call from several host threads at once. */
  void (*parallel_for)(void *pool_ctx, int64_t n, incq_range_fn fn, void *fn_ctx);
  void *pool_ctx;
} incq_exec;

/* Key/value options for a plugin or a layer, both strings. BORROWED(call). */
typedef struct incq_kv {
  const char *key;
  const char *value;
} incq_kv;

/* The answer of a probe: like vLLM's get_ark_state() — usable or not, and the exact reason. */
typedef struct incq_availability {
  size_t struct_size;
  int32_t available; /* 1 usable, 0 not */
  char detail[INCQ_ERROR_MESSAGE_CAPACITY]; /* reason when not usable; description when usable */
} incq_availability;

/* ------------------------------------------------------------------ implementations */

typedef struct incq_layer incq_layer; /* opaque, owned by the implementation */

/* A registered scheme implementation: a declarative capability descriptor plus a precise
 * predicate and the per-layer lifecycle create → set_weights → process_weights → apply → destroy.
 * The descriptor and everything it points to are OWNED(plugin). */
typedef struct incq_impl_desc {
  size_t struct_size;
  const char *name;      /* unique across all plugins, e.g. "inc_cpu.ref.int_wo_linear" */
  int32_t module_kind;   /* incq_module_kind */
  int32_t family;        /* incq_scheme_family */
  uint32_t bits_mask;    /* INCQ_BIT(bits) for each supported bit width */
  const int32_t *group_sizes; /* supported group sizes; NULL/0 entries = any that divides K */
  size_t num_group_sizes;
  uint32_t sym_mask;     /* bit 0: asymmetric, bit 1: symmetric */
  uint32_t packing_mask; /* INCQ_BIT(incq_packing) */
  uint32_t act_dtype_mask;/* INCQ_BIT(incq_dtype) of activations accepted by apply */
  uint32_t device_mask;  /* INCQ_BIT(incq_device_type) */
  int32_t priority;      /* higher wins during automatic selection */
  /* The error contract of apply against the double-precision oracle: max |y - y_ref| is at most
   * tolerance * (sum_k |x_k * w_kn| + |b_n|), plus the rounding of y to its output dtype. */
  double tolerance;
  void *impl_ctx; /* OWNED(plugin); passed back to every entry below */

  /* Precise shape/device predicate. INCQ_OK = can run it; INCQ_ERR_UNSUPPORTED with the reason in
   * `reason` otherwise. Must not allocate device memory. */
  incq_status (*can_implement)(void *impl_ctx, const incq_layer_desc *desc,
                               const incq_device *device, incq_error *reason);
  /* Creates a layer for desc; *out is OWNED(handle) until destroy. */
  incq_status (*create)(void *impl_ctx, const incq_layer_desc *desc, const incq_device *device,
                        const incq_kv *options, size_t num_options, incq_layer **out,
                        incq_error *err);
  /* Hands over the checkpoint tensors. The bundle and tensor data stay valid until
   * process_weights returns; the implementation must not keep pointers into them afterwards. */
  incq_status (*set_weights)(incq_layer *layer, const incq_weight_bundle *weights,
                             incq_error *err);
  /* Validates and repacks into the implementation's own storage. After it returns INCQ_OK the host
   * releases the original tensors. */
  incq_status (*process_weights)(incq_layer *layer, incq_error *err);
  /* Linear: x [M,K] -> y [M,N] (y has the activation dtype). NULL for MoE implementations. */
  incq_status (*apply_linear)(incq_layer *layer, const incq_tensor *x, incq_tensor *y,
                              const incq_exec *exec, incq_error *err);
  /* MoE: hidden [T,H], topk_ids [T,k] I32, topk_weights [T,k] F32 -> out [T,H]:
   * out[t] = sum_j w[t,j] * down_e(silu(gate_e(x_t)) * up_e(x_t)), e = ids[t,j].
   * NULL for Linear implementations. */
  incq_status (*apply_moe)(incq_layer *layer, const incq_tensor *hidden,
                           const incq_tensor *topk_ids, const incq_tensor *topk_weights,
                           incq_tensor *out, const incq_exec *exec, incq_error *err);
  /* Releases everything the layer owns. Never fails. */
  void (*destroy)(incq_layer *layer);
  /* OPTIONAL: bytes of weight memory the processed layer keeps resident. */
  incq_status (*resident_bytes)(incq_layer *layer, uint64_t *bytes, incq_error *err);
} incq_impl_desc;

/* ------------------------------------------------------------------ host and plugin tables */

/* Given to the plugin at initialize. The table and host_ctx are BORROWED(until shutdown returns). */
typedef struct incq_host_api {
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  void *host_ctx;
  /* Registers one implementation. Only valid during initialize. The host copies what it needs
   * of the descriptor, but keeps the desc pointer and calls its entries until shutdown: the desc
   * must stay OWNED(plugin) until then. Fails on a duplicate name or a malformed descriptor. */
  incq_status (*register_impl)(void *host_ctx, const incq_impl_desc *desc, incq_error *err);
  /* OPTIONAL: the host's logger. Thread-safe. msg is BORROWED(call). */
  void (*log)(void *host_ctx, int32_t level, const char *msg);
} incq_host_api;

typedef struct incq_plugin_api {
  size_t struct_size;
  uint32_t abi_major; /* must equal the host's major */
  uint32_t abi_minor; /* the host accepts any minor; fields beyond struct_size are absent */
  const char *name;    /* OWNED(plugin), e.g. "inc_cpu"; unique among loaded plugins */
  const char *version; /* OWNED(plugin), the plugin's own version string */
  /* Real set-up. Options are plugin-level key/values from the host config. Registers the
   * plugin's implementations through host->register_impl. On failure the host calls nothing
   * else of this plugin (not even shutdown) and unloads it. */
  incq_status (*initialize)(const incq_host_api *host, const incq_kv *options, size_t num_options,
                            incq_error *err);
  /* Called once after every layer handle of this plugin has been destroyed. */
  void (*shutdown)(void);
  /* Availability for a device type, cached by the plugin after the first probe. Called after a
   * successful initialize. A plugin that is loaded but unusable answers available = 0 with the
   * exact reason; the host then never selects its implementations for that device type, and
   * shows the reason (incq plugins / incq inspect). */
  incq_status (*probe)(int32_t device_type, incq_availability *out);
} incq_plugin_api;

/* The entry symbol. Cheap: no set-up happens here. Returns a table OWNED(plugin), or NULL. */
typedef const incq_plugin_api *(*incq_plugin_get_api_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* INCQ_PLUGIN_API_H */
