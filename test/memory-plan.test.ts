import { expect } from 'chai';
import {
  Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPool2D, Network, RandomFlip, RandomTranslation,
  Reshape, Tensor, getLoss, getOptimizer,
} from '../lib/index.js';
import { nativeBinding } from '../lib/backends/index.js';
import { forEachBackend, randomTensor } from './helpers.js';

const TYPED_ARRAYS = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array', 'Uint8Array', 'Int8Array', 'Int16Array', 'Uint16Array', 'Uint8ClampedArray'] as const;

/**
 * Runs fn and counts the array buffers it makes: every typed array built with
 * `new` from a length or an array (not a view over an existing buffer), every
 * `new ArrayBuffer`, and the typed-array methods that return a copy.
 */
function countBufferAllocations(fn: () => void): number {
  const probe = installProbe();
  try {
    fn();
  } finally {
    probe.remove();
  }
  return probe.count();
}

/** The same around an async call (nothing else runs in this process meanwhile). */
async function countBufferAllocationsAsync(fn: () => Promise<unknown>): Promise<number> {
  const probe = installProbe();
  try {
    await fn();
  } finally {
    probe.remove();
  }
  return probe.count();
}

function installProbe(): { count: () => number; remove: () => void } {
  let count = 0;
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  for (const name of [...TYPED_ARRAYS, 'ArrayBuffer']) {
    const original = g[name] as new (...args: unknown[]) => unknown;
    saved.set(name, original);
    g[name] = new Proxy(original, {
      construct(target, args, newTarget) {
        if (name === 'ArrayBuffer' || !(args[0] instanceof (saved.get('ArrayBuffer') as typeof ArrayBuffer))) count++;
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
    });
  }
  const typedArrayPrototype = Object.getPrototypeOf(Float32Array.prototype) as Record<string, unknown>;
  const copying = ['slice', 'map', 'filter'];
  const savedMethods = copying.map((m) => typedArrayPrototype[m] as (...args: unknown[]) => unknown);
  copying.forEach((m, i) => {
    typedArrayPrototype[m] = function (this: unknown, ...args: unknown[]) {
      count++;
      return savedMethods[i].apply(this, args);
    };
  });
  return {
    count: () => count,
    remove: () => {
      for (const [name, original] of saved) g[name] = original;
      copying.forEach((m, i) => (typedArrayPrototype[m] = savedMethods[i]));
    },
  };
}

function cnn(): Network {
  return new Network({ seed: 7 })
    .add(new Conv2D({ filters: 4, kernelSize: 3, inputShape: [8, 8, 1], activation: 'relu' }))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Flatten())
    .add(new Dropout(0.25))
    .add(new Dense(36, 10))
    .add(new Activation('softmax'));
}

/** The same with BatchNormalization after the conv (per channel) and after a hidden Dense (per feature), and first of all. */
function batchNormCnn(): Network {
  return new Network({ seed: 7 })
    .add(new BatchNormalization({ features: 1 }))
    .add(new Conv2D({ filters: 4, kernelSize: 3, inputShape: [8, 8, 1] }))
    .add(new BatchNormalization())
    .add(new Activation('relu'))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Flatten())
    .add(new Dense(36, 12))
    .add(new BatchNormalization())
    .add(new Activation('relu'))
    .add(new Dropout(0.25))
    .add(new Dense(12, 10))
    .add(new Activation('softmax'));
}

/** The same input and output with the newer layers: augmentation, global pooling both ways, Reshape. */
function augmentedCnn(): Network {
  return new Network({ seed: 7 })
    .add(new RandomFlip({ inputShape: [8, 8, 1] }))
    .add(new RandomTranslation({ height: 0.2, width: 0.2 }))
    .add(new Conv2D({ filters: 8, kernelSize: 3, activation: 'relu' }))
    .add(new GlobalMaxPooling2D())
    .add(new Reshape([2, 2, 2]))
    .add(new GlobalAveragePooling2D())
    .add(new Dense(2, 10))
    .add(new Activation('softmax'));
}

const NETWORKS: [string, () => Network][] = [
  ['a CNN with dropout', cnn], ['a CNN with BatchNormalization', batchNormCnn], ['a CNN with augmentation, global pooling and Reshape', augmentedCnn],
];

