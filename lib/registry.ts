// The layer registry: user layer types a spec or model file may name, and how
// each is rebuilt from its config. Built-in types (serialize.ts) are fixed and
// take precedence; users add their own with registerLayer, so a custom layer round-trips through save/load,
// toSpec, toBuffer and trainInWorker (the worker imports the modules named in
// its `modules` option, whose top level calls registerLayer there too).
//
// Only registered constructors are ever called: a model file names a type, it
// never carries code.

import { Layer, type LayerConfig } from './layers/layer.js';
import { OptionError } from './errors.js';
import { describe } from './shape.js';

/** Builds a layer from the config its getConfig() returned. */
export type LayerFactory = (config: LayerConfig) => Layer;

/**
 * A Layer subclass a registry can rebuild: either a static fromConfig(config),
 * or a constructor taking the config itself.
 */
export type RegistrableLayer = (new (config: never) => Layer) | ((abstract new (...args: never[]) => Layer) & { fromConfig(config: never): Layer });

const custom = new Map<string, LayerFactory>();

const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Makes `type` loadable: specs and model files naming it rebuild the layer with
 * `LayerClass.fromConfig(config)` if the class has one, else `new LayerClass(config)`.
 * The layer's getConfig() must return `{ type, ...its options }` with this `type`.
 * Registering the same class again is a no-op; another class under a taken name is refused.
 */
export function registerLayer(type: string, LayerClass: RegistrableLayer): void {
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) {
    throw new OptionError(`expected a layer type name (letters, digits, _ . -) for registerLayer but got ${describe(type)}`);
  }
  if (typeof LayerClass !== 'function' || !(LayerClass.prototype instanceof Layer)) {
    throw new OptionError(`expected a Layer subclass for registerLayer('${type}') but got ${describe(LayerClass)}`);
  }
  const fromConfig = (LayerClass as { fromConfig?: unknown }).fromConfig;
  const factory: LayerFactory & { source?: unknown } = typeof fromConfig === 'function'
    ? (config) => (fromConfig as (c: LayerConfig) => Layer).call(LayerClass, config)
    : (config) => new (LayerClass as new (c: LayerConfig) => Layer)(config);
  factory.source = LayerClass;
  const existing = custom.get(type) as (LayerFactory & { source?: unknown }) | undefined;
  if (existing && existing.source !== LayerClass) throw new OptionError(`registerLayer: '${type}' is already registered to another class`);
  custom.set(type, factory);
}

/** The factory registered for a type name, or undefined (built-in types are looked up first, in serialize.ts). */
export function registeredLayer(type: unknown): LayerFactory | undefined {
  return typeof type === 'string' ? custom.get(type) : undefined;
}

/** Every registered type name, for error messages. */
export function registeredLayerTypes(): string[] {
  return [...custom.keys()];
}
