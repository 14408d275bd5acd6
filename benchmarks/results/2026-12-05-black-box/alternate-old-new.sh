#!/bin/bash
# Alternating old (4638d4f + benchmark file) and new (main at 2013621) builds of black-box-calls, 100 texts.
N=${1:-100}
for r in 1 2; do
  for b in old new; do
    if [ $b = old ]; then d=/tmp/old/benchmarks/Attribution.Benchmarks/bin/Release/net10.0; else d=/tmp/bbnew/benchmarks/Attribution.Benchmarks/bin/Release/net10.0; fi
    echo "=== $b round $r $(date +%T)"
    (cd $d && OMP_NUM_THREADS=1 ./Attribution.Benchmarks black-box-calls $N)
  done
done
