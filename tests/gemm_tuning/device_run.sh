#!/bin/bash
# Measurement-host run (not CI): AMX/AVX-512 differential tests, then the tuning driver vs oneDNN at
# 16 and 1 threads (AMX), 2 threads capped at AVX-512 (the 2-core machine's ISA), and a blocking sweep.
# Stage from the repo root:
#   mkdir -p /work/main/.dev-cpu-gemm/lib && tests/gemm_tuning/build.sh build
#   cp build/gemm_tune build/tests/test_gemm_microkernels tests/gemm_tuning/device_run.sh /work/main/.dev-cpu-gemm/
#   cp /usr/lib/x86_64-linux-gnu/libdnnl.so.2.6 /work/main/.dev-cpu-gemm/lib/libdnnl.so.2
#   cp /lib/x86_64-linux-gnu/libgomp.so.1 /work/main/.dev-cpu-gemm/lib/
# then run `bash .dev-cpu-gemm/device_run.sh` there with carry [".dev-cpu-gemm"]; results land in $OUT.
D=$(dirname "$0")
export LD_LIBRARY_PATH=$D/lib
(lscpu | head -25; nproc; uname -r) > $OUT/machine.txt 2>&1
timeout 120 $D/test_gemm_microkernels > $OUT/tests.txt 2>&1; echo "rc=$?" >> $OUT/tests.txt
grep -E "PASSED|FAILED|rc=" $OUT/tests.txt
for T in 16 1; do
  OMP_NUM_THREADS=$T timeout 150 $D/gemm_tune --threads $T --reps 5 > $OUT/tune_amx_t$T.txt 2>&1
  cat $OUT/tune_amx_t$T.txt
done
OMP_NUM_THREADS=2 ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 timeout 150 $D/gemm_tune --no-amx --threads 2 --reps 5 > $OUT/tune_avx512_t2.txt 2>&1
cat $OUT/tune_avx512_t2.txt
for kc in 256 512 2048; do
  OMP_NUM_THREADS=16 timeout 60 $D/gemm_tune --threads 16 --reps 5 --kc $kc > $OUT/sweep16_kc${kc}.txt 2>&1
  echo "T=16 kc=$kc"; grep -E "onednn_bf16|ours" $OUT/sweep16_kc${kc}.txt
done
for nc in 128 512; do
  OMP_NUM_THREADS=16 timeout 60 $D/gemm_tune --threads 16 --reps 5 --nc $nc > $OUT/sweep16_nc${nc}.txt 2>&1
  echo "T=16 nc=$nc"; grep -E "onednn_bf16|ours" $OUT/sweep16_nc${nc}.txt
done
