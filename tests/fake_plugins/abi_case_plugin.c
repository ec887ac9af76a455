/*
 * A hand-built incq plugin for the negative ABI tests. One source, compiled once per case with a
 * -DFAKE_CASE_<x> flag that breaks exactly one rule of the ABI (or none: the control case). Written
 * in plain C on purpose: it shows the header is all a plugin needs.
 *
 * When it works, its single implementation is a Linear whose weights are all ones:
 * y[m][n] = sum_k x[m][k] (F32 only). The checkpoint tensors it is handed are ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incq/plugin_api.h"

#ifndef FAKE_NAME
#error "compile with -DFAKE_NAME=\"...\""
#endif
#ifndef FAKE_IMPL_NAME
#define FAKE_IMPL_NAME FAKE_NAME ".ones"
#endif

/* Fills err (when given) within the size its owner declared; returns code. */
static incq_status fill_error(incq_error *err, incq_status code, const char *message) {
  if (INCQ_HAS_FIELD(err, incq_error, code)) err->code = code;
  if (INCQ_HAS_FIELD(err, incq_error, message)) snprintf(err->message, sizeof err->message, "%s", message);
  return code;
}

/* ------------------------------------------------------------------ the implementation */

typedef struct ones_layer {
  int64_t in_features;
  int64_t out_features;
  int weights_set;
  int processed;
} ones_layer;

static incq_status ones_can_implement(void *ctx, const incq_layer_desc *desc, const incq_device *device,
                                      incq_error *reason) {
  (void)ctx;
  if (desc == NULL || device == NULL) return fill_error(reason, INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (desc->act_dtype != INCQ_DTYPE_F32) return fill_error(reason, INCQ_ERR_UNSUPPORTED, "F32 activations only");
  return fill_error(reason, INCQ_OK, "");
}

static incq_status ones_create(void *ctx, const incq_layer_desc *desc, const incq_device *device,
                               const incq_kv *options, size_t num_options, incq_layer **out, incq_error *err) {
  ones_layer *layer;
  (void)ctx;
  (void)options;
  if (desc == NULL || device == NULL || out == NULL) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (num_options != 0) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "no layer options accepted");
  layer = (ones_layer *)calloc(1, sizeof *layer);
  if (layer == NULL) return fill_error(err, INCQ_ERR_OUT_OF_MEMORY, "out of memory");
  layer->in_features = desc->in_features;
  layer->out_features = desc->out_features;
  *out = (incq_layer *)layer;
  return fill_error(err, INCQ_OK, "");
}

static incq_status ones_set_weights(incq_layer *handle, const incq_weight_bundle *weights, incq_error *err) {
  if (handle == NULL || weights == NULL) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
  ((ones_layer *)handle)->weights_set = 1;
  return fill_error(err, INCQ_OK, "");
}

static incq_status ones_process_weights(incq_layer *handle, incq_error *err) {
  ones_layer *layer = (ones_layer *)handle;
  if (layer == NULL) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (!layer->weights_set) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "process_weights before set_weights");
  layer->processed = 1;
  return fill_error(err, INCQ_OK, "");
}

static incq_status ones_apply_linear(incq_layer *handle, const incq_tensor *x, incq_tensor *y, const incq_exec *exec,
                                     incq_error *err) {
  const ones_layer *layer = (const ones_layer *)handle;
  int64_t m, n, k, rows;
  (void)exec;
  if (layer == NULL || x == NULL || y == NULL) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (!layer->processed) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "apply before process_weights");
  if (x->dtype != INCQ_DTYPE_F32 || y->dtype != INCQ_DTYPE_F32 || x->ndim != 2 || y->ndim != 2 ||
      x->shape[1] != layer->in_features || y->shape[1] != layer->out_features || x->shape[0] != y->shape[0])
    return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "x must be F32 [M,K] and y F32 [M,N]");
  rows = x->shape[0];
  for (m = 0; m < rows; ++m) {
    const float *xr = (const float *)x->data + m * layer->in_features;
    float sum = 0.0f;
    for (k = 0; k < layer->in_features; ++k) sum += xr[k];
    for (n = 0; n < layer->out_features; ++n) ((float *)y->data)[m * layer->out_features + n] = sum;
  }
  return fill_error(err, INCQ_OK, "");
}

static void ones_destroy(incq_layer *handle) { free(handle); }

