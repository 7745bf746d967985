/**
 * HPACK (RFC 7541), as much as an h2c-aware proxy stage needs: a decoder that follows one
 * direction's dynamic table so header blocks can be read (never rewritten), and an encoder for
 * the proxy's own answers that never touches the peer's dynamic table (static indexes and
 * literals without indexing), so injected frames keep both ends' tables in step.
 */

export class HpackError extends Error {}

/** RFC 7541 Appendix A. Index 1-based; [0] is unused. */
const STATIC: readonly (readonly [string, string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * Huffman code lengths of symbols 0..255 (RFC 7541 Appendix B); EOS (256) is 30 bits. The code is
 * canonical: codes are assigned in order of (length, symbol), so the lengths define it.
 */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

/** Canonical decoding tables: per length, the first code, and where its symbols start in SORTED. */
const MAX_LEN = 30;
const FIRST = new Array<number>(MAX_LEN + 2).fill(0);
const COUNT = new Array<number>(MAX_LEN + 2).fill(0);
const OFFSET = new Array<number>(MAX_LEN + 2).fill(0);
const SORTED: number[] = [];
(() => {
  for (const l of LENGTHS) COUNT[l]!++;
  let code = 0;
  let offset = 0;
  for (let len = 1; len <= MAX_LEN; len++) {
    FIRST[len] = code;
    OFFSET[len] = offset;
    code = (code + COUNT[len]!) * 2;
    offset += COUNT[len]!;
  }
  const bySym = LENGTHS.map((l, s) => [l, s] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [, s] of bySym) SORTED.push(s);
})();

export function huffmanDecode(buf: Buffer): string {
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of buf) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const idx = code - FIRST[len]!;
      if (len <= MAX_LEN && idx >= 0 && idx < COUNT[len]!) {
        const sym = SORTED[OFFSET[len]! + idx]!;
        if (sym === 256) throw new HpackError('EOS in a Huffman string');
        out.push(sym);
        code = 0;
        len = 0;
      } else if (len > MAX_LEN) throw new HpackError('invalid Huffman code');
    }
  }
  // Padding: at most 7 bits, all ones (a prefix of EOS).
  if (len > 7 || code !== 2 ** len - 1) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out).toString('latin1');
}

export type HeaderList = [name: string, value: string][];

/** Follows one direction's encoder: call decode() on every header block, in order. */
export class HpackDecoder {
  private table: [string, string][] = [];
  private size = 0;
  private max = 4096;

  decode(block: Buffer): HeaderList {
    const out: HeaderList = [];
    let pos = 0;
    const int = (prefixBits: number): number => {
      const mask = 2 ** prefixBits - 1;
      let v = block[pos++]! & mask;
      if (v < mask) return v;
      let m = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        const b = block[pos++]!;
        v += (b & 0x7f) * 2 ** m;
        m += 7;
        if ((b & 0x80) === 0) return v;
        if (m > 28) throw new HpackError('integer too large');
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huff = (block[pos]! & 0x80) !== 0;
      const n = int(7);
      if (pos + n > block.length) throw new HpackError('truncated string');
      const raw = block.subarray(pos, pos + n);
      pos += n;
      return huff ? huffmanDecode(raw) : raw.toString('latin1');
    };
    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        out.push(this.entry(int(7)));
      } else if (b & 0x40) {
        const idx = int(6);
        const name = idx === 0 ? str() : this.entry(idx)[0];
        const value = str();
        out.push([name, value]);
        this.insert(name, value);
      } else if (b & 0x20) {
        this.max = int(5);
        this.evict();
      } else {
        const idx = int(4); // without indexing (0000) or never indexed (0001)
        const name = idx === 0 ? str() : this.entry(idx)[0];
        out.push([name, str()]);
      }
    }
    return out;
  }

  private entry(i: number): [string, string] {
    if (i <= 0) throw new HpackError(`invalid index ${i}`);
    if (i < STATIC.length) return [...STATIC[i]!] as [string, string];
    const e = this.table[i - STATIC.length];
    if (!e) throw new HpackError(`index ${i} is not in the dynamic table`);
    return e;
  }

  private insert(name: string, value: string): void {
    this.table.unshift([name, value]);
    this.size += name.length + value.length + 32;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.max && this.table.length > 0) {
      const [n, v] = this.table.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
}

/** Encodes headers without touching the decoder's dynamic table: `:status 200` indexed, the rest literal. */
export function encodeHeaders(headers: HeaderList): Buffer {
  const parts: Buffer[] = [];
  const int = (v: number, prefixBits: number, first: number) => {
    const mask = 2 ** prefixBits - 1;
    if (v < mask) return [first | v];
    const bytes = [first | mask];
    v -= mask;
    while (v >= 128) {
      bytes.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    return bytes;
  };
  const lit = (s: string) => {
    const b = Buffer.from(s, 'latin1');
    return Buffer.concat([Buffer.from(int(b.length, 7, 0)), b]);
  };
  for (const [name, value] of headers) {
    const idx = STATIC.findIndex(([n, v], i) => i > 0 && n === name && v === value);
    if (idx > 0) parts.push(Buffer.from(int(idx, 7, 0x80)));
    else parts.push(Buffer.from([0x00]), lit(name), lit(value));
  }
  return Buffer.concat(parts);
}
