#!/bin/bash
# Measurement-host run (not CI): AMX/AVX-512 differential tests, the tuning driver before (a gemm_tune
# built at the previous main, staged as gemm_tune_before) and after at 16 and 1 threads, then a
# blocking sweep of the AMX bf16 block kernel (--kci / --nc / --mc / --kc).
# Stage from the repo root (one build dir with incq_inc_cpu_core and test_gemm_microkernels):
#   S=/work/main/.dev-cpu-gemm2; mkdir -p $S/lib && tests/gemm_tuning/build.sh build
#   cp build/gemm_tune build/tests/test_gemm_microkernels tests/gemm_tuning/device_run.sh $S/
#   cp <gemm_tune of the previous main> $S/gemm_tune_before
#   cp /usr/lib/x86_64-linux-gnu/libdnnl.so.2.6 $S/lib/libdnnl.so.2; cp /lib/x86_64-linux-gnu/libgomp.so.1 $S/lib/
# then run `bash .dev-cpu-gemm2/device_run.sh` there with carry [".dev-cpu-gemm2"]; results land in $OUT.
# OMP_WAIT_POLICY=PASSIVE: oneDNN's OpenMP threads otherwise keep spinning after each oneDNN
# repetition, on the same 16 cores that our pool's threads need for the next case.
D=$(dirname "$0")
export LD_LIBRARY_PATH=$D/lib OMP_WAIT_POLICY=PASSIVE
(lscpu | head -25; nproc) > $OUT/machine.txt 2>&1
timeout 120 $D/test_gemm_microkernels > $OUT/tests.txt 2>&1; echo "rc=$?" >> $OUT/tests.txt
grep -E "PASSED|FAILED|rc=|Failure" $OUT/tests.txt | head -20
for T in 16 1; do
  [ -x $D/gemm_tune_before ] && OMP_NUM_THREADS=$T timeout 100 $D/gemm_tune_before --threads $T --reps 5 > $OUT/before_t$T.txt 2>&1
  echo "BEFORE T=$T"; grep -E "onednn|amx" $OUT/before_t$T.txt
  OMP_NUM_THREADS=$T timeout 100 $D/gemm_tune --threads $T --reps 5 --only amx > $OUT/after_t$T.txt 2>&1
  echo "AFTER T=$T"; grep -E "onednn|amx" $OUT/after_t$T.txt
done
sw() {
  T=$1; shift; f=$OUT/sw_t${T}$(echo "$@" | tr ' -' '__').txt
  OMP_NUM_THREADS=$T timeout 40 $D/gemm_tune --threads $T --reps 5 --only bf16_amx "$@" > $f 2>&1
  echo "T=$T $* :: $(grep -E 'N=|onednn_bf16|amx' $f | tr '\n' ' ' | tr -s ' ')"
}
for a in "--kci 64" "--kci 128" "--kci 512" "--kci 1024" "--nc 128" "--nc 512" "--mc 128" "--mc 256" \
         "--kc 512" "--kc 2048" "--kc 4096" "--kc 14336" "--nc 128 --mc 256" "--kc 2048 --kci 128"; do sw 16 $a; done
for a in "--kci 128" "--kci 512" "--nc 128" "--kc 4096"; do sw 1 $a; done
