import { badRequest } from '../api-error.ts';

interface NumberRule {
  min?: number;
  max?: number;
}

/**
 * Reads one toxic's attributes with defaults, naming the field in every message. Toxiproxy's own
 * types ignore unknown attributes as Toxiproxy does; chaoskit's extension types reject them
 * (call `done()`), so a typo such as `stauts` fails loudly instead of silently doing nothing.
 */
export class AttrReader {
  private readonly seen = new Set<string>();
  constructor(private readonly raw: Record<string, unknown>) {}

  int(name: string, fallback: number, rule: NumberRule = {}): number {
    const v = this.num(name, fallback, rule);
    if (!Number.isInteger(v)) throw badRequest(`attributes.${name} must be an integer, got ${v}`);
    return v;
  }

  num(name: string, fallback: number, { min = 0, max }: NumberRule = {}): number {
    const given = this.take(name);
    const v = given === undefined || given === null ? fallback : given;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw badRequest(`attributes.${name} must be a number, got ${JSON.stringify(v)}`);
    }
    if (v < min) throw badRequest(`attributes.${name} must be at least ${min}, got ${v}`);
    if (max !== undefined && v > max) throw badRequest(`attributes.${name} must be at most ${max}, got ${v}`);
    return v;
  }

  str(name: string): string | undefined {
    const v = this.take(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string')
      throw badRequest(`attributes.${name} must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const v = this.str(name) ?? fallback;
    if (!(values as readonly string[]).includes(v)) {
      throw badRequest(`attributes.${name} must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
    }
    return v as T;
  }

  /** Rejects attributes no reader asked for (extension types only). */
  done(): void {
    const unknown = Object.keys(this.raw).filter((k) => !this.seen.has(k));
    if (unknown.length > 0) {
      throw badRequest(`unknown attribute ${unknown.join(', ')} (known: ${[...this.seen].join(', ')})`);
    }
  }

  private take(name: string): unknown {
    this.seen.add(name);
    return this.raw[name];
  }
}
