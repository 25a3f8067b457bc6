#!/usr/bin/env bash
# scripts/gpu-session.sh: everything a session lent a GPU (the `device` tool) runs, in two
# or three calls: build + CUDA tests + compute-sanitizer, then the benchmarks. Each step
# is time-capped; its exit code and duration go into a summary under $OUT.
# Usage: scripts/gpu-session.sh test [BUDGET_S]   build, nvidia-smi, ctest -L cuda, a few
#                                                  cpu tests, memcheck + racecheck
#        scripts/gpu-session.sh bench [BUDGET_S]  kernel benches, seqfuse bench decode/train,
#                                                  bench_compare.sh against PyTorch
#        scripts/gpu-session.sh all [TOTAL_S]     test, then bench with what is left
#        scripts/gpu-session.sh retest NAME...    after a fix: build, then ctest, memcheck and
#                                                  racecheck of the named test_cuda_* only
#        scripts/gpu-session.sh fetch-deps        (on a machine with apt, no GPU needed) the
#                                                  CPU-side libraries as .debs into .gpudeps/
# BUDGET_S: wall seconds per stage (540); TOTAL_S for `all` (540; bench keeps >= 240).
# Results: $OUT (default ./gpu-out): gpu-test.txt, gpu-test-logs.tar.gz, gpu-bench.txt,
#   bench-decode.json, bench-decode.svg, bench-train.jsonl, gpu-bench-logs.tar.gz.
# env: SF_GPU_SESSION_ALLOW_NO_GPU=1 (build only, GPU steps skipped), JOBS (make -j, nproc),
#   SF_GPU_BUILD_DIR (build), SF_GPU_DEPS (.gpudeps: .debs unpacked when libraries are
#   missing), CUDA_ARCH (90), SF_MEMCHECK_CAP (75 s per binary), SF_RACECHECK_CAP (60 s).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD

mode=${1:-}
budget=${2:-540}
out=${OUT:-$root/gpu-out}
mkdir -p "$out" && out=$(cd "$out" && pwd)
build=${SF_GPU_BUILD_DIR:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
arch=${CUDA_ARCH:-90}
deps_dir=${SF_GPU_DEPS:-.gpudeps}
allow_no_gpu=${SF_GPU_SESSION_ALLOW_NO_GPU:-0}
memcheck_cap=${SF_MEMCHECK_CAP:-75}
racecheck_cap=${SF_RACECHECK_CAP:-60}
cpu_tests=(test_core test_backend_table test_cpu_ops test_topk)  # a CPU sanity check there
summary=/dev/null logs=/tmp stage_start=0 stage_end=0 have_gpu=0 failures=0 skipped=0

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

# ------------------------------------------------------------------ summary and steps
note() { echo "$*" | tee -a "$summary"; }

# left: seconds before this stage's deadline.
left() { echo $((stage_end - SECONDS)); }

# step NAME CAP LOG CMD...: runs CMD under `timeout CAP` (cut to what the stage has left,
# minus 15 s for packing up), output to $logs/LOG; records rc and duration in the summary.
step() {
    local name=$1 cap=$2 log=$3 rc t0
    shift 3
    local avail=$(($(left) - 15))
    if [ "$avail" -lt 5 ]; then
        note "$(printf '%-34s SKIPPED (stage budget spent)' "$name")"
        skipped=$((skipped + 1))
        return 125
    fi
    [ "$cap" -gt "$avail" ] && cap=$avail
    t0=$SECONDS
    timeout -k 5 "$cap" "$@" >"$logs/$log" 2>&1
    rc=$?
    local what="rc=$rc"
    case $rc in
        0) ;;
        77) what="rc=77 (skipped: no GPU)" ;;
        124|137) what="TIMEOUT (cap ${cap}s)"; failures=$((failures + 1)) ;;
        *) failures=$((failures + 1)) ;;
    esac
    note "$(printf '%-34s %-22s %4ds  log %s' "$name" "$what" $((SECONDS - t0)) "$log")"
    [ $rc -ne 0 ] && [ $rc -ne 77 ] && tail -n 3 "$logs/$log" | sed 's/^/    ! /' >>"$summary"
    return $rc
}

