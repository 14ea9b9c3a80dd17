// ONNX import: builds a layerwise network from an ONNX model in the operator
// subset layerwise's layers express (Gemm, MatMul + Add, Conv, Relu, Tanh,
// Sigmoid, LeakyRelu, Softmax, MaxPool, AveragePool, GlobalAveragePool,
// GlobalMaxPool, BatchNormalization, Flatten, Reshape (to [batch, -1], or of
// channels-last data to any shape keeping the batch), Transpose, Identity and
// Dropout), including NCHW models
// exported by torch.onnx.export.
//
// The imported network takes layerwise's layout: [n, features], or images as
// [n, h, w, c]. While walking the graph, the ONNX value at hand is tracked as a
// permutation of the layerwise tensor (a Transpose only changes that
// permutation), so a model whose input is NCHW needs no transposes at run
// time. Where ONNX flattens NCHW data, the Flatten keeps layerwise's order and
// the next Gemm's weight rows are reordered to match.
//
// The file is only decoded (protobufjs's static reader, no code generation
// from the file) and every size is checked against what the file holds before
// anything is allocated; anything outside the subset fails with a
// ModelFileError naming the op type and node.

import { onnx } from 'onnx-proto';
import { Activation } from '../layers/activation.js';
import { Conv2D, outputAndPad } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Flatten } from '../layers/flatten.js';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from '../layers/global-pooling.js';
import { Reshape } from '../layers/reshape.js';
import type { Layer } from '../layers/layer.js';
import { AvgPool2D, MaxPool2D } from '../layers/pooling.js';
import { Network } from '../network.js';
import { BatchNormalization } from '../layers/batchnorm.js';
import { Normalization } from '../preprocessing.js';
import { ModelFileError, OptionError } from '../errors.js';
import { describe, formatShape } from '../shape.js';

/** Largest model accepted by default: protobuf messages cannot exceed 2 GiB anyway. */
const DEFAULT_MAX_BYTES = 2 ** 31 - 1;

/** Options of fromOnnx. */
export interface OnnxImportOptions {
  /** Largest file accepted in bytes (default 2 GiB - 1, protobuf's own limit). */
  maxBytes?: number;
}

/** What the graph walk knows about the ONNX value the next node reads. */
interface Value {
  name: string;
  /** Per-sample ONNX shape (batch dimension left out). */
  shape: number[];
  /** ONNX axis i holds layerwise axis perm[i] (both with the batch axis 0). */
  perm: number[];
  /** After a Flatten of non-layerwise-ordered data: flatRow[k] is the ONNX row of layerwise's flat element k. */
  flatRow?: Int32Array;
  /**
   * After a global pool: the ONNX value is [N, C, 1, 1] (shape [C, 1, 1], perm
   * NCHW) while the layerwise tensor is [n, c], the same values in the same
   * order. A flatten then needs no layer; anything else first gets a
   * Reshape to [1, 1, c] (unsqueeze).
   */
  squeezed?: boolean;
}

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const identity = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

class Importer {
  readonly network = new Network();
  private readonly initializers = new Map<string, { dims: number[]; data: Float32Array | number[] }>();
  private value!: Value;
  /** The Dense or Conv2D the previous node created, if nothing has read its output since (for Add and BatchNormalization). */
  private lastAffine?: { layer: Dense | Conv2D; output: string; activated: boolean };

  constructor(private readonly fileBytes: number) {}

  fail(what: string, node?: onnx.INodeProto): never {
    throw new ModelFileError(node ? `ONNX node '${node.name || '(unnamed)'}' (${node.opType}): ${what}` : `ONNX model: ${what}`);
  }

