// Fashion-MNIST with a small convolutional network: two conv + max-pool
// blocks, a dense layer, softmax cross-entropy, Adam, batch 32, 5 epochs.
//
//   conv 3×3 ×16 ReLU (same) → max-pool 2×2 → conv 3×3 ×32 ReLU (same) →
//   max-pool 2×2 → flatten (7·7·32) → dense 128 ReLU → dense 10 → softmax
//
//   npx tsx examples/fashion-mnist-cnn.ts [--data DIR] [--epochs N] [--backend js]

import { Activation, Conv2D, Dense, Flatten, MaxPool2D, Network } from '../lib/index.js';
import { runFashionMnist } from './fashion-mnist.js';

export function buildCnn(seed: number): Network {
  return new Network({ seed })
    .add(new Conv2D({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'heUniform', inputShape: [28, 28, 1] }))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Conv2D({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'heUniform' }))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Flatten())
    .add(new Dense(7 * 7 * 32, 128, { activation: 'relu', kernelInitializer: 'heUniform' }))
    .add(new Dense(128, 10))
    .add(new Activation('softmax'));
}

if (require.main === module) {
  runFashionMnist({ name: 'CNN conv16-pool-conv32-pool-dense128', build: buildCnn, flatten: false, epochs: 5 }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
