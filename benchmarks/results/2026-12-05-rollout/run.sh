#!/bin/bash
# Attention rollout before (89d2ca5, /tmp/bo) and after (e956dfe, /tmp/bn) its pass became the batch's first; runs alternate.
export OMP_NUM_THREADS=1
for round in 1 2; do
  for w in bo bn; do
    B=/tmp/$w/benchmarks/Attribution.Benchmarks/bin/Release/net10.0/Attribution.Benchmarks
    for m in attention-rollout grad-attention-rollout; do
      echo "$w $( $B method-throughput $m 872 3 2>&1 | tail -1)"
      echo "$w $( $B method-one-text $m 5 2>&1 | tail -2 | tr '\n' ' ')"
    done
  done
done
