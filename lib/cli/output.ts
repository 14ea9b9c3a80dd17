// How `layerwise train` reports: one JSON object a line for programs (--json,
// or whenever stdout is not a terminal), or a redrawn progress bar and an
// epoch summary line for people at a terminal. Training code calls the same
// methods either way.

export interface StartEvent {
  spec: string;
  data: string;
  trainSamples: number;
  validationSamples: number;
  /** 'test split' | 'validation split' | 'none' */
  validation: string;
  epochs: number;
  batchSize: number;
  batchesPerEpoch: number;
  optimizer: string;
  learningRate: number;
  /** How the rate changes over the run, when it does (the rate is then its peak). */
  schedule?: string;
  seed: number;
  backend: string;
  threads?: number;
  isa?: string;
  out: string;
  resumedFrom?: { epoch: number; batch: number };
}

export interface BatchEvent {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  samplesPerSecond: number;
  /** Seconds left in this epoch, at the current pace. */
  eta: number;
}

export interface EpochEvent {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
}

export interface DoneEvent {
  out: string;
  report: string;
  /** On held-out data (the test or validation split) only. */
  testLoss?: number;
  testAccuracy?: number;
  /** Instead of testLoss/testAccuracy when there is no held-out data. */
  trainLoss?: number;
  trainAccuracy?: number;
  /** What the final metrics were measured on: 'test split', 'validation split' or 'training set'. */
  evaluatedOn: string;
  /** The epoch whose weights were evaluated and saved: the best on validation (absent without validation data: the last). */
  selectedEpoch?: number;
  seconds: number;
}

export interface Reporter {
  start(e: StartEvent): void;
  /** Called after every batch; the reporter decides how often to show it. */
  batch(e: BatchEvent): void;
  epoch(e: EpochEvent): void;
  checkpoint(dir: string, epoch: number, batch: number, reason: string): void;
  interrupted(signal: string, checkpoint: string, epoch: number, batch: number): void;
  done(e: DoneEvent): void;
  /** Something a person should know (a warning, "stopping…"); a 'warning' event in JSON. */
  note(message: string): void;
}

type Write = (text: string) => void;

export class JsonReporter implements Reporter {
  constructor(private readonly write: Write, private readonly every: number | undefined) {}

  private emit(event: string, fields: object): void {
    this.write(`${JSON.stringify({ event, ...fields })}\n`);
  }

  start(e: StartEvent): void {
    this.emit('start', e);
  }

  batch(e: BatchEvent): void {
    // Default: about ten lines an epoch, and always the last batch.
    const every = this.every ?? Math.max(1, Math.round(e.batches / 10));
    if (e.batch % every === 0 || e.batch === e.batches) this.emit('batch', roundFields(e));
  }

  epoch(e: EpochEvent): void {
    this.emit('epoch', e);
  }

  checkpoint(dir: string, epoch: number, batch: number, reason: string): void {
    this.emit('checkpoint', { dir, epoch, batch, reason });
  }

  interrupted(signal: string, checkpoint: string, epoch: number, batch: number): void {
    this.emit('interrupted', { signal, checkpoint, epoch, batch });
  }

  done(e: DoneEvent): void {
    this.emit('done', e);
  }

  note(message: string): void {
    this.emit('warning', { message });
  }
}

function roundFields(e: BatchEvent): BatchEvent {
  return { ...e, samplesPerSecond: Math.round(e.samplesPerSecond), eta: Math.round(e.eta * 10) / 10 };
}

export class TtyReporter implements Reporter {
  private lastDraw = 0;
  private barShown = false;

  constructor(private readonly write: Write, private readonly columns: () => number) {}

  start(e: StartEvent): void {
    const validation = e.validation === 'none' ? 'no validation' : `${e.validationSamples} ${e.validation} samples for validation`;
    this.line(`Training ${e.spec} on ${e.trainSamples} samples from ${e.data} (${validation})`);
    const backend = e.backend === 'native' ? `native (${e.isa}, ${threadCount(e.threads)})` : e.backend;
    this.line(`  backend ${backend}; ${e.optimizer} lr ${e.learningRate}${e.schedule ? ` (${e.schedule})` : ''}, batch ${e.batchSize}, ${e.epochs} epochs, seed ${e.seed}; model → ${e.out}`);
    if (e.resumedFrom) this.line(`  resuming at epoch ${e.resumedFrom.epoch}, after batch ${e.resumedFrom.batch}`);
  }

