/**
 * A span processor with a bounded queue and exact loss accounting. The SDK's BatchSpanProcessor
 * also drops spans when its queue is full, but says so only through the diagnostic logger; a run
 * must report what it lost, once, at the end. One export in flight at most: an endpoint that does
 * not answer holds one batch until the exporter's deadline, while new spans fill the bounded queue
 * and the overflow is counted. Nothing here blocks the load.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';

export interface SpanQueueOptions {
  maxQueue?: number;
  maxBatch?: number;
  everyMs?: number;
}

export interface ExportStats {
  exported: number;
  /** Spans lost: queue full, or in a batch the endpoint did not take. */
  dropped: number;
  failedBatches: number;
  batches: number;
  lastError: string;
}

export class BoundedSpanProcessor implements SpanProcessor {
  private queue: ReadableSpan[] = [];
  private exporting: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  readonly stats: ExportStats = { exported: 0, dropped: 0, failedBatches: 0, batches: 0, lastError: '' };

  constructor(
    private readonly exporter: SpanExporter,
    o: SpanQueueOptions = {},
  ) {
    this.maxQueue = o.maxQueue ?? 2048;
    this.maxBatch = o.maxBatch ?? 512;
    this.timer = setInterval(() => this.kick(), o.everyMs ?? 1000);
    this.timer.unref();
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.queue.length >= this.maxQueue) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.maxBatch) this.kick();
  }

  private kick(): void {
    if (this.exporting || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.stats.batches++;
    this.exporting = new Promise<void>((resolve) => {
      const done = (ok: boolean, why?: string) => {
        if (ok) this.stats.exported += batch.length;
        else {
          this.stats.failedBatches++;
          this.stats.dropped += batch.length;
          if (why) this.stats.lastError = why;
        }
        resolve();
      };
      try {
        this.exporter.export(batch, (r) =>
          done(r.code === ExportResultCode.SUCCESS, r.error ? describe(r.error) : 'export failed'),
        );
      } catch (err) {
        done(false, describe(err));
      }
    }).finally(() => {
      this.exporting = null;
      if (this.queue.length >= this.maxBatch) this.kick();
    });
  }

  /** Exports what is queued, for at most `timeoutMs`; what is left then stays counted as not exported. */
  async forceFlush(timeoutMs = 2000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while ((this.queue.length > 0 || this.exporting) && performance.now() < deadline) {
      this.kick();
      const left = deadline - performance.now();
      await Promise.race([this.exporting, new Promise((r) => setTimeout(r, Math.max(0, left)).unref())]);
    }
  }

  /** Flushes (bounded), then drops what could not go and shuts the exporter down. */
  async shutdown(timeoutMs = 2000): Promise<void> {
    clearInterval(this.timer);
    await this.forceFlush(timeoutMs);
    this.stats.dropped += this.queue.length;
    this.queue = [];
    await Promise.race([
      this.exporter.shutdown().catch(() => {}),
      new Promise((r) => setTimeout(r, 500).unref()),
    ]);
  }
}

export function describe(err: unknown): string {
  const e = err as { message?: string; code?: string | number; cause?: { code?: string } };
  return String(e?.cause?.code ?? e?.code ?? e?.message ?? err);
}
