// The JavaScript peers of bench:peers --js-peers: TensorFlow.js (pure-JS CPU
// and WASM SIMD backends; the .wasm files load from node_modules, nothing is
// fetched at run time) and ConvNetJS, training the same two small networks.
// They live in this folder's own package.json (`npm --prefix benchmarks/peers
// ci`), so layerwise never depends on them.

import * as path from 'node:path';
import { BATCH_SIZE, LEARNING_RATE, type Datasets } from '../epoch-common.js';

/** What one training run reports: the seconds for `batches` batches, and test accuracy after a whole epoch. */
export interface Run { seconds: number; batches: number; testAccuracy?: number }

/** The networks the JS peers can build (not the npm-start CNN). */
export type SmallModel = 'mlp' | 'cnn';

export interface Peer<M extends string = string> {
  framework: string;
  backend: string;
  /** Trains a fresh model on the first `batches` batches of shuffled data, or on all of it. */
  train(model: M, batches?: number): Promise<Run>;
}

// ---- TensorFlow.js -------------------------------------------------------
// The peers are optional and absent when `npm run typecheck` runs on a clean
// clone, so they are loaded with require() and used untyped rather than
// imported with their types.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Tf = any;

export function loadTf(): Tf {
  const tf = require('@tensorflow/tfjs') as Tf;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as Tf;
  // A local directory (trailing slash required): the backend reads the
  // .wasm files shipped in the npm package instead of fetching them.
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
  return tf;
}

function buildTfModel(tf: Tf, model: SmallModel): Tf {
  const net = tf.sequential();
  if (model === 'mlp') {
    net.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }));
  } else {
    net.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, padding: 'valid', activation: 'relu' }));
    net.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    net.add(tf.layers.flatten());
  }
  net.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  net.compile({ optimizer: tf.train.sgd(LEARNING_RATE[model]), loss: 'sparseCategoricalCrossentropy' });
  return net;
}

export function tfPeer(tf: Tf, backend: 'cpu' | 'wasm', data: Datasets): Peer<SmallModel> {
  return {
    framework: `TensorFlow.js ${tf.version.tfjs}`,
    backend: backend === 'cpu' ? 'cpu (pure JS)' : 'wasm SIMD, 1 thread',
    async train(model, batches) {
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialise`);
      const set = model === 'mlp' ? data.flat : data.images;
      const used = batches === undefined ? set.xTrain.shape[0] : batches * BATCH_SIZE;
      const shape = model === 'mlp' ? [784] : [28, 28, 1];
      const x = tf.tensor(set.xTrain.data.subarray(0, used * 784), [used, ...shape]);
      const y = tf.tensor(set.yTrain.data.subarray(0, used), [used, 1]);
      const net = buildTfModel(tf, model);
      try {
        const t0 = performance.now();
        await net.fit(x, y, { batchSize: BATCH_SIZE, epochs: 1, shuffle: true, verbose: 0 });
        const seconds = (performance.now() - t0) / 1000;
        let testAccuracy: number | undefined;
        if (batches === undefined) {
          const xTest = tf.tensor(set.xTest.data, [set.xTest.shape[0], ...shape]);
          const predicted: Int32Array = tf.tidy(() => net.predict(xTest, { batchSize: 256 }).argMax(-1).dataSync());
          xTest.dispose();
          testAccuracy = accuracy(predicted, set.yTest.data);
        }
        return { seconds, batches: Math.ceil(used / BATCH_SIZE), testAccuracy };
      } finally {
        net.dispose();
        x.dispose();
        y.dispose();
      }
    },
  };
}

// ---- ConvNetJS ------------------------------------------------------------
// Trains one sample at a time; its Trainer sums gradients over batch_size
// samples and divides by it before the step, which is SGD on the batch mean.
// Its volumes are laid out [y][x][depth], so a 28×28×1 image copies in as is.

export function convnetPeer(data: Datasets): Peer<SmallModel> {
  const convnetjs = require('convnetjs') as Tf;
  const layers = (model: SmallModel): object[] => model === 'mlp'
    ? [
      { type: 'input', out_sx: 1, out_sy: 1, out_depth: 784 },
      { type: 'fc', num_neurons: 128, activation: 'relu' },
      { type: 'softmax', num_classes: 10 }, // adds the fc 128 → 10 before the softmax itself
    ]
    : [
      { type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 },
      { type: 'conv', sx: 3, filters: 8, stride: 1, pad: 0, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'softmax', num_classes: 10 },
    ];
  const toVol = (model: SmallModel, pixels: Float32Array): Tf => {
    const v = model === 'mlp' ? new convnetjs.Vol(1, 1, 784, 0) : new convnetjs.Vol(28, 28, 1, 0);
    v.w.set(pixels);
    return v;
  };
  return {
    framework: 'ConvNetJS 0.3',
    backend: 'JS (Float64), per sample',
    async train(model, batches) {
      const set = model === 'mlp' ? data.flat : data.images;
      const used = batches === undefined ? set.xTrain.shape[0] : batches * BATCH_SIZE;
      const net = new convnetjs.Net();
      net.makeLayers(layers(model));
      const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: LEARNING_RATE[model], batch_size: BATCH_SIZE, momentum: 0, l2_decay: 0 });
      const order = convnetjs.randperm(used) as number[];
      const pixels = set.xTrain.data, labels = set.yTrain.data;
      const t0 = performance.now();
      // Building each sample's volume is part of ConvNetJS's data path, so it is timed too.
      for (const i of order) trainer.train(toVol(model, pixels.subarray(i * 784, (i + 1) * 784)), labels[i]);
      const seconds = (performance.now() - t0) / 1000;
      let testAccuracy: number | undefined;
      if (batches === undefined) {
        const n = set.xTest.shape[0];
        const predicted = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          net.forward(toVol(model, set.xTest.data.subarray(i * 784, (i + 1) * 784)), false);
          predicted[i] = net.getPrediction();
        }
        testAccuracy = accuracy(predicted, set.yTest.data);
      }
      return { seconds, batches: Math.ceil(used / BATCH_SIZE), testAccuracy };
    },
  };
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}
