"""AutoRound's own outputs for every quantized layer of an exported checkpoint.

Path "fp16": the checkpoint is loaded the way a user loads it (transformers from_pretrained, which
hands the model to AutoRound's inference converter on CPU) with dtype float16, the dtype
AutoRound's CPU torch backends compute in (it forces float16 when given float32). Each quantized
module is then run on a seeded input that is exactly representable in fp16.

Path "fp32": the same AutoRound module objects, converted with .float() (scales and bias become
fp32 exactly), run on the same input. Dequantization is then exact and the only rounding is fp32
accumulation: this is the tight comparison. Integer formats only (.float() would also cast the
float8 weights of the FP8/MX/NV modules).

AWQ has no CPU backend in AutoRound 0.16.1 without gptqmodel or auto-round-lib; when the loader
fails, AutoRound's own AWQ module class (WQLinear_GEMM, the class its exporter packs with) is filled
from the checkpoint and its forward (fp16) gives path "fp16", and its dequantize_gemm with fp32
scales followed by an fp32 matmul gives path "fp32".
"""

import copy
import json
import os
import zlib

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

TOKENS = 5  # rows of every seeded input (not a multiple of anything a kernel tiles by)


def seeded_input(name, k, seed):
    gen = torch.Generator().manual_seed(seed * 1000003 + zlib.crc32(name.encode()))
    x = torch.rand(TOKENS, k, generator=gen, dtype=torch.float32) * 2 - 1
    return x.half().float()  # exactly representable in fp16, so both paths see the same values


def load_with_autoround(ckpt_dir):
    """The model as AutoRound's loader builds it, or the loader's error text."""
    try:
        model = AutoModelForCausalLM.from_pretrained(ckpt_dir, device_map="cpu", dtype=torch.float16)
        return model.eval(), ""
    except Exception as e:  # recorded in the fixture: which formats AutoRound cannot load on CPU
        return None, f"{type(e).__name__}: {e}"


def class_name(module):
    return f"{type(module).__module__}.{type(module).__name__}"


def _is_quantized_module(module):
    # AutoRound's "auto_round:fake" backend (FakeActQuantLinear) is what its loader falls back to
    # when no real backend fits (AWQ on CPU without gptqmodel): a dense weight the checkpoint does
    # not fill. It is not an inference path for the checkpoint.
    if type(module).__name__.startswith("Fake"):
        return False
    return not isinstance(module, torch.nn.Linear) or type(module).__module__.startswith("auto_round")