# stage_open NAME BUDGET: fresh summary $OUT/gpu-NAME.txt and logs folder.
stage_open() {
    mkdir -p "$out"
    summary=$out/gpu-$1.txt
    logs=$out/logs-$1
    rm -rf "$logs" && mkdir -p "$logs"
    stage_start=$SECONDS stage_end=$((SECONDS + $2)) failures=0 skipped=0
    : >"$summary"
    local rev='?'
    if rev=$(git rev-parse --short HEAD 2>/dev/null); then
        git diff --quiet HEAD 2>/dev/null || rev="$rev (dirty)"
    fi
    note "seqfuse gpu-session $1: $(date -u +%FT%TZ) on $(uname -n), budget $2 s, commit $rev"
}

# stage_close NAME: packs the logs into $OUT/gpu-NAME-logs.tar.gz (one file comes back).
stage_close() {
    note "== $1 done in $((SECONDS - stage_start))s: $failures step(s) failed or timed out," \
        "$skipped skipped"
    tar -czf "$out/gpu-$1-logs.tar.gz" -C "$out" "logs-$1" && rm -rf "$logs"
}

# ------------------------------------------------------------------ the machine
# gpu_check: have_gpu=1 when nvidia-smi lists a GPU; else fail fast (or carry on for the
# build alone with SF_GPU_SESSION_ALLOW_NO_GPU=1).
gpu_check() {
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >"$logs/nvidia-smi.txt" 2>&1 &&
        grep -q '^GPU ' "$logs/nvidia-smi.txt"; then
        have_gpu=1
        nvidia-smi >>"$logs/nvidia-smi.txt" 2>&1
        note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
            --format=csv,noheader 2>/dev/null | head -1)"
        return 0
    fi
    have_gpu=0
    if [ "$allow_no_gpu" = 1 ]; then
        note "no NVIDIA GPU visible (nvidia-smi): SF_GPU_SESSION_ALLOW_NO_GPU=1, GPU steps skipped"
        return 0
    fi
    note "no NVIDIA GPU visible (nvidia-smi): nothing to do here; run this on the device machine"
    return 1
}

