import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KavaError, SafetensorsFile, toBf16, writeSafetensors } from '@kava/core/internal';
import { tempProject } from './helpers.js';
import { rawSafetensors } from './model-helpers.js';

function fileWith(bytes: Buffer): string {
  const path = join(tempProject(), 'model.safetensors');
  writeFileSync(path, bytes);
  return path;
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

describe('safetensors reading', () => {
  test('f32 round trip is bit-exact, header padded to 8 bytes, tensors sorted by name', () => {
    const dir = tempProject();
    const path = join(dir, 'w.safetensors');
    const a = new Float32Array([1.5, -2.25, Math.PI, 1e-30, -0, 3.4e38]);
    const b = new Float32Array([7]);
    writeSafetensors(
      path,
      [
        { name: 'z', shape: [2, 3], data: a },
        { name: 'a', shape: [1], data: () => b },
      ],
      { format: 'pt' },
    );
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    expect(header.a).toEqual({ dtype: 'F32', shape: [1], data_offsets: [0, 4] });
    expect(header.z).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] });
    const file = SafetensorsFile.open(path);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(Buffer.from(file.read('z').buffer)).toEqual(Buffer.from(a.buffer));
    expect(Array.from(file.read('a'))).toEqual([7]);
    file.close();
    // Written atomically: nothing but the file is left in the folder.
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
  });

  test('bf16 and f16 are upcast exactly (hand-computed bit patterns)', () => {
    // bf16: 0x3F80 = 1, 0xC040 = -3, 0x3EAB = 0.333984375; f16: 0x3C00 = 1, 0xC000 = -2,
    // 0x3555 = 0.333251953125, 0x0001 = 2^-24 (subnormal), 0x7C00 = +Infinity.
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc040, 0x3eab]).buffer);
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]).buffer);
    const path = fileWith(
      rawSafetensors(
        {
          b: { dtype: 'BF16', shape: [3], data_offsets: [0, 6] },
          h: { dtype: 'F16', shape: [5], data_offsets: [6, 16] },
        },
        Buffer.concat([bf16, f16]),
      ),
    );
    const file = SafetensorsFile.open(path);
    expect(Array.from(file.read('b'))).toEqual([1, -3, 0.333984375]);
    expect(Array.from(file.read('h'))).toEqual([1, -2, 0.333251953125, 2 ** -24, Infinity]);
    expect(() => file.read('missing')).toThrow(/has no tensor "missing"/);
    file.close();
  });

  const t = (dtype: string, shape: number[], offsets: number[]) => ({ dtype, shape, data_offsets: offsets });
  const bad: [string, Buffer, RegExp][] = [
    ['a file shorter than the length field', Buffer.from([1, 2, 3]), /shorter than the 8-byte header length/],
    [
      'a header length past the end of the file',
      rawSafetensors({}, new Uint8Array(0), 1000n),
      /header length 1000 is larger than the \d+ bytes after it/,
    ],
    [
      'a header that is not JSON',
      Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]),
      /header is not valid JSON/,
    ],
    ['a header that is a JSON array', rawSafetensors([1, 2]), /header must be a JSON object/],
    [
      'an unknown dtype',
      rawSafetensors({ w: t('F33', [1], [0, 4]) }, f32([1])),
      /tensor "w": unknown dtype "F33" \(expected F32, F16 or BF16\)/,
    ],
    [
      'an unsupported dtype',
      rawSafetensors({ w: t('I64', [1], [0, 8]) }, new Uint8Array(8)),
      /tensor "w": unsupported dtype "I64"/,
    ],
    [
      'offsets out of range (truncated data)',
      rawSafetensors({ w: t('F32', [4], [0, 16]) }, f32([1, 2])),
      /tensor "w": data_offsets \[0, 16\] out of range: the data buffer has 8 bytes/,
    ],
    [
      'overlapping tensors',
      rawSafetensors({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }, f32([1, 2, 3])),
      /tensors "a" and "b" overlap/,
    ],
    [
      'a hole between tensors',
      rawSafetensors({ a: t('F32', [1], [0, 4]), b: t('F32', [1], [8, 12]) }, f32([1, 2, 3])),
      /bytes 4\.\.8 of the data buffer belong to no tensor/,
    ],
    [
      'a byte count that does not match the shape',
      rawSafetensors({ w: t('F32', [3], [0, 8]) }, f32([1, 2])),
      /tensor "w": 8 bytes for F32 shape \[3\], expected 12/,
    ],
    ['end before begin', rawSafetensors({ w: t('F32', [0], [4, 0]) }, f32([1])), /end before begin/],
    [
      'trailing bytes after the last tensor',
      rawSafetensors({ w: t('F32', [1], [0, 4]) }, f32([1, 2])),
      /the data buffer has 8 bytes but the tensors cover 4/,
    ],
    [
      'a negative shape',
      rawSafetensors({ w: t('F32', [-1], [0, 4]) }, f32([1])),
      /shape must be an array of non-negative integers/,
    ],
    [
      'malformed offsets',
      rawSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32([1])),
      /data_offsets must be \[begin, end\]/,
    ],
    ['non-string metadata', rawSafetensors({ __metadata__: { a: 1 } }), /"__metadata__" must be an object of strings/],
  ];
  test.each(bad)('%s is a clear error naming the file (an input error: exit code 2)', (_what, bytes, message) => {
    const path = fileWith(bytes);
    let error: unknown;
    try {
      SafetensorsFile.open(path).close();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KavaError);
    expect((error as KavaError).exitCode).toBe(2);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(message);
  });

  test('a missing file is a clear error', () => {
    expect(() => SafetensorsFile.open('/nonexistent/model.safetensors')).toThrow(
      /safetensors file \/nonexistent\/model.safetensors: cannot open/,
    );
  });

  test('a failed write leaves the previous file intact and no temporary file', () => {
    const dir = tempProject();
    const path = join(dir, 'w.safetensors');
    writeSafetensors(path, [{ name: 'w', shape: [1], data: new Float32Array([1]) }]);
    const before = readFileSync(path);
    expect(() => writeSafetensors(path, [{ name: 'w', shape: [2], data: new Float32Array([1]) }])).toThrow(
      /has 1 values for shape \[2\]/,
    );
    expect(readFileSync(path)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
  });
});

