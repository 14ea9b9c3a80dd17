// ONNX export: a layerwise network as an ONNX model (opset 13), encoded with
// onnx-proto's static protobuf classes.
//
// The graph takes layerwise's own layout: [N, features] or [N, h, w, c] with a
// dynamic batch N. Conv and pooling run in ONNX's NCHW, so a Transpose goes in
// before the first of a run of them and one back before anything that needs
// channels-last again (Flatten, Dense, the graph output): Flatten therefore
// keeps layerwise's element order and the following Dense weights need no
// reordering. Dropout and the augmentation layers (RandomFlip,
// RandomTranslation) are identities at inference and are left out. Global
// pooling runs as GlobalAveragePool / GlobalMaxPool on NCHW followed by a
// Flatten to [N, C]; Reshape reshapes layerwise's layout (0 keeps the dynamic
// batch), so it keeps layerwise's element order. Each node
// is named after its layer (`3_Conv2D`, `3_Conv2D/relu`).
//
// Layer types are exported by the entries of EXPORTERS; a type without one
// (a registered custom layer, or a layer added later without an exporter)
// fails naming the type.

import { onnx } from 'onnx-proto';
import type { ActivationName } from '../layers/activation.js';
import type { Layer, LayerConfig } from '../layers/layer.js';
import type { Network } from '../network.js';
import { OptionError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';
import { describe, formatShape } from '../shape.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Tensor } from '../tensor.js';
import { writeFileAtomically } from '../atomic-file.js';

/** The ONNX opset toOnnx writes (the default domain's). */
export const ONNX_OPSET = 13;
/** IR version 8 (ONNX 1.10+): read by onnx 1.12's checker and every current onnxruntime. */
const IR_VERSION = 8;

/** Options of toOnnx / saveOnnx. */
export interface OnnxExportOptions {
  /** One sample's shape ([features] or [h, w, channels]) when the first layer does not fix it (a Conv2D without inputShape). */
  inputShape?: number[];
}

const NCHW = [0, 3, 1, 2];
const NHWC = [0, 2, 3, 1];

/** The graph being built: nodes, initializers, and the current value with its layout. */
class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  /** Name of the value the next layer reads. */
  current = 'input';
  /** Whether `current` is NCHW (inside a run of conv/pool layers) rather than layerwise's layout. */
  channelsFirst = false;
  /** Rank of `current`. */
  rank: number;
  private counter = 0;

  constructor(rank: number) {
    this.rank = rank;
  }

  fresh(base: string): string {
    return `${base}:${this.counter++}`;
  }

  node(opType: string, name: string, inputs: string[], attributes: onnx.IAttributeProto[] = []): string {
    const output = this.fresh(name);
    this.nodes.push({ opType, name, input: inputs, output: [output], attribute: attributes });
    this.current = output;
    return output;
  }

  constant(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({
      name, dims, dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
    });
    return name;
  }

  int64Constant(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
    return name;
  }

  toChannelsFirst(layerName: string): void {
    if (this.channelsFirst) return;
    if (this.rank !== 4) throw new ShapeError(`${layerName} needs an [n,h,w,channels] input but gets a rank-${this.rank} tensor`);
    this.node('Transpose', `${layerName}/to_nchw`, [this.current], [ints('perm', NCHW)]);
    this.channelsFirst = true;
  }

  toChannelsLast(layerName: string): void {
    if (!this.channelsFirst) return;
    this.node('Transpose', `${layerName}/to_nhwc`, [this.current], [ints('perm', NHWC)]);
    this.channelsFirst = false;
  }

  /** GlobalAveragePool / GlobalMaxPool on NCHW give [N, C, 1, 1]; a Flatten makes it layerwise's [N, C]. */
  globalPool(opType: 'GlobalAveragePool' | 'GlobalMaxPool', layerName: string): void {
    this.toChannelsFirst(layerName);
    this.node(opType, layerName, [this.current]);
    this.node('Flatten', `${layerName}/flatten`, [this.current], [int('axis', 1)]);
    this.channelsFirst = false;
    this.rank = 2;
  }

  activation(kind: ActivationName | 'custom', alpha: number, name: string): void {
    switch (kind) {
      case 'linear': return;
      case 'relu': this.node('Relu', name, [this.current]); return;
      case 'sigmoid': this.node('Sigmoid', name, [this.current]); return;
      case 'tanh': this.node('Tanh', name, [this.current]); return;
      case 'leakyRelu': this.node('LeakyRelu', name, [this.current], [float('alpha', alpha)]); return;
      case 'softmax':
        // Per row of layerwise's last dimension: the channel axis when NCHW.
        this.node('Softmax', name, [this.current], [int('axis', this.channelsFirst ? 1 : -1)]);
        return;
      default:
        throw new OptionError(`${name}: an Activation with a user function cannot be exported to ONNX (its code is not data)`);
    }
  }
}