  run(model: onnx.ModelProto): Network {
    const graph = model.graph;
    if (!graph) this.fail('it has no graph');
    const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
    const version = opset ? int(opset.version) : 0;
    if (version < 7) this.fail(`opset ${version} is not supported (7 or later)`);
    for (const t of graph.initializer ?? []) this.initializers.set(t.name ?? '', this.tensor(t));
    const inputs = (graph.input ?? []).filter((i) => !this.initializers.has(i.name ?? ''));
    if (inputs.length !== 1) this.fail(`expected one graph input but found ${inputs.length}`);
    if ((graph.output ?? []).length !== 1) this.fail(`expected one graph output but found ${(graph.output ?? []).length}`);
    const dims = inputs[0].type?.tensorType?.shape?.dim ?? [];
    if (dims.length !== 2 && dims.length !== 4) this.fail(`expected a graph input of rank 2 or 4 but '${inputs[0].name}' has rank ${dims.length}`);
    const sample = dims.slice(1).map((d, i) => {
      const v = d.dimValue === undefined || d.dimValue === null ? NaN : int(d.dimValue);
      if (!Number.isSafeInteger(v) || v < 1) this.fail(`the input's dimension ${i + 1} must be a fixed positive size (only the batch may be dynamic)`);
      return v;
    });
    const nodes = graph.node ?? [];
    // A rank-4 input read straight into a Transpose to NCHW is layerwise's own layout (what toOnnx writes); otherwise ONNX's NCHW.
    const firstUse = nodes.find((n) => (n.input ?? []).includes(inputs[0].name ?? ''));
    const nhwcInput = dims.length === 4 && firstUse?.opType === 'Transpose' && same(intsAttr(firstUse, 'perm') ?? [], [0, 3, 1, 2]);
    this.value = { name: inputs[0].name ?? '', shape: sample, perm: dims.length === 4 && !nhwcInput ? [0, 3, 1, 2] : identity(dims.length) };
    for (const node of nodes) this.node(node);
    const output = graph.output![0].name;
    if (this.value.name !== output) this.fail(`the graph is not a single chain ending in its output '${output}'`);
    if (!same(this.value.perm, identity(this.value.perm.length))) {
      this.fail('the graph output is in a layout other than the network\'s own (an NCHW image output is not supported)');
    }
    if (this.value.flatRow) this.fail('the graph ends in a Flatten of NCHW data, whose order layerwise cannot reproduce without a following Gemm');
    if (this.network.layers.length === 0) this.fail('the graph has no layers layerwise can run');
    return this.network;
  }

