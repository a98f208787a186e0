#!/usr/bin/env python3
"""
PyTorch peer of `clab bench`'s training steps: builds the network a TF.js Layers model.json
describes (the file Compression Lab exports for a graph: Conv2D, Dense, pooling, BatchNorm,
ReLU and friends) in PyTorch, NCHW, and times one Adam step on a random batch as
src/core/metrics/latency.ts does (softmax cross-entropy on random labels, the loss read back),
median after warm-up. Not part of the app or the tests.

    /usr/bin/python3 scripts/torch-train-step.py --threads 2 --batch-size 64 --steps 30 < model.json

Prints JSON: {"msPerStep": median, "samples": [...]}. Needs Debian's python3-torch.
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn


def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def activation(name):
    return {
        'linear': None,
        'relu': nn.ReLU(),
        'relu6': nn.ReLU6(),
        'sigmoid': nn.Sigmoid(),
        'tanh': nn.Tanh(),
        'elu': nn.ELU(),
        'softmax': None,  # the loss takes logits, as ours does
    }[name]


def build(config):
    """The layers in order (sequential graphs: every layer reads the one before) and the input shape (C, H, W)."""
    layers = config['config']['layers']
    shape = None
    modules = []
    channels = None
    for layer in layers:
        kind, c = layer['class_name'], layer['config']
        if kind == 'InputLayer':
            h, w, channels = c.get('batch_input_shape', c.get('batch_shape'))[1:]
            shape = (channels, h, w)
            continue
        if shape is None and 'batch_input_shape' in c:
            h, w, channels = c['batch_input_shape'][1:]
            shape = (channels, h, w)
        if kind == 'Conv2D':
            kh, kw = pair(c['kernel_size'])
            sh, sw = pair(c['strides'])
            modules.append(nn.Conv2d(channels, c['filters'], (kh, kw), (sh, sw),
                                     padding='same' if c['padding'] == 'same' and (sh, sw) == (1, 1) else
                                     ((kh // 2, kw // 2) if c['padding'] == 'same' else 0),
                                     bias=c.get('use_bias', True)))
            channels = c['filters']
            act = activation(c.get('activation', 'linear'))
            if act: modules.append(act)
        elif kind == 'Dense':
            modules.append(nn.LazyLinear(c['units'], bias=c.get('use_bias', True)))
            act = activation(c.get('activation', 'linear'))
            if act: modules.append(act)
        elif kind in ('MaxPooling2D', 'AveragePooling2D'):
            pool = nn.MaxPool2d if kind == 'MaxPooling2D' else nn.AvgPool2d
            modules.append(pool(pair(c['pool_size']), pair(c.get('strides') or c['pool_size']),
                                padding=0))
        elif kind == 'GlobalAveragePooling2D':
            modules.append(nn.AdaptiveAvgPool2d(1))
            modules.append(nn.Flatten())
        elif kind == 'BatchNormalization':
            modules.append(nn.BatchNorm2d(channels) if not modules or not isinstance(
                modules[-1], (nn.LazyLinear, nn.Linear)) else nn.LazyBatchNorm1d())
        elif kind == 'Activation':
            act = activation(c['activation'])
            if act: modules.append(act)
        elif kind == 'ReLU':
            modules.append(nn.ReLU())
        elif kind == 'Flatten':
            modules.append(nn.Flatten())
        elif kind == 'ZeroPadding2D':
            (top, bottom), (left, right) = [pair(p) for p in c['padding']]
            modules.append(nn.ZeroPad2d((left, right, top, bottom)))
        elif kind == 'Dropout':
            modules.append(nn.Dropout(c['rate']))
        else:
            raise SystemExit(f'torch-train-step: no PyTorch peer for a {kind} layer')
    return nn.Sequential(*modules), shape


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--steps', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    # At least this long warming up as well (the JavaScript side needs it: V8's tier-up).
    parser.add_argument('--warmup-ms', type=float, default=0)
    parser.add_argument('--classes', type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model, shape = build(json.load(sys.stdin)['modelTopology'])
    x = torch.randn(args.batch_size, *shape)
    y = torch.randint(0, args.classes, (args.batch_size,))
    model(x)  # materialises the lazy layers
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()

    warm_start = time.perf_counter()
    i = 0
    while i < args.warmup or 1000 * (time.perf_counter() - warm_start) < args.warmup_ms:
        step()
        i += 1
    samples = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        samples.append(1000 * (time.perf_counter() - start))
    json.dump({'msPerStep': statistics.median(samples), 'samples': samples}, sys.stdout)


if __name__ == '__main__':
    main()
