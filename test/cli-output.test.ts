// The terminal reporter of `layerwise train`: what a person at a terminal sees.

import { expect } from 'chai';
import { TtyReporter, type BatchEvent } from '../lib/cli/output.js';

function batches(columns: number): string[] {
  const writes: string[] = [];
  const reporter = new TtyReporter((text) => writes.push(text), () => columns);
  for (const batch of [1, 937, 1875]) {
    const e: BatchEvent = { epoch: 3, batch, batches: 1875, loss: 0.123456, samplesPerSecond: 12345.6, eta: 754 };
    reporter.batch(e);
  }
  return writes;
}

/** What a write leaves visible: the text after its carriage return, without the clear-line escape. */
const visible = (write: string): string => write.replace(/^\r/, '').replace(/\x1b\[K$/, '');

describe('layerwise train on a terminal', () => {
  for (const columns of [40, 69, 79, 80, 100, 200]) {
    it(`redraws its progress in place and never wraps at ${columns} columns`, () => {
      const writes = batches(columns);
      expect(writes.length).to.be.at.least(2);
      for (const write of writes) {
        expect(write.startsWith('\r'), JSON.stringify(write)).to.equal(true);
        expect(write).to.not.contain('\n');
        expect(visible(write).length, visible(write)).to.be.below(columns);
      }
      const last = visible(writes.at(-1)!);
      expect(last).to.contain('1875/1875').and.contain('loss 0.1235');
      // The bar where it fits; a plain counter where it would not.
      if (columns >= 80) expect(last).to.contain('█');
      else expect(last).to.not.match(/[█░]/);
    });
  }

  it('says "1 thread", and "2 threads"', () => {
    for (const [threads, text] of [[1, '1 thread)'], [2, '2 threads)']] as const) {
      const writes: string[] = [];
      new TtyReporter((t) => writes.push(t), () => 100).start({
        spec: 'x', data: 'd', trainSamples: 10, validationSamples: 0, validation: 'none', epochs: 1, batchSize: 2, batchesPerEpoch: 5,
        optimizer: 'adam', learningRate: 0.001, seed: 1, backend: 'native', threads, isa: 'avx2', out: 'model',
      });
      expect(writes.join('')).to.contain(`native (avx2, ${text}`);
    }
  });
});
