import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  collect,
  DataRecordError,
  deriveGsm8kTraces,
  gsm8kAugFormat,
  gsm8kFormat,
  gsm8kHardFormat,
  icotFormat,
  jsonArrayElements,
  limit,
  openDataset,
  readLines,
  readText,
  registerCore,
  Registry,
  shuffle,
  SNIFF_LIMIT,
  sniffFormat,
  split,
  svampFormat,
  BUILTIN_FORMATS,
  type DatasetSource,
  type Example,
  type ReadOptions,
} from '@kava/core/internal';
import { REPO, tempProject } from './helpers.js';

const F = join(REPO, 'packages/kava-core/test/fixtures/data');
const file = (name: string) => join(F, name);
const read = (source: DatasetSource, options?: ReadOptions): Promise<Example[]> => collect(source.examples(options));
const strip = (examples: Example[]) =>
  examples.map(({ question, steps, answer }) => ({ question: question.slice(0, 20), steps, answer }));

describe('original GSM8K: both trace styles, checked by hand', () => {
  it('derives equation and nl traces of the first records', async () => {
    const source = gsm8kFormat.open(file('gsm8k.jsonl'));
    const eq = await read(source, { trace: 'equation', skipInvalid: true });
    expect(source.skipped).toBe(1); // the Mrs. Snyder record has no <<..>> annotations
    expect(eq.map((e) => e.steps)).toEqual([
      ['<<48/2=24>>', '<<48+24=72>>'],
      ['<<12/60=0.2>>', '<<0.2*50=10>>'],
      ['<<100/2=50>>', '<<15*2=30>>', '<<100-50-30-15=5>>'],
    ]);
    expect(eq.map((e) => e.answer)).toEqual(['72', '10', '5']);
    expect(eq[0]!.id).toBe(`${file('gsm8k.jsonl')}:1`);
    const nl = await read(source, { trace: 'nl' });
    expect(source.skipped).toBe(0);
    expect(nl.slice(0, 3).map((e) => e.steps)).toEqual([
      ['Natalia sold 48/2 = 24 clips in May.', 'Natalia sold 48+24 = 72 clips altogether in April and May.'],
      ['Weng earns 12/60 = $0.2 per minute.', 'Working 50 minutes, she earned 0.2 x 50 = $10.'],
      [
        'In the beginning, Betty has only 100 / 2 = $50.',
        "Betty's grandparents gave her 15 * 2 = $30.",
        'This means, Betty needs 100 - 50 - 30 - 15 = $5 more.',
      ],
    ]);
    expect(nl[3]!.steps).toHaveLength(8);
    expect(nl[3]!.answer).toBe('1000');
  });

  it('names file, line and field for a record without an equation trace', async () => {
    const error = await read(gsm8kFormat.open(file('gsm8k.jsonl')), { trace: 'equation' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataRecordError);
    expect((error as Error).message).toContain(
      `${file('gsm8k.jsonl')}:4: field "answer": has no <<expr=value>> annotations`,
    );
  });

  it('without a trace style (evaluation) yields every record, equation steps where there are any', async () => {
    const all = await read(gsm8kFormat.open(file('gsm8k.jsonl')));
    expect(all.map((e) => [e.steps.length, e.answer])).toEqual([
      [2, '72'],
      [2, '10'],
      [3, '5'],
      [0, '1000'],
    ]);
  });

  it('rejects answers without "####" or with a malformed annotation', () => {
    expect(() => deriveGsm8kTraces('It is 5.')).toThrow('found no "####"');
    expect(() => deriveGsm8kTraces('<<2+3>>5\n#### 5')).toThrow('<<expr=value>>, got "<<2+3>>"');
    expect(deriveGsm8kTraces('a <<1,000*2=2,000>>2,000\n#### 2,000')).toEqual({
      equation: ['<<1,000*2=2,000>>'],
      nl: ['a 2,000'],
      answer: '2000',
    });
  });
});

const GSM8K_TRAIN = join(REPO, '../shared/datasets/gsm8k/train.jsonl');
(existsSync(GSM8K_TRAIN) ? describe : describe.skip)(
  'the whole GSM8K training file (when ../shared/datasets is present)',
  () => {
    it('streams 7,473 records: every one has an nl trace, 95 have no equation annotations', async () => {
      const source = gsm8kFormat.open(GSM8K_TRAIN);
      let equation = 0;
      for await (const _ of source.examples({ trace: 'equation', skipInvalid: true })) equation++;
      expect([equation, source.skipped]).toEqual([7378, 95]);
      let nl = 0;
      for await (const _ of source.examples({ trace: 'nl' })) nl++;
      expect([nl, source.skipped]).toEqual([7473, 0]);
    });
  },
);

describe('dataset formats load from fixtures', () => {
  it('gsm8k-aug JSONL: steps[] and cot (equations, or NL lines)', async () => {
    expect(strip(await read(gsm8kAugFormat.open(file('gsm8k-aug.jsonl'))))).toEqual([
      { question: 'Out of 600 employees', steps: ['<<600*30/100=180>>', '<<600-180=420>>'], answer: '420' },
      { question: 'Tom has 3 boxes of 4', steps: ['<<3*4=12>>', '<<12-5=7>>'], answer: '7' },
      {
        question: 'A shop sells 1,200 c',
        steps: ['The shop sells 1200 cups a day.', 'In 2 days it sells 1200 * 2 = 2400 cups.'],
        answer: '2400',
      },
    ]);
  });

  it('gsm8k-aug JSON array: streamed, bad element named by its line', async () => {
    const source = gsm8kAugFormat.open(file('gsm8k-aug.json'));
    const error = await read(source).catch((e: unknown) => e);
    expect((error as Error).message).toContain(
      `${file('gsm8k-aug.json')}:7: field "answer": expected a number or string, it is missing`,
    );
    const ok = await read(source, { skipInvalid: true });
    expect(source.skipped).toBe(1);
    expect(ok.map((e) => [e.id.split(':').at(-1), e.steps, e.answer])).toEqual([
      ['2', ['<<5+3=8>>'], '8'],
      ['11', ['18 is split in two.', 'Each half is 9.'], '9'],
    ]);
    expect(ok[0]!.question).toBe('Mia has 5 apples and buys 3 more. How many apples? [sic] {braces} "quoted"');
  });

  it('icot text', async () => {
    expect(strip(await read(icotFormat.open(file('icot.txt'))))).toEqual([
      { question: 'Out of 600 employees', steps: ['<<600*30/100=180>>', '<<600-180=420>>'], answer: '420' },
      { question: 'Tom has 3 boxes of 4', steps: ['<<3*4=12>>'], answer: '12' },
      { question: 'No steps here', steps: [], answer: '5' },
    ]);
    const bad = tempProject({ 'x.txt': 'q||<<1+1=2>> #### 2\nno separator #### 3\n' });
    await expect(read(icotFormat.open(join(bad, 'x.txt')))).rejects.toThrow(
      `${join(bad, 'x.txt')}:2: field "question": expected "question||steps #### answer", found no "||"`,
    );
  });

  it('gsm8k-hard and svamp (both layouts) are evaluation-only: no steps, numeric answers', async () => {
    expect(strip(await read(gsm8kHardFormat.open(file('gsm8k-hard.jsonl'))))).toEqual([
      { question: "Janet's ducks lay 16", steps: [], answer: '-9867630' },
      { question: 'A robe takes 2 bolts', steps: [], answer: '3' },
    ]);
    const svamp = await read(svampFormat.open(file('svamp.json')), { trace: 'nl' });
    expect(svamp.map((e) => [e.question, e.answer])).toEqual([
      [
        'Each pack of dvds costs 76 dollars. If there is a discount of 25 dollars on each pack How much do you have to pay to buy each pack?',
        '51',
      ],
      [
        'Dan had $ 3 left with him after he bought a candy bar. If he had $ 4 at the start How much did the candy bar cost?',
        '1',
      ],
    ]);
    const lines = await read(svampFormat.open(file('svamp.jsonl')));
    expect(lines.map((e) => [e.question, e.answer])).toEqual([[svamp[0]!.question, '51']]);
  });

  it('reports bad JSON, a missing field and a wrong type with their lines; skipInvalid counts them', async () => {
    const path = file('bad.jsonl');
    const source = gsm8kAugFormat.open(path);
    await expect(read(source)).rejects.toThrow(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: field "\\(record\\)": `),
    );
    const ok = await read(source, { skipInvalid: true });
    expect(ok.map((e) => e.answer)).toEqual(['3', '4']);
    expect(source.skipped).toBe(3);
    const reasons = (source as unknown as { skippedReasons: string[] }).skippedReasons;
    expect(reasons[1]).toContain(':3: field "question": expected a string, it is missing');
    expect(reasons[2]).toContain(':4: field "steps": expected an array of strings, got [1,2]');
  });
});

describe('streaming JSON arrays', () => {
  it('splits elements across read chunks, with brackets and escapes inside strings', async () => {
    const records = Array.from({ length: 300 }, (_, i) => ({
      question: `q${i} ${'x'.repeat(500)} ] } [ { \\" ,`,
      steps: [`<<${i}+1=${i + 1}>>`],
      answer: String(i + 1),
    }));
    const dir = tempProject();
    const path = join(dir, 'big.json');
    writeFileSync(path, `[\n${records.map((r) => JSON.stringify(r, null, 2)).join(',\n')}\n]\n`); // ~180 KB, several 64 KB chunks
    const read1 = await collect(jsonArrayElements(path));
    expect(read1.map((r) => r.value)).toEqual(records);
    expect(read1[1]!.line).toBe(2 + 7); // each pretty-printed record spans 7 lines
    writeFileSync(path, '[{"a": 1}, {"a": 2}');
    expect((await collect(jsonArrayElements(path))).at(-1)!.parseError).toContain('not closed');
  });
});

