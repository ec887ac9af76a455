"""Prints the inc_xpu benchmark table from incq_xpu_bench's JSON and torch_baseline.py's JSON,
with the issue's targets (decode >= 70% of the in-run read bandwidth; >= 1.0x torch int4 at M=1 and
M=16; <= 0.35x the bf16 matmul time at M=1)."""
import json
import sys


def main(xpu_file, torch_file, machine_line):
    x = json.load(open(xpu_file))
    t = json.load(open(torch_file)) if torch_file else {}
    bw = x["read_bandwidth_GBs"]
    lin = x["w4a16_4096x14336"]
    print(f"machine: {machine_line}")
    print(f"device:  {x['machine']['device']}; host CPU: {x['machine']['cpu']}")
    if t:
        print(f"torch:   {t.get('torch')} on {t.get('gpu')}")
    print(f"in-run device read bandwidth (1 GiB streaming read, OpenCL): {bw:.0f} GB/s")
    print(f"W4A16 g128, N x K = {lin['N']} x {lin['K']}, cold weights ({lin['copies']} copies x {lin['weight_MB_per_copy']:.1f} MB)")
    print(f"{'M':>4} {'inc_xpu us':>11} {'config':>40} {'GB/s':>7} {'%readBW':>8} {'GFLOP/s':>8} "
          f"{'torch int4 us':>14} {'x int4':>7} {'torch bf16 us':>14} {'t/bf16':>7}")
    for m in sorted(int(k[1:]) for k in lin if k.startswith("M") and isinstance(lin[k], dict)):
        b = lin[f"M{m}"]["best"]
        if not b:
            print(f"{m:>4} (no configuration ran: {lin[f'M{m}']['tried']})")
            continue
        tm = t.get(f"M{m}", {})
        i4, bf = tm.get("int4pack_mm_us"), tm.get("bf16_matmul_us")
        print(f"{m:>4} {b['us']:>11.1f} {b['config']:>40} {b['GBs']:>7.0f} {100 * b['GBs'] / bw:>7.1f}% {b['GFLOPs']:>8.0f} "
              f"{i4 if i4 else float('nan'):>14.1f} {(i4 / b['us']) if i4 else float('nan'):>7.2f} "
              f"{bf if bf else float('nan'):>14.1f} {(b['us'] / bf) if bf else float('nan'):>7.2f}")
    q = x["qkv_fused_M1"]
    print(f"fused q/k/v (K={q['K']}, parts {q['parts']}), M=1: one launch {q['fused_us']:.1f} us vs three "
          f"{q['separate_us']:.1f} us ({q['speedup']:.2f}x)")
    m = x["moe_decode"]
    print(f"MoE decode ({m['experts']} experts, top-{m['top_k']}, H={m['H']}, I={m['I']}, W4 g128): {m['us']:.1f} us, "
          f"{m['GBs_of_touched_experts']:.0f} GB/s over the touched experts")
    d1 = lin["M1"]["best"]
    if d1 and not t:
        print("targets: decode {:.0f}% of read BW (>= 70%: {}); torch comparisons n/a (no torch baseline)".format(
            100 * d1["GBs"] / bw, "met" if d1["GBs"] >= 0.7 * bw else "NOT met"))
    elif d1:
        print("targets: decode >= 70% read BW: {}; >= 1.0x torch int4 at M=1: {}; M=16: {}; <= 0.35x bf16 at M=1: {}".format(
            "met" if d1["GBs"] >= 0.7 * bw else "NOT met",
            *(("met" if t.get(f"M{mm}") and t[f"M{mm}"]["int4pack_mm_us"] >= lin[f"M{mm}"]["best"]["us"] else "NOT met")
              for mm in (1, 16)),
            "met" if t.get("M1") and d1["us"] <= 0.35 * t["M1"]["bf16_matmul_us"] else "NOT met"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None, sys.argv[3] if len(sys.argv) > 3 else "?")
