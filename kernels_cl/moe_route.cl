// MoE routing on the device, shared by every scheme's MoE: group the (token, slot) pairs of
// topk_ids [T, topk] by expert and cut each expert's pairs into tiles of at most R rows, so the
// per-expert projection kernels read an expert's weights once per tile. Pair p = t*topk + j.
// Ids outside [0, E) belong to no expert (the combine kernel skips them too) and are recorded in
// bad[0] = pair_base + p + 1 of the first one seen, bad[1] = its id, for the host to report; the
// first chunk of an apply (reset != 0) clears the record first (the host read the previous one).
// One work-group; `counts` and `cursor` are local arrays of E ints.
__kernel void moe_route_group_by_expert(global const int* ids, const uint ids_off, const int pairs, const int E,
                                        const int R, const int max_tiles, global int* sorted_pairs,
                                        global int* tiles /* [max_tiles][3]: expert, begin, rows */,
                                        global int* num_tiles, global int* bad, const int pair_base,
                                        const int reset, local int* counts, local int* cursor) {
  const int lid = get_local_id(0), lsz = get_local_size(0);
  for (int e = lid; e < E; e += lsz) counts[e] = 0;
  if (reset && lid == 0) bad[0] = bad[1] = 0;
  barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
  for (int p = lid; p < pairs; p += lsz) {
    const int e = ids[ids_off + p];
    if (e >= 0 && e < E) atomic_inc(&counts[e]);
    else if (atomic_cmpxchg(&bad[0], 0, pair_base + p + 1) == 0) bad[1] = e;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    int offset = 0, n = 0;
    for (int e = 0; e < E; ++e) {
      cursor[e] = offset;
      for (int b = 0; b < counts[e] && n < max_tiles; b += R, ++n) {
        tiles[3 * n] = e;
        tiles[3 * n + 1] = offset + b;
        tiles[3 * n + 2] = min(R, counts[e] - b);
      }
      offset += counts[e];
    }
    *num_tiles = n;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  // The order inside an expert's run does not matter: every pair's result is computed on its own.
  for (int p = lid; p < pairs; p += lsz) {
    const int e = ids[ids_off + p];
    if (e >= 0 && e < E) sorted_pairs[atomic_inc(&cursor[e])] = p;
  }
}

// out[t, n] = sum_j w[t, j] * ypair[t*topk + j, n] over the slots j whose expert id is valid,
// in slot order (deterministic), rounded once to the activation dtype.
__kernel void moe_combine_topk(global const float* ypair, global const int* ids, const uint ids_off,
                               global const float* weights, const uint w_off, global act_t* out, const uint out_off,
                               const int T, const int topk, const int E, const int H) {
  const int n = get_global_id(0), t = get_global_id(1);
  if (n >= H || t >= T) return;
  float acc = 0.0f;
  for (int j = 0; j < topk; ++j) {
    const int p = t * topk + j;
    const int e = ids[ids_off + p];
    if (e >= 0 && e < E) acc = fma(weights[w_off + p], ypair[(size_t)p * (size_t)H + (size_t)n], acc);
  }
  xpu_store_act(out, out_off + (uint)t * (uint)H + (uint)n, acc);
}