describe('sniffing, registry, limit / shuffle / split', () => {
  it('sniffs each fixture to exactly one built-in format', async () => {
    const expected: Record<string, string> = {
      'gsm8k.jsonl': 'gsm8k',
      'gsm8k-aug.jsonl': 'gsm8k-aug',
      'gsm8k-aug.json': 'gsm8k-aug',
      'icot.txt': 'icot',
      'gsm8k-hard.jsonl': 'gsm8k-hard',
      'svamp.json': 'svamp',
      'svamp.jsonl': 'svamp',
    };
    for (const [name, format] of Object.entries(expected)) {
      expect([name, (await sniffFormat(file(name), BUILTIN_FORMATS)).name]).toEqual([name, format]);
    }
    const odd = tempProject({ 'odd.jsonl': '{"prompt": "x"}\n' });
    await expect(sniffFormat(join(odd, 'odd.jsonl'), BUILTIN_FORMATS)).rejects.toThrow(
      'data.format: cannot tell the format',
    );
  });

  it('registers the formats in core and opens by name or by sniffing', async () => {
    const registry = new Registry();
    registerCore(registry);
    expect(registry.names('dataset')).toEqual(['gsm8k', 'gsm8k-aug', 'gsm8k-hard', 'icot', 'svamp', 'synthetic']);
    const sniffed = await openDataset(registry, file('icot.txt'));
    expect((await read(sniffed)).length).toBe(3);
    await expect(openDataset(registry, file('icot.txt'), 'nope')).rejects.toThrow(
      'data.format: no loaded plugin provides a dataset named "nope"',
    );
    await expect(openDataset(registry, join(F, 'missing.jsonl'), 'gsm8k')).rejects.toThrow(
      `data file not found: ${join(F, 'missing.jsonl')}`,
    );
  });

  it('limit stops early, shuffle is seeded, split is disjoint and complete', async () => {
    const source = gsm8kFormat.open(file('gsm8k.jsonl'));
    expect((await collect(limit(source.examples({ trace: 'nl' }), 2))).map((e) => e.answer)).toEqual(['72', '10']);
    const items = Array.from({ length: 50 }, (_, i) => i);
    expect(shuffle(items, 7)).toEqual(shuffle(items, 7));
    expect(shuffle(items, 7)).not.toEqual(shuffle(items, 8));
    expect([...shuffle(items, 7)].sort((a, b) => a - b)).toEqual(items);
    const { first, second } = split(items, 0.2, 3);
    expect(second).toHaveLength(10);
    expect(new Set([...first, ...second]).size).toBe(50);
    expect(split(items, 5, 3).second).toHaveLength(5);
  });
});

