import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { train, type KavaPlugin } from '@kava/core/app';
import { EventFileWriter, EventProto, maskedCrc32c } from '@kava/plugin-tensorboard';
import { microConfig } from '../../kava-core/test/train-helpers.js';

interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  sessionLog?: { status: string };
  summary?: { value: { tag: string; simpleValue: number }[] };
}

/** Reads an event file record by record, checking both CRCs of each, as TensorBoard's reader does. */
function readEvents(path: string): DecodedEvent[] {
  const bytes = readFileSync(path);
  const events: DecodedEvent[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    const length = Number(bytes.readBigUInt64LE(at));
    expect(bytes.readUInt32LE(at + 8)).toBe(maskedCrc32c(bytes.subarray(at, at + 8)));
    const data = bytes.subarray(at + 12, at + 12 + length);
    expect(bytes.readUInt32LE(at + 12 + length)).toBe(maskedCrc32c(data));
    events.push(
      EventProto.toObject(EventProto.decode(data), { longs: Number, enums: String, defaults: false }) as DecodedEvent,
    );
    at += 12 + length + 4;
  }
  return events;
}

const scalarsOf = (events: DecodedEvent[]) =>
  events.flatMap((e) => (e.summary?.value ?? []).map((v) => ({ step: e.step, tag: v.tag, value: v.simpleValue })));

const eventFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.startsWith('events.out.tfevents.'))
        .sort()
    : [];

describe('TensorBoard event files', () => {
  test("the masked CRC-32C is TFRecord's: CRC-32C's check value 0xE3069283, rotated right by 15, plus 0xa282ead8", () => {
    const crc = 0xe3069283;
    const masked = (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
    expect(maskedCrc32c(new TextEncoder().encode('123456789'))).toBe(masked);
  });

  test('a file holds the version record, then one event per step with a value per tag', () => {
    const dir = join(process.env.TMPDIR ?? '/tmp', `kava-tb-${process.pid}-${Date.now()}`);
    const writer = new EventFileWriter(dir, 1_700_000_000_000);
    writer.scalars(1, { 'loss/total': 2.5, 'train/lr': 0.001, 'loss/nan': Number.NaN });
    writer.scalars(2, { 'loss/total': 1.25 });
    writer.restartAt(2);
    writer.close();
    expect(writer.path).toMatch(/\/events\.out\.tfevents\.1700000000\.[^/]+\.\d+\.\d+$/);
    const events = readEvents(writer.path);
    expect(events[0]).toMatchObject({ wallTime: 1_700_000_000, fileVersion: 'brain.Event:2' });
    expect(scalarsOf(events)).toEqual([
      { step: 1, tag: 'loss/total', value: 2.5 },
      { step: 1, tag: 'train/lr', value: Math.fround(0.001) }, // simple_value is a float32
      { step: 2, tag: 'loss/total', value: 1.25 },
    ]);
    expect(events.at(-1)).toMatchObject({ step: 2, sessionLog: { status: 'START' } });
  });
});

describe('the tensorboard logger in a training run', () => {
  test('is on by default: every step, term and evaluation is in the run folder; a resume restarts from its step', async () => {
    const config = { train: { steps: 4, checkpointEvery: 2, evalEvery: 2 } };
    const a = await microConfig(config);
    const run = await train({ resolved: a.resolved });
    const dir = join(run.runDir, 'tensorboard');
    const [first] = eventFiles(dir);
    const scalars = scalarsOf(readEvents(join(dir, first!)));
    const tags = new Set(scalars.map((s) => s.tag));
    for (const tag of [
      'loss/total',
      'loss/student-ce',
      'loss/teacher-ce',
      'loss/codi',
      'loss/kv',
      'train/lr',
      'train/grad_norm',
    ])
      expect(tags).toContain(tag);
    const metrics = readFileSync(join(run.runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(scalars.filter((s) => s.tag === 'loss/total')).toEqual(
      metrics.map((m) => ({ step: m.step, tag: 'loss/total', value: Math.fround(m.losses.total) })),
    );
    expect(scalars.filter((s) => s.tag === 'eval/accuracy').map((s) => s.step)).toEqual([2, 4]);
    expect(scalars.some((s) => s.tag === 'eval/majorityLevel')).toBe(true);

    // Resumed from step 2: a second file that first tells TensorBoard to drop steps >= 3 of the first.
    const b = await microConfig(config);
    await train({ resolved: b.resolved, resume: join(run.runDir, 'checkpoints', 'step-0000002'), runDir: run.runDir });
    const files = eventFiles(dir);
    expect(files).toHaveLength(2);
    const second = readEvents(
      join(
        dir,
        files.find((f) => f !== first)!,
      ),
    );
    expect(second[1]).toMatchObject({ step: 3, sessionLog: { status: 'START' } });
    expect(
      scalarsOf(second)
        .filter((s) => s.tag === 'loss/total')
        .map((s) => s.step),
    ).toEqual([3, 4]);
  });

  test('loggers.tensorboard false writes none; an unknown logger is refused by name', async () => {
    const off = await microConfig({ loggers: { tensorboard: false } });
    const run = await train({ resolved: off.resolved, skipFinalEval: true });
    expect(eventFiles(join(run.runDir, 'tensorboard'))).toEqual([]);
    await expect(microConfig({ loggers: { tensorbord: {} } })).rejects.toThrow(
      /loggers\.tensorbord: no loaded plugin provides a logger named "tensorbord"; did you mean "tensorboard"\?/,
    );
  });

  test('a logger that fails is turned off with a note, and the training goes on', async () => {
    const notes: string[] = [];
    const broken: KavaPlugin = {
      name: 'broken-logger',
      register(registry) {
        registry.logger({
          name: 'broken',
          description: 'throws at step 2',
          create: () => ({
            step: (r) => {
              if (r.step === 2) throw new Error('tracker unreachable');
            },
            evaluation: () => {},
            close: () => {},
          }),
        });
      },
    };
    const c = await microConfig({ loggers: { broken: {} } }, [broken]);
    const run = await train({ resolved: c.resolved, skipFinalEval: true, log: (l: string) => notes.push(l) });
    expect(run.steps).toBe(4);
    expect(notes).toContain('logger "broken" failed (step): tracker unreachable; it is off for the rest of the run');
  });
});
