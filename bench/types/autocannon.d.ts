/** The part of autocannon@8's library API the benches use (the package ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface Options {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    pipelining?: number;
    /** Requests per second over all connections (a per-connection, per-second cap). */
    overallRate?: number;
    /** Seconds. */
    timeout?: number;
    ignoreCoordinatedOmission?: boolean;
    workers?: number;
  }

  export interface Histo {
    average: number;
    mean: number;
    max: number;
    min: number;
    total?: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9: number;
    [k: string]: number | undefined;
  }

  export interface Result {
    latency: Histo;
    requests: Histo;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }

  export interface Instance extends EventEmitter {
    stop(): void;
  }

  function autocannon(opts: Options, cb: (err: Error | null, result: Result) => void): Instance;
  export default autocannon;
}
