"""The peer of `clab bench`'s convolution rows: the same three kernels in PyTorch on this machine.

Reads a JSON list of cases from stdin, each {"x": [N, H, W, Ci], "filter": [fh, fw, Ci, Co],
"steps": S, "warmup": W}, and prints one JSON list: per case the median milliseconds of the
forward convolution, the filter gradient and the input gradient (stride 1, 'same' padding).
Each gradient is timed alone, as autograd's backward of a convolution whose only input that
needs a gradient is the filter, then the input: the kernels PyTorch runs in training.

Usage: echo '[...]' | python3 scripts/torch-conv-kernels.py --threads 2
"""

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, steps, warmup):
    samples = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        fn()
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def time_case(case):
    n, h, w, ci = case["x"]
    fh, fw, _, co = case["filter"]
    steps, warmup = case.get("steps", 3), case.get("warmup", 1)
    torch.manual_seed(1)
    x = torch.randn(n, ci, h, w)
    weight = torch.randn(co, ci, fh, fw)
    dy = torch.randn(n, co, h, w)
    pad = (fh // 2, fw // 2)

    def forward():
        with torch.no_grad():
            F.conv2d(x, weight, padding=pad)

    def gradient_of(wrt):
        x_, w_ = x.clone(), weight.clone()
        (x_ if wrt == "input" else w_).requires_grad_(True)
        y = F.conv2d(x_, w_, padding=pad)
        return lambda: y.backward(dy, retain_graph=True)

    return {
        "Conv2D": timed(forward, steps, warmup),
        "Conv2DBackpropFilter": timed(gradient_of("filter"), steps, warmup),
        "Conv2DBackpropInput": timed(gradient_of("input"), steps, warmup),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = json.load(sys.stdin)
    json.dump(
        {"torch": torch.__version__, "threads": torch.get_num_threads(),
         "results": [time_case(c) for c in cases]},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