  batch(e: BatchEvent): void {
    // Redrawing costs a terminal write; ten times a second is smooth enough.
    const now = performance.now();
    if (now - this.lastDraw < 100 && e.batch !== e.batches) return;
    this.lastDraw = now;
    // \r redraws only the terminal's last row, so the text must never wrap:
    // a narrow terminal gets a one-line counter instead of the bar, cut to fit.
    const columns = this.columns();
    const text = columns < PROGRESS_BAR_MIN_COLUMNS ? progressCounter(e) : progressBar(e, Math.min(40, columns - 70));
    // \r and clear-to-end-of-line: a shorter line leaves no debris.
    this.write(`\r${text.slice(0, Math.max(1, columns - 1))}\x1b[K`);
    this.barShown = true;
  }

  epoch(e: EpochEvent): void {
    const parts = [`epoch ${e.epoch}/${e.epochs}`, `loss ${e.loss.toFixed(4)}`];
    if (e.accuracy !== undefined) parts.push(`accuracy ${percent(e.accuracy)}`);
    if (e.valLoss !== undefined) parts.push(`val loss ${e.valLoss.toFixed(4)}`);
    if (e.valAccuracy !== undefined) parts.push(`val accuracy ${percent(e.valAccuracy)}`);
    parts.push(`${e.seconds.toFixed(1)} s`);
    this.line(parts.join('  '));
  }

  checkpoint(dir: string, epoch: number, batch: number, reason: string): void {
    this.line(`checkpoint (${reason}) at epoch ${epoch}${batch > 0 ? `, batch ${batch}` : ''} → ${dir}`);
  }

  interrupted(signal: string, checkpoint: string, epoch: number, batch: number): void {
    this.line(`stopped by ${signal} in epoch ${epoch} after batch ${batch}; continue with the same command plus --resume (checkpoint: ${checkpoint})`);
  }

  done(e: DoneEvent): void {
    const loss = e.testLoss ?? e.trainLoss;
    const accuracy = e.testAccuracy ?? e.trainAccuracy;
    const metrics = accuracy !== undefined ? `${e.evaluatedOn} accuracy ${percent(accuracy)}, loss ${loss?.toFixed(4)}`
      : loss !== undefined ? `${e.evaluatedOn} loss ${loss.toFixed(4)}` : 'done';
    const selected = e.selectedEpoch !== undefined ? ` with the weights of epoch ${e.selectedEpoch}, the best on validation` : '';
    this.line(`${metrics}${selected} (${formatSeconds(e.seconds)} in all)`);
    this.line(`model saved to ${e.out}; report: ${e.report}`);
  }

  note(message: string): void {
    this.line(message);
  }

  /** A full line, replacing the progress bar if one is showing. */
  private line(text: string): void {
    this.write(`${this.barShown ? '\r\x1b[K' : ''}${text}\n`);
    this.barShown = false;
  }
}

/** Below this many columns the bar (with at least 10 cells) would wrap. */
export const PROGRESS_BAR_MIN_COLUMNS = 80;

function progressBar(e: BatchEvent, width: number): string {
  const done = Math.round((width * e.batch) / e.batches);
  const bar = `${'█'.repeat(done)}${'░'.repeat(width - done)}`;
  const percent = `${Math.floor((100 * e.batch) / e.batches)}%`.padStart(4);
  return `epoch ${e.epoch} ${bar} ${percent} ${e.batch}/${e.batches}  loss ${e.loss.toFixed(4)}  ` +
    `${Math.round(e.samplesPerSecond)} samples/s  ETA ${formatSeconds(e.eta)}`;
}

function progressCounter(e: BatchEvent): string {
  return `epoch ${e.epoch} ${e.batch}/${e.batches} loss ${e.loss.toFixed(4)} ETA ${formatSeconds(e.eta)}`;
}

function threadCount(threads: number | undefined): string {
  return `${threads ?? '?'} thread${threads === 1 ? '' : 's'}`;
}

/** "native with 1 thread", "js": a backend and its thread count for messages. */
export function describeBackend(backend: string, threads: number | undefined): string {
  return threads === undefined ? backend : `${backend} with ${threadCount(threads)}`;
}

export function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - 60 * m)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