describe('safetensors writing in bf16', () => {
  it('rounds float32 to the nearest bfloat16, ties to even, as torch does', () => {
    const f = new Float32Array(
      new Uint32Array([0x3f800000, 0x3f808000, 0x3f818000, 0x3f818001, 0xbf7fffff, 0x7fc00001]).buffer,
    );
    // 1.0; a tie between 0x3f80 and 0x3f81 goes to the even 0x3f80; a tie above 0x3f81 goes to 0x3f82;
    // just above a tie rounds up; -0.99999994 rounds to -1.0; a NaN stays a (quiet) NaN.
    expect([...toBf16(f)]).toEqual([0x3f80, 0x3f80, 0x3f82, 0x3f82, 0xbf80, 0x7fc0]);
  });

  it('writes BF16 tensors that read back as their rounded values, beside F32 ones', () => {
    const path = join(tempProject(), 'mixed.safetensors');
    const values = new Float32Array([0.1, -2.5, 3.14159, 1e-3]);
    writeSafetensors(path, [
      { name: 'a', shape: [2, 2], data: values, dtype: 'BF16' },
      { name: 'b', shape: [4], data: values },
    ]);
    const file = SafetensorsFile.open(path);
    try {
      expect(file.entries.get('a')!.dtype).toBe('BF16');
      const rounded = new Float32Array(new Uint32Array([...toBf16(values)].map((h) => h << 16)).buffer);
      expect([...file.read('a')]).toEqual([...rounded]);
      expect([...file.read('b')]).toEqual([...values]);
    } finally {
      file.close();
    }
  });
});
