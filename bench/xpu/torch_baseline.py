"""torch baselines for bench/xpu on the same GPU: torch._weight_int4pack_mm (int4 weight-only, weights
from torch.ops.aten._convert_weight_to_int4pack) and bf16 torch.matmul at the inc_xpu benchmark's
shapes, with cold weights (rotating through copies larger than the GPU's L2). Prints one JSON object.
"""
import json
import sys

import torch


def time_us(fn, iters, reps):
    fn(0)
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(iters):
            fn(i)
        end.record()
        torch.cuda.synchronize()
        out.append(start.elapsed_time(end) * 1000.0 / iters)
    out.sort()
    return out[len(out) // 2]


def int4pack(n, k, group, inner_k_tiles=8):
    """Random int4 codes packed the way _weight_int4pack_mm wants them, plus scales/zeros."""
    codes = torch.randint(0, 16, (n, k), dtype=torch.int32, device="cuda")
    try:  # torch >= 2.5: uint8 [n, k/2], two codes per byte (high nibble first)
        packed_u8 = ((codes[:, ::2] << 4) | codes[:, 1::2]).to(torch.uint8)
        w = torch.ops.aten._convert_weight_to_int4pack(packed_u8, inner_k_tiles)
    except RuntimeError:  # older: int32 [n, k] codes
        w = torch.ops.aten._convert_weight_to_int4pack(codes, inner_k_tiles)
    sz = torch.empty((k // group, n, 2), dtype=torch.bfloat16, device="cuda")
    sz[..., 0].uniform_(0.001, 0.01)
    sz[..., 1].zero_()
    return w, sz


def main():
    iters, reps = 40, 7
    n, k, group = 4096, 14336, 128
    copies = 8  # 8 x 29 MB of int4 weights > 50 MB L2
    res = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    ws = [int4pack(n, k, group) for _ in range(copies)]
    wb = [torch.randn((n, k), dtype=torch.bfloat16, device="cuda") * 0.01 for _ in range(2)]  # 117 MB each
    for m in (1, 16, 512):
        x = torch.randn((m, k), dtype=torch.bfloat16, device="cuda") * 0.01
        t4 = time_us(lambda i: torch._weight_int4pack_mm(x, ws[i % copies][0], group, ws[i % copies][1]), iters, reps)
        tb = time_us(lambda i: torch.matmul(x, wb[i % 2].t()), iters, reps)
        res[f"M{m}"] = {"int4pack_mm_us": t4, "bf16_matmul_us": tb}
        print(f"torch M={m}: int4 {t4:.1f} us, bf16 {tb:.1f} us", file=sys.stderr)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
