#!/usr/bin/env bash
# CUDA in one command, for when a GPU machine is lent (it has no dotnet, and at most 64 MiB travel):
#
#   Tools/gpu-check.sh prepare   # here: a trimmed self-contained `sam` for linux-x64 and the
#                                # sam-mini files the checks need, in .gpu/ (git-ignored, ~55 MB)
#   Tools/gpu-check.sh run       # there, through the device tool with carry [".gpu"]:
#                                # devices, the kernel sweep, sam-mini's encoder, prompt cases and
#                                # AMG against the float64 reference, and the ViT-B bench, on cuda
#
# `run` prints one summary line per step and exits non-zero if any failed; with $OUT set (the
# device tool's output folder) the logs and the bench's JSON land there. SAM_GPU_CHECK_DEVICE
# runs the same steps on another device (e.g. opencl), to try the script without a GPU.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gpu="$root/.gpu"

prepare() {
  local fixtures="${SAM_FIXTURES:-$root/../shared/fixtures}/sam-mini"
  [ -f "$fixtures/sam_mini.pth" ] || { echo "gpu-check: $fixtures/sam_mini.pth not found (set SAM_FIXTURES)" >&2; exit 1; }
  rm -rf "$gpu" && mkdir -p "$gpu"
  # The self-contained single file (its settings: Tools.csproj), no .NET needed there.
  dotnet publish "$root/Tools/Tools.csproj" -c Release -r linux-x64 -nologo -v quiet -o "$gpu/bin"
  # One image's worth of sam-mini: the checkpoint, the shapes scene, its reference arrays, prompt cases and AMG records.
  tar -cJf "$gpu/sam-mini.tar.xz" -C "$fixtures" sam_mini.pth meta.json errors.json shapes.png \
    shapes/image_rgb.npy shapes/resized.npy shapes/image_embedding.npy shapes/cases shapes/amg.json shapes/amg_params.json
  du -sh "$gpu/bin/sam" "$gpu/sam-mini.tar.xz"
  echo "gpu-check: ready; on the GPU machine run Tools/gpu-check.sh run (device tool: carry [\".gpu\"], timeout_s 540)"
}

run() {
  [ -x "$gpu/bin/sam" ] || { echo "gpu-check: $gpu/bin/sam missing: run 'Tools/gpu-check.sh prepare' first and carry .gpu" >&2; exit 1; }
  local device="${SAM_GPU_CHECK_DEVICE:-cuda}" logs="${OUT:-$(mktemp -d)}" work
  mkdir -p "$logs"
  work="$(mktemp -d)"
  tar -xJf "$gpu/sam-mini.tar.xz" -C "$work"
  local sam="$gpu/bin/sam" summary=() failed=0
  step() { # name, the line of its log to summarise it by (a grep pattern; default the last), command...
    local name="$1" pattern="$2" start status; shift 2
    start=$(date +%s)
    if "$@" >"$logs/$name.log" 2>&1; then status=pass; else status=FAIL; failed=1; fi
    local line; line="$( ([ -n "$pattern" ] && grep -m1 -a -- "$pattern" "$logs/$name.log") || tail -n 1 "$logs/$name.log")"
    summary+=("$(printf '%-8s %-4s %4ss  %s' "$name" "$status" "$(( $(date +%s) - start ))" "$line")")
    cat "$logs/$name.log"
  }
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  step devices "auto selects" "$sam" devices
  step kernels "" "$sam" kernels --check --device "$device"
  step verify "" "$sam" verify --model "$work/sam_mini.pth" --fixtures "$work" --image "$work/shapes.png" --device "$device"
  step bench "image encoder, " "$sam" bench --arch vit_b --device "$device" --repeat 3
  "$sam" bench --arch vit_b --device "$device" --repeat 3 --json --stages encoder,decoder >"$logs/bench.json" 2>/dev/null || true
  echo; echo "gpu-check on $device:"; printf '%s\n' "${summary[@]}"
  return "$failed"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: Tools/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
