// The Backend interface names every kernel once. `js` (pure TypeScript, the
// reference and fallback) and `native` (C++ through Node-API) implement it,
// and one conformance suite runs against both.
//
// Conventions for every kernel:
// - Buffers are Float32Array, row-major, contiguous; tensors are channels-last
//   with the sample dimension first (NHWC).
// - Callers (layers and ops) validate shapes first; a backend may assume each
//   buffer holds exactly the elements its sizes describe. (The native binding
//   re-checks lengths anyway, so a bad call throws rather than crashes.)
// - Outputs never share memory with inputs unless a kernel says it may.
// - `accumulate` adds into the output instead of overwriting it.

/** The activations the kernels fuse into a Dense or Conv2D output pass. */
export type ActivationKind = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'leakyRelu';
/** In the order of the native kernels' activation codes. */
export const ACTIVATION_KINDS: readonly ActivationKind[] = ['linear', 'relu', 'sigmoid', 'tanh', 'leakyRelu'];

/**
 * Geometry of a batched 2-D cross-correlation:
 *   x [n, inH, inW, inC], w [kH, kW, inC, outC], y [n, outH, outW, outC]
 *   y[b,i,j,o] = Σ_{u,v,c} x[b, i·strideH + u − padTop, j·strideW + v − padLeft, c] · w[u,v,c,o]
 * Taps outside x read as zero, so pads and output sizes express 'valid',
 * 'same' and 'full' alike.
 */
export interface ConvGeometry {
  n: number;
  inH: number;
  inW: number;
  inC: number;
  kH: number;
  kW: number;
  outC: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/**
 * Geometry of 2-D pooling, each channel on its own:
 *   x [n, inH, inW, c], y [n, outH, outW, c]
 *   window of output (i, j): rows i·strideH − padTop + [0, poolH), columns j·strideW − padLeft + [0, poolW)
 * Taps outside x are padding: they never win a max and do not count in an average.
 */
export interface PoolGeometry {
  n: number;
  inH: number;
  inW: number;
  c: number;
  poolH: number;
  poolW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/** The kernels a backend provides; `js` and `native` implement every one, and `getBackend()` returns the active one. */
export interface Backend {
  readonly name: 'js' | 'native';

  /**
   * c[m,n] = alpha·op(a)·op(b) (+ c when accumulate); alpha defaults to 1.
   * a is [m,k] ([k,m] when transA), b is [k,n] ([n,k] when transB).
   * Each product is rounded to float32 before alpha scales it, so
   * accumulating with alpha = −lr gives what axpy(−lr, product, c) gives
   * (up to the FMA contraction of the last step): a plain SGD step folded
   * into the weight-gradient product.
   */
  matmul(
    a: Float32Array, b: Float32Array, c: Float32Array,
    m: number, n: number, k: number,
    transA: boolean, transB: boolean, accumulate: boolean, alpha?: number,
  ): void;

  /**
   * c[m,n] = f(a·b + bias) for a [m,k], b [k,n], bias [n]: matmul then
   * biasActivation in one call, bit-identical to the two (the native GEMM
   * applies the bias and activation to each tile of c as it stores it).
   * Returns whether every value of a·b + bias (before f) was finite: a row of
   * a holding NaN or ±Infinity makes all of its row's values non-finite, so
   * true vouches that a holds none (predict skips its own scan of the input
   * on it); false may also come from an overflow or a non-finite weight.
   */
  matmulBiasActivation(a: Float32Array, b: Float32Array, bias: Float32Array, c: Float32Array, m: number, n: number, k: number,
    kind: ActivationKind, alpha: number): boolean;

