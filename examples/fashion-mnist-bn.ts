// Fashion-MNIST with batch normalisation: two conv blocks and a dense layer,
// each normalised before its ReLU; Adam, batch 64, 10 epochs. The best epoch
// is chosen on a validation split held out from the training set, and the
// test set is evaluated once, at the end.
//
//   conv 3×3 ×32 (same) → BN → ReLU → max-pool 2×2 → conv 3×3 ×64 (same) → BN →
//   ReLU → max-pool 2×2 → flatten (7·7·64) → dense 128 → BN → ReLU →
//   dropout 0.3 → dense 10 → softmax
//
//   npx tsx examples/fashion-mnist-bn.ts [--data DIR] [--epochs N] [--backend js]

import { Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Network } from '../lib/index.js';
import { runFashionMnist } from './fashion-mnist.js';

export function buildBnCnn(seed: number): Network {
  return new Network({ seed })
    .add(new Conv2D({ filters: 32, kernelSize: 3, padding: 'same', kernelInitializer: 'heUniform', inputShape: [28, 28, 1] }))
    .add(new BatchNormalization())
    .add(new Activation('relu'))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Conv2D({ filters: 64, kernelSize: 3, padding: 'same', kernelInitializer: 'heUniform' }))
    .add(new BatchNormalization())
    .add(new Activation('relu'))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Flatten())
    .add(new Dense(128, { kernelInitializer: 'heUniform' }))
    .add(new BatchNormalization())
    .add(new Activation('relu'))
    .add(new Dropout(0.3))
    .add(new Dense(10))
    .add(new Activation('softmax'));
}

if (require.main === module) {
  runFashionMnist({ name: 'CNN conv32-BN-pool-conv64-BN-pool-dense128-BN', build: buildBnCnn, flatten: false, epochs: 10, batchSize: 64 }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
