// createPredictor: worker_threads answering predict with the network's own
// results, batching concurrent requests, sharing one copy of the weights.

import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Conv2D, DataError, Dense, Flatten, MaxPool2D, Network, OptionError, ShapeError, StateError, Tensor, createPredictor, nativeAvailable, nativeInfo } from '../lib/index.js';

/** Each thread of this process: its nice value and scheduling policy (Linux), or undefined elsewhere. */
function threadPriorities(): { tid: string; nice: number; policy: number }[] | undefined {
  try {
    // Fields 19 and 41 of /proc/<pid>/task/<tid>/stat; the command name before them may hold spaces.
    return readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { tid, nice: Number(fields[16]), policy: Number(fields[38]) };
    });
  } catch {
    return undefined;
  }
}

/**
 * The threads started since `before` (a threadPriorities() snapshot): an
 * earlier test's terminated workers may still be finishing, so the process's
 * other threads say nothing about this predictor's.
 */
function threadsSince(before: { tid: string }[]): { nice: number; policy: number }[] {
  const old = new Set(before.map((t) => t.tid));
  return threadPriorities()!.filter((t) => !old.has(t.tid));
}

/** Linux's SCHED_IDLE policy number. */
const SCHED_IDLE = 5;

function images(n: number): Tensor {
  const t = Tensor.zeros([n, 8, 8, 1]);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.cos(i * 0.11);
  return t;
}