# deps_unpack: the .debs in $deps_dir (scripts/gpu-session.sh fetch-deps) unpacked into
# /tmp/sfdeps (never /), .pc prefixes pointed there, and the search paths set.
deps_unpack() {
    local d=/tmp/sfdeps lib=/tmp/sfdeps/usr/lib/x86_64-linux-gnu f
    mkdir -p "$d"
    for f in "$deps_dir"/*.deb; do dpkg -x "$f" "$d" || note "deps: cannot unpack $f"; done
    find "$d" -name '*.pc' -exec sed -i "s|^prefix=/usr|prefix=$d/usr|; s|=/usr/|=$d/usr/|" {} +
    # Debian picks openblas.pc through alternatives, which dpkg -x does not run.
    [ -e "$lib/openblas-pthread/pkgconfig/openblas.pc" ] && mkdir -p "$lib/pkgconfig" &&
        ln -sf "$lib/openblas-pthread/pkgconfig/openblas.pc" "$lib/pkgconfig/openblas.pc"
    export PKG_CONFIG_PATH=$lib/pkgconfig:$lib/openblas-pthread/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export CMAKE_PREFIX_PATH=$d/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
    export LIBRARY_PATH=$lib:$lib/openblas-pthread${LIBRARY_PATH:+:$LIBRARY_PATH}
    export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export CPATH=$d/usr/include${CPATH:+:$CPATH}
    export PATH=$PATH:$d/usr/bin
    local debs=("$deps_dir"/*.deb)
    note "deps: unpacked ${#debs[@]} .debs from $deps_dir into $d"
}

# deps_missing: prints each tool or library the build needs and cannot find, one a line.
deps_missing() {
    local m
    for m in cmake nvcc cc c++ pkg-config; do
        command -v "$m" >/dev/null || echo "$m (program)"
    done
    command -v pkg-config >/dev/null || return 0
    for m in openblas:libopenblas-dev sentencepiece:libsentencepiece-dev \
             libcjson:libcjson-dev check:check; do
        pkg-config --exists "${m%%:*}" || echo "${m%%:*}.pc (Debian/Ubuntu ${m#*:})"
    done
    pkg-config --exists sentencepiece &&
        [ ! -e "$(pkg-config --variable=libdir sentencepiece)/libsentencepiece_train.so" ] &&
        echo "libsentencepiece_train.so (libsentencepiece-dev)"
    return 0
}

# deps_check: every tool and library the build needs (from $deps_dir's .debs when the
# machine lacks some), or a clear list of what is missing.
deps_check() {
    local missing
    [ -d /usr/local/cuda/bin ] && export PATH=$PATH:/usr/local/cuda/bin
    missing=$(deps_missing)
    if [ -n "$missing" ] && ls "$deps_dir"/*.deb >/dev/null 2>&1; then
        note "deps: missing $(echo "$missing" | paste -sd, -), trying $deps_dir"
        deps_unpack
        missing=$(deps_missing)
    fi
    if [ -n "$missing" ]; then
        note "deps MISSING: $(echo "$missing" | paste -sd, -)"
        note "  the device machine has no internet (no apt-get): on a machine with apt run" \
             "'scripts/gpu-session.sh fetch-deps', then name $deps_dir in the run's carry"
        return 1
    fi
    note "deps: cmake $(cmake --version | head -1 | awk '{print $3}'), nvcc" \
         "$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), cc $(cc -dumpversion)," \
         "openblas $(pkg-config --modversion openblas), sentencepiece" \
         "$(pkg-config --modversion sentencepiece), cjson $(pkg-config --modversion libcjson)," \
         "check $(pkg-config --modversion check)"
}

# build_all: configure (Release, CUDA on, sm_$arch) and build the library, the binary, the
# CUDA tests and a few CPU tests. Returns non-zero when the build failed.
build_all() {
    local targets=(seqfuse) t
    for t in tests/test_cuda_*.c; do targets+=("$(basename "$t" .c)"); done
    for t in "${cpu_tests[@]}"; do [ -e "tests/$t.c" ] && targets+=("$t"); done
    deps_check || return 1
    step "configure (Release, sm_$arch)" 120 configure.log cmake -S . -B "$build" \
        -DCMAKE_BUILD_TYPE=Release -DSEQFUSE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" ||
        return 1
    step "build -j$jobs (${#targets[@]} targets)" 420 build.log \
        cmake --build "$build" -j"$jobs" --target "${targets[@]}" || return 1
}

# ------------------------------------------------------------------ test stage
# sanitize TOOL CAP BIN: one compute-sanitizer run; prints its summary line.
sanitize() {
    local tool=$1 cap=$2 bin=$3 name
    name=$(basename "$bin")
    local extra=()
    [ "$tool" = memcheck ] && extra=(--leak-check full)
    [ "$tool" = racecheck ] && extra=(--racecheck-report analysis)
    step "$tool $name" "$cap" "$tool-$name.log" env CK_DEFAULT_TIMEOUT=0 \
        "$sanitizer" --tool "$tool" "${extra[@]}" --error-exitcode 99 "$bin"
    local rc=$?
    grep -s -E '(ERROR|RACECHECK) SUMMARY' "$logs/$tool-$name.log" | tail -1 | sed 's/^/    /' |
        tee -a "$summary"
    return $rc
}

# sanitize_all: memcheck on every CUDA test, then racecheck on those whose memcheck ran
# fast enough (racecheck is slower still), quickest first, as long as the budget lasts.
sanitize_all() {
    local c
    sanitizer=$(command -v compute-sanitizer)
    for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
        [ -z "$sanitizer" ] && [ -x "$c" ] && sanitizer=$c
    done
    if [ -z "$sanitizer" ]; then
        note "compute-sanitizer not found: memcheck/racecheck skipped"
        return
    fi
    local bins=("$@") b t0 rc dt times=()
    [ $# -gt 0 ] || bins=("$build"/test_cuda_*)
    for b in "${bins[@]}"; do
        t0=$SECONDS
        sanitize memcheck "$memcheck_cap" "$b"
        rc=$?
        times+=("$((SECONDS - t0)) $b $rc")
    done
    while read -r dt b rc; do
        local why=""
        case $rc in
            125) why="memcheck did not run" ;;
            124|137) why="memcheck timed out" ;;
            *) [ $((dt * 3)) -gt "$racecheck_cap" ] &&
                why="memcheck took ${dt}s; racecheck would pass its ${racecheck_cap}s cap" ;;
        esac
        if [ -n "$why" ]; then
            note "$(printf '%-34s SKIPPED (%s)' "racecheck $(basename "$b")" "$why")"
            skipped=$((skipped + 1))
            continue
        fi
        sanitize racecheck "$racecheck_cap" "$b"
    done < <(printf '%s\n' "${times[@]}" | sort -n)
}

stage_test() {
    stage_open test "$1"
    gpu_check || { stage_close test "$1"; return 3; }
    build_all || { note "build failed: see configure.log / build.log"; stage_close test "$1"; return 1; }
    if [ $have_gpu = 1 ]; then
        step "ctest -L cuda" 240 ctest-cuda.log ctest --test-dir "$build" -L cuda \
            --output-on-failure --timeout 200
        grep -E 'tests passed|tests failed|\*\*\*|Not Run' "$logs/ctest-cuda.log" |
            sed 's/^/    /' | tee -a "$summary"
        grep -h -E '^[^ ]*:[0-9]+:[EF]:' "$logs/ctest-cuda.log" | head -20 | sed 's/^/    /' |
            tee -a "$summary"
        cp "$build"/Testing/Temporary/LastTest.log "$logs/ctest-cuda-LastTest.log" 2>/dev/null
    fi
    local re
    re="^($(IFS='|'; echo "${cpu_tests[*]}"))\$"
    step "ctest (cpu sanity: ${#cpu_tests[@]} tests)" 90 ctest-cpu.log ctest --test-dir "$build" \
        -R "$re" --output-on-failure --timeout 80
    grep -E 'tests passed|tests failed' "$logs/ctest-cpu.log" | sed 's/^/    /' | tee -a "$summary"
    [ $have_gpu = 1 ] && sanitize_all
    stage_close test "$1"
    [ "$failures" -eq 0 ]
}

# stage_retest NAME...: the test stage for the named test binaries alone (budget 540 s).
stage_retest() {
    stage_open retest 540
    gpu_check || { stage_close retest; return 3; }
    build_all || { note "build failed: see configure.log / build.log"; stage_close retest; return 1; }
    local t
    for t in "$@"; do
        step "ctest $t" 240 "ctest-$t.log" ctest --test-dir "$build" -R "^$t\$" \
            --output-on-failure --timeout 200
        grep -h -E '^[^ ]*:[0-9]+:[EF]:' "$logs/ctest-$t.log" | head -20 | sed 's/^/    /' |
            tee -a "$summary"
        [ $have_gpu = 1 ] && sanitize_all "$build/$t"
    done
    stage_close retest
    [ "$failures" -eq 0 ]
}

# ------------------------------------------------------------------ bench stage
# A stand-in for bc (bench_compare.sh divides with `bc -l`) where the image has none.
bc_shim() {
    command -v bc >/dev/null && return
    mkdir -p /tmp/sfbin
    printf '#!/bin/sh\nexec python3 -c "import sys; print(eval(sys.stdin.read()))"\n' \
        >/tmp/sfbin/bc
    chmod +x /tmp/sfbin/bc
    export PATH=/tmp/sfbin:$PATH
    note "bc: not installed; a python3 stand-in is on PATH for bench_compare.sh"
}

# last_json BENCH LOG: the benchmark's JSON line out of a log that holds stderr too.
last_json() { grep -h "^{\"bench\":\"$1\"" "$2" | tail -1; }

# decode_table: the JSON grid as one line per point in the summary.
decode_table() {
    python3 - "$out/bench-decode.json" <<'EOF' | tee -a "$summary"
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
c = d["ceilings"]
print(f"  decode {d['config']} on {d['device']}, {d['tgt_len']} steps, products {d['products']};"
      f" ceilings: copy {c['copy_gb_per_s']:.0f} GB/s, sgemm {c['gemm_gflop_per_s']:.0f} GFLOP/s")
print("  beam  src  batch   sent/s     tok/s  ms/step  roofline")
for p in d["points"]:
    print(f"  {p['beam']:4.0f} {p['src_len']:4.0f} {p['batch']:6.0f} {p['sentences_per_s']:8.1f}"
          f" {p['tgt_tokens_per_s']:9.0f} {p['ms_per_step']:8.3f} {p['roofline_fraction']:8.2f}")
EOF
}

stage_bench() {
    local sf=$build/seqfuse
    stage_open bench "$1"
    gpu_check || { stage_close bench "$1"; return 3; }
    build_all || { note "build failed: see configure.log / build.log"; stage_close bench "$1"; return 1; }
    if [ $have_gpu = 0 ]; then
        note "no GPU: benchmarks skipped"
        stage_close bench "$1"
        return 0
    fi
    step "bench_kernels.sh (sm_$arch)" 180 kernels.log env ARCH="sm_$arch" JOBS="$jobs" \
        scripts/bench_kernels.sh "$build/bench"
    sed 's/^/    /' "$logs/kernels.log" | grep -v '^    $' | head -80 >>"$summary"
    step "bench decode grid (json+svg)" 240 decode.log "$sf" bench decode --device cuda \
        --batch 1,8,32,128,512 --beam 1,5,10 --src-len 20,50,100 --json \
        --svg "$out/bench-decode.svg"
    last_json decode "$logs/decode.log" >"$out/bench-decode.json"
    if [ -s "$out/bench-decode.json" ]; then decode_table; else rm -f "$out/bench-decode.json"; fi
    : >"$out/bench-train.jsonl"
    local p
    for p in f32 tf32; do
        step "bench train batch 64 ($p)" 90 "train-$p.log" "$sf" bench train --device cuda \
            --batch 64 --steps 20 --warmup 3 --matmul-precision $p --json
        last_json train "$logs/train-$p.log" | tee -a "$out/bench-train.jsonl" |
            sed 's/^/    /' >>"$summary"
    done
    bc_shim
    for p in f32 tf32; do
        step "bench_compare.sh cuda ($p)" 150 "compare-$p.log" env PRECISION=$p \
            scripts/bench_compare.sh --device cuda &&
            grep -v '^raw JSON' "$logs/compare-$p.log" | tail -7 | sed 's/^/    /' >>"$summary"
        local raw
        raw=$(sed -n 's/^raw JSON in //p' "$logs/compare-$p.log")
        [ -d "$raw" ] && cp -r "$raw" "$logs/compare-$p-json"
    done
    stage_close bench "$1"
    [ "$failures" -eq 0 ]
}

# ------------------------------------------------------------------ fetch-deps
# The CPU-side libraries (and pkg-config) as .debs, for a device machine without apt.
fetch_deps() {
    local pkgs=(libopenblas0-pthread libopenblas-pthread-dev libgfortran5 libquadmath0
                libsentencepiece0 libsentencepiece-dev libcjson1 libcjson-dev check
                libsubunit0 libsubunit-dev pkgconf pkgconf-bin libpkgconf3)
    mkdir -p "$deps_dir" || return 1
    (cd "$deps_dir" && apt-get download "${pkgs[@]}") || return 1
    git check-ignore -q "$deps_dir" 2>/dev/null ||
        echo "/${deps_dir#./}/" >>"$(git rev-parse --git-path info/exclude)"
    du -sh "$deps_dir"
    echo "carry \"${deps_dir#./}\" in the device run (git ignores it: it travels only carried)"
}

case "$mode" in
    test) stage_test "$budget" ;;
    bench) stage_bench "$budget" ;;
    all)
        stage_test $((budget - ${SF_GPU_BENCH_RESERVE:-240}))
        rc=$?
        stage_bench $((budget - SECONDS))
        rc=$((rc | $?))
        exit $rc ;;
    retest) shift; [ $# -gt 0 ] || { usage >&2; exit 2; }; stage_retest "$@" ;;
    fetch-deps) fetch_deps ;;
    -h|--help) usage ;;
    *) usage >&2; exit 2 ;;
esac
