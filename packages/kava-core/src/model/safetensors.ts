import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { KavaError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';

/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] },
 * "__metadata__"?: { string: string } }`, then the data buffer that the offsets index (relative
 * to the end of the header). Reading is strict, as the reference implementation is: every entry
 * is checked, the tensors must tile the data buffer exactly (no overlap, no hole, nothing out of
 * range), so a truncated or corrupt file is an error naming the file and the tensor.
 */

/** Dtypes we can read; all are returned as float32 (bf16/f16 are upcast exactly). */
const FLOAT_DTYPES = { F32: 4, F16: 2, BF16: 2 } as const;
export type SafetensorsDtype = keyof typeof FLOAT_DTYPES;
/** Dtypes the format defines but a decoder's weights never use: named in the error. */
const OTHER_DTYPES = new Set([
  'F64',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
  'F8_E4M3',
  'F8_E5M2',
]);
/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the data buffer. */
  begin: number;
  end: number;
}

/** A malformed or unreadable file is an input error (exit code 2): the file must be replaced. */
function fail(path: string, what: string): never {
  throw new KavaError(`safetensors file ${path}: ${what}`, { exitCode: 2 });
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** An open safetensors file whose header has been validated; tensors are read on demand. */
export class SafetensorsFile {
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | null;
  private readonly dataStart: number;

  private constructor(
    readonly path: string,
    fd: number,
    dataStart: number,
    entries: Map<string, SafetensorsEntry>,
    metadata: Record<string, string>,
  ) {
    this.fd = fd;
    this.dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
  }

  /** Opens and validates `path`; throws a KavaError naming the file and the problem. */
  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new KavaError(`safetensors file ${path}: cannot open (${(err as Error).message})`, {
        exitCode: 2,
        cause: err,
      });
    }
    try {
      const size = fstatSync(fd).size;
      if (size < 8) fail(path, `file is ${size} bytes, shorter than the 8-byte header length (truncated?)`);
      const lengthBytes = Buffer.alloc(8);
      readSync(fd, lengthBytes, 0, 8, 0);
      const headerLength = lengthBytes.readBigUInt64LE(0);
      if (headerLength > BigInt(size - 8)) {
        fail(
          path,
          `header length ${headerLength} is larger than the ${size - 8} bytes after it (truncated or not a safetensors file)`,
        );
      }
      if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${headerLength} exceeds the 100 MB limit`);
      const n = Number(headerLength);
      const headerBytes = Buffer.alloc(n);
      readSync(fd, headerBytes, 0, n, 8);
      let header: unknown;
      try {
        header = JSON.parse(headerBytes.toString('utf8'));
      } catch (err) {
        fail(path, `header is not valid JSON (${(err as Error).message})`);
      }
      const { entries, metadata } = parseHeader(path, header, size - 8 - n);
      return new SafetensorsFile(path, fd, 8 + n, entries, metadata);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Reads tensor `name` as float32 (bf16 and f16 upcast exactly). */
  read(name: string): Float32Array {
    const entry = this.entries.get(name);
    if (entry === undefined) fail(this.path, `has no tensor "${name}"`);
    if (this.fd === null) fail(this.path, 'is closed');
    const bytes = Buffer.alloc(entry.end - entry.begin);
    const got = readSync(this.fd, bytes, 0, bytes.length, this.dataStart + entry.begin);
    if (got !== bytes.length)
      fail(this.path, `tensor "${name}": read ${got} of ${bytes.length} bytes (file changed while reading?)`);
    return toFloat32(bytes, entry.dtype);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function parseHeader(
  path: string,
  header: unknown,
  dataBytes: number,
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail(path, 'header must be a JSON object');
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        raw === null ||
        typeof raw !== 'object' ||
        Array.isArray(raw) ||
        !Object.values(raw).every((v) => typeof v === 'string')
      ) {
        fail(path, '"__metadata__" must be an object of strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info === null || typeof info !== 'object') fail(path, `tensor "${name}": entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !(dtype in FLOAT_DTYPES)) {
      const known = typeof dtype === 'string' && OTHER_DTYPES.has(dtype);
      fail(
        path,
        `tensor "${name}": ${known ? 'unsupported' : 'unknown'} dtype ${JSON.stringify(dtype)} (expected F32, F16 or BF16)`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isCount))
      fail(path, `tensor "${name}": shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(
        path,
        `tensor "${name}": data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(path, `tensor "${name}": data_offsets [${begin}, ${end}] end before begin`);
    if (end > dataBytes)
      fail(
        path,
        `tensor "${name}": data_offsets [${begin}, ${end}] out of range: the data buffer has ${dataBytes} bytes (truncated?)`,
      );
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * FLOAT_DTYPES[dtype as SafetensorsDtype];
    if (end - begin !== expected) {
      fail(
        path,
        `tensor "${name}": ${end - begin} bytes for ${dtype} shape [${(shape as number[]).join(', ')}], expected ${expected}`,
      );
    }
    entries.set(name, { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  // The tensors must tile the buffer: sorted by offset, each starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let cursor = 0;
  let previous = '';
  for (const [name, e] of sorted) {
    if (e.begin < cursor) fail(path, `tensors "${previous}" and "${name}" overlap (bytes ${e.begin}..${cursor})`);
    if (e.begin > cursor)
      fail(path, `bytes ${cursor}..${e.begin} of the data buffer belong to no tensor (corrupt offsets)`);
    cursor = e.end;
    previous = name;
  }
  if (cursor !== dataBytes)
    fail(
      path,
      `the data buffer has ${dataBytes} bytes but the tensors cover ${cursor} (trailing bytes or bad offsets)`,
    );
  return { entries, metadata };
}

/** Little-endian bytes of `dtype` -> float32 values (bf16: high half of an f32; f16: IEEE half). */
export function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / FLOAT_DTYPES[dtype];
  const out = new Float32Array(n);
  if (dtype === 'F32') {
    // Every platform Node runs on is little-endian, as the format is: a plain copy.
    new Uint8Array(out.buffer).set(bytes);
  } else if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  /** float32 values, row-major; `read` lets large models stream one tensor at a time. */
  data: Float32Array | (() => Float32Array);
  /** How the file stores it: F32 (default) or BF16 (rounded to nearest even, as torch does). */
  dtype?: 'F32' | 'BF16';
}

/** float32 → bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function toBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i]!;
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * Writes float32 tensors (stored as F32 or BF16) as a safetensors file, atomically (temporary file + rename). Tensors
 * are laid out in name order; the header is padded with spaces to 8-byte alignment as the
 * reference writer does.
 */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of sorted) {
    if (header[t.name] !== undefined) throw new KavaError(`safetensors file ${path}: tensor "${t.name}" given twice`);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'BF16' ? 2 : 4);
    header[t.name] = { dtype: t.dtype ?? 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  writeFileAtomic(path, (append) => {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(headerBytes.length));
    append(length);
    append(headerBytes);
    for (const t of sorted) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected)
        throw new KavaError(
          `safetensors file ${path}: tensor "${t.name}" has ${data.length} values for shape [${t.shape.join(', ')}]`,
        );
      // Typed arrays are little-endian on every platform Node supports.
      const stored = t.dtype === 'BF16' ? toBf16(data) : data;
      append(new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength));
    }
  });
}

/** How many values are NaN or ±Infinity. */
export function countNonFinite(values: Float32Array): number {
  let bad = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) bad++;
  return bad;
}
