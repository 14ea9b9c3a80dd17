#!/usr/bin/python3
"""PyTorch (CPU) timings of the same epochs as benchmarks/epochs.ts (MLP, small CNN, npm-start CNN).

    /usr/bin/python3 benchmarks/peers/torch_epochs.py --threads N [--repeats 3] [--data DIR]

Progress goes to stderr; the last line on stdout is one JSON object, which
benchmarks/peers/run.ts reads. Written for Debian bookworm's python3-torch
(1.13) and numpy, reading Fashion-MNIST's IDX .gz files directly.

Thread count: Debian's torch does its matrix products through the system
libblas (OpenBLAS), whose thread pool torch.set_num_threads() does not
control, so the count is also put into OMP_NUM_THREADS / OPENBLAS_NUM_THREADS
before torch is imported. That is why there is one process per thread count.
OMP_WAIT_POLICY defaults to PASSIVE here: with the default (spinning) policy
torch's OpenMP threads and OpenBLAS's own threads fight over the two cores,
and a two-thread MLP epoch measured 4.6–6.4 s (65 s with another process
busy) against 0.8 s passive. The peers should run at their best, so passive.
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument('--threads', type=int, required=True)
parser.add_argument('--repeats', type=int, default=3)
parser.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
parser.add_argument('--models', default='mlp,cnn,startCnn')
args = parser.parse_args()

for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[var] = str(args.threads)
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402  (after the thread variables on purpose)
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
BATCH_SIZE = 32
LEARNING_RATE = {'mlp': 0.1, 'cnn': 0.1, 'startCnn': 0.05}
SEED = 1


def read_idx(path):
    """An IDX file (gzipped) as a numpy array; the header gives rank and sizes."""
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file')
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(split):
    prefix = 'train' if split == 'train' else 't10k'
    x = read_idx(os.path.join(args.data, f'{prefix}-images-idx3-ubyte.gz'))
    y = read_idx(os.path.join(args.data, f'{prefix}-labels-idx1-ubyte.gz'))
    # NCHW, scaled to [0, 1] like layerwise's loadMnist.
    return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


def build(model):
    if model == 'mlp':
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if model == 'cnn':
        # conv 3×3 1→8 valid (26×26) → ReLU → max-pool 2 (13×13) → 1352 → 10
        return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(13 * 13 * 8, 10))
    # the npm-start CNN (fashion-mnist-cnn preset): same-padded convs 16 and 32, each pooled, dense 128 → 10
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(7 * 7 * 32, 128), nn.ReLU(), nn.Linear(128, 10))


def epoch(model, x_train, y_train, x_test, y_test):
    """One shuffled SGD epoch, timed without data loading; then test accuracy."""
    torch.manual_seed(SEED)
    net = build(model)
    # CrossEntropyLoss is log-softmax + NLL in one: the softmax + cross-entropy pair of the other libraries.
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE[model])
    n = x_train.shape[0]
    start = time.perf_counter()
    order = torch.randperm(n)
    for i in range(0, n, BATCH_SIZE):
        idx = order[i:i + BATCH_SIZE]
        opt.zero_grad()
        loss = loss_fn(net(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = (net(x_test).argmax(1) == y_test).float().mean().item()
    return seconds, accuracy


def main():
    x_train, y_train = load('train')
    x_test, y_test = load('test')
    results = []
    for model in args.models.split(','):
        runs, accuracy = [], None
        for _ in range(args.repeats):
            seconds, accuracy = epoch(model, x_train, y_train, x_test, y_test)
            runs.append(seconds)
            print(f'  torch {torch.__version__} {model}, {args.threads} thread(s): {seconds:.2f} s, test accuracy {100 * accuracy:.2f}%',
                  file=sys.stderr)
        results.append({'model': model, 'threads': torch.get_num_threads(), 'runs': runs,
                        'epochSeconds': statistics.median(runs), 'testAccuracy': accuracy})
    print(json.dumps({'torch': torch.__version__, 'threads': args.threads, 'results': results}))


main()
