// fit with learning-rate callbacks, schedules, class and sample weights.

import { expect } from 'chai';
import {
  Dense, LearningRateScheduler, Network, OptionError, ReduceLROnPlateau, Activation, exponentialDecay, networkFromBuffer, SGD, stepDecay, tensor,
  type Optimizer, type TrainingState,
} from '../lib/index.js';
import { randomTensor } from './helpers.js';

const x = randomTensor([24, 3], 1);
const labels = tensor(Array.from({ length: 24 }, (_, i) => (x.data[i * 3] + x.data[i * 3 + 1] > 0 ? 1 : 0)));
const classifier = (seed = 1) => new Network({ seed }).add(new Dense(3, 4, { activation: 'tanh' })).add(new Dense(2)).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');

describe('training controls in fit', () => {
  it('each epoch logs the learning rate; LearningRateScheduler sets it per epoch and sees the optimizer in its context', async () => {
    const seen: string[] = [];
    const history = await classifier().fit(x, labels, {
      epochs: 3, batchSize: 8, optimizer: 'adam', learningRate: 0.01,
      callbacks: [new LearningRateScheduler((epoch, lr) => (epoch === 1 ? lr : lr / 2)), {
        onEpochBegin: (epoch, context) => {
          seen.push(`${epoch}:${context.optimizer?.name}`);
        },
      }],
    });
    expect(history.learningRate).to.deep.equal([0.01, 0.005, 0.0025]);
    expect(seen).to.deep.equal(['1:adam', '2:adam', '3:adam']);
  });

  it('a schedule as learningRate moves the rate every batch', async () => {
    const history = await classifier().fit(x, labels, {
      epochs: 2, batchSize: 8, optimizer: 'sgd', learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.5 }),
    });
    // Three batches an epoch: the rate logged is the one the epoch's last step used (steps 2 and 5).
    expect(history.learningRate![0]).to.be.closeTo(0.1 * 0.5 ** (2 / 3), 1e-9);
    expect(history.learningRate![1]).to.be.closeTo(0.1 * 0.5 ** (5 / 3), 1e-9);
  });

  it('a resumed fit continues its schedule where it stopped: the same rates and weights as an uninterrupted run (the step count is saved)', async () => {
    const schedule = () => stepDecay({ initialLearningRate: 0.2, stepSize: 2, factor: 0.5 });
    const rates = (into: number[]) => ({ onBatchEnd: (_b: number, _l: unknown, context: { optimizer?: Optimizer }) => { into.push(context.optimizer!.learningRate); } });
    const whole: number[] = [];
    const reference = classifier();
    await reference.fit(x, labels, { epochs: 3, batchSize: 8, optimizer: 'sgd', learningRate: schedule(), callbacks: [rates(whole)] });

    const first: number[] = [];
    const controller = new AbortController();
    const net = classifier();
    const optimizer = new SGD({ learningRate: schedule() });
    const stopped = await net.fit(x, labels, {
      epochs: 3, batchSize: 8, optimizer, signal: controller.signal,
      callbacks: [rates(first), { onBatchEnd: (batch) => { if (batch === 2) controller.abort(); } }],
    });
    const state: TrainingState = stopped.interrupted!;
    expect(state).to.include({ epoch: 1, batch: 2 });
    // Through a model file, as the CLI's checkpoint does: a new optimizer object from the saved config and state.
    const restored = networkFromBuffer(net.toBuffer({ optimizer }));
    expect(restored.optimizer!.getState(restored.network.parameters()).iterations).to.equal(2);
    const second: number[] = [];
    await restored.network.fit(x, labels, { epochs: 3, batchSize: 8, optimizer: restored.optimizer!, resume: state, callbacks: [rates(second)] });
    expect([...first, ...second]).to.deep.equal(whole);
    expect(whole.slice(0, 5)).to.deep.equal([0.2, 0.2, 0.1, 0.1, 0.05]);
    expect(restored.network.getWeights()).to.deep.equal(reference.getWeights());
  });

  it('ReduceLROnPlateau cuts the rate once the monitored loss stalls', async () => {
    const plateau = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, minDelta: 10 });
    const history = await classifier().fit(x, labels, { epochs: 4, batchSize: 8, optimizer: 'sgd', learningRate: 0.1, callbacks: [plateau] });
    // minDelta 10: no epoch counts as an improvement after the first, so every later epoch reduces (patience 1);
    // each epoch logs the rate it trained with.
    expect(plateau.reductions).to.deep.equal([2, 3, 4]);
    expect(history.learningRate).to.deep.equal([0.1, 0.1, 0.05, 0.025]);
  });

  it('errors name the callback: a NaN rate, a schedule under a scheduler, bad options', async () => {
    await classifier().fit(x, labels, { epochs: 2, callbacks: [new LearningRateScheduler((epoch) => (epoch === 2 ? NaN : 0.1))] })
      .then(() => expect.fail('fit resolved'), (err) => expect(err).to.be.instanceOf(OptionError).and.to.have.property('message', "LearningRateScheduler's function returned number NaN for epoch 2: expected a finite rate ≥ 0"));
    await classifier().fit(x, labels, { epochs: 1, learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.5 }), callbacks: [new ReduceLROnPlateau()] })
      .then(() => expect.fail('fit resolved'), (err) => expect(String(err)).to.contain('ReduceLROnPlateau sets the learning rate, but the optimizer'));
    expect(() => new ReduceLROnPlateau({ factor: 1 })).to.throw(OptionError, 'ReduceLROnPlateau factor');
    expect(() => new ReduceLROnPlateau({ patiense: 2 } as never)).to.throw(OptionError, "did you mean 'patience'");
  });

  it('sampleWeight 2 on every sample doubles the loss and the step of plain SGD', async () => {
    const plain = classifier();
    const weighted = classifier();
    const options = { epochs: 1, batchSize: 24, optimizer: 'sgd' as const, learningRate: 0.05, shuffle: false };
    const start = plain.getWeights();
    const h1 = await plain.fit(x, labels, options);
    const h2 = await weighted.fit(x, labels, { ...options, sampleWeight: new Array(24).fill(2) });
    expect(h2.loss[0]).to.be.closeTo(2 * h1.loss[0], 1e-6);
    const a = plain.getWeights();
    const b = weighted.getWeights();
    a.forEach((w, i) => w.forEach((v, k) => expect(b[i][k] - start[i][k]).to.be.closeTo(2 * (v - start[i][k]), 1e-6)));
  });

  it('classWeight equals the matching sampleWeight, and a zero weight removes a class from training', async () => {
    const byClass = classifier();
    const bySample = classifier();
    const options = { epochs: 2, batchSize: 8, optimizer: 'adam' as const, learningRate: 0.01 };
    const w = Array.from(labels.data, (c) => (c === 1 ? 3 : 0.5));
    const h1 = await byClass.fit(x, labels, { ...options, classWeight: { 0: 0.5, 1: 3 } });
    const h2 = await bySample.fit(x, labels, { ...options, sampleWeight: w });
    expect(h1.loss).to.deep.equal(h2.loss);
    expect(byClass.getWeights()).to.deep.equal(bySample.getWeights());
    const zeroed = classifier();
    const before = zeroed.getWeights();
    await zeroed.fit(x, labels, { ...options, optimizer: 'sgd', sampleWeight: new Array(24).fill(0) });
    expect(zeroed.getWeights()).to.deep.equal(before);
  });

  it('bad weights are errors naming the option and sample', async () => {
    await classifier().fit(x, labels, { epochs: 1, sampleWeight: [1, 2] })
      .then(() => expect.fail('fit resolved'), (err) => expect(String(err)).to.contain('expected [24] for sampleWeight (one per sample) but got [2]'));
    await classifier().fit(x, labels, { epochs: 1, sampleWeight: [...new Array(23).fill(1), -1] })
      .then(() => expect.fail('fit resolved'), (err) => expect(String(err)).to.contain('sampleWeight holds -1 for sample 23'));
    await classifier().fit(x, labels, { epochs: 1, classWeight: { a: 1 } as never })
      .then(() => expect.fail('fit resolved'), (err) => expect(String(err)).to.contain("class ids as classWeight keys but got 'a'"));
  });

  it('adamw, clipping and weight decay train through fit and resume from a saved optimizer', async () => {
    const net = classifier();
    const history = await net.fit(x, labels, { epochs: 10, batchSize: 8, optimizer: { name: 'adamw', learningRate: 0.05, weightDecay: 0.01, clipNorm: 1 } });
    expect(history.loss.at(-1)!).to.be.below(history.loss[0]);
  });
});