describe('createPredictor', function () {
  this.timeout(60000);
  const net = new Network({ seed: 4 })
    .add(new Conv2D({ filters: 3, kernelSize: 3, inputShape: [8, 8, 1], activation: 'relu' }))
    .add(new MaxPool2D({ poolSize: 2 })).add(new Flatten()).add(new Dense(27, 5, { activation: 'sigmoid' }));

  it('answers 200 concurrent single-sample and batch requests with what predict gives, in batches', async () => {
    const x = images(200);
    const expected = net.predict(x);
    const predictor = await createPredictor(net, { workers: 2, maxBatch: 16, maxDelayMs: 2, backend: 'js' });
    try {
      const singles = Array.from({ length: 150 }, (_, i) => predictor.predict(x.slice(i, i + 1).reshape([8, 8, 1])));
      const batch = predictor.predict(x.slice(150, 200));
      const results = await Promise.all(singles);
      results.forEach((y, i) => {
        expect(y.shape).to.deep.equal([5]);
        for (let k = 0; k < 5; k++) expect(y.data[k]).to.be.closeTo(expected.data[i * 5 + k], 1e-6);
      });
      const b = await batch;
      expect(b.shape).to.deep.equal([50, 5]);
      for (let k = 0; k < b.size; k++) expect(b.data[k]).to.be.closeTo(expected.data[150 * 5 + k], 1e-6);
      // Nested arrays are accepted too.
      const nested = await predictor.predict(x.slice(0, 1).reshape([8, 8, 1]).toArray() as number[][][]);
      expect(Array.from(nested.data)).to.deep.equal(Array.from(results[0].data));
    } finally {
      await predictor.close();
    }
  });

  it('returns its own copies when the network\'s output is a view of its input (a Flatten alone), at exactly maxBatch and beyond', async () => {
    const flatten = new Network({ seed: 1 }).add(new Flatten({ inputShape: [2, 2, 1] }));
    const predictor = await createPredictor(flatten, { workers: 1, maxBatch: 2, maxDelayMs: 0, backend: 'js' });
    try {
      const x = new Tensor(Float32Array.from({ length: 12 }, (_, i) => i), [3, 2, 2, 1]);
      const [a, b, c] = await Promise.all([predictor.predict(x.slice(0, 2)), predictor.predict(x.slice(0, 1).reshape([2, 2, 1])), predictor.predict(x)]);
      expect(Array.from(a.data)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(Array.from(b.data)).to.deep.equal([0, 1, 2, 3]);
      expect(Array.from(c.data)).to.deep.equal(Array.from(x.data));
      // Later batches overwrite the staging area, never an earlier answer.
      await predictor.predict(new Tensor(new Float32Array(8).fill(-1), [2, 2, 2, 1]));
      expect(Array.from(a.data)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await predictor.close();
    }
  });

  it('rejects the requests holding NaN or ±Infinity and answers the rest of their batches, an all-bad batch and a bad oversize request included', async () => {
    const x = images(40);
    const expected = net.predict(x);
    const predictor = await createPredictor(net, { workers: 1, maxBatch: 8, maxDelayMs: 1 });
    try {
      // Batches of 8 as they queue: 0-7 with one bad, 8-15 with two, 16-23 all bad.
      const poisoned = new Map<number, number>([[3, NaN], [9, Infinity], [10, -Infinity], ...Array.from({ length: 8 }, (_, k) => [16 + k, NaN] as [number, number])]);
      const requests = Array.from({ length: 30 }, (_, i) => {
        const sample = x.slice(i, i + 1).reshape([8, 8, 1]);
        const value = poisoned.get(i);
        if (value !== undefined) sample.data[(i * 7) % 64] = value;
        return predictor.predict(sample).then((y) => y, (e: unknown) => e);
      });
      const oversize = images(20);
      oversize.data[555] = NaN;
      const outcomes = await Promise.all([...requests, predictor.predict(oversize).then((y) => y, (e: unknown) => e)]);
      outcomes.slice(0, 30).forEach((y, i) => {
        if (poisoned.has(i)) {
          // The error network.predict gives for the same sample.
          expect(y, `request ${i}`).to.be.instanceOf(DataError);
          expect((y as Error).message).to.equal(`predict input holds ${poisoned.get(i)} in sample 0 (element ${(i * 7) % 64}); inputs must be finite`);
        } else {
          expect(y, `request ${i}`).to.be.instanceOf(Tensor);
          for (let k = 0; k < 5; k++) expect((y as Tensor).data[k]).to.be.closeTo(expected.data[i * 5 + k], 1e-6);
        }
      });
      expect(outcomes[30]).to.be.instanceOf(DataError);
      expect((outcomes[30] as Error).message).to.contain('in sample 8 (element 43)');
      // The predictor keeps serving.
      const after = await predictor.predict(x.slice(35, 40));
      for (let k = 0; k < after.size; k++) expect(after.data[k]).to.be.closeTo(expected.data[35 * 5 + k], 1e-6);
    } finally {
      await predictor.close();
    }
  });

  it('sends the requests behind a batch of only bad inputs at once, without waiting for maxDelayMs', async () => {
    const x = images(3);
    const expected = net.predict(x);
    const predictor = await createPredictor(net, { workers: 1, maxBatch: 4, maxDelayMs: 60000 });
    try {
      const bad = Array.from({ length: 3 }, () => {
        const sample = Tensor.zeros([8, 8, 1]);
        sample.data[5] = NaN;
        return predictor.predict(sample).then(() => undefined, (e: unknown) => e);
      });
      // 3 + 3 samples pass maxBatch: the three bad ones go out as one batch, the good three cannot join it.
      let timer: NodeJS.Timeout | undefined;
      const good = await Promise.race([
        predictor.predict(x),
        new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still waiting after 10 s'), 10000); }),
      ]);
      clearTimeout(timer);
      expect(good).to.be.instanceOf(Tensor);
      for (let k = 0; k < 15; k++) expect((good as Tensor).data[k]).to.be.closeTo(expected.data[k], 1e-6);
      for (const e of await Promise.all(bad)) expect(e).to.be.instanceOf(DataError);
    } finally {
      await predictor.close();
    }
  });

  it('rejects bad input, bad options and use after close', async () => {
    const badOption = await createPredictor(net, { workerz: 2 } as never).then(() => undefined, (e: unknown) => e);
    expect(badOption).to.be.instanceOf(OptionError);
    const predictor = await createPredictor(net, { workers: 1 });
    const wrong = await predictor.predict(Tensor.zeros([3, 3])).then(() => undefined, (e: unknown) => e);
    expect(wrong).to.be.instanceOf(ShapeError);
    const pending = predictor.predict(images(1).reshape([8, 8, 1])).then(() => undefined, (e: unknown) => e);
    await predictor.close();
    const after = await predictor.predict(images(1)).then(() => undefined, (e: unknown) => e);
    expect(after).to.be.instanceOf(StateError);
    const outcome = await pending;
    // Either answered before close or refused by it, never left hanging.
    if (outcome !== undefined) expect(outcome).to.be.instanceOf(StateError);
  });

  it('gives each of its workers cores ÷ workers native kernel threads by default, and close() puts the count back', async function () {
    if (!nativeAvailable()) this.skip();
    const before = nativeInfo().threads;
    const predictor = await createPredictor(net, { workers: 2, backend: 'native' });
    try {
      expect(nativeInfo().threads).to.equal(Math.max(1, Math.floor(availableParallelism() / 2)));
      expect((await predictor.predict(images(1).reshape([8, 8, 1]))).shape).to.deep.equal([5]);
    } finally {
      await predictor.close();
    }
    expect(nativeInfo().threads).to.equal(before);
  });

  it('runs its workers in the idle scheduling class by default, and at five nice steps lower with priority low (Linux)', async function () {
    const before = threadPriorities();
    if (before === undefined) this.skip();
    const own = before!.find((t) => t.tid === String(process.pid))!.nice;
    // The idle class needs the addon (the call is native); without it the workers fall back to 'low'.
    const idle = await createPredictor(net, { workers: 2, backend: 'js' });
    try {
      const threads = threadsSince(before!);
      if (nativeAvailable()) expect(threads.filter((t) => t.policy === SCHED_IDLE)).to.have.length(2);
      else expect(threads.filter((t) => t.nice > own)).to.have.length(own >= 19 ? 0 : 2);
      expect((await idle.predict(images(1).reshape([8, 8, 1]))).shape).to.deep.equal([5]);
    } finally {
      await idle.close();
    }
    const beforeLow = threadPriorities()!;
    const low = await createPredictor(net, { workers: 2, backend: 'js', priority: 'low' });
    try {
      const threads = threadsSince(beforeLow);
      expect(threads.filter((t) => t.policy === SCHED_IDLE)).to.have.length(0);
      // Never above 19, the lowest priority there is.
      expect(threads.filter((t) => t.nice > own)).to.have.length(own >= 19 ? 0 : 2);
    } finally {
      await low.close();
    }
    const bad = await createPredictor(net, { priority: 'lowest' as never }).then(() => undefined, (e: unknown) => e);
    expect(bad).to.be.instanceOf(OptionError);
    expect((bad as Error).message).to.match(/'idle', 'low', 'normal' for createPredictor priority but got "lowest"/);
  });
});

describe('predict without a batchSize', () => {
  it('works in chunks that fit the cache and returns what one whole batch gives, bit for bit', () => {
    // 28×28×16 floats per image after the conv: ~49 KiB, so an L2-sized chunk holds far fewer than 60 images.
    const cnn = new Network({ seed: 9 })
      .add(new Conv2D({ filters: 16, kernelSize: 3, padding: 'same', inputShape: [28, 28, 1], activation: 'relu' }))
      .add(new MaxPool2D({ poolSize: 2 })).add(new Flatten()).add(new Dense(14 * 14 * 16, 4));
    const x = Tensor.zeros([60, 28, 28, 1]);
    for (let i = 0; i < x.size; i++) x.data[i] = Math.sin(i * 0.013);
    const whole = cnn.predict(x, { batchSize: 60 });
    const chunked = cnn.predict(x);
    expect(chunked.shape).to.deep.equal([60, 4]);
    expect(Array.from(chunked.data)).to.deep.equal(Array.from(whole.data));
  });

  it('gathers the dense head\'s input from several chunks, also across a partial last one, sync and async alike', async () => {
    const cnn = new Network({ seed: 10 })
      .add(new Conv2D({ filters: 16, kernelSize: 3, padding: 'same', inputShape: [28, 28, 1], activation: 'relu' }))
      .add(new MaxPool2D({ poolSize: 2 })).add(new Flatten()).add(new Dense(14 * 14 * 16, 8, { activation: 'relu' }))
      .add(new Dense(8, 3));
    // 203 images: several head chunks of whole conv chunks, then a short one ending in a 3-image conv chunk.
    const x = Tensor.zeros([203, 28, 28, 1]);
    for (let i = 0; i < x.size; i++) x.data[i] = Math.cos(i * 0.007);
    const whole = Array.from(cnn.predict(x, { batchSize: 203 }).data);
    expect(Array.from(cnn.predict(x).data)).to.deep.equal(whole);
    expect(Array.from((await cnn.predictAsync(x)).data)).to.deep.equal(whole);
    expect(Array.from(cnn.predict(x).data), 'a second call over the reused staging buffer').to.deep.equal(whole);
  });
});
