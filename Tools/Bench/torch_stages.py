#!/usr/bin/env python3
"""The official PyTorch SAM timed stage by stage as `sam bench` times SamEngine, for docs/perf.md.

  python3 Tools/Bench/torch_stages.py --arch vit_b --threads 2 [--repeat 3] [--amg] [--reference DIR]

Random weights with the official architecture (timings equal the real model's). Stages, each
one warm-up then --repeat timed runs (the decoders at least 10 and 3): the image encoder on one
1024x1024 input; prompt encoder + mask decoder for one point (multimask, the masks upscaled to
the image and thresholded: SamPredictor.predict_torch's work) and for 64 single-point prompts in
one batch (low-resolution masks, as the automatic mask generator consumes them);
with --amg, SamAutomaticMaskGenerator(points_per_side=32) on one random 1024x1024 image (one
run: with random weights the number of kept masks, and so the post-processing, differs from a
trained model's). Prints one JSON object: median, best and CPU seconds per stage (CPU time makes
runs on a shared machine comparable), the peak resident memory during the encoder beyond the
resident size with the weights loaded, and the load average. Needs Debian's python3-torch and
libopenblas0-pthread, and the official code (default: ../shared/reference/segment-anything from
the repository root).

Where first-touch page faults are slow (a VM), glibc's malloc makes PyTorch re-fault every large
tensor it allocates: the Zen 5 VM of docs/perf.md ran the encoder in 40 s so, and in 6 s with
jemalloc keeping its pages (apt-get install libjemalloc2; LD_PRELOAD=/usr/lib/x86_64-linux-gnu/
libjemalloc.so.2 MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1) and OpenBLAS's AVX-512 kernels
(OPENBLAS_CORETYPE=SkylakeX). Compare against both.
"""
import argparse, json, os, statistics, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return None


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def timed(fn, runs):
    fn()
    times = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    cpu = (time.process_time() - cpu0) * 1000
    return dict(median_ms=round(statistics.median(times), 2), best_ms=round(min(times), 2),
                cpu_ms_per_run=round(cpu / runs, 2), runs_ms=[round(t, 2) for t in times])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="vit_b", choices=["vit_b", "vit_l", "vit_h"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--amg", action="store_true")
    ap.add_argument("--reference", default=os.path.join(REPO, "..", "shared", "reference", "segment-anything"))
    a = ap.parse_args()

    import numpy as np
    import torch
    sys.path.insert(0, a.reference)
    from segment_anything import SamAutomaticMaskGenerator, sam_model_registry

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    load_before = loadavg()
    sam = sam_model_registry[a.arch]().eval()
    res = dict(arch=a.arch, threads=torch.get_num_threads(), torch=torch.__version__)
    x = torch.randn(1, 3, 1024, 1024)
    with torch.no_grad():
        rss_base = status_bytes("VmRSS:")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        res["encoder"] = timed(lambda: sam.image_encoder(x), a.repeat)
        res["encoder_rss_peak_bytes"] = status_bytes("VmHWM:") - rss_base
        emb = sam.image_encoder(x)
        pe = sam.prompt_encoder.get_dense_pe()

        def decode(points, upscale=False):
            labels = torch.ones(points.shape[:2], dtype=torch.int)
            sparse, dense = sam.prompt_encoder(points=(points, labels), boxes=None, masks=None)
            low_res, _ = sam.mask_decoder(image_embeddings=emb, image_pe=pe, sparse_prompt_embeddings=sparse,
                                          dense_prompt_embeddings=dense, multimask_output=True)
            if upscale:
                sam.postprocess_masks(low_res, (1024, 1024), (1024, 1024)) > sam.mask_threshold

        one = torch.tensor([[[0.49 * 1024, 0.37 * 1024]]])
        res["decoder"] = timed(lambda: decode(one, upscale=True), max(a.repeat, 10))
        side = 8
        grid = torch.tensor([[[(i % side + 0.5) * 1024 / side, (i // side + 0.5) * 1024 / side]] for i in range(64)])
        res["decoder_batch64"] = timed(lambda: decode(grid), max(a.repeat, 3))

        if a.amg:
            image = np.random.default_rng(1).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
            amg = SamAutomaticMaskGenerator(sam, points_per_side=32)
            t0, c0 = time.perf_counter(), time.process_time()
            masks = amg.generate(image)
            res["amg"] = dict(ms=round((time.perf_counter() - t0) * 1000, 1),
                              cpu_ms=round((time.process_time() - c0) * 1000, 1), masks=len(masks))
    res["process_peak_rss_bytes"] = status_bytes("VmHWM:")
    res["load_average"] = [load_before, loadavg()]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
