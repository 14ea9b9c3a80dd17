import { expect } from 'chai';
import {
  Activation, Adam, AvgPool2D, Conv2D, Dense, EarlyStopping, MaxPool2D, Network, OptionError, SGD, getOptimizer,
  networkFromSpec, type NetworkSpec,
} from '../lib/index.js';

/** Runs fn, expects an OptionError (code E_OPTION), returns its message. */
function optionError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(OptionError);
    expect((err as OptionError).code).to.equal('E_OPTION');
    return (err as Error).message;
  }
  throw new Error('expected an OptionError');
}

function tinyNetwork(): Network {
  return new Network({ seed: 1 }).add(new Dense(2, 1)).use('mse');
}

describe('strict options', function () {
  it('layer options name the unknown key and the nearest known one', function () {
    expect(optionError(() => new Dense(4, 8, { activaton: 'relu' } as never))).to.match(/unknown option 'activaton' in Dense options \(did you mean 'activation'\?\)/);
    expect(optionError(() => new Conv2D({ filters: 2, kernelSize: 3, padidng: 'same' } as never))).to.include("did you mean 'padding'?");
    expect(optionError(() => new MaxPool2D({ poolsize: 2 } as never))).to.include("did you mean 'poolSize'?");
    expect(optionError(() => new AvgPool2D({ stride: 2 } as never))).to.include("did you mean 'strides'?");
    expect(optionError(() => new Activation('leakyRelu', { alhpa: 0.2 } as never))).to.include("did you mean 'alpha'?");
  });

  it('optimizer configs check their own keys: sgd has no beta1, adam (yet) no weightDecay-like typo', function () {
    expect(optionError(() => getOptimizer({ name: 'sgd', beta1: 0.9 } as never))).to.match(/unknown option 'beta1' in sgd options/);
    expect(optionError(() => new Adam({ beta_1: 0.9 } as never))).to.include("did you mean 'beta1'?");
    expect(optionError(() => new SGD({ momentun: 0.9 } as never))).to.include("did you mean 'momentum'?");
    expect(optionError(() => getOptimizer({ name: 'adma' } as never))).to.include("did you mean 'adam'?");
    // What is known still works.
    expect(getOptimizer({ name: 'sgd', momentum: 0.9, nesterov: true }).getConfig()).to.include({ momentum: 0.9, nesterov: true });
  });

  it('fit, evaluate, predict and Network options reject unknown keys before training', async function () {
    const net = tinyNetwork();
    const before = net.getWeights();
    let message = '';
    try {
      await net.fit([[0, 1]], [[1]], { epochs: 1, lr: 0.1 } as never);
    } catch (err) {
      expect(err).to.be.instanceOf(OptionError);
      message = (err as Error).message;
    }
    expect(message).to.match(/unknown option 'lr' in fit options/);
    expect(net.getWeights()).to.deep.equal(before);
    expect(optionError(() => net.evaluate([[0, 1]], [[1]], { batchsize: 2 } as never))).to.include("did you mean 'batchSize'?");
    expect(optionError(() => net.predict([[0, 1]], { batch: 2 } as never))).to.include('predict options');
    expect(optionError(() => new Network({ sede: 1 } as never))).to.include("did you mean 'seed'?");
  });

  it('losses and callbacks suggest the nearest name', function () {
    expect(optionError(() => tinyNetwork().use('mes' as never))).to.include("did you mean 'mse'?");
    expect(optionError(() => new EarlyStopping({ patiance: 2 } as never))).to.include("did you mean 'patience'?");
  });

  it('spec files check every layer and the top level', function () {
    const spec = (layers: unknown[], extra: object = {}): NetworkSpec => ({ seed: 1, layers, loss: 'mse', ...extra }) as NetworkSpec;
    expect(optionError(() => networkFromSpec(spec([{ type: 'Dense', units: 4 }]), 'net.json')))
      .to.match(/unknown option 'units' in net\.json: layer 0 \(Dense\)/);
    expect(optionError(() => networkFromSpec(spec([{ type: 'Dense', inputSize: 2, outputSize: 1, activaton: 'relu' }]), 'net.json')))
      .to.include("did you mean 'activation'?");
    expect(optionError(() => networkFromSpec(spec([{ type: 'Dropout', rat: 0.5 }]), 'net.json'))).to.include("did you mean 'rate'?");
    expect(optionError(() => networkFromSpec(spec([{ type: 'Dense', inputSize: 2, outputSize: 1 }], { los: 'mse' }), 'net.json')))
      .to.include("did you mean 'loss'?");
    expect(optionError(() => networkFromSpec(spec([{ type: 'Dense', inputSize: 2, outputSize: 1 }], { loss: 'mae_' }), 'net.json')))
      .to.include('unknown loss');
    // A correct spec literal type-checks and builds.
    const ok: NetworkSpec = { seed: 3, loss: 'mse', layers: [{ type: 'Dense', inputSize: 2, outputSize: 3, activation: 'relu' }, { type: 'Dense', inputSize: 3, outputSize: 1 }] };
    expect(networkFromSpec(ok).layers).to.have.length(2);
  });

  it("'constructor' and other prototype names are never known options", function () {
    expect(optionError(() => new Dense(2, 2, JSON.parse('{"constructor": 1}')))).to.include("'constructor'");
    expect(optionError(() => getOptimizer({ name: 'toString' } as never))).to.include('toString');
  });
});
