/**
 * multipart/form-data bodies (RFC 7578) for uploads: file parts read once at load time, text
 * parts as templates. A body whose text parts have no tags is built once and reused.
 */
import { readFileSync } from 'node:fs';
import { basename, extname, isAbsolute, resolve } from 'node:path';
import type { MultipartPart } from '../scenario/flow-schema.ts';
import type { Prng } from './prng.ts';
import type { RenderContext, Template } from './templates.ts';

const TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.txt': 'text/plain',
  '.json': 'application/json',
};

export interface MultipartBody {
  /** The content-type header value, with its boundary. */
  contentType: string;
  /** Bytes of the whole body when no text part has tags, else null. */
  fixed: Buffer | null;
  /** Builds a body (text parts rendered; may throw UnsetValue). */
  build(prng: Prng, ctx: RenderContext | null): Buffer;
  /** Total bytes of the file parts (for reports and the demo's cost model). */
  fileBytes: number;
  /** The parts as written (file paths resolved), for exporters. */
  parts: { name: string; file?: string; filename: string; contentType: string; value?: Template }[];
}

type Piece = Buffer | { template: Template };

/**
 * Compiles the parts. `compileText` turns a value into a template (reporting its problems);
 * returns a message when a file cannot be read.
 */
export function compileMultipart(
  parts: readonly MultipartPart[],
  dir: string,
  compileText: (text: string, index: number) => Template | null,
): MultipartBody | { problem: string; index: number } {
  const files: (Buffer | null)[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.file === undefined) {
      files.push(null);
      continue;
    }
    const file = isAbsolute(p.file) ? p.file : resolve(dir, p.file);
    try {
      files.push(readFileSync(file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { problem: `${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, index: i };
    }
  }
  // A fixed boundary (the same seed sends the same bytes) that occurs in no file part.
  let boundary = '';
  for (let n = 0; boundary === '' || files.some((f) => f?.includes(boundary)); n++)
    boundary = `chaoskit-form-boundary-${n.toString(36).padStart(4, '0')}`;
  const pieces: Piece[] = [];
  const described: MultipartBody['parts'] = [];
  let dynamic = false;
  let fileBytes = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const f = files[i];
    const filename = p.filename ?? (p.file ? basename(p.file) : '');
    const disp = `form-data; name="${quote(p.name)}"${f ? `; filename="${quote(filename)}"` : ''}`;
    const type =
      p.contentType ?? (f ? (TYPES[extname(p.file!).toLowerCase()] ?? 'application/octet-stream') : null);
    const at = described.push({ name: p.name, filename, contentType: type ?? 'text/plain' }) - 1;
    if (p.file) described[at]!.file = isAbsolute(p.file) ? p.file : resolve(dir, p.file);
    pieces.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: ${disp}\r\n${type ? `content-type: ${type}\r\n` : ''}\r\n`,
      ),
    );
    if (f) {
      pieces.push(f);
      fileBytes += f.length;
    } else {
      const t = compileText(p.value ?? '', i);
      if (!t) continue;
      described[at]!.value = t;
      if (t.isStatic) pieces.push(Buffer.from(t.source));
      else {
        dynamic = true;
        pieces.push({ template: t });
      }
    }
    pieces.push(Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  const build = (prng: Prng, ctx: RenderContext | null) =>
    Buffer.concat(pieces.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x.template.render(prng, ctx)))));
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    fixed: dynamic ? null : Buffer.concat(pieces as Buffer[]),
    build,
    fileBytes,
    parts: described,
  };
}

function quote(s: string): string {
  return s.replace(/["\\\r\n]/g, (c) => (c === '"' ? '%22' : c === '\\' ? '\\\\' : ''));
}
