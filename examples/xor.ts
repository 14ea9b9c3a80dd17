// The from-scratch tutorial's XOR network: 2-3-1 with tanh, mean squared
// error, learning rate 0.1, 1000 epochs, one sample per step in a fixed
// order, exactly as the tutorial trains it.
//
//   npx tsx examples/xor.ts

import { ActivationLayer, FCLayer, Network, mse, msePrime, tensor } from '../lib/index.js';

export async function trainXor(seed = 1, verbose = false) {
  const xTrain = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const yTrain = tensor([[0], [1], [1], [0]]);

  const net = new Network({ seed });
  net.add(new FCLayer(2, 3));
  net.add(new ActivationLayer('tanh'));
  net.add(new FCLayer(3, 1));
  net.add(new ActivationLayer('tanh'));
  net.use(mse, msePrime);

  const history = await net.fit(xTrain, yTrain, {
    epochs: 1000,
    learningRate: 0.1,
    batchSize: 1,
    shuffle: false,
    onEpochEnd: (epoch, logs) => {
      if (verbose && (epoch === 1 || epoch % 100 === 0)) console.log(`epoch ${epoch}/1000  error=${logs.loss.toFixed(6)}`);
    },
  });
  return { net, errors: history.loss, predictions: net.predict(xTrain) };
}

if (require.main === module) {
  void (async () => {
    const { getBackend } = await import('../lib/index.js');
    console.log(`layerwise XOR example (backend: ${getBackend().name})`);
    const { errors, predictions } = await trainXor(1, true);
    console.log(`final error ${errors.at(-1)!.toFixed(6)}`);
    const inputs = [[0, 0], [0, 1], [1, 0], [1, 1]];
    inputs.forEach((x, i) => console.log(`  xor(${x.join(', ')}) ≈ ${predictions.data[i].toFixed(3)}`));
  })();
}
