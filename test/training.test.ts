// Training with mini-batches: optimizers, losses, metrics, validation,
// callbacks, early stopping and seeded determinism.

import { expect } from 'chai';
import {
  DataError, OptionError,
  Activation, Adam, BatchNormalization, Conv2D, Dense, Dropout, EarlyStopping, Flatten, MaxPool2D, Network, RestoreBestWeights, RMSprop, SGD,
  binaryCrossEntropy, categoricalCrossEntropy, getOptimizer, loadNetwork, mse, sparseCategoricalCrossEntropy, Tensor, tensor,
  Layer, type LayerConfig, type Loss,
} from '../lib/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectClose, expectReject, forEachBackend, randomTensor } from './helpers.js';

/** Two Gaussian-ish blobs per class in 2-D: linearly separable enough for a small net. */
function blobs(samples: number, classes: number, seed: number): { x: Tensor; labels: Tensor; oneHot: Tensor } {
  const noise = randomTensor([samples, 2], seed, -0.4, 0.4);
  const x = Tensor.zeros([samples, 2]);
  const labels = Tensor.zeros([samples]);
  const oneHot = Tensor.zeros([samples, classes]);
  for (let i = 0; i < samples; i++) {
    const c = i % classes;
    const angle = (2 * Math.PI * c) / classes;
    x.data[i * 2] = Math.cos(angle) + noise.data[i * 2];
    x.data[i * 2 + 1] = Math.sin(angle) + noise.data[i * 2 + 1];
    labels.data[i] = c;
    oneHot.data[i * classes + c] = 1;
  }
  return { x, labels, oneHot };
}

function classifier(seed: number, classes = 3): Network {
  return new Network({ seed })
    .add(new Dense(2, 16, { activation: 'relu' }))
    .add(new Dense(16, classes))
    .add(new Activation('softmax'));
}

function weightsOf(net: Network): number[][] {
  return net.getWeights().map((w) => Array.from(w));
}