  /** y = x ⋆ w (cross-correlation, see ConvGeometry). */
  conv2dForward(x: Float32Array, w: Float32Array, y: Float32Array, g: ConvGeometry, accumulate: boolean): void;
  /**
   * y = f(x ⋆ w + bias) for bias [outC]: conv2dForward then biasActivation in
   * one call, bit-identical to the two (the native kernel applies each tile's
   * bias and activation while the tile is still in cache).
   */
  conv2dForwardBiasActivation(x: Float32Array, w: Float32Array, bias: Float32Array, y: Float32Array, g: ConvGeometry,
    kind: ActivationKind, alpha: number): void;
  /** dx = ∂E/∂x given dy = ∂E/∂y: dy scattered back through w (a 'full' convolution for stride 1). */
  conv2dBackwardInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: ConvGeometry, accumulate: boolean): void;
  /** dw = ∂E/∂w given dy: the correlation of x with dy, summed over the batch. */
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeometry, accumulate: boolean): void;
  /**
   * dw = conv2dBackwardFilter(x, dy) for the dy that maxPool2dBackward(t,
   * argmax, dy, pool) would give, without writing that dy: the filter
   * gradient of a conv whose output `pool` max-pools in non-overlapping
   * windows (strideH = poolH, strideW = poolW, no padding; pool.n, inH, inW, c
   * = g.n, outH, outW, outC), t being the gradient at the pool's winners.
   */
  conv2dBackwardFilterPooled(x: Float32Array, t: Float32Array, argmax: Int32Array, dw: Float32Array, g: ConvGeometry, pool: PoolGeometry): void;

  /** y = f(x) elementwise; y may be x. alpha is leakyRelu's negative slope. */
  activationForward(kind: ActivationKind, x: Float32Array, y: Float32Array, alpha: number): void;
  /** dx = dy · f'(x), where y = f(x) is given too; dx may be dy. */
  activationBackward(kind: ActivationKind, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, alpha: number): void;
  /** Row-wise softmax of x [rows, cols] (max-subtracted); y may be x. */
  softmaxRows(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  /** dx = y ⊙ (dy − Σ_cols dy·y) per row, for y = softmax(x). dx may be dy. */
  softmaxBackwardRows(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  /** out = a ⊙ b; out may be a or b. */
  multiply(a: Float32Array, b: Float32Array, out: Float32Array): void;

  /** y = window maxima; argmax [n,outH,outW,c] gets each winner's index inside its image ((r·inW + q)·c + ch), −1 for all-padding windows (y = 0). */
  maxPool2dForward(x: Float32Array, y: Float32Array, argmax: Int32Array, g: PoolGeometry): void;
  /** y = window maxima as maxPool2dForward computes them, without recording winners (inference, where no backward pass follows). */
  maxPool2dValues(x: Float32Array, y: Float32Array, g: PoolGeometry): void;
  /** dx = 0, then dy scattered to the argmax positions. */
  maxPool2dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, g: PoolGeometry): void;
  /**
   * maxPool2dBackward through the activation `kind` that produced x (f' a
   * function of f's output, as for biasActivation): dy · f'(y) is scattered,
   * y being the pool's output (f's output at each winner). When `sums` [c] is
   * given it receives the per-channel sum of what was scattered (Σ dx over
   * the batch: the bias gradient of the layer f ends), summed per image and
   * then over images in order.
   */
  maxPool2dBackwardActivation(dy: Float32Array, argmax: Int32Array, y: Float32Array, dx: Float32Array, g: PoolGeometry,
    kind: ActivationKind, alpha: number, sums: Float32Array | null): void;
  /** y = window means over in-bounds taps only (0 for windows with none). */
  avgPool2dForward(x: Float32Array, y: Float32Array, g: PoolGeometry): void;
  /** dx = 0, then each dy spread evenly over its window's in-bounds taps. */
  avgPool2dBackward(dy: Float32Array, dx: Float32Array, g: PoolGeometry): void;

  /**
   * Global pooling over channels-last images x [n, pixels, c] (pixels = h·w)
   * to y [n, c]: y = the mean of each channel over the pixels (0 when pixels = 0).
   */
  globalAvgPoolForward(x: Float32Array, y: Float32Array, n: number, pixels: number, c: number): void;
  /** dx [n, pixels, c] = dy [n, c] / pixels at every pixel (overwrites dx). */
  globalAvgPoolBackward(dy: Float32Array, dx: Float32Array, n: number, pixels: number, c: number): void;
  /**
   * y [n, c] = the maximum of each channel over the pixels of x [n, pixels, c];
   * argmax [n, c] gets the winning pixel (the first on ties, NaN wins; −1 and y = 0 when pixels = 0).
   */
  globalMaxPoolForward(x: Float32Array, y: Float32Array, argmax: Int32Array, n: number, pixels: number, c: number): void;
  /** dx = 0, then dy [n, c] written at each channel's argmax pixel (entries outside [0, pixels) are skipped). */
  globalMaxPoolBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, n: number, pixels: number, c: number): void;

