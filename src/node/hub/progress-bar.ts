/**
 * A one-line progress bar with rate and ETA, redrawn in place with '\r' on a terminal:
 *
 *   model.safetensors  [########----------------]  33%  30.1/90.9 MB  12.4 MB/s  ETA 5s
 *   embedding          [##############----------]  58%  5,800/10,000  310/s  ETA 14s
 *
 * Only drawn when the stream is a TTY (`createProgressBar` returns null otherwise), so logs and
 * pipes stay clean. Redraws at most every 100 ms. Used by the downloader and the CLI.
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressUnit = 'bytes' | 'items';

export class ProgressBar {
  private readonly startedAt = Date.now();
  private lastDrawAt = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly unit: ProgressUnit,
    private total: number | undefined = undefined,
  ) {}

  /** `done` so far (of `total`, when it becomes known). */
  update(done: number, total?: number): void {
    if (total !== undefined) this.total = total;
    const now = Date.now();
    if (now - this.lastDrawAt < 100 && !(this.total !== undefined && done >= this.total)) return;
    this.lastDrawAt = now;
    this.drawn = true;
    this.stream.write(`\r${this.render(done, now)}\x1b[K`);
  }

  /** Clears the bar's line (the caller prints its own summary). */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  private render(done: number, now: number): string {
    const seconds = Math.max((now - this.startedAt) / 1000, 1e-3);
    const rate = done / seconds;
    const parts = [this.label.padEnd(18)];
    const total = this.total;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, done / total);
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 70));
      const filled = Math.round(fraction * width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`, `${Math.floor(fraction * 100)}%`.padStart(4));
      parts.push(this.unit === 'bytes' ? `${megabytes(done)}/${megabytes(total)} MB` : `${count(done)}/${count(total)}`);
    } else {
      parts.push(this.unit === 'bytes' ? `${megabytes(done)} MB` : count(done));
    }
    parts.push(this.unit === 'bytes' ? `${megabytes(rate)} MB/s` : `${count(Math.round(rate))}/s`);
    if (total !== undefined && rate > 0 && done < total) parts.push(`ETA ${duration((total - done) / rate)}`);
    return parts.join('  ');
  }
}

/** A bar on `stream` when it is a terminal; null (draw nothing) otherwise. */
export function createProgressBar(
  stream: ProgressStream | null | undefined,
  label: string,
  unit: ProgressUnit,
  total?: number,
): ProgressBar | null {
  return stream?.isTTY ? new ProgressBar(stream, label, unit, total) : null;
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 5s, 2m05s, 1h02m. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
