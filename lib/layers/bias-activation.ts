// The tail Dense and Conv2D share: add the bias per output channel, then an
// optional activation. Elementwise activations run fused with the bias in one
// pass over the output (the backend's biasActivation), and their derivative is
// taken from the output alone; softmax keeps its own layer.

import type { ActivationKind } from '../backends/backend.js';
import { getBackend } from '../backends/index.js';
import { Tensor } from '../tensor.js';
import { Workspace } from '../workspace.js';
import { Activation, type ActivationName } from './activation.js';
import type { TrailingActivation } from './layer.js';

export class BiasActivation {
  readonly name?: ActivationName;
  private readonly fused?: ActivationKind;
  readonly alpha: number;
  private readonly separate?: Activation;
  private output?: Tensor;
  private readonly gradientSpace = new Workspace();

  constructor(name: ActivationName | undefined) {
    this.name = name;
    if (name === undefined) {
      this.alpha = 0;
      return;
    }
    const layer = new Activation(name); // validates the name
    this.alpha = layer.alpha;
    if (name === 'softmax') this.separate = layer;
    else this.fused = name;
  }

  /** y = f(y + bias) over y [rows, cols], in place where fused; returns the layer output. */
  forward(y: Tensor, bias: Float32Array, rows: number, cols: number): Tensor {
    const backend = getBackend();
    if (this.fused) {
      backend.biasActivation(y.data, bias, rows, cols, this.fused, this.alpha);
      this.output = y;
      return y;
    }
    backend.addRowVector(y.data, bias, rows, cols);
    return this.separate ? this.separate.forward(y) : y;
  }

  /** The activation as a following layer may apply its derivative (see BackwardFusion); undefined for softmax and leakyRelu with alpha < 0. */
  trailing(): TrailingActivation | undefined {
    if (this.separate) return undefined;
    const kind = this.fused ?? 'linear';
    if (kind === 'leakyRelu' && !(this.alpha >= 0)) return undefined;
    return { kind, alpha: this.alpha };
  }

  /** The activation a kernel may apply together with the bias (undefined: softmax, or none — forward does the tail itself). */
  get fusedKind(): ActivationKind | undefined {
    return this.fused;
  }

  /** The layer's kernel already computed y = f(y + bias) (for fusedKind): y is the output backward reads. */
  appliedBy(y: Tensor): Tensor {
    this.output = y;
    return y;
  }

  /** ∂E/∂(pre-activation) from ∂E/∂Y. */
  backward(outputGradient: Tensor): Tensor {
    if (this.separate) return this.separate.backward(outputGradient);
    if (!this.fused) return outputGradient;
    const y = this.output!;
    const dx = this.gradientSpace.tensor(y.shape);
    // relu, leakyRelu (alpha ≥ 0), sigmoid, tanh and linear: f' is a function of y.
    getBackend().activationBackward(this.fused, y.data, y.data, outputGradient.data, dx.data, this.alpha);
    return dx;
  }
}
