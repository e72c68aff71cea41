// defineScorer: the one base every scorer is written on. What it adds to a scorer's idea — options
// parsed and defaulted once, the input checked against `needs`, a per-token score spread over
// layers and heads, the window a scorer asks for — is what these tests hold it to.
import { tf, z, initBackend, defineScorer, windowQueryCount, type ScorerInput } from '@kava/core/internal';
import { contractInput, CONTRACT_DIMS } from '@kava/core/testing';

beforeAll(async () => {
  await initBackend('cpu');
});

const scaled = defineScorer({
  name: 'scaled-position',
  description: 'test: position times a factor',
  options: z.strictObject({ factor: z.number().positive().default(2), window: z.number().int().positive().default(3) }),
  needs: ({ factor }) => (factor > 5 ? ['keys', 'windowQueries'] : ['keys']),
  window: ({ window }) => window,
  score: (input: ScorerInput, { factor }) => tf.mul(input.positions.toFloat(), factor), // [B, N]
});

test('a [B, N] score is the same on every layer and KV head, with the defaults filled once by the schema', () => {
  const input = contractInput();
  const { B, L, Hkv, N } = CONTRACT_DIMS;
  const scores = scaled.create().score(input);
  expect(scores.shape).toEqual([B, L, Hkv, N]);
  const values = scores.arraySync() as number[][][][];
  expect(values[0]![1]![1]).toEqual([8, 10, 12, 14, 16, 18, 20]); // positions 4.. times the default 2
  expect(values[1]![0]![0]).toEqual(values[1]![1]![1]);
  tf.dispose([scores]);
  input.dispose();
});

test('create parses raw options, naming the scorer and the field; build takes parsed ones as they are', () => {
  expect(() => scaled.create({ factor: -1 })).toThrow(/scorer "scaled-position": compression\.options\.factor/);
  expect(() => scaled.create({ facter: 1 })).toThrow(
    /compression\.options\.facter: unknown key \(did you mean "factor"\?\)/,
  );
  expect(scaled.build({ factor: 3, window: 1 }).window).toBe(1);
});

test('needs and window follow the options; windowQueryCount reads the window only when it is needed', () => {
  const keysOnly = scaled.create();
  expect(keysOnly.needs).toEqual(['keys']);
  expect(windowQueryCount(keysOnly)).toBe(0);
  const windowed = scaled.create({ factor: 6, window: 4 });
  expect(windowed.needs).toEqual(['keys', 'windowQueries']);
  expect(windowQueryCount(windowed)).toBe(4);
  expect(() => windowQueryCount({ name: 'no-window', needs: ['keys', 'windowQueries'] })).toThrow(
    /scorer "no-window": needs windowQueries, so "window" must be a positive integer, got undefined/,
  );
});

test('the input is checked against needs before the idea runs', () => {
  const input = contractInput();
  expect(() => scaled.create({ factor: 6 }).score(input)).toThrow(
    /scorer "scaled-position": needs windowQueries, which the input does not have/,
  );
  input.dispose();
});

test('scoring leaves only its result behind (the base tidies the idea)', () => {
  const input = contractInput();
  const scorer = scaled.create();
  const before = tf.memory().numTensors;
  const scores = scorer.score(input);
  expect(tf.memory().numTensors).toBe(before + 1);
  scores.dispose();
  input.dispose();
});
