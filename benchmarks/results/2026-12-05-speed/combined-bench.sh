#!/bin/bash
# Alternating old (5b219b2) and new builds: four methods in one MethodRunner.AttributeAll call on sst2-bert-tiny, 872 dev sentences.
m=gradient+gradient-x-input+ig+lrp
for r in 1 2; do
  for b in old new; do
    echo -n "$b round $r: "
    (cd /tmp/b-$b && benchmarks/Attribution.Benchmarks/bin/Release/net10.0/Attribution.Benchmarks method-throughput $m 872 3 | tail -1)
  done
done
for b in old new; do
  echo -n "$b ig alone: "
  (cd /tmp/b-$b && benchmarks/Attribution.Benchmarks/bin/Release/net10.0/Attribution.Benchmarks method-throughput ig 872 3 | tail -1)
done