def _trivial_g_idx(module):
    g = getattr(module, "g_idx", None)
    return g is not None and torch.equal(g.long(), torch.arange(g.numel()) // module.group_size)


def _without_trivial_g_idx(module):
    """AutoRound's torch QuantLinear forward with g_idx slices the scales' N columns by K, so it
    raises or misreads whenever N != K. RTN never permutes (g_idx[k] = k // G), and without g_idx
    the same module reads the same groups: that module is used, and the fixture says so."""
    if not _trivial_g_idx(module):
        raise RuntimeError("g_idx is not the identity grouping; AutoRound's g_idx forward cannot be used")
    m = copy.deepcopy(module)
    del m.g_idx
    return m


def run_loaded_linear(module, x, integer):
    out = {"module_class": class_name(module)}
    if integer and _trivial_g_idx(module) and module.scales.shape[1] != module.infeatures:
        module = _without_trivial_g_idx(module)
        out["g_idx_note"] = ("checkpoint g_idx is k // group_size; run without it because AutoRound's "
                             "g_idx forward slices scales by K and fails for N != K")
    with torch.no_grad():
        out["y_fp16"] = module(x.half().unsqueeze(0)).squeeze(0).float()
        out["path_fp16"] = f"{class_name(module)}.forward, float16 (as AutoRound's loader leaves it)"
        if integer:
            m32 = copy.deepcopy(module).float()
            out["y_fp32"] = m32(x.unsqueeze(0)).squeeze(0).float()
            out["path_fp32"] = f"{class_name(module)}.forward after .float()"
    return out


def run_awq_fallback(tensors, layer, bits, group_size, x):
    """AutoRound's own AWQ module and dequantizer, when its loader has no CPU AWQ backend."""
    from auto_round.export.export_to_awq.utils import WQLinear_GEMM, dequantize_gemm

    qweight, qzeros, scales = (tensors[f"{layer}.{t}"] for t in ("qweight", "qzeros", "scales"))
    bias = tensors.get(f"{layer}.bias")
    k, n = qweight.shape[0], qweight.shape[1] * 32 // bits
    module = WQLinear_GEMM(bits, group_size if group_size != -1 else k, k, n, bias is not None, "cpu")
    module.qweight, module.qzeros, module.scales = qweight, qzeros, scales
    if bias is not None:
        module.bias = bias
    with torch.no_grad():
        y16 = module(x.unsqueeze(0)).reshape(TOKENS, n).float()
        w32 = dequantize_gemm(qweight, qzeros, scales.float(), bits, module.group_size)
        y32 = x @ w32 + (bias.float() if bias is not None else 0)
    return {
        "module_class": class_name(module),
        "y_fp16": y16,
        "path_fp16": "auto_round.export.export_to_awq.utils.WQLinear_GEMM.forward (casts x to float16)",
        "y_fp32": y32,
        "path_fp32": "auto_round.export.export_to_awq.utils.dequantize_gemm with fp32 scales, then fp32 matmul",
    }


class _AwqFp32Linear(torch.nn.Module):
    """An AWQ projection as AutoRound's dequantize_gemm reads it (fp32 scales), for MoE experts
    whose loaded module is AutoRound's fake fallback (see _is_quantized_module)."""

    def __init__(self, tensors, layer, bits, group_size):
        super().__init__()
        from auto_round.export.export_to_awq.utils import dequantize_gemm

        qweight, qzeros, scales = (tensors[f"{layer}.{t}"] for t in ("qweight", "qzeros", "scales"))
        g = group_size if group_size != -1 else qweight.shape[0]
        self.register_buffer("w", dequantize_gemm(qweight, qzeros, scales.float(), bits, g))

    def forward(self, x):
        return x @ self.w


def moe_block_reference(model, prefix, x, top_k, norm_topk_prob, ckpt, resolved):
    """Routes x with the checkpoint's own router, then sums AutoRound's expert modules (fp32 copies;
    AWQ experts through AutoRound's dequantize_gemm, as their loaded modules do not read the
    checkpoint). Cross-checked against the transformers MoE block's own forward (fp32 copy)."""
    block = copy.deepcopy(model.get_submodule(prefix[: -len(".experts")])).float()
    for e, expert in enumerate(block.experts):
        for proj in ("gate_proj", "up_proj", "down_proj"):
            if not _is_quantized_module(getattr(expert, proj)):
                name = f"{prefix}.{e}.{proj}"
                s = resolved[name]
                setattr(expert, proj, _AwqFp32Linear(ckpt, name, s["bits"], s["group_size"]))
    with torch.no_grad():
        probs = F.softmax(block.gate(x), dim=-1, dtype=torch.float32)
        weights, ids = torch.topk(probs, top_k, dim=-1)
        if norm_topk_prob:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        y = torch.zeros_like(x)
        for t in range(x.shape[0]):
            for j in range(top_k):
                expert = block.experts[int(ids[t, j])]
                xt = x[t : t + 1]
                h = F.silu(expert.gate_proj(xt)) * expert.up_proj(xt)
                y[t] += weights[t, j] * expert.down_proj(h)[0]
        y_block = block(x.unsqueeze(0))
        y_block = (y_block[0] if isinstance(y_block, tuple) else y_block).squeeze(0)
        if not torch.allclose(y, y_block, rtol=1e-5, atol=1e-6):
            raise RuntimeError(f"{prefix}: the generator's routing does not reproduce the MoE block's forward")
    return ids.to(torch.int32), weights.float(), y


def run_gptq_fallback(tensors, layer, bits, group_size, v1, x):
    """AutoRound's own GPTQ modules (the classes its exporter packs with), when its loader does
    not build one for the layer (plain GPTQ exports go to transformers' GPTQ loader instead)."""
    if v1:
        from auto_round_extension.torch.qlinear_torch_zp import QuantLinear
    else:
        from auto_round_extension.torch.qlinear_torch import QuantLinear
    qweight = tensors[f"{layer}.qweight"]
    bias = tensors.get(f"{layer}.bias")
    k, n = qweight.shape[0] * 32 // bits, qweight.shape[1]
    module = QuantLinear(bits, group_size, k, n, bias is not None, g_idx=f"{layer}.g_idx" in tensors)
    for t in ("qweight", "qzeros", "scales", "bias", "g_idx"):
        if f"{layer}.{t}" in tensors:
            setattr(module, t, tensors[f"{layer}.{t}"])
    module.half()
    return run_loaded_linear(module, x, True)


def run_dequant_fp32(module, x):
    """MX/NV modules: their own weight dequantizer in fp32, then an fp32 matmul with unquantized
    activations, so the weight format can be checked apart from activation quantization."""
    with torch.no_grad():
        w = module.dequant_weight_online().float()
        bias = module.bias.float() if getattr(module, "bias", None) is not None else 0
        return x @ w.t() + bias


def _packing(qc):
    if qc.get("quant_method") == "gptq":
        return "gptq_v1" if qc.get("checkpoint_format", "gptq") == "gptq" else "gptq_v2"
    if qc.get("quant_method") == "awq" or "awq" in qc.get("packing_format", ""):
        return "awq"
    # Absent packing_format means auto_round:auto_gptq (v1), as AutoRound's loader assumes.
    return "gptq_v1" if qc.get("packing_format", "auto_round:auto_gptq") == "auto_round:auto_gptq" else "gptq_v2"


def _layer_outputs(model, load_error, ckpt, qc, name, scheme, x, entry):
    """AutoRound's outputs for one layer, or None with the reason written into entry."""
    integer = scheme.get("data_type") == "int"
    module = model.get_submodule(name) if model is not None else None
    loaded = module is not None and _is_quantized_module(module)
    if integer and f"{name}.qweight" not in ckpt:
        entry["note"] = ("AutoRound resolved this layer as quantized but exported it dense (no qweight)"
                         + ("; its loader still built a quantized module for it, with uninitialised weights"
                            if loaded else ""))
        return None
    if loaded:
        out = run_loaded_linear(module, x, integer)
        if hasattr(module, "dequant_weight_online") and not integer:
            out["y_wdq_fp32"] = run_dequant_fp32(module, x)
            out["path_wdq_fp32"] = f"{class_name(module)}.dequant_weight_online() in fp32, fp32 matmul"
        return out
    why = (f"AutoRound's loader failed: {load_error}" if model is None else
           f"AutoRound's loader built {class_name(module)}, which does not read the checkpoint's weights")
    entry["loader_note"] = why
    if not integer:
        return None
    packing = _packing(qc)
    if packing == "awq":
        return run_awq_fallback(ckpt, name, scheme["bits"], scheme["group_size"], x)
    return run_gptq_fallback(ckpt, name, scheme["bits"], scheme["group_size"], packing == "gptq_v1", x)


def record(ckpt_dir, resolved, seed):
    """Returns (tensors for reference.safetensors, per-layer description, the loaded model)."""
    model, load_error = load_with_autoround(ckpt_dir)
    ckpt = load_file(os.path.join(ckpt_dir, "model.safetensors"))
    qc = json.load(open(os.path.join(ckpt_dir, "config.json")))["quantization_config"]
    tensors, layers = {}, {}
    for name, scheme in sorted(resolved.items()):
        if scheme.get("bits", 16) >= 16:
            continue
        entry = {"autoround_scheme": scheme}
        layers[name] = entry
        if not any(f"{name}.{t}" in ckpt for t in ("qweight", "weight", "weight_packed")):
            entry["note"] = "no weight tensor in the checkpoint"
            continue
        x = seeded_input(name, _in_features(ckpt, name, scheme), seed)
        try:
            out = _layer_outputs(model, load_error, ckpt, qc, name, scheme, x, entry)
        except Exception as e:
            entry["error"] = f"{type(e).__name__}: {e}"
            out = None
        if out is None:
            continue
        # x and the fp16 path's output are fp16 values: stored as F16, exactly and at half the size.
        tensors[f"{name}.x"] = x.half()
        tensors[f"{name}.y_fp16"] = out.pop("y_fp16").half()
        for key in ("y_fp32", "y_wdq_fp32"):
            if key in out:
                tensors[f"{name}.{key}"] = out.pop(key).float()
        entry.update(out)
    return tensors, layers, model


def _in_features(ckpt, name, scheme):
    for t in ("weight", "weight_packed"):
        w = ckpt.get(f"{name}.{t}")
        if w is not None:
            return w.shape[1] * (2 if t == "weight_packed" else 1)
    qweight, scales = ckpt[f"{name}.qweight"], ckpt[f"{name}.scales"]
    # GPTQ packs along K ([K*b/32, N]); AWQ along N ([K, N*b/32]): scales are [groups, N] in both.
    if qweight.shape[1] == scales.shape[1]:
        return qweight.shape[0] * 32 // scheme["bits"]
    return qweight.shape[0]
