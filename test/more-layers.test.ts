// GlobalAveragePooling2D, GlobalMaxPooling2D, Reshape, RandomFlip and
// RandomTranslation: forward values, finite-difference gradients, native vs js
// at awkward sizes, save/load, seeded augmentation, and option errors.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Adam, Conv2D, Dense, GlobalAveragePooling2D, GlobalMaxPooling2D, Network, networkFromSpec, OptionError, RandomFlip, RandomTranslation, Reshape, Rng,
  ShapeError, Tensor, type Layer,
} from '../lib/index.js';
import { checkLayerGradients, expectClose, expectSameOnBackends, forEachBackend, randomTensor, thrown } from './helpers.js';

/** Distinct values a finite-difference step of 1e-2 cannot reorder (max pooling's winner stays put). */
function spreadTensor(shape: number[], seed: number): Tensor {
  const t = Tensor.zeros(shape);
  const rng = new Rng(seed);
  const order = Array.from({ length: t.size }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  order.forEach((rank, i) => { t.data[i] = (rank - t.size / 2) * 0.05; });
  return t;
}

/** An augmentation layer whose generator restarts from `seed` before every forward pass (the same transform each time). */
const fixedDraws = (layer: Layer, seed = 5) => ({ training: true, beforeForward: () => layer.setRandomSource(new Rng(seed)) });

const AWKWARD = [1, 3, 17, 129];

forEachBackend('more layers', () => {
  describe('GlobalAveragePooling2D and GlobalMaxPooling2D', () => {
    it('reduce each channel of each image to its mean or maximum', () => {
      // Two 2×2 images with 2 channels: channel 0 holds 1..4 / 5..8, channel 1 their negatives.
      const x = new Tensor(Float32Array.from([1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -8]), [2, 2, 2, 2]);
      const avg = new GlobalAveragePooling2D().forward(x);
      expect(avg.shape).to.deep.equal([2, 2]);
      expectClose(avg.data, [2.5, -2.5, 6.5, -6.5]);
      const max = new GlobalMaxPooling2D().forward(x);
      expectClose(max.data, [4, -1, 8, -5]);
    });

    it('the max gradient goes to the winner only, the average gradient is shared evenly', () => {
      const x = new Tensor(Float32Array.from([1, 9, 3, 2]), [1, 2, 2, 1]);
      const max = new GlobalMaxPooling2D();
      max.forward(x);
      expect(Array.from(max.backward(new Tensor(Float32Array.of(2), [1, 1])).data)).to.deep.equal([0, 2, 0, 0]);
      const avg = new GlobalAveragePooling2D();
      avg.forward(x);
      expectClose(avg.backward(new Tensor(Float32Array.of(2), [1, 1])).data, [0.5, 0.5, 0.5, 0.5]);
    });

    for (const shape of [[1, 1, 1, 1], [2, 3, 4, 5], [3, 5, 2, 1]]) {
      it(`gradients match finite differences on ${JSON.stringify(shape)}`, () => {
        checkLayerGradients(new GlobalAveragePooling2D(), randomTensor(shape, 3));
        checkLayerGradients(new GlobalMaxPooling2D(), spreadTensor(shape, 4));
      });
    }

    it('build gives [channels]; a rank other than 4 is a ShapeError naming the layer', () => {
      expect(new GlobalMaxPooling2D().build([5, 6, 7])).to.deep.equal([7]);
      expect(() => new GlobalAveragePooling2D().build([5, 6])).to.throw(ShapeError, 'GlobalAveragePooling2D expected input [h,w,channels] but got [5,6]');
      expect(() => new GlobalMaxPooling2D().forward(Tensor.zeros([2, 3]))).to.throw(ShapeError, 'expected [n,h,w,channels] for GlobalMaxPooling2D input but got [2,3]');
    });
  });

  describe('Reshape', () => {
    it('is a view of the same values, with one size inferred', () => {
      const x = randomTensor([2, 3, 4], 1);
      const y = new Reshape([2, -1, 3]).forward(x);
      expect(y.shape).to.deep.equal([2, 2, 2, 3]);
      expect(y.data).to.equal(x.data);
    });

    for (const [shape, target] of [[[1, 1], [1]], [[2, 3, 4], [4, 3]], [[3, 6], [-1, 2, 1]]] as const) {
      it(`gradients match finite differences: ${JSON.stringify(shape)} → ${JSON.stringify(target)}`, () => {
        checkLayerGradients(new Reshape([...target]), randomTensor([...shape], 2));
      });
    }

    it('a target whose size does not match is a ShapeError naming Reshape and both shapes', () => {
      expect(() => new Reshape([5]).forward(Tensor.zeros([2, 6]))).to.throw(ShapeError, 'Reshape cannot give a sample of shape [6] (6 values) the shape [5]');
      expect(() => new Reshape([4, -1]).forward(Tensor.zeros([2, 6]))).to.throw(ShapeError, '(6 is not a multiple of 4)');
      expect(() => new Network().add(new Dense(3, 6)).add(new Reshape([7]))).to.throw(ShapeError, /layer 1 \(Reshape\).*\[7\]/);
      expect(() => new Reshape([7], { inputShape: [6] })).to.throw(ShapeError, 'Reshape cannot give a sample of shape [6]');
    });
  });

  describe('RandomFlip and RandomTranslation', () => {
    const x = randomTensor([4, 5, 6, 2], 8);

    it('are the identity at inference', () => {
      for (const layer of [new RandomFlip({ seed: 1 }), new RandomTranslation({ height: 0.5, width: 0.5, seed: 1 })]) {
        expect(Array.from(layer.forward(x).data)).to.deep.equal(Array.from(x.data));
        const dy = randomTensor(x.shape as number[], 2);
        expect(Array.from(layer.backward(dy).data)).to.deep.equal(Array.from(dy.data));
      }
    });

    it('RandomFlip mirrors whole images along the axes its mode names', () => {
      const img = new Tensor(Float32Array.from({ length: 6 }, (_, i) => i), [1, 2, 3, 1]); // rows [0 1 2] [3 4 5]
      const seen = (mode: 'horizontal' | 'vertical' | 'horizontal_and_vertical') => {
        const layer = new RandomFlip({ mode, seed: 3 });
        const results = new Set<string>();
        for (let i = 0; i < 40; i++) results.add(Array.from(layer.forward(img, true).data).join(','));
        return [...results].sort();
      };
      expect(seen('horizontal')).to.deep.equal(['0,1,2,3,4,5', '2,1,0,5,4,3']);
      expect(seen('vertical')).to.deep.equal(['0,1,2,3,4,5', '3,4,5,0,1,2']);
      expect(seen('horizontal_and_vertical')).to.deep.equal(['0,1,2,3,4,5', '2,1,0,5,4,3', '3,4,5,0,1,2', '5,4,3,2,1,0']);
    });

    it('RandomTranslation shifts whole images by at most the fractions, filling with zeros', () => {
      const img = new Tensor(Float32Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
      const layer = new RandomTranslation({ height: 0.5, width: 0.25, seed: 4 });
      let moved = 0;
      for (let t = 0; t < 30; t++) {
        const y = layer.forward(img, true).data;
        // Find the shift: the output must be the input moved by (dy, dx) with |dy| ≤ 2, |dx| ≤ 1.
        const match = [-2, -1, 0, 1, 2].flatMap((dy) => [-1, 0, 1].map((dx) => [dy, dx])).find(([dy, dx]) => {
          for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
            const si = i - dy, sj = j - dx;
            const expected = si >= 0 && si < 4 && sj >= 0 && sj < 4 ? img.data[si * 4 + sj] : 0;
            if (y[i * 4 + j] !== expected) return false;
          }
          return true;
        });
        expect(match, `output ${Array.from(y)} is no shift within the bounds`).to.not.equal(undefined);
        if (match![0] !== 0 || match![1] !== 0) moved++;
      }
      expect(moved).to.be.greaterThan(10);
    });

    for (const mode of ['horizontal', 'vertical', 'horizontal_and_vertical'] as const) {
      it(`RandomFlip (${mode}) passes gradients back through the same flip (finite differences)`, () => {
        const layer = new RandomFlip({ mode });
        checkLayerGradients(layer, randomTensor([3, 3, 4, 2], 6), fixedDraws(layer));
      });
    }

    it('RandomTranslation passes gradients back through the inverse shift (finite differences)', () => {
      const layer = new RandomTranslation({ height: 0.4, width: 0.6 });
      checkLayerGradients(layer, randomTensor([4, 5, 4, 2], 7), fixedDraws(layer, 9));
    });

    it('the same seed gives the same augmentations, another seed others', () => {
      const run = (seed: number) => {
        const flip = new RandomFlip({ seed }), shift = new RandomTranslation({ height: 0.3, width: 0.3, seed });
        return [0, 1, 2].map(() => Array.from(shift.forward(flip.forward(x, true), true).data).join(',')).join(';');
      };
      expect(run(11)).to.equal(run(11));
      expect(run(11)).to.not.equal(run(12));
    });

    it('a fit with augmentation is bit-identical for the same seed (layer seed or network seed) and differs for another', async () => {
      const train = async (netSeed: number, layerSeed?: number) => {
        const net = new Network({ seed: netSeed })
          .add(new Conv2D({ filters: 3, kernelSize: 3, inputShape: [5, 6, 2], activation: 'relu' }))
          .add(new RandomFlip({ seed: layerSeed }))
          .add(new RandomTranslation({ height: 0.3, width: 0.3, seed: layerSeed }))
          .add(new GlobalAveragePooling2D()).add(new Dense(3, 2)).use('mse');
        await net.fit(x, randomTensor([4, 2], 3), { epochs: 2, batchSize: 2, optimizer: 'sgd', learningRate: 0.1 });
        return net.getWeights().map((w) => Array.from(w).join(',')).join(';');
      };
      expect(await train(1)).to.equal(await train(1));
      expect(await train(1)).to.not.equal(await train(2));
      // A layer seed fixes the augmentations whatever the network's seed: only initial weights differ then.
      expect(await train(1, 5)).to.equal(await train(1, 5));
      expect(await train(1, 5)).to.not.equal(await train(1, 6));
    });

    it('an interrupted fit resumes to the same weights as an uninterrupted one (the augmentation streams are part of the resume state)', async () => {
      const build = () => new Network({ seed: 3 })
        .add(new RandomFlip({ inputShape: [5, 6, 2], seed: 4 })).add(new RandomTranslation({ height: 0.4, width: 0.4 }))
        .add(new Conv2D({ filters: 2, kernelSize: 3 })).add(new GlobalMaxPooling2D()).add(new Dense(2)).use('mse');
      const y = randomTensor([4, 2], 5);
      const options = { epochs: 3, batchSize: 1 };
      const whole = build();
      await whole.fit(x, y, { ...options, optimizer: new Adam({ learningRate: 0.05 }) });
      const net = build();
      const optimizer = new Adam({ learningRate: 0.05 });
      const controller = new AbortController();
      const first = await net.fit(x, y, {
        ...options, optimizer, signal: controller.signal, onBatchEnd: (batch, logs) => { if (logs.epoch === 2 && batch === 2) controller.abort(); },
      });
      expect(first.interrupted).to.include({ epoch: 2, batch: 2 });
      await net.fit(x, y, { ...options, optimizer, resume: first.interrupted });
      expect(net.getWeights()).to.deep.equal(whole.getWeights());
    });

    it('bad options are OptionErrors naming the layer and the option', () => {
      expect(thrown(() => new RandomFlip({ mode: 'diagonal' as never })).message)
        .to.equal("expected one of 'horizontal', 'vertical', 'horizontal_and_vertical' for RandomFlip mode but got string 'diagonal'");
      expect(() => new RandomTranslation({ height: 1, width: 0.1 })).to.throw(OptionError, 'expected a fraction in [0, 1) for RandomTranslation height but got number 1');
      expect(() => new RandomTranslation({ height: 0.1, width: -0.2 })).to.throw(OptionError, 'for RandomTranslation width but got number -0.2');
      expect(() => new RandomTranslation({ height: 0.1, width: 0.1, fill: 'reflect' as never })).to.throw(OptionError, "expected 'zeros' for RandomTranslation fill");
      expect(() => new RandomFlip({ mod: 'horizontal' } as never)).to.throw(OptionError, "unknown option 'mod' in RandomFlip options (did you mean 'mode'?)");
      expect(() => new RandomTranslation({ height: 0.1, widht: 0.1 } as never)).to.throw(OptionError, "unknown option 'widht' in RandomTranslation options (did you mean 'width'?)");
      expect(() => new RandomFlip({ seed: 1.5 })).to.throw(OptionError, 'RandomFlip seed');
      expect(() => new Reshape([2, -1, -1])).to.throw(OptionError, 'Reshape targetShape [2,-1,-1] has more than one -1');
      expect(() => new Reshape([0, 3])).to.throw(OptionError, 'for Reshape targetShape');
      expect(() => new Reshape([3], { inputShap: [3] } as never)).to.throw(OptionError, "did you mean 'inputShape'?");
      expect(() => new GlobalMaxPooling2D({ inputshape: [2, 2, 1] } as never)).to.throw(OptionError, "unknown option 'inputshape' in GlobalMaxPooling2D options (did you mean 'inputShape'?)");
      // The same checks reach spec files, with the layer's index and type.
      expect(() => networkFromSpec({ layers: [{ type: 'RandomFlip', mdoe: 'vertical' } as never] }))
        .to.throw(OptionError, "unknown option 'mdoe' in network spec: layer 0 (RandomFlip) (did you mean 'mode'?)");
      expect(() => networkFromSpec({ layers: [{ type: 'RandomTranslation', height: 2, width: 0 }] }))
        .to.throw(OptionError, 'layer 0 (RandomTranslation): expected a fraction in [0, 1) for RandomTranslation height but got number 2');
    });
  });

  describe('in a network', () => {
    const build = () => new Network({ seed: 4 })
      .add(new Reshape([6, 6, 2], { inputShape: [72] }))
      .add(new RandomFlip({ mode: 'horizontal', seed: 2 }))
      .add(new RandomTranslation({ height: 0.2, width: 0.2 }))
      .add(new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu' }))
      .add(new GlobalMaxPooling2D())
      .add(new Reshape([2, 2]))
      .add(new Reshape([-1]))
      .add(new Dense(3))
      .use('mse');

    it('an augmentation layer first in a network fixes every shape with inputShape', () => {
      const net = new Network().add(new RandomFlip({ inputShape: [4, 4, 1] })).add(new RandomTranslation({ height: 0.1, width: 0.1 }))
        .add(new Conv2D({ filters: 2, kernelSize: 3 })).add(new GlobalAveragePooling2D());
      expect(net.summary().layers.map((l) => l.outputShape)).to.deep.equal([[null, 4, 4, 1], [null, 4, 4, 1], [null, 2, 2, 2], [null, 2]]);
      expect(net.layers[0].getConfig()).to.deep.equal({ type: 'RandomFlip', mode: 'horizontal_and_vertical', inputShape: [4, 4, 1] });
      expect(() => new RandomTranslation({ height: 0.1, width: 0.1, inputShape: [4, 4] as never }))
        .to.throw(OptionError, 'expected [h, w, channels] of positive integers for RandomTranslation inputShape but got');
    });

    it('summary() lists each layer with its output shape', () => {
      const rows = build().summary().layers.map((l) => [l.type, l.outputShape, l.params]);
      expect(rows).to.deep.equal([
        ['Reshape', [null, 6, 6, 2], 0], ['RandomFlip', [null, 6, 6, 2], 0], ['RandomTranslation', [null, 6, 6, 2], 0],
        ['Conv2D', [null, 4, 4, 4], 76], ['GlobalMaxPooling2D', [null, 4], 0], ['Reshape', [null, 2, 2], 0], ['Reshape', [null, 4], 0], ['Dense', [null, 3], 15],
      ]);
      const avg = new Network().add(new Conv2D({ filters: 5, kernelSize: 1, inputShape: [3, 3, 2] })).add(new GlobalAveragePooling2D()).summary();
      expect(avg.layers[1]).to.include({ type: 'GlobalAveragePooling2D', params: 0 });
      expect(avg.layers[1].outputShape).to.deep.equal([null, 5]);
    });

    it('save/load, toBuffer and toSpec round-trip bit-identically after training', async () => {
      const net = build();
      const x = randomTensor([6, 72], 1);
      await net.fit(x, randomTensor([6, 3], 2), { epochs: 2, batchSize: 3, optimizer: 'adam', learningRate: 0.01 });
      const expected = Array.from(net.predict(x).data);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-more-layers-'));
      try {
        await net.save(dir);
        const loaded = await Network.load(dir);
        expect(Array.from(loaded.predict(x).data)).to.deep.equal(expected);
        expect(loaded.layers.map((l) => l.getConfig())).to.deep.equal(net.layers.map((l) => l.getConfig()));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect(Array.from(Network.fromBuffer(net.toBuffer()).predict(x).data)).to.deep.equal(expected);
      const rebuilt = networkFromSpec(JSON.parse(JSON.stringify(net.toSpec())));
      expect(rebuilt.layers.map((l) => l.getConfig())).to.deep.equal(net.layers.map((l) => l.getConfig()));
      rebuilt.setWeights(net.getWeights());
      expect(Array.from(rebuilt.predict(x).data)).to.deep.equal(expected);
    });
  });
});

describe('more layers: native vs js at awkward sizes', () => {
  for (const s of AWKWARD) {
    it(`global pooling, Reshape, RandomFlip and RandomTranslation on images of side ${s}`, () => {
      for (const shape of [[2, s, 3, 5], [s, 2, s, 3], [3, 1, 1, s]]) {
        const x = randomTensor(shape, s);
        expectSameOnBackends(() => new GlobalAveragePooling2D(), x, { tol: 1e-6 });
        expectSameOnBackends(() => new GlobalMaxPooling2D(), x, { tol: 0 });
        expectSameOnBackends(() => new Reshape([-1, shape[3]]), x, { tol: 0 });
        expectSameOnBackends(() => new RandomFlip({ seed: s }), x, { training: true, tol: 0 });
        expectSameOnBackends(() => new RandomTranslation({ height: 0.5, width: 0.5, seed: s }), x, { training: true, tol: 0 });
      }
    });
  }
});
