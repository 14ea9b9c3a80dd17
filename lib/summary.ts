// Shape inference across a chain of layers and the summary() table.
// The per-layer contract (build, inputShape, outputShape) is in layers/layer.ts.

import type { Layer } from './layers/layer.js';
import { ShapeError, StateError } from './errors.js';
import { formatShape, sizeOf } from './shape.js';

/** Builds `layer` (at `index` in its network) for `inputShape`, adding the index and type to a ShapeError. */
export function buildLayer(layer: Layer, index: number, inputShape: readonly number[]): number[] {
  try {
    return layer.build(inputShape);
  } catch (err) {
    if (err instanceof ShapeError) throw new ShapeError(`layer ${index} (${layerType(layer)}): ${err.message}`);
    throw err;
  }
}

/** Builds every layer in order from the first one's input shape; returns the last output shape. */
export function buildChain(layers: readonly Layer[], inputShape: readonly number[]): number[] {
  let shape = [...inputShape];
  layers.forEach((layer, i) => {
    shape = buildLayer(layer, i, shape);
  });
  return shape;
}

export function layerType(layer: Layer): string {
  return layer.constructor.name;
}

/** One row of NetworkSummary: a layer's type, output shape and parameter count. */
export interface LayerSummary {
  index: number;
  type: string;
  /** With `null` for the sample dimension: [null, 8]. */
  outputShape: (number | null)[];
  /** Every value the layer stores: parameters and state (BatchNorm running statistics). */
  params: number;
  trainable: boolean;
}

/** What Network.summary() returns; `toString()` renders the table. */
export class NetworkSummary {
  constructor(
    readonly layers: LayerSummary[],
    /** Parameters an optimizer updates. */
    readonly trainableParams: number,
    /** Frozen layers' parameters and every layer's state. */
    readonly nonTrainableParams: number,
  ) {}

  get totalParams(): number {
    return this.trainableParams + this.nonTrainableParams;
  }

  toString(): string {
    const rows = this.layers.map((l) => [`${l.index} ${l.type}${l.trainable ? '' : ' (frozen)'}`, formatShape(l.outputShape), l.params.toLocaleString('en-US')]);
    const header = ['Layer (type)', 'Output shape', 'Params'];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (cells: string[]) => cells.map((cell, c) => (c === 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
    const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 4);
    return [
      line(header), rule, ...rows.map(line), rule,
      `Total params: ${this.totalParams.toLocaleString('en-US')}`,
      `Trainable params: ${this.trainableParams.toLocaleString('en-US')}`,
      `Non-trainable params: ${this.nonTrainableParams.toLocaleString('en-US')}`,
    ].join('\n');
  }
}

export function summarize(layers: readonly Layer[]): NetworkSummary {
  let trainable = 0;
  let nonTrainable = 0;
  const rows = layers.map((layer, index): LayerSummary => {
    const out = layer.outputShape;
    if (!out) {
      throw new StateError(
        `summary() needs every shape, but layer ${index} (${layerType(layer)}) is not built: give the first layer an inputShape, or run a batch through the network first`,
      );
    }
    const weights = layer.parameters().reduce((n, p) => n + p.value.size, 0);
    const state = layer.stateTensors().reduce((n, s) => n + s.value.size, 0);
    if (layer.trainable) trainable += weights;
    else nonTrainable += weights;
    nonTrainable += state;
    return { index, type: layerType(layer), outputShape: [null, ...out], params: weights + state, trainable: layer.trainable };
  });
  return new NetworkSummary(rows, trainable, nonTrainable);
}

