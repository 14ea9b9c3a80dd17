// Backward fusion in fit (lib/layers/layer.ts BackwardFusion): a MaxPool2D
// after a layer that ends in an elementwise activation applies that
// activation's derivative to its own, smaller gradient and sums the previous
// layer's bias gradient. Checked against the unfused backward (which the
// per-layer finite-difference tests cover) and by finite differences of the
// loss itself, on both backends.

import { expect } from 'chai';
import { Activation, Conv2D, Dense, Flatten, MaxPool2D, Network, Tensor, getBackend, getLoss } from '../lib/index.js';
import type { Layer } from '../lib/layers/layer.js';
import { expectClose, forEachBackend, randomTensor } from './helpers.js';

type Build = () => Network;

const CLASSES = 4;

function head(net: Network, flat: number): Network {
  return net.add(new Flatten()).add(new Dense(flat, CLASSES)).add(new Activation('softmax')).use('categoricalCrossEntropy');
}

/**
 * Networks whose conv → pool pairs fuse, at awkward sizes (9×9 input, 3, 5 and
 * 16 channels, an odd last row, overlapping windows). The first and last start
 * with a 16-filter conv followed by a non-overlapping pool: the pairing whose
 * filter gradient comes from the pool's winners (Conv2D.takesPooled).
 */