  /** PyTorch SGD with momentum: v ← μv + g; p ← p − lr·(nesterov ? g + μv : v). */
  sgdMomentumStep(param: Float32Array, grad: Float32Array, velocity: Float32Array, lr: number, momentum: number, nesterov: boolean): void;
  /** Adam: m, v moments; p ← p − stepSize·m/(√(v/bias2) + eps), stepSize = lr/(1−β1ᵗ), bias2 = 1−β2ᵗ. */
  adamStep(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
    stepSize: number, beta1: number, beta2: number, bias2: number, eps: number): void;
  /** RMSprop: s ← ρs + (1−ρ)g²; p ← p − lr·g/(√s + eps). */
  rmspropStep(param: Float32Array, grad: Float32Array, sq: Float32Array, lr: number, rho: number, eps: number): void;

  /** y[r,c] += bias[c] for y [rows, cols], bias [cols]. */
  addRowVector(y: Float32Array, bias: Float32Array, rows: number, cols: number): void;
  /**
   * y[r,c] = f(y[r,c] + bias[c]) in place: bias and activation in one pass.
   * For every kind here (leakyRelu with alpha ≥ 0) f' follows from y alone,
   * so activationBackward(kind, y, y, dy, dx, alpha) is its backward pass.
   */
  biasActivation(y: Float32Array, bias: Float32Array, rows: number, cols: number, kind: ActivationKind, alpha: number): void;
  /** out[c] = Σ_r x[r,c] (+ out[c] when accumulate) for x [rows, cols]. */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number, accumulate: boolean): void;
  /** y += alpha · x. */
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;

  /**
   * Batch normalization in training, over x [rows, cols] (each column one
   * channel or feature): mean[c] and the biased variance[c] of the batch (two
   * passes), then y = gamma·(x − mean)/√(variance + eps) + beta. y may be x.
   */
  batchNormTrainForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array,
    mean: Float32Array, variance: Float32Array, rows: number, cols: number, eps: number): void;
  /**
   * Its backward pass, with x̂ = (x − mean)·invStd: dbeta[c] = Σ_r dy,
   * dgamma[c] = Σ_r dy·x̂, dx = gamma·invStd/rows · (rows·dy − dbeta − x̂·dgamma).
   * dx may be dy.
   */
  batchNormBackward(x: Float32Array, dy: Float32Array, mean: Float32Array, invStd: Float32Array, gamma: Float32Array,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, cols: number): void;
  /** y[r,c] = x[r,c]·scale[c] + shift[c]: batch normalization at inference, statistics folded into scale and shift. y may be x. */
  scaleShift(x: Float32Array, scale: Float32Array, shift: Float32Array, y: Float32Array, rows: number, cols: number): void;

  /** Index of the first NaN or ±Infinity in x, or −1 if all values are finite. */
  firstNonFinite(x: Float32Array): number;
  /**
   * out row i = src row index[start + i] for i < end − start, rows of rowSize
   * floats: a training batch's samples copied out of its data set in shuffled
   * order. An index that is not a row of src throws (a ShapeError in JS, a
   * RangeError from the native binding). Rows index[prefetchStart,
   * prefetchEnd) (the next batch's) may be asked of the cache after the copy,
   * a hint only: it changes no result, and the js backend ignores it.
   */
  gatherRows(src: Float32Array, rowSize: number, index: Int32Array, start: number, end: number, out: Float32Array, prefetchStart?: number, prefetchEnd?: number): void;
  /** Mean of (pred − target)² over all elements. */
  mse(pred: Float32Array, target: Float32Array): number;
  /** grad = 2 (pred − target) / pred.length. */
  mseGradient(pred: Float32Array, target: Float32Array, grad: Float32Array): void;
}
