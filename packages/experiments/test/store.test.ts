// The results store: records written whole, read back, and only records read as records.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultsStore, type RunRecord } from '../src/store.js';

const record = (id: string, settings = 's'): RunRecord => ({
  experiment: 'g',
  id,
  method: 'm',
  traces: null,
  seed: 0,
  accuracy: 0.5,
  correct: 1,
  questions: 2,
  trainSeconds: 1,
  curve: [],
  perQuestion: '10',
  settings,
});

describe('ResultsStore', () => {
  it('reads back what it wrote, and a record of other settings is not current', () => {
    const store = new ResultsStore(join(mkdtempSync(join(tmpdir(), 'kava-store-')), 'results'));
    expect(store.all()).toEqual([]); // no folder yet
    store.write(record('b'));
    store.write(record('a', 'other'));
    expect(store.all().map((r) => r.id)).toEqual(['a', 'b']);
    expect(store.current('b', 's')?.accuracy).toBe(0.5);
    expect(store.current('a', 's')).toBeNull();
    expect(readdirSync(store.dir).sort()).toEqual(['a.json', 'b.json']); // no temporary left behind
  });

  it("keeps a shared run's record in the other grid's folder, and lists it with its own", () => {
    const parent = mkdtempSync(join(tmpdir(), 'kava-store-'));
    const [own, other] = [join(parent, 'own'), join(parent, 'other')];
    const store = ResultsStore.of({ results: own }, [
      { id: 'a', results: own },
      { id: 'shared', results: other },
    ]);
    store.write(record('a'));
    expect(store.write(record('shared'))).toBe(join(other, 'shared.json'));
    new ResultsStore(other).write(record('unplanned')); // the other grid's own run: not this grid's
    expect(readdirSync(other).sort()).toEqual(['shared.json', 'unplanned.json']);
    expect(store.all().map((r) => r.id)).toEqual(['a', 'shared']);
    expect(store.current('shared', 's')?.id).toBe('shared');
  });

  it('reads only its own .json files, in a folder whose parent holds files and other folders', () => {
    const parent = mkdtempSync(join(tmpdir(), 'kava-store-'));
    writeFileSync(join(parent, 'notes.txt'), 'a file beside the results folder');
    const store = new ResultsStore(join(parent, 'results'));
    store.write(record('a'));
    mkdirSync(join(store.dir, 'old.json')); // a folder with a record's name
    writeFileSync(join(store.dir, 'README.md'), '#');
    writeFileSync(join(store.dir, '.a.json.123.tmp'), '{');
    expect(store.all().map((r) => r.id)).toEqual(['a']);
  });

  it('refuses a results "folder" that is a file, rather than reading it as no records', () => {
    const parent = mkdtempSync(join(tmpdir(), 'kava-store-'));
    writeFileSync(join(parent, 'results'), 'not a folder');
    const store = new ResultsStore(join(parent, 'results'));
    expect(() => store.check()).toThrow(/the results folder .*results is a file, not a folder/);
    expect(() => store.read('a')).toThrow(/cannot read the record .*a\.json: ENOTDIR/);
    new ResultsStore(join(parent, 'not-yet')).check(); // a folder that does not exist yet is fine
  });

  it('names the file of a record that is not one', () => {
    const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'kava-store-')));
    writeFileSync(store.file('bad'), '{"id": "bad"');
    expect(() => store.all()).toThrow(/bad\.json: not a run record \(invalid JSON/);
    writeFileSync(store.file('bad'), '{"id": "bad"}');
    expect(() => store.read('bad')).toThrow(/bad\.json: not a run record \(no "accuracy"\)/);
  });
});

describe('run folders', () => {
  it('drop a torn last line of metrics.jsonl (a training killed mid-append), as a resume does', async () => {
    const { progressOf } = await import('../src/run-folder.js');
    const run = mkdtempSync(join(tmpdir(), 'kava-run-'));
    writeFileSync(join(run, 'metrics.jsonl'), '{"step":1,"totalSteps":4}\n{"step":2,"totalSteps":4}\n{"step":3,"tot');
    expect(progressOf(run)).toEqual({ step: 2, totalSteps: 4 });
  });
});
