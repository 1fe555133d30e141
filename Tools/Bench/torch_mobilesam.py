#!/usr/bin/env python3
"""The official MobileSAM (github.com/ChaoningZhang/MobileSAM, build_sam_vit_t) timed as `sam bench --arch mobile_sam` times SamEngine, for docs/perf.md.

  python3 Tools/Bench/torch_mobilesam.py --src DIR [--threads 2] [--repeat 3]

DIR holds the repository's mobile_sam/ package. Random weights with the official sizes (timings
equal the real model's; its attention-bias caches are refreshed by eval() after the draw, as the
official README does after loading). timm is not packaged in Debian; its three helpers the encoder
imports get a stand-in here when timm is missing (DropPath is the identity at drop_path_rate 0,
to_2tuple, and trunc_normal_, which only initialises). Stages, one warm-up then --repeat timed runs
(the decoder at least 10): the image encoder on one 1024x1024 input, and the prompt encoder + mask
decoder for one point (multimask, the masks upscaled to the image and thresholded). Prints one JSON
object: median, best and CPU ms per stage. Needs Debian's python3-torch, python3-torchvision and
libopenblas0-pthread.
"""
import argparse, json, os, sys, types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_stages import timed  # noqa: E402  (the same timing as the ViT stages)


def timm_stand_in():
    try:
        import timm  # noqa: F401
        return
    except ImportError:
        pass
    import torch.nn as nn

    class DropPath(nn.Identity):
        def __init__(self, drop_prob=0.0, *args, **kwargs):
            super().__init__()

    layers = types.ModuleType("timm.models.layers")
    layers.DropPath = DropPath
    layers.to_2tuple = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)
    layers.trunc_normal_ = lambda tensor, *args, **kwargs: tensor
    registry = types.ModuleType("timm.models.registry")
    registry.register_model = lambda fn: fn
    models = types.ModuleType("timm.models")
    models.layers, models.registry = layers, registry
    timm = types.ModuleType("timm")
    timm.models = models
    sys.modules.update({"timm": timm, "timm.models": models, "timm.models.layers": layers, "timm.models.registry": registry})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.environ.get("MOBILESAM_SRC"), required=os.environ.get("MOBILESAM_SRC") is None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()

    import torch
    timm_stand_in()
    sys.path.insert(0, a.src)
    from mobile_sam import sam_model_registry

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    sam = sam_model_registry["vit_t"]().eval()
    res = dict(model="mobile_sam vit_t", threads=torch.get_num_threads(), torch=torch.__version__)
    x = torch.randn(1, 3, 1024, 1024)
    with torch.no_grad():
        res["encoder"] = timed(lambda: sam.image_encoder(x), a.repeat)
        emb = sam.image_encoder(x)
        pe = sam.prompt_encoder.get_dense_pe()
        point = torch.tensor([[[0.49 * 1024, 0.37 * 1024]]])
        labels = torch.ones((1, 1), dtype=torch.int)

        def decode():
            sparse, dense = sam.prompt_encoder(points=(point, labels), boxes=None, masks=None)
            low_res, _ = sam.mask_decoder(image_embeddings=emb, image_pe=pe, sparse_prompt_embeddings=sparse,
                                          dense_prompt_embeddings=dense, multimask_output=True)
            sam.postprocess_masks(low_res, (1024, 1024), (1024, 1024)) > sam.mask_threshold

        res["decoder"] = timed(decode, max(a.repeat, 10))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
