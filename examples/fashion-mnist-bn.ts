// Fashion-MNIST with batch normalisation: three conv blocks and a dense layer,
// each normalised before its ReLU, on images flipped left-right at random
// while training (clothes stay clothes; predict and evaluate see the images
// as they are). Adam whose learning rate warms up over the first epoch to
// 0.002, then follows a half cosine to 0 by the end of the last; batch 64,
// 10 epochs. The best epoch is chosen on a validation split held out from the
// training set, and the test set is evaluated once, at the end, with that
// epoch's weights.
//
//   random flip → conv 3×3 ×32 (same) → BN → ReLU →
//   max-pool 2×2 → conv 3×3 ×64 (same) → BN → ReLU → max-pool 2×2 →
//   conv 3×3 ×128 (same) → BN → ReLU → flatten (7·7·128) → dense 128 → BN →
//   ReLU → dropout 0.3 → dense 10 → softmax
//
//   npx tsx examples/fashion-mnist-bn.ts [--data DIR] [--epochs N] [--seed N] [--backend js]

import {
  Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Network, RandomFlip,
} from '../lib/index.js';
import { runFashionMnist } from './fashion-mnist.js';

/** conv 3×3 (same) → BN → ReLU. */
function convBlock(net: Network, filters: number): Network {
  return net
    .add(new Conv2D({ filters, kernelSize: 3, padding: 'same', kernelInitializer: 'heUniform' }))
    .add(new BatchNormalization())
    .add(new Activation('relu'));
}

export function buildBnCnn(seed: number): Network {
  const net = new Network({ seed }).add(new RandomFlip({ mode: 'horizontal', inputShape: [28, 28, 1] }));
  convBlock(net, 32).add(new MaxPool2D({ poolSize: 2 }));
  convBlock(net, 64).add(new MaxPool2D({ poolSize: 2 }));
  return convBlock(net, 128)
    .add(new Flatten())
    .add(new Dense(128, { kernelInitializer: 'heUniform' }))
    .add(new BatchNormalization())
    .add(new Activation('relu'))
    .add(new Dropout(0.3))
    .add(new Dense(10))
    .add(new Activation('softmax'));
}

if (require.main === module) {
  runFashionMnist({
    name: 'CNN flip, (conv-BN-ReLU)×3 with two pools, dense128-BN', build: buildBnCnn, flatten: false, epochs: 10, batchSize: 64,
    learningRate: 0.002, schedule: { kind: 'cosineDecay', warmupEpochs: 1 },
  }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
