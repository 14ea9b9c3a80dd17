// Shape inference (Layer.build / Network.add), summary(), the layer-state seam
// in model files, and trainable = false.

import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  Activation, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, Network, OptionError, ShapeError, StateError, Tensor, networkFromSpec,
  type LayerConfig,
} from '../lib/index.js';
import { randomTensor } from './helpers.js';

describe('shape inference', () => {
  it('Dense(units) takes its input width from the layer before; Dense(in, out) still works', () => {
    const net = new Network({ seed: 1 }).add(new Dense(4, 8)).add(new Dense(2));
    expect(net.layers[1].inputShape).to.deep.equal([8]);
    expect((net.layers[1] as Dense).weights.shape).to.deep.equal([8, 2]);
    expect(net.layers[1].outputShape).to.deep.equal([2]);
  });

  it("the first layer's inputShape fixes every shape of a CNN at add time", () => {
    const net = new Network({ seed: 1 })
      .add(new Conv2D({ filters: 16, kernelSize: 3, padding: 'same', inputShape: [28, 28, 1] }))
      .add(new MaxPool2D({ poolSize: 2 }))
      .add(new Conv2D({ filters: 32, kernelSize: 3, padding: 'same' }))
      .add(new MaxPool2D({ poolSize: 2 }))
      .add(new Flatten())
      .add(new Dense(128, { activation: 'relu' }))
      .add(new Dropout(0.5))
      .add(new Dense(10))
      .add(new Activation('softmax'));
    expect(net.layers.map((l) => l.outputShape)).to.deep.equal([[28, 28, 16], [14, 14, 16], [14, 14, 32], [7, 7, 32], [1568], [128], [128], [10], [10]]);
    expect((net.layers[5] as Dense).inputSize).to.equal(1568);
    expect(net.predict(randomTensor([2, 28, 28, 1], 1)).shape).to.deep.equal([2, 10]);
  });

  it('without an inputShape, the first batch fixes every shape', () => {
    const net = new Network({ seed: 1 }).add(new Flatten()).add(new Dense(3)).add(new Dense(2));
    expect(net.layers[1].outputShape).to.equal(undefined);
    expect(() => net.summary()).to.throw(StateError, 'layer 0 (Flatten) is not built');
    expect(net.predict(randomTensor([4, 2, 5], 2)).shape).to.deep.equal([4, 2]);
    expect(net.layers.map((l) => l.outputShape)).to.deep.equal([[10], [3], [2]]);
    expect((net.layers[1] as Dense).weights.shape).to.deep.equal([10, 3]);
  });

  it('a mismatch fails at add, naming the layer index and type', () => {
    const net = new Network().add(new Dense(4, 8));
    expect(() => net.add(new Dense(5, 2))).to.throw(ShapeError, 'layer 1 (Dense): Dense expected input [...,5] but got [8]');
    const cnn = new Network().add(new Conv2D({ filters: 2, kernelSize: 3, inputShape: [4, 4, 1] }));
    expect(() => cnn.add(new Conv2D({ filters: 2, kernelSize: 3, inputChannels: 3 }))).to.throw(ShapeError, 'layer 1 (Conv2D)');
    expect(() => cnn.add(new MaxPool2D({ poolSize: 3 }))).to.throw(ShapeError, 'layer 1 (MaxPool2D): MaxPool2D input [2,2,2] is smaller than the pool [3,3]');
    expect(() => new Network().add(new Flatten({ inputShape: [3, 3] })).add(new Conv2D({ filters: 1, kernelSize: 1 }))).to.throw(ShapeError, 'layer 1 (Conv2D)');
  });

  it('a mismatch found by the first batch names the layer too', () => {
    const net = new Network().add(new Flatten()).add(new Dense(4, 2));
    expect(() => net.predict(randomTensor([1, 2, 3], 1))).to.throw(ShapeError, 'layer 1 (Dense)');
  });

  it('Dense(units) with the same seed gets the same weights as Dense(in, out)', () => {
    const a = new Network({ seed: 7 }).add(new Dense(3, 4)).add(new Dense(4, 2));
    const b = new Network({ seed: 7 }).add(new Flatten()).add(new Dense(4)).add(new Dense(2));
    b.build([3]);
    const c = new Network({ seed: 7 }).add(new Dense(3, 4)).add(new Dense(2));
    expect(c.getWeights()).to.deep.equal(a.getWeights());
    // Flatten takes a fork of the seed, so b differs from a, but it is deterministic:
    const b2 = new Network({ seed: 7 }).add(new Flatten()).add(new Dense(4)).add(new Dense(2));
    b2.predict(randomTensor([1, 3], 3));
    expect(b2.getWeights()).to.deep.equal(b.getWeights());
  });

  it('Dense inputShape must agree with an explicit input size', () => {
    expect(() => new Dense(3, 2, { inputShape: [4] })).to.throw(ShapeError, 'expected inputShape [...,3]');
    expect(new Dense(2, { inputShape: [5] }).inputSize).to.equal(5);
    expect(() => new Dense(2).weights).to.throw(StateError, 'no weights until its input width is known');
  });
});