/* Four bytes per weight, as if the ones were stored as F32: a number the tests can predict. */
static incq_status ones_resident_bytes(incq_layer *handle, uint64_t *bytes, incq_error *err) {
  const ones_layer *layer = (const ones_layer *)handle;
  if (layer == NULL || bytes == NULL) return fill_error(err, INCQ_ERR_INVALID_ARGUMENT, "NULL argument");
  *bytes = (uint64_t)(layer->in_features * layer->out_features * 4);
  return fill_error(err, INCQ_OK, "");
}

#if defined(FAKE_CASE_DESC_ENDS_BEFORE_RESIDENT_BYTES)
/* Reachable only through a field that lies beyond the descriptor's struct_size: a host that reads
 * it anyway gets an absurd number the test notices. */
static incq_status absent_resident_bytes(incq_layer *handle, uint64_t *bytes, incq_error *err) {
  (void)handle;
  if (bytes != NULL) *bytes = 987654321u;
  return fill_error(err, INCQ_OK, "");
}
#endif

static incq_impl_desc make_desc(void) {
  incq_impl_desc d;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.name = FAKE_IMPL_NAME;
  d.module_kind = INCQ_MODULE_LINEAR;
  d.family = INCQ_FAMILY_INT;
  d.bits_mask = INCQ_BIT(4);
  d.sym_mask = 0x3u;
  d.packing_mask = INCQ_BIT(INCQ_PACKING_GPTQ_V2);
  d.act_dtype_mask = INCQ_BIT(INCQ_DTYPE_F32);
  d.device_mask = INCQ_BIT(INCQ_DEVICE_CPU);
  d.priority = 0;
  d.tolerance = 0.0;
  d.can_implement = ones_can_implement;
  d.create = ones_create;
  d.set_weights = ones_set_weights;
  d.process_weights = ones_process_weights;
  d.apply_linear = ones_apply_linear;
  d.destroy = ones_destroy;
  d.resident_bytes = ones_resident_bytes;
#if defined(FAKE_CASE_SMALL_DESC)
  d.struct_size = 16;
#elif defined(FAKE_CASE_NULL_CREATE)
  d.create = NULL;
#elif defined(FAKE_CASE_NULL_RESIDENT_BYTES)
  d.resident_bytes = NULL;
#elif defined(FAKE_CASE_DESC_ENDS_BEFORE_RESIDENT_BYTES)
  d.struct_size = offsetof(incq_impl_desc, resident_bytes);
  d.resident_bytes = absent_resident_bytes;
#endif
  return d;
}

/* ------------------------------------------------------------------ the plugin table */

static incq_impl_desc g_desc; /* OWNED(plugin): registered pointers stay valid until shutdown */
static const incq_host_api *g_host; /* kept on purpose by the late-register case only */

#if defined(FAKE_CASE_SHORT_REGISTER_ERROR)
/* What the host did with an incq_error sized to hold only `code`, for the probe detail. */
static char g_short_error_report[512];

/* Registers with an error struct whose bytes past struct_size are a canary: the host may write
 * code, but nothing past struct_size and not struct_size itself (the caller sizes out-structs). */
static void register_with_short_error(const incq_host_api *host, const char *attempt) {
  incq_error e;
  const size_t size = offsetof(incq_error, code) + sizeof e.code;
  const unsigned char *bytes = (const unsigned char *)&e;
  const size_t used = strlen(g_short_error_report);
  size_t i, written = 0;
  incq_status st;
  memset(&e, 0xA5, sizeof e);
  e.struct_size = size;
  st = host->register_impl(host->host_ctx, &g_desc, &e);
  for (i = size; i < sizeof e; ++i) written += bytes[i] != 0xA5;
  snprintf(g_short_error_report + used, sizeof g_short_error_report - used,
           "%s%s: status %d, code %d, struct_size %s, %zu bytes written past it", used ? "; " : "", attempt,
           (int)st, (int)e.code, e.struct_size == size ? "kept" : "changed", written);
}

