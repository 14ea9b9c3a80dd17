// Fashion-MNIST with a one-hidden-layer perceptron: 784-128-10, ReLU,
// softmax cross-entropy, Adam, batch 32, 10 epochs.
//
//   npx tsx examples/fashion-mnist-mlp.ts [--data DIR] [--epochs N] [--backend js]

import { Activation, Dense, Network } from '../lib/index.js';
import { runFashionMnist } from './fashion-mnist.js';

export function buildMlp(seed: number): Network {
  return new Network({ seed })
    .add(new Dense(784, 128, { activation: 'relu', kernelInitializer: 'heUniform' }))
    .add(new Dense(128, 10))
    .add(new Activation('softmax'));
}

if (require.main === module) {
  runFashionMnist({ name: 'MLP 784-128-10', build: buildMlp, flatten: true, epochs: 10 }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