describe('summary()', () => {
  it('Dense(4, 8) then Dense(2) reads 40 + 18 = 58', () => {
    const s = new Network({ seed: 1 }).add(new Dense(4, 8)).add(new Dense(2)).summary();
    expect(s.layers.map((l) => [l.type, l.outputShape, l.params])).to.deep.equal([['Dense', [null, 8], 40], ['Dense', [null, 2], 18]]);
    expect([s.totalParams, s.trainableParams, s.nonTrainableParams]).to.deep.equal([58, 58, 0]);
    const text = s.toString();
    expect(text).to.match(/0 Dense\s+\[\*,8\]\s+40/);
    expect(text).to.match(/1 Dense\s+\[\*,2\]\s+18/);
    expect(text).to.contain('Total params: 58').and.contain('Trainable params: 58').and.contain('Non-trainable params: 0');
  });

  it('counts a frozen layer as non-trainable', () => {
    const net = new Network({ seed: 1 }).add(new Dense(4, 8)).add(new Dense(2));
    net.layers[0].trainable = false;
    const s = net.summary();
    expect([s.totalParams, s.trainableParams, s.nonTrainableParams]).to.deep.equal([58, 18, 40]);
    expect(s.toString()).to.contain('0 Dense (frozen)');
  });
});

/** A layer with a state tensor, standing for BatchNorm's running statistics. */
class Counter extends Layer {
  readonly seen = Tensor.zeros([2]);
  override forward(input: Tensor, training = false): Tensor {
    if (training) this.seen.data[0] += input.shape[0];
    this.seen.data[1] = 0.1;
    return input;
  }
  override backward(g: Tensor): Tensor {
    return g;
  }
  override getConfig(): LayerConfig {
    return { type: 'Flatten' };
  }
  override stateTensors() {
    return [{ name: 'seen', value: this.seen }];
  }
}

describe('layer state and trainable in model files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'layerwise-shapes-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('state tensors are saved and a file missing them is refused', async () => {
    const net = new Network({ seed: 1 }).add(new Dense(2, 2)).add(new Counter()).use('mse');
    await net.fit([[1, 2], [3, 4], [5, 6]], [[1, 0], [0, 1], [1, 1]], { epochs: 2, batchSize: 2 });
    expect(net.stateTensors()[0].value.data[0]).to.equal(6);
    expect(net.summary().nonTrainableParams).to.equal(2);
    await net.save(dir);
    // The saved config names Flatten (no state): loading must notice the file keeps a state tensor it has no place for.
    await Network.load(dir).then(() => expect.fail('loaded'), (err) => expect(String(err)).to.contain('the layers have 0 state tensors but the file stores 1'));
  });

  it('trainable = false is saved, freezes the weights and still passes gradients through', async () => {
    const net = new Network({ seed: 1 }).add(new Dense(2, 3)).add(new Dense(3, 2)).use('mse');
    net.layers[1].trainable = false;
    const before = net.getWeights();
    await net.fit([[1, 2], [3, 4]], [[1, 0], [0, 1]], { epochs: 3, optimizer: 'adam', learningRate: 0.1 });
    const after = net.getWeights();
    expect(after[2]).to.deep.equal(before[2]);
    expect(after[3]).to.deep.equal(before[3]);
    expect(after[0]).to.not.deep.equal(before[0]);
    await net.save(dir);
    const loaded = await Network.load(dir);
    expect(loaded.layers.map((l) => l.trainable)).to.deep.equal([true, false]);
    expect(loaded.getWeights()).to.deep.equal(after);
  });

  it('a layer frozen or unfrozen by a callback during fit stops or starts stepping from the next batch', async () => {
    const net = new Network({ seed: 1 }).add(new Dense(2, 3)).add(new Dense(3, 2)).use('mse');
    const x = [[1, 2], [3, 4], [5, 6], [7, 8]], y = [[1, 0], [0, 1], [1, 0], [0, 1]];
    const seen: Float32Array[][] = [];
    await net.fit(x, y, {
      epochs: 1, batchSize: 1, shuffle: false, learningRate: 0.1,
      onBatchEnd: (batch) => {
        seen.push(net.getWeights());
        if (batch === 1) net.layers[0].trainable = false;
        if (batch === 3) net.layers[0].trainable = true;
      },
    });
    // Batch 2 and 3 ran with the first layer frozen, batch 4 with it trainable again; the second layer stepped throughout.
    expect(seen[1][0]).to.deep.equal(seen[0][0]);
    expect(seen[2][0]).to.deep.equal(seen[0][0]);
    expect(seen[3][0]).to.not.deep.equal(seen[2][0]);
    for (let b = 1; b < 4; b++) expect(seen[b][2]).to.not.deep.equal(seen[b - 1][2]);
  });

  it('freezing a layer without parameters is an error naming it', () => {
    expect(() => {
      new Flatten().trainable = false;
    }).to.throw(OptionError, 'Flatten has no parameters to freeze');
    expect(() => networkFromSpec({ layers: [{ type: 'Activation', kind: 'relu', trainable: false }] })).to.throw(OptionError, 'layer 0 (Activation): Activation has no parameters to freeze');
    expect(() => networkFromSpec({ layers: [{ type: 'Dense', inputSize: 2, outputSize: 2, trainable: 'no' as never }] })).to.throw(OptionError, 'expected true or false for Dense trainable');
  });

  it('Dense(units) and Flatten({ inputShape }) configs round-trip', async () => {
    const net = new Network({ seed: 3 }).add(new Flatten({ inputShape: [2, 2] })).add(new Dense(3, { activation: 'relu' })).add(new Dense(1)).use('mse');
    await net.save(dir);
    const loaded = await Network.load(dir);
    expect(loaded.layers.map((l) => l.outputShape)).to.deep.equal([[4], [3], [1]]);
    expect(loaded.getWeights()).to.deep.equal(net.getWeights());
    const x = randomTensor([2, 2, 2], 4);
    expect(loaded.predict(x).data).to.deep.equal(net.predict(x).data);
    const unbuilt = networkFromSpec({ seed: 3, layers: [{ type: 'Flatten' }, { type: 'Dense', outputSize: 3 }] });
    expect(unbuilt.predict(randomTensor([1, 5], 1)).shape).to.deep.equal([1, 3]);
  });
});