static incq_status fake_initialize(const incq_host_api *host, const incq_kv *options, size_t num_options,
                                   incq_error *err) {
  (void)options;
  (void)num_options;
  if (host == NULL || !INCQ_HAS_FIELD(host, incq_host_api, register_impl) || host->register_impl == NULL)
    return fill_error(err, INCQ_ERR_ABI, "no usable host table");
  g_desc = make_desc();
  g_short_error_report[0] = '\0';
  /* Once successfully, then again as a duplicate: the refusal carries a long message. */
  register_with_short_error(host, "first");
  register_with_short_error(host, "again");
  return fill_error(err, INCQ_OK, "");
}
#else
static incq_status register_desc(const incq_host_api *host, incq_error *err) {
  incq_error reg;
  incq_status st;
  memset(&reg, 0, sizeof reg);
  reg.struct_size = sizeof reg;
  st = host->register_impl(host->host_ctx, &g_desc, &reg);
  if (st != INCQ_OK) return fill_error(err, st, reg.message);
  return INCQ_OK;
}

static incq_status fake_initialize(const incq_host_api *host, const incq_kv *options, size_t num_options,
                                   incq_error *err) {
  incq_status st;
  (void)options;
  (void)num_options;
  if (host == NULL || !INCQ_HAS_FIELD(host, incq_host_api, register_impl) || host->register_impl == NULL)
    return fill_error(err, INCQ_ERR_ABI, "no usable host table");
  g_desc = make_desc();
  st = register_desc(host, err);
  if (st != INCQ_OK) return st;
#if defined(FAKE_CASE_DUPLICATE_IMPL)
  st = register_desc(host, err); /* the same name a second time */
  if (st != INCQ_OK) return st;
#elif defined(FAKE_CASE_FAILING_INIT)
  /* After a successful registration, so the host must also drop what was registered. */
  return fill_error(err, INCQ_ERR_UNAVAILABLE, "fake: the frobnicator device is not connected");
#elif defined(FAKE_CASE_LATE_REGISTER)
  g_host = host;
#endif
  return fill_error(err, INCQ_OK, "");
}
#endif

static void fake_shutdown(void) { g_host = NULL; }

static incq_status fake_probe(int32_t device_type, incq_availability *out) {
  if (out == NULL || !INCQ_HAS_FIELD(out, incq_availability, detail)) return INCQ_ERR_INVALID_ARGUMENT;
  out->available = device_type == INCQ_DEVICE_CPU;
  snprintf(out->detail, sizeof out->detail, "%s", "fake plugin " FAKE_NAME);
#if defined(FAKE_CASE_SHORT_REGISTER_ERROR)
  snprintf(out->detail, sizeof out->detail, "%s", g_short_error_report);
#endif
  if (g_host != NULL) {
    /* The late-register case: register_impl is only valid during initialize. The host's answer
     * comes back through the probe detail, where the test reads it. */
    incq_error reg;
    incq_status st;
    memset(&reg, 0, sizeof reg);
    reg.struct_size = sizeof reg;
    st = g_host->register_impl(g_host->host_ctx, &g_desc, &reg);
    snprintf(out->detail, sizeof out->detail, "late register_impl: status %d: %.900s", (int)st, reg.message);
  }
  return INCQ_OK;
}

static incq_plugin_api make_api(void) {
  incq_plugin_api api;
  memset(&api, 0, sizeof api);
  api.struct_size = sizeof api;
  api.abi_major = INCQ_ABI_VERSION_MAJOR;
  api.abi_minor = INCQ_ABI_VERSION_MINOR;
  api.name = FAKE_NAME;
  api.version = "0.0.1-fake";
  api.initialize = fake_initialize;
  api.shutdown = fake_shutdown;
  api.probe = fake_probe;
#if defined(FAKE_CASE_WRONG_MAJOR)
  api.abi_major = INCQ_ABI_VERSION_MAJOR + 1;
#elif defined(FAKE_CASE_TINY_TABLE)
  api.struct_size = sizeof(size_t);
#elif defined(FAKE_CASE_SHORT_TABLE)
  api.struct_size = offsetof(incq_plugin_api, probe); /* ends before the last 1.0 entry */
#elif defined(FAKE_CASE_NULL_INITIALIZE)
  api.initialize = NULL;
#endif
  return api;
}

static incq_plugin_api g_api;

#if defined(FAKE_CASE_MISSING_ENTRY)
#define FAKE_ENTRY incq_plugin_get_api_v2 /* a near miss: the host must look for the exact name */
#else
#define FAKE_ENTRY incq_plugin_get_api
#endif

INCQ_EXPORT const incq_plugin_api *FAKE_ENTRY(void) {
  g_api = make_api();
#if defined(FAKE_CASE_NULL_ENTRY)
  return NULL;
#else
  return &g_api;
#endif
}