// Issue 43 finding 10: a data file that is not what it should be is named for what it is (empty,
// whitespace, binary, not UTF-8), a BOM is read past, and a single huge record is sniffed whole.
describe('data files that are not what they should be', () => {
  const record = JSON.stringify({ question: 'What is 3?', steps: ['<<3-1=2>>'], answer: '3' });
  const write = (name: string, bytes: Buffer | string) => {
    const path = join(tempProject(), name);
    writeFileSync(path, bytes);
    return path;
  };
  const sniff = (path: string) => sniffFormat(path, BUILTIN_FORMATS, 'data.format', 'data.train');

  it('an empty, a whitespace-only and a binary file are named as such, not as an unknown format', async () => {
    await expect(sniff(write('empty.jsonl', ''))).rejects.toThrow(/^data\.train: .*empty\.jsonl is empty \(0 bytes\)/);
    await expect(sniff(write('ws.jsonl', ' \n\t\n\n'))).rejects.toThrow(/ws\.jsonl holds only whitespace/);
    const binary = Buffer.from([0x7b, 0x22, 0x89, 0x50, 0x4e, 0x47, 0x00, 0x1a]);
    await expect(sniff(write('bin.jsonl', binary))).rejects.toThrow(
      /bin\.jsonl: a NUL byte at offset 6: this is a binary file/,
    );
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(record, 'utf16le')]);
    await expect(sniff(write('u16.jsonl', utf16))).rejects.toThrow(/u16\.jsonl: UTF-16 text/);
  });

  it('a UTF-8 byte order mark is read past, in JSON Lines, JSON arrays and iCoT text', async () => {
    const bom = (text: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const lines = write('bom.jsonl', bom(`${record}\n`));
    expect((await sniff(lines)).name).toBe('gsm8k-aug');
    expect((await read(gsm8kAugFormat.open(lines))).map((e) => e.answer)).toEqual(['3']);
    const array = write('bom.json', bom(`[${record}]`));
    expect((await read(gsm8kAugFormat.open(array))).map((e) => e.answer)).toEqual(['3']);
    const icot = write('bom.txt', bom('What is 3?||<<3-1=2>> #### 3\n'));
    expect((await read(icotFormat.open(icot))).map((e) => e.question)).toEqual(['What is 3?']);
  });

  it('a Latin-1 byte is refused with its line and offset, also past the first chunk', async () => {
    const latin1 = Buffer.from(`${record}\n{"question": "Caf\xe9?", "steps": [], "answer": "3"}\n`, 'latin1');
    const path = write('latin1.jsonl', latin1);
    const offset = record.length + 1 + '{"question": "Caf'.length;
    const expected = `latin1.jsonl:2: not UTF-8 text: byte 0xE9 at offset ${offset} is not valid UTF-8`;
    await expect(read(gsm8kAugFormat.open(path))).rejects.toThrow(expected);
    // read in 5-byte chunks: the bad byte lies past the first ones, and held-back bytes are counted
    await expect(collect(readText(path, { chunkBytes: 5 }))).rejects.toThrow(expected);
    await expect(sniff(path)).rejects.toThrow(expected); // the sniffer reads the whole head first
  });

  it('characters cut by chunk boundaries decode whole, and a file ending inside one is refused', async () => {
    const text = 'é€😀\r\nsecond ☃\n';
    const path = write('multi.txt', text);
    expect((await collect(readText(path, { chunkBytes: 1 }))).join('')).toBe(text);
    expect(await collect(readLines(path))).toEqual([
      { line: 1, text: 'é€😀' },
      { line: 2, text: 'second ☃' },
    ]);
    const cut = write('cut.txt', Buffer.from(text).subarray(0, 4)); // "é" and the first two of the three bytes of "€"
    await expect(collect(readText(cut))).rejects.toThrow(/cut\.txt:1: not UTF-8 text: byte 0xE2 at offset 2/);
  });

  it('a single record of 5 MB is sniffed whole and read', async () => {
    const question = `${'many words '.repeat(500_000)}What is 3?`; // 5.5 MB on one line
    const big = JSON.stringify({ question, steps: ['<<3-1=2>>'], answer: '3' });
    expect((await sniff(write('big.jsonl', `${big}\n`))).name).toBe('gsm8k-aug');
    const array = write('big.json', `[\n${big}\n]\n`);
    expect((await sniff(array)).name).toBe('gsm8k-aug');
    expect((await read(gsm8kAugFormat.open(array)))[0]!.question).toBe(question);
    expect(SNIFF_LIMIT).toBeGreaterThan(big.length);
  });
});
