import { expect } from 'chai';
import { ShapeError, mse, msePrime, tensor, Tensor } from '../lib/index.js';
import { expectClose, forEachBackend, randomTensor } from './helpers.js';

forEachBackend('losses', () => {
  it('mse is the mean over all elements (PyTorch default reduction)', () => {
    const yTrue = tensor([[1, 2], [3, 4]]);
    const yPred = tensor([[1, 0], [3, 8]]);
    expect(mse.value(yTrue, yPred)).to.be.closeTo((4 + 16) / 4, 1e-6);
    expect(mse(yTrue, yPred)).to.be.closeTo(5, 1e-6);
    expectClose(msePrime(yTrue, yPred).data, [0, -1, 0, 2]);
  });

  it('mse gradient matches finite differences', () => {
    const yTrue = randomTensor([3, 5], 1);
    const yPred = randomTensor([3, 5], 2);
    const grad = mse.gradient(yTrue, yPred);
    const eps = 1e-2;
    for (let i = 0; i < yPred.size; i++) {
      const plus = yPred.clone(); plus.data[i] += eps;
      const minus = yPred.clone(); minus.data[i] -= eps;
      const numeric = (mse(yTrue, plus) - mse(yTrue, minus)) / (2 * eps);
      expect(grad.data[i], `element ${i}`).to.be.closeTo(numeric, 1e-3);
    }
  });

  it('rejects tensors of different shapes', () => {
    expect(() => mse(Tensor.zeros([2, 1]), Tensor.zeros([2, 2]))).to.throw(ShapeError, 'expected [2,2] for mse yTrue (the shape of yPred) but got [2,1]');
  });
});