const FUSED: Array<[string, Build]> = [
  ['Conv2D(relu) → MaxPool2D 2×2', () => head(new Network({ seed: 3 })
    .add(new Conv2D({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [9, 9, 1] }))
    .add(new MaxPool2D({ poolSize: 2 })), 4 * 4 * 16)],
  ['Conv2D(tanh) → MaxPool2D 3×3 stride 1 same', () => head(new Network({ seed: 4 })
    .add(new Conv2D({ filters: 5, kernelSize: 2, activation: 'tanh', inputShape: [9, 9, 2] }))
    .add(new MaxPool2D({ poolSize: 3, strides: 1, padding: 'same' })), 8 * 8 * 5)],
  ['Conv2D → Activation(leakyRelu) → MaxPool2D', () => head(new Network({ seed: 5 })
    .add(new Conv2D({ filters: 3, kernelSize: 3, inputShape: [9, 9, 1] }))
    .add(new Activation('leakyRelu', { alpha: 0.1 }))
    .add(new MaxPool2D({ poolSize: 2 })), 3 * 3 * 3)],
  ['Conv2D(sigmoid) → MaxPool2D → Conv2D(relu) → MaxPool2D', () => head(new Network({ seed: 6 })
    .add(new Conv2D({ filters: 16, kernelSize: 3, padding: 'same', activation: 'sigmoid', inputShape: [9, 9, 1] }))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Conv2D({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' }))
    .add(new MaxPool2D({ poolSize: 2 })), 2 * 2 * 5)],
];

/** How often `run` calls the pooled filter gradient and the pool's own backward (activation fused). */
async function pooledKernelCalls(run: () => Promise<unknown>): Promise<{ conv2dBackwardFilterPooled: number; maxPool2dBackwardActivation: number }> {
  const backend = getBackend() as unknown as Record<string, (...args: unknown[]) => unknown>;
  const calls = { conv2dBackwardFilterPooled: 0, maxPool2dBackwardActivation: 0 };
  const originals = { ...backend };
  for (const name of Object.keys(calls) as (keyof typeof calls)[]) {
    backend[name] = (...args: unknown[]) => { calls[name]++; return originals[name](...args); };
  }
  try {
    await run();
  } finally {
    for (const name of Object.keys(calls)) backend[name] = originals[name];
  }
  return calls;
}

function data(net: Network, samples: number, seed: number): [Tensor, Tensor] {
  const shape = net.layers[0].inputShape!;
  const x = randomTensor([samples, ...shape], seed);
  const y = Tensor.zeros([samples, CLASSES]);
  for (let i = 0; i < samples; i++) y.data[i * CLASSES + ((i * 7) % CLASSES)] = 1;
  return [x, y];
}

/** Gradients of every parameter after the unfused backward of one batch (what layer-by-layer calls compute). */
function unfusedGradients(net: Network, x: Tensor, y: Tensor): Float32Array[] {
  const out = net.forward(x, true);
  const grad = getLoss('categoricalCrossEntropy').softmaxGradient!(y, out, Tensor.zeros(out.shape));
  net.backward(grad, undefined, net.layers.length - 2);
  return net.parameters().map((p) => p.grad.data.slice());
}

/** One fit step on the whole batch with learning rate 0: the weights stay, the fused gradients are left in the layers. */
async function fusedGradients(net: Network, x: Tensor, y: Tensor, seen: (layers: Layer[]) => void): Promise<Float32Array[]> {
  await net.fit(x, y, {
    epochs: 1, batchSize: x.shape[0], shuffle: false, optimizer: 'sgd', learningRate: 0,
    onBatchEnd: () => seen(net.layers),
  });
  return net.parameters().map((p) => p.grad.data.slice());
}

forEachBackend('backward fusion in fit', () => {
  for (const [label, build] of FUSED) {
    for (const samples of [1, 3, 17]) {
      it(`gives the unfused gradients of every parameter: ${label}, batch ${samples}`, async () => {
        const net = build();
        const [x, y] = data(net, samples, samples);
        let fusedPairs = 0;
        const fused = await fusedGradients(net, x, y, (layers) => {
          fusedPairs = layers.filter((l) => l.fusionWithNext !== undefined).length;
        });
        // Every layer before a MaxPool2D was fused while fit ran, and none is after it.
        expect(fusedPairs).to.equal(net.layers.filter((l) => l instanceof MaxPool2D).length);
        expect(net.layers.every((l) => l.fusionWithNext === undefined)).to.equal(true);
        const plain = unfusedGradients(build(), x, y);
        fused.forEach((g, i) => expectClose(g, plain[i], { rtol: 1e-4, atol: 1e-6, what: `parameter ${i} (${net.parameters()[i].name})` }));
        expect(fused.some((g) => g.some((v) => v !== 0))).to.equal(true);
      });
    }
  }

  it('the conv bias gradient the pool sums matches finite differences of the loss', async () => {
    const net = FUSED[1][1]();
    const [x, y] = data(net, 5, 11);
    const fused = await fusedGradients(net, x, y, () => {});
    const conv = net.layers[0] as Conv2D;
    const loss = getLoss('categoricalCrossEntropy');
    const bias = conv.bias.data;
    const h = 1e-2;
    for (let k = 0; k < bias.length; k++) {
      const at = bias[k];
      bias[k] = at + h;
      const up = loss.value(y, net.forward(x));
      bias[k] = at - h;
      const down = loss.value(y, net.forward(x));
      bias[k] = at;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(numeric - fused[1][k]), `bias ${k}: ${numeric} vs ${fused[1][k]}`).to.be.below(2e-3 + 2e-2 * Math.abs(numeric));
    }
  });

  it('a leakyRelu with a negative slope is not fused (its derivative does not follow from its output)', async () => {
    const net = head(new Network({ seed: 8 })
      .add(new Conv2D({ filters: 3, kernelSize: 3, activation: 'leakyRelu', inputShape: [8, 8, 1] }))
      .add(new Activation('leakyRelu', { alpha: -0.5 }))
      .add(new MaxPool2D({ poolSize: 2 })), 3 * 3 * 3);
    const [x, y] = data(net, 6, 2);
    let fusedPairs = -1;
    const fused = await fusedGradients(net, x, y, (layers) => {
      fusedPairs = layers.filter((l) => l.fusionWithNext !== undefined).length;
    });
    expect(fusedPairs).to.equal(0);
    const rebuilt = head(new Network({ seed: 8 })
      .add(new Conv2D({ filters: 3, kernelSize: 3, activation: 'leakyRelu', inputShape: [8, 8, 1] }))
      .add(new Activation('leakyRelu', { alpha: -0.5 }))
      .add(new MaxPool2D({ poolSize: 2 })), 3 * 3 * 3);
    const plain = unfusedGradients(rebuilt, x, y);
    fused.forEach((g, i) => expectClose(g, plain[i], { rtol: 1e-5, atol: 1e-7, what: `parameter ${i}` }));
  });

  it('a first Conv2D takes its filter gradient from the pool\'s winners; a later one gets the written input gradient', async () => {
    // FUSED[3]: Conv2D → MaxPool2D → Conv2D → MaxPool2D. Only the first conv passes no input gradient on.
    const net = FUSED[3][1]();
    const [x, y] = data(net, 12, 4);
    const calls = await pooledKernelCalls(() => net.fit(x, y, { epochs: 1, batchSize: 4, optimizer: 'sgd', learningRate: 0.1 }));
    expect(calls).to.deep.equal({ conv2dBackwardFilterPooled: 3, maxPool2dBackwardActivation: 3 });
  });

  it('a first Conv2D with a filter count not a multiple of 16 gets the written input gradient', async () => {
    // FUSED[2]'s pool follows an Activation layer; FUSED[0] rebuilt with 8 filters pairs conv and pool directly.
    const net = head(new Network({ seed: 3 })
      .add(new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [9, 9, 1] }))
      .add(new MaxPool2D({ poolSize: 2 })), 4 * 4 * 8);
    const [x, y] = data(net, 8, 4);
    const calls = await pooledKernelCalls(() => net.fit(x, y, { epochs: 1, batchSize: 4, optimizer: 'sgd', learningRate: 0.1 }));
    // Two batches: the pool still applies the activation's derivative, and writes ∂E/∂X.
    expect(calls).to.deep.equal({ conv2dBackwardFilterPooled: 0, maxPool2dBackwardActivation: 2 });
  });

  it('the same seed gives bit-identical weights with fusion on', async () => {
    const run = async (): Promise<Float32Array[]> => {
      const net = FUSED[3][1]();
      const [x, y] = data(net, 45, 9);
      await net.fit(x, y, { epochs: 2, batchSize: 8, optimizer: 'adam', learningRate: 0.01, seed: 2 });
      return net.parameters().map((p) => p.value.data.slice());
    };
    const [a, b] = [await run(), await run()];
    a.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(b[i].buffer)), `parameter ${i}`).to.equal(true));
  });
});