forEachBackend('training', () => {
  it('each optimizer learns a 3-class problem with mini-batches and reports accuracy', async () => {
    const { x, labels } = blobs(300, 3, 1);
    for (const optimizer of ['sgd', { name: 'sgd', momentum: 0.9, nesterov: true }, 'adam', 'rmsprop'] as const) {
      const net = classifier(2);
      const lr = optimizer === 'sgd' ? 0.5 : optimizer === 'adam' || optimizer === 'rmsprop' ? 0.02 : 0.1;
      const history = await net.fit(x, labels, { epochs: 15, batchSize: 16, optimizer, learningRate: lr, loss: 'sparseCategoricalCrossEntropy' });
      const label = JSON.stringify(optimizer);
      expect(history.loss, label).to.have.length(15);
      expect(history.loss.at(-1)!, label).to.be.below(history.loss[0]);
      expect(history.accuracy!.at(-1)!, label).to.be.above(0.9);
      const evaluation = net.evaluate(x, labels, { loss: 'sparseCategoricalCrossEntropy' });
      expect(evaluation.accuracy!, label).to.be.above(0.9);
    }
  });

  it('one-hot targets with categoricalCrossEntropy train the same way', async () => {
    const { x, oneHot } = blobs(240, 4, 3);
    const net = classifier(4, 4).use(categoricalCrossEntropy);
    const history = await net.fit(x, oneHot, { epochs: 20, optimizer: 'adam', learningRate: 0.02 });
    expect(history.accuracy!.at(-1)!).to.be.above(0.9);
  });

  it('binary cross-entropy with a sigmoid output and the binary accuracy metric', async () => {
    const { x, labels } = blobs(200, 2, 5);
    const y = labels.reshape([200, 1]);
    const net = new Network({ seed: 1 }).add(new Dense(2, 8, { activation: 'tanh' })).add(new Dense(8, 1, { activation: 'sigmoid' }));
    const history = await net.fit(x, y, { epochs: 20, loss: binaryCrossEntropy, optimizer: 'adam', learningRate: 0.05, metrics: ['accuracy'] });
    expect(history.accuracy!.at(-1)!).to.be.above(0.9);
  });

  it('the same seed gives bit-identical weights and history; another seed does not', async () => {
    const { x, labels } = blobs(120, 3, 7);
    const run = async (seed: number) => {
      const net = new Network({ seed })
        .add(new Dense(2, 12, { activation: 'relu', kernelInitializer: 'heNormal' }))
        .add(new Dropout(0.3))
        .add(new Dense(12, 3))
        .add(new Activation('softmax'));
      const history = await net.fit(x, labels, { epochs: 3, batchSize: 8, optimizer: 'adam', loss: 'sparseCategoricalCrossEntropy' });
      return { history, weights: weightsOf(net) };
    };
    const a = await run(11), b = await run(11), c = await run(12);
    expect(b.weights).to.deep.equal(a.weights);
    expect(b.history.loss).to.deep.equal(a.history.loss);
    expect(c.weights).to.not.deep.equal(a.weights);
  });

  it('a predict inside onBatchEnd leaves Dropout on for the rest of the fit (training mode is per call)', async () => {
    const { x, labels } = blobs(120, 3, 7);
    const run = async (peek: boolean) => {
      const net = new Network({ seed: 11 })
        .add(new Dense(2, 12, { activation: 'relu' })).add(new Dropout(0.3)).add(new Dense(12, 3)).add(new Activation('softmax'));
      const outputs: number[][] = [];
      await net.fit(x, labels, {
        epochs: 2, batchSize: 8, optimizer: 'adam', loss: 'sparseCategoricalCrossEntropy',
        onBatchEnd: peek ? () => { outputs.push(Array.from(net.predict(x.slice(0, 2)).data)); } : undefined,
      });
      return { weights: weightsOf(net), outputs };
    };
    const plain = await run(false), peeking = await run(true);
    expect(peeking.weights).to.deep.equal(plain.weights);
    // The callback really ran after every batch of both epochs.
    expect(peeking.outputs.length).to.equal(30);
  });

  it('fit({ seed }) changes the order and dropout but not the initial weights', async () => {
    const { x, labels } = blobs(60, 3, 8);
    const train = async (seed?: number) => {
      const net = classifier(5).add(new Dropout(0.2));
      const before = weightsOf(net);
      await net.fit(x, labels, { epochs: 1, batchSize: 4, loss: 'sparseCategoricalCrossEntropy', seed });
      return { before, after: weightsOf(net) };
    };
    const a = await train(1), b = await train(2);
    expect(a.before).to.deep.equal(b.before);
    expect(a.after).to.not.deep.equal(b.after);
  });

  it('validationSplit holds out the last samples and reports validation loss and accuracy', async () => {
    const { x, labels } = blobs(200, 3, 9);
    const net = classifier(6);
    let seenBatches = 0;
    const history = await net.fit(x, labels, {
      epochs: 2, batchSize: 32, loss: 'sparseCategoricalCrossEntropy', learningRate: 0.3, validationSplit: 0.25,
      onBatchEnd: (_batch, logs) => { seenBatches++; expect(logs.size).to.be.at.most(32); },
    });
    // 150 training samples in batches of 32 → 5 batches per epoch.
    expect(seenBatches).to.equal(10);
    expect(history.valLoss).to.have.length(2);
    expect(history.valAccuracy).to.have.length(2);
    const heldOut = net.evaluate(x.slice(150, 200), labels.slice(150, 200), { loss: 'sparseCategoricalCrossEntropy' });
    expect(heldOut.loss).to.be.closeTo(history.valLoss![1], 1e-6);
  });

  it('validationData is evaluated with training off', async () => {
    const { x, labels } = blobs(90, 3, 10);
    const net = classifier(7).use('sparseCategoricalCrossEntropy');
    const history = await net.fit(x, labels, { epochs: 1, validationData: [x, labels] });
    expect(history.valLoss![0]).to.be.closeTo(net.evaluate(x, labels).loss, 1e-6);
  });

  it('EarlyStopping stops after `patience` epochs without improvement and restores the best weights', async () => {
    const { x, labels } = blobs(90, 3, 11);
    const net = classifier(8).use('sparseCategoricalCrossEntropy');
    // A learning rate this large makes the loss bounce, so improvement stalls early.
    const stopper = new EarlyStopping({ monitor: 'loss', patience: 1, restoreBestWeights: true });
    let bestWeights: number[][] = [];
    let bestLoss = Infinity;
    const history = await net.fit(x, labels, {
      epochs: 40, optimizer: 'sgd', learningRate: 8, callbacks: [stopper, {
        onEpochEnd: (_e, logs, ctx) => {
          if (logs.loss < bestLoss) { bestLoss = logs.loss; bestWeights = ctx.network.getWeights().map((w) => Array.from(w)); }
        },
      }],
    });
    expect(stopper.stoppedEpoch).to.be.greaterThan(0);
    expect(history.loss.length).to.equal(stopper.stoppedEpoch);
    expect(stopper.stoppedEpoch - stopper.bestEpoch).to.equal(2);
    expect(stopper.best).to.equal(bestLoss);
    expect(weightsOf(net)).to.deep.equal(bestWeights);
  });

  // A run whose validation loss bounces, so its best epoch is not its last.
  const bouncing = () => {
    const train = blobs(90, 3, 31);
    const validation = blobs(60, 3, 32);
    const net = new Network({ seed: 9 })
      .add(new Dense(2, 12)).add(new BatchNormalization()).add(new Activation('relu'))
      .add(new Dense(12, 3)).add(new Activation('softmax'))
      .use('sparseCategoricalCrossEntropy');
    const options = {
      epochs: 8, batchSize: 10, optimizer: 'sgd' as const, learningRate: 3,
      validationData: [validation.x, validation.labels] as [Tensor, Tensor],
    };
    return { net, x: train.x, labels: train.labels, options };
  };

  it('RestoreBestWeights ends fit with the best validation epoch\'s parameters and running statistics, not the last epoch\'s', async () => {
    const { net, x, labels, options } = bouncing();
    const selector = new RestoreBestWeights();
    const perEpoch: number[][][] = [];
    const history = await net.fit(x, labels, { ...options, callbacks: [{ onEpochEnd: (_e, _l, ctx) => { perEpoch.push(weightsOf(ctx.network)); } }, selector] });
    const best = history.valLoss!.indexOf(Math.min(...history.valLoss!)) + 1;
    expect(best, 'this run\'s best epoch must not be its last').to.be.below(options.epochs);
    expect(selector).to.include({ bestEpoch: best, best: history.valLoss![best - 1], monitored: 'valLoss', restored: true });
    expect(weightsOf(net)).to.deep.equal(perEpoch[best - 1]);
    expect(weightsOf(net)).to.not.deep.equal(perEpoch.at(-1));
    // The BatchNormalization running mean is among what came back (parameters first, then state).
    const mean = net.stateTensors().find((t) => t.name.endsWith('runningMean'))!;
    expect(Array.from(mean.value.data)).to.deep.equal(perEpoch[best - 1][net.parameters().length]);
    // evaluate sees the selected epoch: its validation loss again.
    expect(net.evaluate(options.validationData[0], options.validationData[1]).loss).to.be.closeTo(history.valLoss![best - 1], 1e-6);
  });

  it('RestoreBestWeights copies every improvement into the buffers of the first', async () => {
    const { net, x, labels, options } = bouncing();
    const selector = new RestoreBestWeights({ monitor: 'valAccuracy' });
    const buffers = new Set<Float32Array>();
    let improvements = 0;
    let last = 0;
    await net.fit(x, labels, {
      ...options, callbacks: [selector, { onEpochEnd: () => {
        if (selector.bestEpoch !== last) improvements++;
        last = selector.bestEpoch;
        for (const w of selector.bestWeights!.weights) buffers.add(w);
      } }],
    });
    expect(improvements).to.be.greaterThan(1);
    expect(buffers.size).to.equal(net.getWeights().length);
  });

  it('RestoreBestWeights carries its best epoch across an interrupted fit, in the same object or handed over with resume()', async () => {
    const reference = bouncing();
    const straight = new RestoreBestWeights();
    await reference.net.fit(reference.x, reference.labels, { ...reference.options, callbacks: [straight] });

    for (const handOver of [false, true]) {
      const { net, x, labels, options } = bouncing();
      const optimizer = new SGD({ learningRate: options.learningRate });
      const first = new RestoreBestWeights();
      const controller = new AbortController();
      const partial = await net.fit(x, labels, {
        ...options, optimizer, signal: controller.signal, callbacks: [first],
        onBatchEnd: (batch, logs) => { if (logs.epoch === straight.bestEpoch + 1 && batch === 4) controller.abort(); },
      });
      expect(partial.interrupted).to.include({ epoch: straight.bestEpoch + 1, batch: 4 });
      // Interrupted: the weights stay where training stopped.
      expect(first.restored).to.equal(false);
      let second = first;
      if (handOver) {
        second = new RestoreBestWeights();
        const saved = first.bestWeights!;
        second.resume({ ...saved, weights: saved.weights.map((w) => w.slice()) });
      }
      await net.fit(x, labels, { ...options, optimizer, resume: partial.interrupted, callbacks: [second] });
      expect(second.bestEpoch).to.equal(straight.bestEpoch);
      expect(weightsOf(net)).to.deep.equal(weightsOf(reference.net));
    }
  });

  it('RestoreBestWeights keeps the earlier of two tied epochs unless a tie-breaker improves', () => {
    const net = classifier(3);
    const context = { network: net, epochs: 3, batchesPerEpoch: 1, stopTraining: false };
    const epochs = [{ valAccuracy: 0.9, valLoss: 0.5 }, { valAccuracy: 0.9, valLoss: 0.4 }, { valAccuracy: 0.9, valLoss: 0.45 }];
    const picked = (selector: RestoreBestWeights): number => {
      selector.onTrainBegin(context);
      epochs.forEach((logs, i) => selector.onEpochEnd(i + 1, { loss: 1, seconds: 0, ...logs }, context));
      return selector.bestEpoch;
    };
    expect(picked(new RestoreBestWeights({ monitor: 'valAccuracy' }))).to.equal(1);
    const broken = new RestoreBestWeights({ monitor: 'valAccuracy', tieBreaker: 'valLoss' });
    expect(picked(broken)).to.equal(2);
    expect(broken.bestWeights).to.include({ epoch: 2, monitor: 'valAccuracy', value: 0.9, tieBreaker: 0.4 });
  });

  it('RestoreBestWeights checks its options and needs the metric it monitors', async () => {
    expect(() => new RestoreBestWeights({ monitor: 'valAcc' as never })).to.throw(OptionError, "RestoreBestWeights monitor but got string 'valAcc'");
    expect(() => new RestoreBestWeights({ minDelta: -1 })).to.throw(OptionError, 'minDelta');
    expect(() => new RestoreBestWeights({ tieBreaker: 'val_loss' as never })).to.throw(OptionError, 'RestoreBestWeights tieBreaker');
    const { net, x, labels } = bouncing();
    await expectReject(net.fit(x, labels, { epochs: 1, callbacks: [new RestoreBestWeights({ monitor: 'valLoss' })] }), "RestoreBestWeights monitors 'valLoss', which this fit does not report");
  });

  it('the fused softmax + cross-entropy gradient equals the unfused chain', () => {
    const logits = randomTensor([5, 4], 12, -3, 3);
    const labels = tensor([0, 3, 1, 2, 3]);
    const softmax = new Activation('softmax');
    const p = softmax.forward(logits);
    const unfused = softmax.backward(sparseCategoricalCrossEntropy.gradient(labels, p));
    const fused = sparseCategoricalCrossEntropy.softmaxGradient!(labels, p);
    for (let i = 0; i < 20; i++) expect(fused.data[i]).to.be.closeTo(unfused.data[i], 1e-5);
  });

  it('cross-entropy losses agree with hand-computed values and finite differences', () => {
    const p = tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]);
    const oneHot = tensor([[1, 0, 0], [0, 1, 0]]);
    const expected = -(Math.log(0.7) + Math.log(0.1)) / 2;
    expect(categoricalCrossEntropy(oneHot, p)).to.be.closeTo(expected, 1e-6);
    expect(sparseCategoricalCrossEntropy(tensor([0, 1]), p)).to.be.closeTo(expected, 1e-6);
    expect(binaryCrossEntropy(tensor([[1], [0]]), tensor([[0.9], [0.2]]))).to.be.closeTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 1e-6);
    const cases: Array<[Loss, Tensor, Tensor]> = [
      [categoricalCrossEntropy, oneHot, p],
      [sparseCategoricalCrossEntropy, tensor([2, 0]), p],
      [binaryCrossEntropy, tensor([[1, 0], [0, 1]]), tensor([[0.6, 0.3], [0.2, 0.9]])],
      [mse, randomTensor([3, 2], 1), randomTensor([3, 2], 2)],
    ];
    for (const [loss, yTrue, yPred] of cases) {
      const grad = loss.gradient(yTrue, yPred);
      for (let i = 0; i < yPred.size; i++) {
        const plus = yPred.clone(); plus.data[i] += 1e-3;
        const minus = yPred.clone(); minus.data[i] -= 1e-3;
        const numeric = (loss.value(yTrue, plus) - loss.value(yTrue, minus)) / 2e-3;
        expect(grad.data[i], `${loss.name}[${i}]`).to.be.closeTo(numeric, 2e-3 * Math.max(1, Math.abs(numeric)));
      }
    }
    expect(() => sparseCategoricalCrossEntropy(tensor([3, 0]), p)).to.throw(DataError, 'expected a class id in [0, 2] for sparseCategoricalCrossEntropy yTrue[0] but got 3');
  });

  it('optimizers by name, config or instance, with validated hyper-parameters', () => {
    expect(getOptimizer('adam')).to.be.instanceOf(Adam);
    expect(getOptimizer({ name: 'sgd', momentum: 0.5 })).to.be.instanceOf(SGD);
    expect((getOptimizer({ name: 'sgd', momentum: 0.5 }) as SGD).momentum).to.equal(0.5);
    expect(getOptimizer(new RMSprop({ rho: 0.8 }), 0.1).learningRate).to.equal(0.1);
    expect(() => getOptimizer('adagrad' as never)).to.throw(OptionError, "expected 'sgd', 'adam', 'adamw', 'rmsprop' or an Optimizer for optimizer but got string 'adagrad'");
    expect(() => new SGD({ momentum: 2 })).to.throw(OptionError, 'expected a number in [0, 1] for sgd momentum but got number 2');
    expect(() => new SGD({ nesterov: true })).to.throw(OptionError, 'Nesterov momentum needs momentum > 0');
  });

  it('trains a small CNN (conv → pool → dense) on batched images', async () => {
    // Class 0: bright top half, class 1: bright bottom half.
    const n = 64;
    const x = randomTensor([n, 8, 8, 1], 13, 0, 0.3);
    const labels = Tensor.zeros([n]);
    for (let i = 0; i < n; i++) {
      labels.data[i] = i % 2;
      for (let r = 0; r < 4; r++) for (let c = 0; c < 8; c++) x.data[i * 64 + ((i % 2) * 4 + r) * 8 + c] += 0.7;
    }
    const net = new Network({ seed: 3 })
      .add(new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }))
      .add(new MaxPool2D())
      .add(new Flatten())
      .add(new Dense(64, 2))
      .add(new Activation('softmax'))
      .use('sparseCategoricalCrossEntropy');
    const history = await net.fit(x, labels, { epochs: 8, batchSize: 16, optimizer: 'adam', learningRate: 0.01 });
    expect(history.accuracy!.at(-1)!).to.be.above(0.95);
    expect(net.predict(x, { batchSize: 5 }).shape).to.deep.equal([n, 2]);
  });

  it('rejects non-finite data before training and stops on a non-finite loss naming epoch and batch', async () => {
    const net = classifier(9).use('sparseCategoricalCrossEntropy');
    const x = randomTensor([10, 2], 1);
    x.data[7] = NaN;
    await expectReject(net.fit(x, tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]), { epochs: 1 }), 'x holds NaN in sample 3 (element 1); inputs must be finite');
    const labels = tensor([0, 1, 2, 0, 1, 2, 0, 7, 2, 0]);
    let batches = 0;
    await expectReject(net.fit(randomTensor([10, 2], 2), labels, { epochs: 1, onBatchEnd: () => { batches++; } }),
      'y holds 7 in sample 7, but class ids must be integers in [0, 2] for this 3-way output');
    expect(batches, 'batches trained before the bad label was found').to.equal(0);
    await expectReject(net.fit(randomTensor([3, 2], 2), tensor([0, 1.5, 2]), { epochs: 1 }), 'y holds 1.5 in sample 1');
    const regression = new Network({ seed: 1 }).add(new Dense(1, 1)).use(mse);
    const huge = Tensor.from(new Float32Array(8).fill(1e30)).reshape([8, 1]);
    await expectReject(regression.fit(huge, huge, { epochs: 2, batchSize: 4, learningRate: 1 }), 'training diverged: the loss is Infinity at epoch 1, batch 2');
  });

  it('an aborted fit resumes from its saved state with the same result as an uninterrupted run', async () => {
    const { x, labels } = blobs(100, 3, 21);
    const build = () => new Network({ seed: 21 })
      .add(new Dense(2, 12, { activation: 'relu' })).add(new Dropout(0.3)).add(new Dense(12, 3)).add(new Activation('softmax'))
      .use('sparseCategoricalCrossEntropy');
    const options = { epochs: 3, batchSize: 8, optimizer: 'adam' as const, learningRate: 0.01 };
    const straight = build();
    const full = await straight.fit(x, labels, options);

    const first = build();
    const adam = new Adam({ learningRate: 0.01 });
    const controller = new AbortController();
    const partial = await first.fit(x, labels, {
      ...options, optimizer: adam, signal: controller.signal,
      onBatchEnd: (batch, logs) => { if (logs.epoch === 2 && batch === 5) controller.abort(); },
    });
    expect(partial.interrupted).to.include({ epoch: 2, batch: 5 });
    expect(partial.loss).to.have.length(1);
    // Through a model file and JSON, as a checkpoint on disk would go.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-resume-'));
    try {
      await first.save(dir, { optimizer: adam });
      const state = JSON.parse(JSON.stringify(partial.interrupted));
      const { network, optimizer } = await loadNetwork(dir);
      const resumed = await network.fit(x, labels, { ...options, optimizer, resume: state });
      expect(resumed.loss).to.deep.equal(full.loss);
      expect(weightsOf(network)).to.deep.equal(weightsOf(straight));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a fit aborted at an epoch boundary resumes with the next epoch freshly shuffled', async () => {
    const { x, labels } = blobs(60, 3, 22);
    const build = () => new Network({ seed: 22 }).add(new Dense(2, 8, { activation: 'tanh' })).add(new Dense(8, 3)).add(new Activation('softmax'))
      .use('sparseCategoricalCrossEntropy');
    const straight = build();
    await straight.fit(x, labels, { epochs: 3, batchSize: 8, learningRate: 0.2 });
    const net = build();
    const controller = new AbortController();
    const partial = await net.fit(x, labels, {
      epochs: 3, batchSize: 8, learningRate: 0.2, signal: controller.signal, onEpochEnd: (epoch) => { if (epoch === 1) controller.abort(); },
    });
    expect(partial.interrupted).to.include({ epoch: 2, batch: 0 });
    await net.fit(x, labels, { epochs: 3, batchSize: 8, learningRate: 0.2, resume: partial.interrupted });
    expect(weightsOf(net)).to.deep.equal(weightsOf(straight));
  });

  it('predict splits large inputs into batches with the same result', () => {
    const net = classifier(10);
    const x = randomTensor([37, 2], 3);
    const whole = net.predict(x, { batchSize: 64 });
    const pieces = net.predict(x, { batchSize: 5 });
    expect(pieces.shape).to.deep.equal([37, 3]);
    // Products of different row counts may round differently in the last bit.
    expectClose(pieces.data, whole.data, { rtol: 1e-6, atol: 1e-7 });
  });
});