const int = (name: string, i: number): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
const float = (name: string, f: number): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });
const ints = (name: string, values: readonly number[]): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] });
const text = (name: string, s: string): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) });

/** [kh, kw, in, out] (layerwise) → [out, in, kh, kw] (ONNX). */
function convWeightsToOnnx(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o];
  }
  return out;
}

type Exporter = (layer: Layer, config: LayerConfig, name: string, g: GraphBuilder) => void;

const padding = (config: LayerConfig): onnx.IAttributeProto =>
  // layerwise's 'same' puts the odd extra pad at the end, as SAME_UPPER does.
  text('auto_pad', config.padding === 'same' ? 'SAME_UPPER' : 'VALID');

/**
 * One exporter per layer type. A layer type added to layerwise (BatchNormalization,
 * global pooling, Reshape, …) becomes exportable by adding its entry here.
 */
const EXPORTERS: Record<string, Exporter> = {
  Dense(layer, config, name, g) {
    const dense = layer as Dense;
    g.toChannelsLast(name);
    const w = g.constant(`${name}.weights`, [dense.inputSize, dense.outputSize], dense.weights.data);
    const b = g.constant(`${name}.bias`, [dense.outputSize], dense.bias.data);
    if (g.rank === 2) {
      g.node('Gemm', name, [g.current, w, b]);
    } else {
      // Dense maps the last dimension of any rank, which Gemm cannot.
      g.node('MatMul', `${name}/matmul`, [g.current, w]);
      g.node('Add', name, [g.current, b]);
    }
    g.activation((config.activation as ActivationName | undefined) ?? 'linear', 0.01, `${name}/${config.activation}`);
  },
  Conv2D(layer, config, name, g) {
    const conv = layer as Conv2D;
    const [kh, kw, cin, cout] = conv.weights.shape;
    g.toChannelsFirst(name);
    const w = g.constant(`${name}.weights`, [cout, cin, kh, kw], convWeightsToOnnx(conv.weights.data, kh, kw, cin, cout));
    const b = g.constant(`${name}.bias`, [cout], conv.bias.data);
    g.node('Conv', name, [g.current, w, b], [ints('kernel_shape', [kh, kw]), ints('strides', conv.strides), padding(config)]);
    g.activation((config.activation as ActivationName | undefined) ?? 'linear', 0.01, `${name}/${config.activation}`);
  },
  MaxPool2D(_layer, config, name, g) {
    g.toChannelsFirst(name);
    g.node('MaxPool', name, [g.current], [ints('kernel_shape', config.poolSize as number[]), ints('strides', config.strides as number[]), padding(config)]);
  },
  AvgPool2D(_layer, config, name, g) {
    g.toChannelsFirst(name);
    // layerwise averages over the taps inside the image, as count_include_pad = 0 does.
    g.node('AveragePool', name, [g.current], [
      ints('kernel_shape', config.poolSize as number[]), ints('strides', config.strides as number[]), padding(config), int('count_include_pad', 0),
    ]);
  },
  Activation(layer, config, name, g) {
    const kind = (config.kind as ActivationName | undefined) ?? 'custom';
    const before = g.current;
    g.activation(kind, (layer as { alpha?: number }).alpha ?? 0.01, name);
    if (g.current === before) g.node('Identity', name, [before]);
  },
  Flatten(_layer, _config, name, g) {
    g.toChannelsLast(name);
    g.node('Flatten', name, [g.current], [int('axis', 1)]);
    g.rank = 2;
  },
  Dropout() {
    // An identity at inference.
  },
  // Augmentations act only in training: identities at inference, as Dropout.
  RandomFlip() {},
  RandomTranslation() {},
  GlobalAveragePooling2D(_layer, _config, name, g) {
    g.globalPool('GlobalAveragePool', name);
  },
  GlobalMaxPooling2D(_layer, _config, name, g) {
    g.globalPool('GlobalMaxPool', name);
  },
  Reshape(_layer, config, name, g) {
    // On layerwise's own layout, so the values keep their order; 0 keeps the (dynamic) batch.
    g.toChannelsLast(name);
    const target = config.targetShape as number[];
    g.node('Reshape', name, [g.current, g.int64Constant(`${name}.shape`, [0, ...target])]);
    g.rank = target.length + 1;
  },
  BatchNormalization(layer, config, name, g) {
    // ONNX normalises axis 1: the channels of NCHW, or the features of [N, C].
    if (g.rank === 4) g.toChannelsFirst(name);
    else if (g.rank !== 2) throw new ShapeError(`${name}: only [n,features] or [n,h,w,channels] inputs export to ONNX, not rank ${g.rank}`);
    const [gamma, beta] = layer.parameters().map((p) => p.value);
    const [mean, variance] = layer.stateTensors().map((t) => t.value);
    const c = gamma.size;
    g.node('BatchNormalization', name, [
      g.current, g.constant(`${name}.gamma`, [c], gamma.data), g.constant(`${name}.beta`, [c], beta.data),
      g.constant(`${name}.runningMean`, [c], mean.data), g.constant(`${name}.runningVar`, [c], variance.data),
    ], [float('epsilon', config.epsilon as number)]);
  },
  Normalization(_layer, config, name, g) {
    // (x − offset) · scale per feature of layerwise's last axis.
    g.toChannelsLast(name);
    const offset = Float32Array.from(config.offset as number[]);
    const scale = Float32Array.from(config.scale as number[]);
    g.node('Sub', `${name}/offset`, [g.current, g.constant(`${name}.offset`, [offset.length], offset)]);
    g.node('Mul', name, [g.current, g.constant(`${name}.scale`, [scale.length], scale)]);
  },
};

