import {
  assertDisjoint,
  collect,
  createSyntheticTokenizer,
  generateProblem,
  generateSynthetic,
  Rng,
  syntheticDataset,
  syntheticFormat,
  syntheticVocabulary,
  type SyntheticProblem,
} from '@kava/core/internal';

const OPTIONS = { trainSize: 3000, testSize: 300, minSteps: 2, maxSteps: 5, seed: 42 };
const splits = generateSynthetic(OPTIONS);
const all = [...splits.train, ...splits.test];

/** Parses `<<a op b=r>>`; returns a problem description when the arithmetic is wrong. */
function parseEquation(step: string): { a: number; r: number; wrong?: string } {
  const m = /^<<(\d+)([+\-*/])(\d+)=(\d+)>>$/.exec(step);
  if (!m) return { a: NaN, r: NaN, wrong: `not an equation step: ${step}` };
  const [a, op, b, r] = [Number(m[1]), m[2]!, Number(m[3]), Number(m[4])];
  const value = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
  return value === r ? { a, r } : { a, r, wrong: `${step} computes ${value}` };
}

describe('synthetic generator', () => {
  it('is deterministic for a seed and different for another', () => {
    expect(generateSynthetic({ ...OPTIONS, trainSize: 50, testSize: 10 })).toEqual(
      generateSynthetic({ ...OPTIONS, trainSize: 50, testSize: 10 }),
    );
    expect(generateSynthetic({ ...OPTIONS, trainSize: 50, testSize: 10, seed: 43 }).train).not.toEqual(
      splits.train.slice(0, 50),
    );
  });

  it('chains correct steps within bounds, and the answer is the last result', () => {
    const problems: string[] = [];
    for (const p of all) {
      if (p.equation.length < OPTIONS.minSteps || p.equation.length > OPTIONS.maxSteps)
        problems.push(`${p.equation.length} steps: ${p.question}`);
      let previous: number | undefined;
      for (const step of p.equation) {
        const { a, r, wrong } = parseEquation(step);
        if (wrong) problems.push(wrong);
        if (previous !== undefined && a !== previous) problems.push(`${step} does not continue from ${previous}`);
        if (!(r >= 1 && r <= 100)) problems.push(`${step} leaves [1, 100]`);
        previous = r;
      }
      if (p.answer !== String(previous)) problems.push(`answer ${p.answer} is not the last result ${previous}`);
    }
    expect(problems).toEqual([]);
  });

  it('writes the NL trace over the same steps: one sentence per step, holding its numbers, no equations', () => {
    const problems: string[] = [];
    for (const p of all) {
      if (p.nl.length !== p.equation.length) problems.push(`${p.nl.length} nl vs ${p.equation.length} equation steps`);
      p.nl.forEach((sentence, i) => {
        if (/[<>=*/+]/.test(sentence)) problems.push(`symbols in ${sentence}`);
        const numbers = (sentence.match(/\d+/g) ?? []).map(Number);
        if (!numbers.includes(parseEquation(p.equation[i]!).r))
          problems.push(`${sentence} lacks the result of ${p.equation[i]}`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('varies names, items, templates and step counts', () => {
    const firstWords = new Set(all.map((p) => p.question.split(' ')[0]));
    const questions = new Set(all.map((p) => /(now|in the end|left for) ?\w*\?$/.exec(p.question)?.[1]));
    const stepCounts = new Set(all.map((p) => p.equation.length));
    const ops = new Set(all.flatMap((p) => p.equation.map((s) => /\d([+\-*/])\d/.exec(s)![1])));
    expect(firstWords.size).toBeGreaterThanOrEqual(15);
    expect(questions.size).toBe(3);
    expect([...stepCounts].sort()).toEqual([2, 3, 4, 5]);
    expect([...ops].sort()).toEqual(['*', '+', '-', '/']);
  });

  it('keeps train and test disjoint, and assertDisjoint catches an overlap', () => {
    const train = new Set(splits.train.map((p) => p.question));
    expect(splits.test.filter((p) => train.has(p.question))).toEqual([]);
    expect(new Set(splits.test.map((p) => p.question)).size).toBe(splits.test.length);
    const leaked: SyntheticProblem[] = [...splits.test.slice(0, 3), splits.train[5]!];
    expect(() => assertDisjoint(splits.train, leaked)).toThrow('1 test question(s) also in train');
  });

  it('rejects impossible options with the config field', () => {
    expect(() => generateSynthetic({ ...OPTIONS, minSteps: 3, maxSteps: 2 })).toThrow('data.synthetic.maxSteps');
    expect(() => generateProblem(new Rng(1), 0)).toThrow('steps must be a positive integer');
    expect(() => generateSynthetic({ ...OPTIONS, maxValue: 10 })).toThrow('maxValue must be an integer >= 20');
  });
});

describe('synthetic vocabulary and tokenizer', () => {
  const tokenizer = createSyntheticTokenizer();
  const unk = tokenizer.tokenToId('<unk>')!;

  it('covers every question, trace and the answer prefix: no unknown tokens', () => {
    for (const p of all) {
      for (const text of [p.question, p.equation.join(' '), p.nl.join(' '), `The answer is: ${p.answer}`]) {
        const ids = tokenizer.encode(text);
        if (ids.includes(unk)) throw new Error(`unknown word in ${JSON.stringify(text)}`);
      }
    }
  });

  it('has the reasoning tokens, numbers as single tokens, and decodes equations readably', () => {
    expect(tokenizer.tokenToId('<bot>')).toBeDefined();
    expect(tokenizer.tokenToId('<eot>')).toBeDefined();
    expect(tokenizer.encode('<<12*3=36>>')).toHaveLength(7);
    expect(tokenizer.decode(tokenizer.encode('<<12*3=36>>'))).toBe('<< 12 * 3 = 36 >>');
    expect(new Set(syntheticVocabulary()).size).toBe(syntheticVocabulary().length);
    expect(tokenizer.vocabSize).toBe(syntheticVocabulary().length + 5); // + pad, unk, eos, <bot>, <eot>
  });
});

describe('synthetic format', () => {
  it('yields either trace style over the same problems', async () => {
    const { train } = syntheticDataset({ ...OPTIONS, trainSize: 5, testSize: 2 });
    const eq = await collect(train.examples({ trace: 'equation' }));
    const nl = await collect(train.examples({ trace: 'nl' }));
    expect(eq.map((e) => e.question)).toEqual(nl.map((e) => e.question));
    expect(eq.map((e) => e.steps.length)).toEqual(nl.map((e) => e.steps.length));
    expect(eq[0]!.steps[0]).toMatch(/^<<\d+[+\-*/]\d+=\d+>>$/);
    expect(eq[0]!.id).toBe('synthetic:train:0');
  });

  it('opens the train/test splits by name and rejects a file path', async () => {
    const test = await collect(syntheticFormat.open('test').examples());
    expect(test).toHaveLength(500); // the data.synthetic defaults
    expect(() => syntheticFormat.open('data.jsonl')).toThrow('splits "train" and "test"');
  });
});

describe('verbose natural-language traces (data.synthetic.nlStyle: "verbose")', () => {
  const options = { ...OPTIONS, trainSize: 400, testSize: 20, minSteps: 3, maxSteps: 4, maxValue: 20 };
  const plain = generateSynthetic(options);
  const verbose = syntheticDataset({ ...options, nlStyle: 'verbose' });
  const tokenizer = createSyntheticTokenizer(20, 'verbose');
  const tokens = (steps: readonly string[]) => tokenizer.encode(steps.join(' ')).length;

  it('leaves the problems, the other traces and the default vocabulary as they were', async () => {
    const eq = await collect(verbose.train.examples({ trace: 'equation' }));
    expect(eq.map((e) => e.question)).toEqual(plain.train.map((p) => p.question));
    expect(eq.map((e) => e.steps)).toEqual(plain.train.map((p) => p.equation));
    expect(syntheticVocabulary(20)).toEqual(
      syntheticVocabulary(20, 'verbose').slice(0, syntheticVocabulary(20).length),
    );
    expect(syntheticVocabulary(20, 'verbose').length).toBeGreaterThan(syntheticVocabulary(20).length);
  });

  it('is 3-5x the tokens of the equation trace, one string per step, in varied words, with no unknown token', async () => {
    const nl = await collect(verbose.train.examples({ trace: 'nl' }));
    const unk = tokenizer.tokenToId('<unk>')!;
    let eqTokens = 0;
    let nlTokens = 0;
    const openings = new Set<string>();
    nl.forEach((e, i) => {
      expect(e.steps).toHaveLength(plain.train[i]!.equation.length);
      expect(tokenizer.encode(e.steps.join(' '))).not.toContain(unk);
      // The trace computes what the equations compute: every intermediate result appears in its step.
      plain.train[i]!.equation.forEach((eqStep, s) => expect(e.steps[s]).toContain(eqStep.match(/=(\d+)>>/)![1]!));
      eqTokens += tokens(plain.train[i]!.equation);
      nlTokens += tokens(e.steps);
      openings.add(e.steps[0]!.split('.')[0]!);
    });
    expect(nlTokens / eqTokens).toBeGreaterThan(3);
    expect(nlTokens / eqTokens).toBeLessThan(5);
    expect(openings.size).toBeGreaterThanOrEqual(3);
  });

  it('words a problem the same way every time (a function of the question)', async () => {
    const again = syntheticDataset({ ...options, nlStyle: 'verbose' });
    const a = await collect(verbose.test.examples({ trace: 'nl' }));
    const b = await collect(again.test.examples({ trace: 'nl' }));
    expect(a).toEqual(b);
  });
});
