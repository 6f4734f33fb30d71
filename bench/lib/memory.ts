/**
 * Peak memory of the benchmark process, two ways:
 *   - `startRssSampler`: reads the resident set size every few milliseconds during one workload.
 *     It runs in a worker thread because a synchronous engine keeps the main thread busy for a
 *     whole batch, and a timer there would never fire. RSS is per process, so the worker sees
 *     the main thread's memory; the worker itself adds a few MB, the same for every engine.
 *   - `readPeakRssFromProc`: VmHWM from /proc/self/status, the kernel's high-water mark of the
 *     resident set over the whole process life (Linux only; null elsewhere).
 */

import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

const MB = 1024 * 1024;

export interface RssSampler {
  /** Stops sampling; the peak RSS in MB and how many samples were taken. */
  stop(): Promise<{ peakMb: number; samples: number }>;
}

// CommonJS, evaluated in the worker: sample until the main thread asks for the result.
const SAMPLER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let peak = 0;
let samples = 0;
const sample = () => { const rss = process.memoryUsage.rss(); if (rss > peak) peak = rss; samples++; };
const timer = setInterval(sample, workerData.intervalMs);
sample();
parentPort.postMessage({ ready: true });
parentPort.on('message', () => {
  clearInterval(timer);
  sample();
  parentPort.postMessage({ peak, samples });
});
`;

/** Starts sampling every `intervalMs`; resolves once the first sample is taken. */
export async function startRssSampler(intervalMs = 5): Promise<RssSampler> {
  const worker = new Worker(SAMPLER_SOURCE, { eval: true, workerData: { intervalMs } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once('message', (message: { peak: number; samples: number }) => {
          void worker.terminate();
          resolve({ peakMb: message.peak / MB, samples: message.samples });
        });
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

/** VmHWM in MB, or null where /proc is not available. */
export function readPeakRssFromProc(): number | null {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return null;
  }
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) / 1024 : null;
}