/** The graph input's per-sample shape: from the options, else from the first layer that fixes it. */
function inputShapeOf(network: Network, options: OnnxExportOptions): number[] {
  if (options.inputShape !== undefined) {
    if (!Array.isArray(options.inputShape) || !(options.inputShape.length === 1 || options.inputShape.length === 3) ||
      !options.inputShape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new OptionError(`expected [features] or [h,w,channels] for toOnnx inputShape but got ${describe(options.inputShape)}`);
    }
    return [...options.inputShape];
  }
  for (const layer of network.layers) {
    const config = layer.getConfig();
    const declared = layer.declaredInputShape;
    if (declared && (declared.length === 1 || declared.length === 3)) return declared;
    if (config.type === 'Dense') return [(layer as Dense).inputSize];
    if (config.type === 'Normalization') return [(config.offset as number[]).length];
    if (config.type === 'Conv2D') {
      if (Array.isArray(config.inputShape)) return [...(config.inputShape as number[])];
      break;
    }
    if (config.type === 'Flatten') break;
  }
  throw new OptionError('toOnnx: the network does not fix its input shape (a first Conv2D without inputShape): pass { inputShape: [h, w, channels] }');
}

/** The network as an ONNX model (see the file comment for layout and naming). */
export function networkToOnnx(network: Network, options: OnnxExportOptions = {}): Uint8Array {
  checkOptions(options, ['inputShape'], 'toOnnx options');
  if (network.layers.length === 0) throw new OptionError('toOnnx: the network has no layers');
  const sample = inputShapeOf(network, options);
  const g = new GraphBuilder(sample.length + 1);
  network.layers.forEach((layer, i) => {
    const config = layer.getConfig();
    const exporter = Object.prototype.hasOwnProperty.call(EXPORTERS, config.type) ? EXPORTERS[config.type] : undefined;
    if (!exporter) {
      throw new OptionError(`toOnnx: layer ${i} has type '${config.type}', which has no ONNX exporter (exportable: ${Object.keys(EXPORTERS).join(', ')})`);
    }
    exporter(layer, config, `${i}_${config.type}`, g);
  });
  g.toChannelsLast('output');
  g.node('Identity', 'output', [g.current]);
  const last = g.nodes[g.nodes.length - 1];
  last.output = ['output'];
  const batch = { dimParam: 'N' };
  const inputType: onnx.ITypeProto = {
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [batch, ...sample.map((d) => ({ dimValue: d }))] } },
  };
  const outputShape = outputShapeOf(network, sample);
  const outputType: onnx.ITypeProto = {
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [batch, ...outputShape.map((d) => ({ dimValue: d }))] } },
  };
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'layerwise',
    graph: {
      name: 'layerwise',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: 'input', type: inputType }],
      output: [{ name: 'output', type: outputType }],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** One sample's output shape, found by running one zero sample through the network. */
function outputShapeOf(network: Network, sample: number[]): number[] {
  try {
    return network.predict(Tensor.zeros([1, ...sample])).shape.slice(1);
  } catch (err) {
    throw new ShapeError(`toOnnx: a ${formatShape([1, ...sample])} input does not pass through the network: ${(err as Error).message}`);
  }
}

/** Writes network.toOnnx() to `file`. */
export async function saveOnnx(network: Network, file: string, options?: OnnxExportOptions): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new OptionError(`expected a file path for saveOnnx but got ${describe(file)}`);
  await writeFileAtomically(file, Buffer.from(networkToOnnx(network, options)));
}
