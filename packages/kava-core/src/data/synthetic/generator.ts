import { Rng } from '../../util/rng.js';
import { KavaError } from '../../errors.js';
import { CONTAINERS, ITEMS, NAMES, QUESTIONS, START_PLAIN, START_PRODUCT, STEPS, type Operation } from './templates.js';
import { verboseTrace, type StepRecord } from './verbose.js';

/** One generated word problem with both trace styles over the same steps. */
export interface SyntheticProblem {
  question: string;
  /** One `<<a op b=r>>` per step. */
  equation: string[];
  /** The same steps in words. */
  nl: string[];
  /** The same steps in long, varied words (the `nlStyle: "verbose"` trace; 3–5× the equation's tokens); generated only for that style. */
  nlVerbose?: string[];
  answer: string;
}

export interface SyntheticOptions {
  trainSize: number;
  testSize: number;
  /** Validation problems, generated after the test split from their own stream. Default 0. */
  validSize?: number;
  /** Fewest reasoning steps (at least 1). */
  minSteps: number;
  /** Most reasoning steps. */
  maxSteps: number;
  seed: number;
  /** Every number in a problem (operands, intermediate results, answer) lies in [0, maxValue]. Default 100. */
  maxValue?: number;
  /** Which words the `nl` trace uses: short template sentences (default) or the verbose style. */
  nlStyle?: 'short' | 'verbose';
}

export const DEFAULT_MAX_VALUE = 100;

function fill(template: string, slots: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = slots[key];
    if (value === undefined) throw new Error(`synthetic template slot {${key}} has no value`);
    return String(value);
  });
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** An integer in [lo, hi]. */
function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** The operand choices for applying `op` to v without leaving [1, maxValue], or [] when impossible. */
function operands(op: Operation, v: number, maxValue: number): number[] {
  const range = (lo: number, hi: number) => (hi < lo ? [] : Array.from({ length: hi - lo + 1 }, (_, i) => lo + i));
  switch (op) {
    case '+':
      return range(1, Math.min(20, maxValue - v));
    case '-':
      return range(1, Math.min(20, v - 1));
    case '*':
      return range(2, Math.min(5, Math.floor(maxValue / v)));
    case '/':
      return range(2, Math.min(10, v)).filter((k) => v % k === 0 && v / k >= 1);
  }
}

function apply(op: Operation, v: number, k: number): number {
  switch (op) {
    case '+':
      return v + k;
    case '-':
      return v - k;
    case '*':
      return v * k;
    case '/':
      return v / k;
  }
}

/** Generates one problem with `steps` reasoning steps. */
export function generateProblem(
  rng: Rng,
  steps: number,
  maxValue: number = DEFAULT_MAX_VALUE,
  nlStyle: 'short' | 'verbose' = 'short',
): SyntheticProblem {
  if (!Number.isInteger(steps) || steps < 1)
    throw new KavaError(`synthetic problem: steps must be a positive integer, got ${steps}`, { exitCode: 2 });
  if (!Number.isInteger(maxValue) || maxValue < 20)
    throw new KavaError(`synthetic problem: maxValue must be an integer >= 20, got ${maxValue}`, { exitCode: 2 });
  const name = pick(rng, NAMES);
  let friend = pick(rng, NAMES);
  while (friend === name) friend = pick(rng, NAMES);
  const [items, item] = pick(rng, ITEMS);
  const [containers, container] = pick(rng, CONTAINERS);
  const slots: Record<string, string | number> = { name, friend, items, item, containers, container };
  const sentences: string[] = [];
  const equation: string[] = [];
  const nl: string[] = [];
  const records: StepRecord[] = [];
  let v: number;
  let remaining = steps;
  if (rng.next() < 0.5) {
    const a = between(rng, 2, 9);
    const b = between(rng, 2, Math.min(12, Math.floor(maxValue / a)));
    v = a * b;
    const t = pick(rng, START_PRODUCT);
    Object.assign(slots, { a, b, v });
    sentences.push(fill(t.text, slots));
    equation.push(`<<${a}*${b}=${v}>>`);
    nl.push(fill(t.nl, slots));
    records.push({ kind: 'product', a, b, v });
    remaining--;
  } else {
    v = between(rng, 2, Math.floor(maxValue / 2));
    sentences.push(fill(pick(rng, START_PLAIN), { ...slots, v }));
    records.push({ kind: 'start', v });
  }
  for (; remaining > 0; remaining--) {
    const feasible = (['+', '-', '*', '/'] as const).filter((op) => operands(op, v, maxValue).length > 0);
    const op = pick(rng, feasible); // '+' or '-' is always feasible since 1 <= v <= maxValue
    const k = pick(rng, operands(op, v, maxValue));
    const r = apply(op, v, k);
    const t = pick(rng, STEPS[op]);
    const stepSlots = { ...slots, v, k, r };
    sentences.push(fill(t.text, stepSlots));
    equation.push(`<<${v}${op}${k}=${r}>>`);
    nl.push(fill(t.nl, stepSlots));
    records.push({ kind: op, v, k, r });
    v = r;
  }
  sentences.push(fill(pick(rng, QUESTIONS), slots));
  const question = sentences.join(' ');
  const problem: SyntheticProblem = { question, equation, nl, answer: String(v) };
  if (nlStyle === 'verbose') problem.nlVerbose = verboseTrace(question, records, slots, fill);
  return problem;
}