forEachBackend('fit batches', () => {
  /** Passes its input on and keeps the first value of every row it sees in training. */
  class RowTags extends Layer {
    readonly seen: number[][] = [];
    override forward(input: Tensor, training = false): Tensor {
      if (training) {
        const rowSize = input.size / input.shape[0];
        this.seen.push(Array.from({ length: input.shape[0] }, (_, r) => input.data[r * rowSize]));
      }
      return input;
    }
    override backward(g: Tensor): Tensor {
      return g;
    }
    override getConfig(): LayerConfig {
      return { type: 'RowTags' };
    }
  }

  // fit copies a small batch (a batch's class ids) in JavaScript and a large one
  // through the backend's gatherRows: whichever way each side goes, every
  // sample keeps its target, the last short batch included.
  for (const [what, yWidth] of [['one-value targets (copied in JavaScript)', 1], ['40-value targets (copied by the backend)', 40]] as const) {
    it(`pairs every shuffled sample with its own target: 40-value samples, ${what}`, async () => {
      const n = 37, width = 40;
      const x = new Tensor(Float32Array.from({ length: n * width }, (_, i) => Math.floor(i / width)), [n, width]);
      const y = new Tensor(Float32Array.from({ length: n * yWidth }, (_, i) => Math.floor(i / yWidth)), [n, yWidth]);
      const tags = new RowTags();
      const targets: number[][] = [];
      const net = new Network({ seed: 3 }).add(tags);
      net.use((yTrue: Tensor) => {
        targets.push(Array.from({ length: yTrue.shape[0] }, (_, r) => yTrue.data[r * yWidth]));
        return 0;
      }, (_yTrue: Tensor, yPred: Tensor) => Tensor.zeros(yPred.shape));
      await net.fit(x, y, { epochs: 2, batchSize: 8, shuffle: true });
      expect(targets).to.deep.equal(tags.seen);
      expect(tags.seen.map((b) => b.length)).to.deep.equal([8, 8, 8, 8, 5, 8, 8, 8, 8, 5]);
      for (const epoch of [tags.seen.slice(0, 5), tags.seen.slice(5)]) {
        expect(epoch.flat().sort((a, b) => a - b)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
      }
      expect(tags.seen.slice(0, 5).flat(), 'shuffled').to.not.deep.equal(Array.from({ length: n }, (_, i) => i));
    });
  }
});
