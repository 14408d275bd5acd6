#!/bin/bash
# Alternating old (67a1473: before the path-start sharing) and new (907ee86) Release builds, same machine, one run.
B=benchmarks/Attribution.Benchmarks/bin/Release/net10.0/Attribution.Benchmarks
for round in 1 2; do
 for m in ig conductance gradient-shap gradient; do
  for d in b-old b-new; do
   echo "== $d $m round $round"; (cd /tmp/$d && $B method-throughput $m 872 3 2>&1 | tail -1)
  done
 done
 for d in b-old b-new; do
   echo "== $d one-text ig round $round"; (cd /tmp/$d && $B method-one-text ig 3 2>&1 | tail -2)
 done
done