function checkOptions(o: SyntheticOptions): void {
  const bad = (field: string, why: string) => new KavaError(`data.synthetic.${field}: ${why}`, { exitCode: 2 });
  if (!Number.isInteger(o.minSteps) || o.minSteps < 1)
    throw bad('minSteps', `expected an integer >= 1, got ${o.minSteps}`);
  if (!Number.isInteger(o.maxSteps) || o.maxSteps < o.minSteps)
    throw bad('maxSteps', `expected an integer >= minSteps (${o.minSteps}), got ${o.maxSteps}`);
  if (!Number.isInteger(o.trainSize) || o.trainSize < 0)
    throw bad('trainSize', `expected a non-negative integer, got ${o.trainSize}`);
  if (!Number.isInteger(o.testSize) || o.testSize < 0)
    throw bad('testSize', `expected a non-negative integer, got ${o.testSize}`);
  if (o.validSize !== undefined && (!Number.isInteger(o.validSize) || o.validSize < 0))
    throw bad('validSize', `expected a non-negative integer, got ${o.validSize}`);
}

/** The splits of the synthetic task. */
export interface SyntheticSplits {
  train: SyntheticProblem[];
  test: SyntheticProblem[];
  /** Disjoint from both others; empty unless `validSize` is set. */
  validation: SyntheticProblem[];
}

/**
 * Generates the train, test and validation splits from `seed`. The test split draws from its own
 * stream and rejects any question that occurs in the train split (or earlier in the test split),
 * so the splits never overlap; the validation split then does the same from a third stream,
 * rejecting train and test questions. Train and test do not depend on `validSize` (a run made
 * before the validation split existed sees the same questions). `assertDisjoint` checks it.
 * Throws when the space of problems is too small to find enough new questions.
 */
export function generateSynthetic(options: SyntheticOptions): SyntheticSplits {
  checkOptions(options);
  const maxValue = options.maxValue ?? DEFAULT_MAX_VALUE;
  const nlStyle = options.nlStyle ?? 'short';
  const steps = (rng: Rng) => between(rng, options.minSteps, options.maxSteps);
  const trainRng = new Rng(options.seed);
  const train = Array.from({ length: options.trainSize }, () =>
    generateProblem(trainRng, steps(trainRng), maxValue, nlStyle),
  );
  const seen = new Set(train.map((p) => p.question));
  const fresh = (split: string, size: number, rng: Rng, others: string): SyntheticProblem[] => {
    const out: SyntheticProblem[] = [];
    let attempts = 0;
    while (out.length < size) {
      if (++attempts > size * 50 + 1000) {
        throw new KavaError(
          `data.synthetic: could only find ${out.length} of ${size} ${split} problems that do not occur in the ${others}; lower ${split}Size/trainSize or raise maxSteps`,
          { exitCode: 2 },
        );
      }
      const problem = generateProblem(rng, steps(rng), maxValue, nlStyle);
      if (seen.has(problem.question)) continue;
      seen.add(problem.question);
      out.push(problem);
    }
    return out;
  };
  const test = fresh('test', options.testSize, new Rng((options.seed ^ 0x5bd1e995) + 1), 'training split');
  const validation = fresh(
    'valid',
    options.validSize ?? 0,
    new Rng((options.seed ^ 0x27d4eb2f) + 2),
    'training or test split',
  );
  assertDisjoint(train, test);
  assertDisjoint([...train, ...test], validation);
  return { train, test, validation };
}

/** Throws when a test question also occurs in the train split. */
export function assertDisjoint(train: readonly SyntheticProblem[], test: readonly SyntheticProblem[]): void {
  const questions = new Set(train.map((p) => p.question));
  const shared = test.filter((p) => questions.has(p.question));
  if (shared.length > 0) {
    throw new KavaError(
      `synthetic splits overlap: ${shared.length} test question(s) also in train, e.g. ${JSON.stringify(shared[0]!.question)}`,
    );
  }
}
