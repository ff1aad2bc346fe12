#!/usr/bin/env bash
# End-to-end figure for docs/benchmarks.md (## Pipeline): `glance run` on one genome
# with every stage, then each stage alone; wall time and peak RSS from /usr/bin/time,
# per stage from manifest.json: busy time (wall minus waiting for input) / CPU time.
#
#   scripts/bench_pipeline.sh GLANCE GENOME MODEL_DIR [MOTIFS]
#
# MOTIFS defaults to the bundled JASPAR set (1019 motifs).
set -euo pipefail
glance=$1 genome=$2 model=$3
motifs=${4:+--motifs $4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { # name, options...
    local name=$1
    shift
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %M %U %S" -o "$work/$name.time" "$glance" -q run "$genome" --model "$model" $motifs "$@" --outdir "$work/$name"
    read -r wall rss user sys < "$work/$name.time"
    local stages
    stages=$(python3 - "$work/$name/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join("%s=%.2fs/%.2fcpu" % (s["stage"], s["busy_s"], s.get("cpu_s", 0)) for s in m["stages"]))
PY
)
    printf "%-8s wall %8.2f s  cpu %8.2f s  peak RSS %6d MiB  %s\n" "$name" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" "$stages"
}
run all
run embed --hits false --motif-scores false
run scan --embeddings false --motif-scores false
run scores --embeddings false --hits false