forEachBackend('memory plan', (backend) => {
  it('counts what it should (the probe itself sees a per-step allocation)', () => {
    expect(countBufferAllocations(() => new Float32Array(8).slice())).to.equal(2);
    expect(countBufferAllocations(() => Tensor.zeros([4, 4]))).to.equal(1);
  });

  for (const [networkName, build] of NETWORKS) {
    it(`a steady-state training step (forward, loss gradient, backward, optimizer) allocates no array buffer in 100 steps: ${networkName}`, () => {
      const net = build();
      const loss = getLoss('categoricalCrossEntropy');
      const optimizer = getOptimizer({ name: 'adam', learningRate: 1e-3 });
      const x = randomTensor([16, 8, 8, 1], 1);
      const y = Tensor.zeros([16, 10]);
      for (let i = 0; i < 16; i++) y.data[i * 10 + (i % 10)] = 1;
      const lossGradient = Tensor.zeros([16, 10]);
      const step = (): number => {
        const out = net.forward(x, true);
        net.backward(loss.softmaxGradient!(y, out, lossGradient), undefined, net.layers.length - 2);
        optimizer.step(net.parameters());
        return loss.value(y, out);
      };
      const first = step();
      let last = first;
      const count = countBufferAllocations(() => {
        for (let i = 0; i < 100; i++) last = step();
      });
      expect(count).to.equal(0);
      expect(last).to.be.below(first); // the reused buffers still train
    });

    it(`fit allocates nothing per batch: 50 batches cost the same as 5, the short last batch included: ${networkName}`, async () => {
      const data = (n: number): [Tensor, Tensor] => {
        const x = randomTensor([n, 8, 8, 1], n);
        const y = Tensor.zeros([n, 10]);
        for (let i = 0; i < n; i++) y.data[i * 10 + (i % 10)] = 1;
        return [x, y];
      };
      // Allocations of one fit call of the given size, after a warm-up fit of the same size.
      const allocationsOf = async (samples: number): Promise<number> => {
        const net = build().use('categoricalCrossEntropy');
        const [x, y] = data(samples);
        await net.fit(x, y, { epochs: 1, batchSize: 8, shuffle: true });
        return countBufferAllocationsAsync(() => net.fit(x, y, { epochs: 1, batchSize: 8, shuffle: true }));
      };
      // 5·8−3 and 50·8−3 samples: both end on a 5-sample batch; under 64 batches, so no periodic rollback snapshot.
      const few = await allocationsOf(37);
      const many = await allocationsOf(397);
      expect(few).to.be.above(0); // the probe saw the fit (its per-call setup)
      expect(many).to.equal(few);
    });

    it(`a repeated predict allocates only the result it returns, and a kept result is not overwritten: ${networkName}`, () => {
      const net = build();
      const x = randomTensor([40, 8, 8, 1], 2);
      const other = randomTensor([40, 8, 8, 1], 3);
      const kept = net.predict(x, { batchSize: 16 });
      const keptCopy = kept.data.slice();
      let count = 0;
      for (let i = 0; i < 100; i++) count += countBufferAllocations(() => net.predict(other, { batchSize: 16 }));
      expect(count).to.equal(100);
      expect(kept.data).to.deep.equal(keptCopy);
      expect(net.predict(x, { batchSize: 16 }).data).to.deep.equal(keptCopy);
      // Chunked (16 + 16 + 8) and whole-batch predictions agree exactly.
      expect(net.predict(x, { batchSize: 64 }).data).to.deep.equal(keptCopy);
    });
  }

  it('a smaller batch after a larger one, then the larger again, gives the same outputs as fresh layers', () => {
    const x = randomTensor([12, 8, 8, 1], 4);
    const reused = cnn();
    const big = reused.forward(x).clone();
    const small = reused.forward(x.view(0, 5)).clone();
    const bigAgain = reused.forward(x).clone();
    expect(small.shape).to.deep.equal([5, 10]);
    expect(Array.from(small.data)).to.deep.equal(Array.from(cnn().forward(x.view(0, 5)).data));
    expect(Array.from(bigAgain.data)).to.deep.equal(Array.from(big.data));
  });

  it('workspaces are per layer: two networks never share output memory', () => {
    const a = cnn();
    const b = cnn();
    const x = randomTensor([4, 8, 8, 1], 5);
    const outA = a.forward(x);
    const outB = b.forward(x);
    expect(outA.data.buffer).to.not.equal(outB.data.buffer);
  });

  it('weights, weight gradients and layer outputs of 4 KB or more start on a 128-byte boundary with the native backend (plain arrays with js)', () => {
    const net = new Network({ seed: 1 })
      .add(new Conv2D({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [8, 8, 16] }))
      .add(new Flatten())
      .add(new Dense(2048, 128));
    const out = net.forward(randomTensor([8, 8, 8, 16], 6), true);
    net.backward(randomTensor([8, 128], 7));
    const arrays = [out.data, ...net.parameters().filter((p) => p.value.size >= 1024).flatMap((p) => [p.value.data, p.grad.data])];
    expect(arrays).to.have.length(5); // the output, and both layers' weights and weight gradients
    for (const a of arrays) {
      if (backend === 'native') expect(nativeBinding().misalignment(a), `${a.length} floats`).to.equal(0);
      else expect([a.byteOffset, a.buffer.byteLength]).to.deep.equal([0, a.length * 4]);
    }
  });
});

describe('Tensor.view', () => {
  it('shares memory with the tensor it views and checks its range', () => {
    const t = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
    const v = t.view(1, 3);
    expect(v.shape).to.deep.equal([2, 2]);
    v.data[0] = 30;
    expect(t.data[2]).to.equal(30);
    expect(t.slice(1, 3).data).to.not.equal(v.data);
    expect(() => t.view(2, 5)).to.throw('expected 6 values');
  });
});