  private tensor(t: onnx.ITensorProto): { dims: number[]; data: Float32Array | number[] } {
    const name = t.name ?? '(unnamed)';
    const dims = (t.dims ?? []).map((d) => int(d));
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) this.fail(`initializer '${name}' has dimensions ${describe(dims)}`);
    const count = product(dims);
    // A tensor can never hold more values than the file has bytes: refuse before allocating.
    if (count > this.fileBytes) this.fail(`initializer '${name}' claims ${count} values but the file has only ${this.fileBytes} bytes`);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) this.fail(`initializer '${name}' is stored in an external file, which is not read`);
    if (t.dataType === onnx.TensorProto.DataType.FLOAT) {
      let data: Float32Array;
      if (t.rawData && t.rawData.length > 0) {
        if (t.rawData.length !== count * 4) this.fail(`initializer '${name}' holds ${t.rawData.length} bytes for ${count} floats`);
        data = new Float32Array(count);
        new Uint8Array(data.buffer).set(t.rawData);
        if (!littleEndian) for (let i = 0; i < count; i++) data[i] = new DataView(t.rawData.buffer, t.rawData.byteOffset).getFloat32(i * 4, true);
      } else {
        const values = t.floatData ?? [];
        if (values.length !== count) this.fail(`initializer '${name}' holds ${values.length} floats for dimensions ${describe(dims)}`);
        data = Float32Array.from(values);
      }
      for (let i = 0; i < count; i++) if (!Number.isFinite(data[i])) this.fail(`initializer '${name}' holds ${data[i]} at value ${i}`);
      return { dims, data };
    }
    if (t.dataType === onnx.TensorProto.DataType.INT64) {
      let data: number[];
      if (t.rawData && t.rawData.length > 0) {
        if (t.rawData.length !== count * 8) this.fail(`initializer '${name}' holds ${t.rawData.length} bytes for ${count} int64 values`);
        const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
        data = Array.from({ length: count }, (_, i) => Number(view.getBigInt64(i * 8, true)));
      } else {
        data = (t.int64Data ?? []).map((v) => int(v));
        if (data.length !== count) this.fail(`initializer '${name}' holds ${data.length} int64 values for dimensions ${describe(dims)}`);
      }
      return { dims, data };
    }
    return this.fail(`initializer '${name}' has data type ${t.dataType}; only float and int64 tensors are read`);
  }

  private floats(node: onnx.INodeProto, index: number, what: string): { dims: number[]; data: Float32Array } {
    const name = node.input?.[index];
    const t = name ? this.initializers.get(name) : undefined;
    if (!t || !(t.data instanceof Float32Array)) this.fail(`expected ${what} (input ${index}) to be a float initializer`, node);
    return t as { dims: number[]; data: Float32Array };
  }

  private add(layer: Layer, node: onnx.INodeProto, shape: number[]): void {
    try {
      this.network.add(layer);
    } catch (err) {
      this.fail((err as Error).message, node);
    }
    this.lastAffine = layer instanceof Dense || layer instanceof Conv2D ? { layer, output: node.output![0], activated: false } : undefined;
    this.value = { ...this.value, name: node.output![0], shape, flatRow: undefined, squeezed: undefined };
  }

  /** Gives a squeezed global-pool result back its 1×1 image dimensions: a Reshape layer to [1, 1, c]. */
  private unsqueeze(node: onnx.INodeProto): void {
    const [c] = this.value.shape;
    try {
      this.network.add(new Reshape([1, 1, c]));
    } catch (err) {
      this.fail((err as Error).message, node);
    }
    this.value = { ...this.value, squeezed: undefined };
    this.lastAffine = undefined;
  }

  /** Passes the value through unchanged under the node's output name. */
  private rename(node: onnx.INodeProto): void {
    this.value = { ...this.value, name: node.output![0] };
    if (this.lastAffine) this.lastAffine.output = node.output![0];
  }

  private node(node: onnx.INodeProto): void {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if ((node.output ?? []).length < 1) this.fail('it has no output', node);
    if (inputs[0] !== this.value.name) {
      this.fail(`reads '${inputs[0]}' but the chain's current value is '${this.value.name}' (only single-chain graphs are imported)`, node);
    }
    if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') this.fail(`operator domain '${node.domain}' is not supported`, node);
    if (this.value.squeezed && !['Flatten', 'Reshape', 'Identity', 'Dropout'].includes(op)) this.unsqueeze(node);
    const rank = this.value.perm.length;
    const lwAxis = (onnxAxis: number): number => this.value.perm[onnxAxis < 0 ? onnxAxis + rank : onnxAxis];
    switch (op) {
      case 'Identity':
      case 'Dropout':
        this.rename(node);
        return;
      case 'Relu': case 'Tanh': case 'Sigmoid': case 'LeakyRelu': {
        const kind = ({ Relu: 'relu', Tanh: 'tanh', Sigmoid: 'sigmoid', LeakyRelu: 'leakyRelu' } as const)[op];
        const alpha = op === 'LeakyRelu' ? floatAttr(node, 'alpha') ?? 0.01 : undefined;
        const flatRow = this.value.flatRow;
        this.add(new Activation(kind, alpha === undefined ? undefined : { alpha }), node, this.value.shape);
        // Elementwise: a pending reorder still applies to the next Gemm.
        this.value.flatRow = flatRow;
        return;
      }
      case 'Softmax': {
        const axis = intAttr(node, 'axis') ?? -1;
        if (lwAxis(axis) !== rank - 1) this.fail(`softmax over axis ${axis} is not over layerwise's last (feature or channel) axis`, node);
        if (rank === 2 && this.value.flatRow) this.fail('softmax over NCHW-flattened data is not supported', node);
        this.add(new Activation('softmax'), node, this.value.shape);
        return;
      }
      case 'Transpose': {
        const perm = intsAttr(node, 'perm') ?? identity(rank).reverse();
        if (!same([...perm].sort((a, b) => a - b), identity(rank)) || perm[0] !== 0) this.fail(`perm ${describe(perm)} must keep the batch axis first`, node);
        if (this.value.flatRow) this.fail('a Transpose after a Flatten of NCHW data is not supported', node);
        const shape = perm.slice(1).map((p) => this.value.shape[p - 1]);
        this.value = { name: node.output![0], shape, perm: perm.map((p) => this.value.perm[p]) };
        this.lastAffine = undefined;
        return;
      }
      case 'Flatten': {
        const axis = intAttr(node, 'axis') ?? 1;
        if (axis !== 1) this.fail(`Flatten axis ${axis} is not supported (only 1: keep the batch)`, node);
        this.flatten(node);
        return;
      }
      case 'Reshape': {
        const target = this.initializers.get(inputs[1] ?? '');
        if (!target || target.data instanceof Float32Array) this.fail('expected the shape to be an int64 initializer', node);
        const t = target!.data as number[];
        const total = product(this.value.shape);
        const flattens = t.length === 2 && (t[0] === 0 || t[0] === -1) && (t[1] === -1 || t[1] === total);
        if (flattens) this.flatten(node);
        else this.reshape(node, t);
        return;
      }
      case 'Gemm': {
        if (rank !== 2) this.fail(`expected a [batch, features] input but it is rank ${rank}`, node);
        if ((intAttr(node, 'transA') ?? 0) !== 0) this.fail('transA is not supported', node);
        const alpha = floatAttr(node, 'alpha') ?? 1;
        const beta = floatAttr(node, 'beta') ?? 1;
        const b = this.floats(node, 1, 'B');
        if (b.dims.length !== 2) this.fail(`expected a 2-D B but it is ${describe(b.dims)}`, node);
        const transB = (intAttr(node, 'transB') ?? 0) !== 0;
        const [inSize, outSize] = transB ? [b.dims[1], b.dims[0]] : b.dims;
        if (inSize !== this.value.shape[0]) this.fail(`B takes ${inSize} features but the input has ${this.value.shape[0]} (shapes do not chain)`, node);
        const dense = this.dense(node, inSize, outSize, (i, o) => alpha * b.data[transB ? o * inSize + i : i * outSize + o]);
        if (inputs.length > 2 && inputs[2]) {
          const c = this.floats(node, 2, 'C');
          if (c.data.length !== outSize && c.data.length !== 1) this.fail(`expected C of ${outSize} values but it has ${c.data.length}`, node);
          for (let o = 0; o < outSize; o++) dense.bias.data[o] = beta * c.data[c.data.length === 1 ? 0 : o];
        }
        return;
      }
      case 'MatMul': {
        if (rank !== 2) this.fail(`expected a [batch, features] input but it is rank ${rank}`, node);
        const b = this.floats(node, 1, 'B');
        if (b.dims.length !== 2) this.fail(`expected a 2-D B but it is ${describe(b.dims)}`, node);
        const [inSize, outSize] = b.dims;
        if (inSize !== this.value.shape[0]) this.fail(`B takes ${inSize} features but the input has ${this.value.shape[0]} (shapes do not chain)`, node);
        this.dense(node, inSize, outSize, (i, o) => b.data[i * outSize + o]);
        return;
      }
      case 'Add': {
        const last = this.lastAffine;
        if (!last || last.activated || !(last.layer instanceof Dense)) this.fail('an Add is supported only as the bias right after a MatMul', node);
        const c = this.floats(node, 1, 'the bias');
        const dense = last.layer as Dense;
        if (c.data.length !== dense.outputSize) this.fail(`expected a bias of ${dense.outputSize} values but it has ${c.data.length}`, node);
        for (let o = 0; o < dense.outputSize; o++) dense.bias.data[o] += c.data[o];
        this.rename(node);
        return;
      }
      case 'Sub': {
        // (x − offset) per feature, as toOnnx writes a Normalization layer; a Mul right after scales it.
        const c = this.floats(node, 1, 'the offset');
        const features = this.value.shape[this.value.shape.length - 1];
        if (!same(this.value.perm, identity(rank)) || c.data.length !== features || c.dims.length !== 1) {
          this.fail(`a Sub is supported only as a per-feature offset of ${features} values on the last axis`, node);
        }
        const flatRow = this.value.flatRow;
        if (flatRow) this.fail('a Sub after a Flatten of NCHW data is not supported', node);
        this.add(new Normalization({ offset: Array.from(c.data), scale: Array.from(c.data, () => 1) }), node, this.value.shape);
        return;
      }
      case 'Mul': {
        const last = this.network.layers[this.network.layers.length - 1];
        if (!(last instanceof Normalization) || this.value.name !== node.input![0]) this.fail('a Mul is supported only as the scale right after a Sub', node);
        const c = this.floats(node, 1, 'the scale');
        const norm = last as Normalization;
        if (c.data.length !== norm.offset!.length || c.dims.length !== 1) this.fail(`expected ${norm.offset!.length} scale values but got ${c.data.length}`, node);
        const scaled = new Normalization({ offset: Array.from(norm.offset!), scale: Array.from(norm.scale!, (s, i) => s * c.data[i]) });
        this.network.layers[this.network.layers.length - 1] = scaled;
        this.rename(node);
        return;
      }
      case 'Conv': this.conv(node); return;
      case 'MaxPool': case 'AveragePool': this.pool(node, op); return;
      case 'GlobalAveragePool': case 'GlobalMaxPool': {
        this.requireNchw(node);
        const [c] = this.value.shape;
        this.add(op === 'GlobalAveragePool' ? new GlobalAveragePooling2D() : new GlobalMaxPooling2D(), node, [c, 1, 1]);
        this.value.squeezed = true;
        return;
      }
      case 'BatchNormalization': this.batchNorm(node); return;
      default:
        this.fail(`operator ${op} is not supported (supported: Gemm, MatMul, Add, Conv, Relu, Tanh, Sigmoid, LeakyRelu, Softmax, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, BatchNormalization, Flatten, Reshape, Transpose, Identity, Dropout, and Sub + Mul as a per-feature normalization)`, node);
    }
  }

  /**
   * A Reshape other than a flatten, as a layerwise Reshape: only of data in
   * layerwise's own order (where ONNX's row-major reshape is layerwise's), with
   * the batch kept (0, or -1 with every other size fixed).
   */
  private reshape(node: onnx.INodeProto, target: number[]): void {
    const { shape, perm, squeezed, flatRow } = this.value;
    if (!(squeezed || same(perm, identity(perm.length))) || flatRow) {
      this.fail(`a reshape of NCHW data to ${formatShape(target)} is not supported (only a flatten to [batch, -1], or a reshape of channels-last data)`, node);
    }
    const [batch, ...sample] = target;
    const keepsBatch = batch === 0 || (batch === -1 && !sample.includes(-1));
    if (target.length < 2 || !keepsBatch) this.fail(`a reshape to ${formatShape(target)} must keep the batch dimension first (0)`, node);
    // 0 copies the input's size at that position (ONNX's allowzero = 0).
    const resolvedTarget = sample.map((d, i) => (d === 0 ? shape[i] ?? NaN : d));
    if (!resolvedTarget.every((d) => d === -1 || (Number.isSafeInteger(d) && d > 0))) this.fail(`cannot reshape ${formatShape([-1, ...shape])} to ${formatShape(target)}`, node);
    let layer: Reshape;
    let out: number[];
    try {
      layer = new Reshape(resolvedTarget);
      out = layer.build(squeezed ? [shape[0]] : shape);
    } catch (err) {
      return this.fail(`${(err as Error).message} (shapes do not chain)`, node);
    }
    this.add(layer, node, out);
    this.value.perm = identity(out.length + 1);
  }

  private flatten(node: onnx.INodeProto): void {
    if (this.value.squeezed) {
      // [N, C, 1, 1] flattened is layerwise's [n, c] already.
      this.value = { name: node.output![0], shape: [this.value.shape[0]], perm: [0, 1] };
      if (this.lastAffine) this.lastAffine.output = node.output![0];
      return;
    }
    const { shape, perm } = this.value;
    let flatRow: Int32Array | undefined;
    if (!same(perm, identity(perm.length))) {
      // layerwise flattens its own tensor; record where each of its elements sits in ONNX's flattening.
      const total = product(shape);
      if (total > this.fileBytes) this.fail('the flattened size exceeds anything the file can describe', node);
      const lwShape = identity(perm.length - 1).map((a) => shape[perm.indexOf(a + 1) - 1]);
      flatRow = new Int32Array(total);
      const onnxStrides = stridesOf(shape);
      const lwIndex = new Array<number>(lwShape.length).fill(0);
      for (let k = 0; k < total; k++) {
        let row = 0;
        for (let a = 0; a < lwShape.length; a++) row += lwIndex[a] * onnxStrides[perm.indexOf(a + 1) - 1];
        flatRow[k] = row;
        for (let a = lwShape.length - 1; a >= 0; a--) {
          if (++lwIndex[a] < lwShape[a]) break;
          lwIndex[a] = 0;
        }
      }
      if (flatRow.every((r, k) => r === k)) flatRow = undefined;
    }
    if (perm.length > 2) this.add(new Flatten(), node, [product(shape)]);
    else this.rename(node);
    this.value = { name: node.output![0], shape: [product(shape)], perm: [0, 1], flatRow };
  }

  private dense(node: onnx.INodeProto, inSize: number, outSize: number, weight: (i: number, o: number) => number): Dense {
    if (inSize * outSize > this.fileBytes) this.fail(`a ${inSize}×${outSize} weight matrix is larger than the file`, node);
    const flatRow = this.value.flatRow;
    const dense = new Dense(inSize, outSize);
    // Added first: Network.add initialises the parameters, which are then overwritten.
    this.add(dense, node, [outSize]);
    for (let i = 0; i < inSize; i++) {
      const from = flatRow ? flatRow[i] : i;
      for (let o = 0; o < outSize; o++) dense.weights.data[i * outSize + o] = weight(from, o);
    }
    dense.bias.data.fill(0);
    return dense;
  }

  private requireNchw(node: onnx.INodeProto): void {
    if (!same(this.value.perm, [0, 3, 1, 2])) this.fail('expected an NCHW image input here (rank 4, channels second)', node);
  }

  /** 'valid', or 'same' when the explicit pads equal what layerwise's 'same' pads. */
  private padding(node: onnx.INodeProto, kernel: number[], strides: number[]): 'valid' | 'same' {
    const auto = stringAttr(node, 'auto_pad') ?? 'NOTSET';
    if (auto === 'SAME_UPPER') return 'same';
    if (auto === 'VALID') return 'valid';
    if (auto !== 'NOTSET') this.fail(`auto_pad ${auto} is not supported`, node);
    const pads = intsAttr(node, 'pads') ?? [0, 0, 0, 0];
    if (pads.every((p) => p === 0)) return 'valid';
    const [, h, w] = this.value.shape;
    const [, top] = outputAndPad(h, kernel[0], strides[0], 'same');
    const [, left] = outputAndPad(w, kernel[1], strides[1], 'same');
    const [outH] = outputAndPad(h, kernel[0], strides[0], 'same');
    const [outW] = outputAndPad(w, kernel[1], strides[1], 'same');
    const bottom = Math.max((outH - 1) * strides[0] + kernel[0] - h, 0) - top;
    const right = Math.max((outW - 1) * strides[1] + kernel[1] - w, 0) - left;
    if (same(pads, [top, left, bottom, right])) return 'same';
    return this.fail(`pads ${describe(pads)} are neither none nor layerwise's 'same' (${describe([top, left, bottom, right])})`, node);
  }

  private window(node: onnx.INodeProto): { kernel: number[]; strides: number[] } {
    const kernel = intsAttr(node, 'kernel_shape');
    if (!kernel || kernel.length !== 2 || !kernel.every((k) => Number.isSafeInteger(k) && k > 0)) this.fail(`expected a 2-D kernel_shape but got ${describe(kernel)}`, node);
    const strides = intsAttr(node, 'strides') ?? [1, 1];
    if (strides.length !== 2 || !strides.every((s) => Number.isSafeInteger(s) && s > 0)) this.fail(`expected 2-D strides but got ${describe(strides)}`, node);
    const dilations = intsAttr(node, 'dilations') ?? [1, 1];
    if (!dilations.every((d) => d === 1)) this.fail(`dilations ${describe(dilations)} are not supported`, node);
    if ((intAttr(node, 'ceil_mode') ?? 0) !== 0) this.fail('ceil_mode is not supported', node);
    return { kernel: kernel!, strides };
  }

  private outShape(node: onnx.INodeProto, channels: number, kernel: number[], strides: number[], padding: 'valid' | 'same'): number[] {
    const [, h, w] = this.value.shape;
    const [outH] = outputAndPad(h, kernel[0], strides[0], padding);
    const [outW] = outputAndPad(w, kernel[1], strides[1], padding);
    if (outH < 1 || outW < 1) this.fail(`a ${kernel[0]}×${kernel[1]} window does not fit a ${h}×${w} input (shapes do not chain)`, node);
    return [channels, outH, outW];
  }

  private conv(node: onnx.INodeProto): void {
    this.requireNchw(node);
    if ((intAttr(node, 'group') ?? 1) !== 1) this.fail('grouped convolution is not supported', node);
    const { kernel, strides } = this.window(node);
    const w = this.floats(node, 1, 'W');
    const [cin] = this.value.shape;
    if (w.dims.length !== 4 || w.dims[1] !== cin || w.dims[2] !== kernel[0] || w.dims[3] !== kernel[1]) {
      this.fail(`W ${describe(w.dims)} does not match ${cin} input channels and kernel ${describe(kernel)} (shapes do not chain)`, node);
    }
    const cout = w.dims[0];
    const padding = this.padding(node, kernel, strides);
    const shape = this.outShape(node, cout, kernel, strides, padding);
    // A first layer states the whole input shape, so the network exports again without being told it.
    const [, h, wide] = this.value.shape;
    const input = this.network.layers.length === 0 ? { inputShape: [h, wide, cin] as [number, number, number] } : { inputChannels: cin };
    const conv = new Conv2D({ filters: cout, kernelSize: [kernel[0], kernel[1]], strides: [strides[0], strides[1]], padding, ...input });
    this.add(conv, node, shape);
    const [kh, kw] = kernel;
    for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
      conv.weights.data[((y * kw + x) * cin + i) * cout + o] = w.data[((o * cin + i) * kh + y) * kw + x];
    }
    conv.bias.data.fill(0);
    if ((node.input ?? []).length > 2 && node.input![2]) {
      const b = this.floats(node, 2, 'B');
      if (b.data.length !== cout) this.fail(`expected a bias of ${cout} values but it has ${b.data.length}`, node);
      conv.bias.data.set(b.data);
    }
  }

  private pool(node: onnx.INodeProto, op: string): void {
    this.requireNchw(node);
    const { kernel, strides } = this.window(node);
    const padding = this.padding(node, kernel, strides);
    if (op === 'AveragePool' && padding === 'same' && (intAttr(node, 'count_include_pad') ?? 0) !== 0) {
      this.fail('count_include_pad = 1 with padding is not supported (layerwise averages the taps inside the image)', node);
    }
    const options = { poolSize: [kernel[0], kernel[1]] as [number, number], strides: [strides[0], strides[1]] as [number, number], padding };
    this.add(op === 'MaxPool' ? new MaxPool2D(options) : new AvgPool2D(options), node, this.outShape(node, this.value.shape[0], kernel, strides, padding));
  }

  /** Inference BatchNormalization as a layerwise BatchNormalization layer over the channels (ONNX axis 1, layerwise's last axis). */
  private batchNorm(node: onnx.INodeProto): void {
    const rank = this.value.perm.length;
    if (this.value.perm[1] !== rank - 1) this.fail('BatchNormalization over an axis other than layerwise\'s last (channels) is not supported', node);
    if (this.value.flatRow) this.fail('BatchNormalization after a Flatten of NCHW data is not supported', node);
    const channels = this.value.shape[0];
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) => this.floats(node, k, ['scale', 'B', 'mean', 'var'][k - 1]).data);
    for (const t of [gamma, beta, mean, variance]) if (t.length !== channels) this.fail(`expected ${channels} values per parameter but got ${t.length} (shapes do not chain)`, node);
    if (variance.some((v) => v < 0)) this.fail('a running variance is negative', node);
    const epsilon = floatAttr(node, 'epsilon') ?? 1e-5;
    if (!(epsilon > 0)) this.fail(`epsilon must be positive but is ${epsilon}`, node);
    const layer = new BatchNormalization({ epsilon, features: channels });
    this.add(layer, node, this.value.shape);
    const [g, b] = layer.parameters();
    const [m, v] = layer.stateTensors();
    g.value.data.set(gamma);
    b.value.data.set(beta);
    m.value.data.set(mean);
    v.value.data.set(variance);
  }
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/** An int64 from protobufjs (a number, or a Long when the long package is present) as a safe integer, or NaN. */
function int(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && typeof (v as { toNumber?: unknown }).toNumber === 'function') {
    const long = v as { toNumber(): number; toString(): string };
    const n = long.toNumber();
    return Number.isSafeInteger(n) ? n : NaN;
  }
  return NaN;
}

function attribute(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
function intAttr(node: onnx.INodeProto, name: string): number | undefined {
  const a = attribute(node, name);
  return a ? int(a.i) : undefined;
}
function floatAttr(node: onnx.INodeProto, name: string): number | undefined {
  const a = attribute(node, name);
  return a ? (a.f ?? 0) : undefined;
}
function intsAttr(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a ? (a.ints ?? []).map((v) => int(v)) : undefined;
}
function stringAttr(node: onnx.INodeProto, name: string): string | undefined {
  const a = attribute(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}

/** Decodes an ONNX model and builds the network it describes (see the file comment for the subset). */
export function networkFromOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): Network {
  if (!(bytes instanceof Uint8Array)) throw new OptionError(`expected a Uint8Array for fromOnnx but got ${describe(bytes)}`);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.length > maxBytes) throw new ModelFileError(`ONNX model: ${bytes.length} bytes, above the limit of ${maxBytes}`);
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelFileError(`ONNX model: not a valid protobuf message (truncated or corrupted?): ${(err as Error).message}`);
  }
  return new Importer(bytes.length).run(model);
}
