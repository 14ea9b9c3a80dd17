// What a model file records about its data beside the layers: the class
// names its output ids stand for, the target column's name, and how CSV
// feature columns were encoded, so `predict` answers in the data's own terms
// and encodes a CSV the way the training file was encoded.

import type { CsvFeature } from './data/csv.js';
import type { Network } from './network.js';
import { describe } from './shape.js';

export interface ModelDataInfo {
  classNames?: string[];
  targetName?: string;
  features?: CsvFeature[];
}

/** The data description to save with `network`, or undefined when it has none. */
export function dataInfoOf(network: Network): ModelDataInfo | undefined {
  const info: ModelDataInfo = {};
  if (network.classNames) info.classNames = [...network.classNames];
  if (network.targetName !== undefined) info.targetName = network.targetName;
  if (network.csvFeatures) info.features = structuredClone(network.csvFeatures);
  return Object.keys(info).length > 0 ? info : undefined;
}

/** Checks a loaded model's data description and gives it to `network`; `fail` reports a malformed one. */
export function applyDataInfo(network: Network, info: unknown, fail: (what: string) => never): void {
  if (info === undefined || info === null) return;
  if (typeof info !== 'object') fail(`data must be an object but is ${describe(info)}`);
  const { classNames, targetName, features } = info as ModelDataInfo;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (classNames !== undefined) {
    if (!strings(classNames) || new Set(classNames).size !== classNames.length) fail(`data.classNames must be distinct strings but is ${describe(classNames)}`);
    network.classNames = [...classNames];
  }
  if (targetName !== undefined) {
    if (typeof targetName !== 'string') fail(`data.targetName must be a string but is ${describe(targetName)}`);
    network.targetName = targetName;
  }
  if (features !== undefined) {
    const valid = Array.isArray(features) && features.every((f) => f && typeof f.name === 'string' &&
      ((f.kind === 'numeric' && (f.fill === undefined || Number.isFinite(f.fill))) || (f.kind === 'categorical' && strings(f.categories))));
    if (!valid) fail('data.features is malformed');
    network.csvFeatures = structuredClone(features);
  }
}
