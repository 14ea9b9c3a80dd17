// Optimizers against PyTorch (fixtures from test/fixtures/make_optimizer_reference.py):
// weight decay, AdamW, clipping by global norm and by value; then
// learning-rate schedules and the option errors.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  AdamW, OptionError, Tensor, cosineDecay, exponentialDecay, getOptimizer, stepDecay,
  type OptimizerConfig, type Parameter,
} from '../lib/index.js';
import { forEachBackend } from './helpers.js';

interface Case {
  name: string;
  optimizer: OptimizerConfig;
  shapes: number[][];
  weights: number[][];
  grads: number[][][];
  expected: number[][];
}
const reference = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'optimizer-reference.json'), 'utf8')) as { cases: Case[] };

function parametersOf(c: Case): Parameter[] {
  return c.shapes.map((shape, i) => ({ name: `p${i}`, value: new Tensor(Float32Array.from(c.weights[i]), shape), grad: Tensor.zeros(shape) }));
}

forEachBackend('optimizers against torch.optim', () => {
  for (const c of reference.cases) {
    it(`${c.name}: weights after three steps within 1e-4 relative`, () => {
      const params = parametersOf(c);
      const optimizer = getOptimizer(c.optimizer as never);
      for (const grads of c.grads) {
        params.forEach((p, i) => p.grad.data.set(grads[i]));
        optimizer.step(params);
      }
      params.forEach((p, i) => {
        p.value.data.forEach((v, k) => {
          const want = c.expected[i][k];
          expect(Math.abs(v - want), `${c.name} p${i}[${k}]: ${v} vs ${want}`).to.be.at.most(1e-4 * Math.abs(want) + 1e-7);
        });
      });
    });
  }
});

describe('optimizer options', () => {
  it('the clipping cases really clip (their gradients exceed the limits)', () => {
    const norms = reference.cases.filter((c) => c.optimizer.clipNorm !== undefined)
      .map((c) => Math.hypot(...c.grads[0].flat()));
    expect(Math.min(...norms)).to.be.above(3);
  });

  it('adamw defaults to weightDecay 0.01 and its config round-trips', () => {
    const opt = getOptimizer('adamw');
    expect(opt).to.be.instanceOf(AdamW);
    expect(opt.getConfig()).to.deep.include({ name: 'adamw', weightDecay: 0.01 });
    const again = getOptimizer({ name: 'adam', learningRate: 0.01, clipNorm: 2, clipValue: 0.5, weightDecay: 0.1 });
    expect(getOptimizer(again.getConfig() as never).getConfig()).to.deep.equal(again.getConfig());
  });

  it('clipNorm and clipValue ≤ 0 are errors naming the optimizer and option', () => {
    for (const name of ['sgd', 'adam', 'adamw', 'rmsprop'] as const) {
      expect(() => getOptimizer({ name, clipNorm: 0 })).to.throw(OptionError, `expected a finite number > 0 for ${name} clipNorm but got number 0`);
      expect(() => getOptimizer({ name, clipNorm: -1 })).to.throw(OptionError, `${name} clipNorm`);
      expect(() => getOptimizer({ name, clipValue: 0 })).to.throw(OptionError, `${name} clipValue`);
      expect(() => getOptimizer({ name, weightDecay: -0.1 })).to.throw(OptionError, `${name} weightDecay`);
    }
    expect(() => getOptimizer({ name: 'sgd', clipnorm: 1 } as never)).to.throw(OptionError, "did you mean 'clipNorm'");
  });
});

describe('learning-rate schedules', () => {
  it('exponentialDecay, stepDecay and cosineDecay with warm-up give the documented rates', () => {
    const exp = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
    expect(exp.at(0)).to.equal(0.1);
    expect(exp.at(10)).to.be.closeTo(0.05, 1e-12);
    expect(exp.at(5)).to.be.closeTo(0.1 * Math.SQRT1_2, 1e-12);
    const stair = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true });
    expect(stair.at(19)).to.be.closeTo(0.05, 1e-12);
    const step = stepDecay({ initialLearningRate: 1, stepSize: 3, factor: 0.5 });
    expect([0, 2, 3, 6, 7].map((s) => step.at(s))).to.deep.equal([1, 1, 0.5, 0.25, 0.25]);
    const cos = cosineDecay({ initialLearningRate: 1, decaySteps: 10, alpha: 0.1, warmupSteps: 4 });
    expect([0, 2, 4].map((s) => cos.at(s))).to.deep.equal([0, 0.5, 1]);
    expect(cos.at(9)).to.be.closeTo(0.1 + 0.9 * 0.5, 1e-12);
    expect(cos.at(14)).to.be.closeTo(0.1, 1e-12);
    expect(cos.at(100)).to.be.closeTo(0.1, 1e-12);
  });

  it('an optimizer follows its schedule step by step, and saves it in its config', () => {
    const schedule = stepDecay({ initialLearningRate: 0.5, stepSize: 2, factor: 0.1 });
    const opt = getOptimizer({ name: 'sgd', learningRate: schedule });
    const p: Parameter = { name: 'w', value: Tensor.zeros([1]), grad: new Tensor(Float32Array.of(1), [1]) };
    const rates: number[] = [];
    for (let i = 0; i < 4; i++) {
      opt.step([p]);
      rates.push(opt.learningRate);
    }
    expect(rates.map((r) => +r.toPrecision(6))).to.deep.equal([0.5, 0.5, 0.05, 0.05]);
    expect(p.value.data[0]).to.be.closeTo(-1.1, 1e-6);
    const restored = getOptimizer(opt.getConfig() as never);
    expect(restored.getConfig()).to.deep.equal(opt.getConfig());
    expect(restored.learningRate).to.equal(0.5);
  });

  it('a schedule that returns NaN fails naming the schedule and step', () => {
    const broken = { kind: 'custom', at: (s: number) => (s < 2 ? 0.1 : NaN), getConfig: () => ({ kind: 'custom' }) };
    const opt = getOptimizer({ name: 'adam', learningRate: broken as never });
    const p: Parameter = { name: 'w', value: Tensor.zeros([1]), grad: Tensor.zeros([1]) };
    opt.step([p]);
    opt.step([p]);
    expect(() => opt.step([p])).to.throw(OptionError, 'the learning-rate schedule custom of adam gave number NaN at step 2');
    expect(() => exponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 })).to.throw(OptionError, 'exponentialDecay decaySteps');
  });
});
