import { answersMatch, extractAnswer } from '@kava/core/internal';

describe('answer extraction (strip commas, last -?\\d+\\.?\\d*, float compare)', () => {
  it.each([
    ['The answer is: 18', 18],
    ['so the total is $1,000.', 1000],
    ['-5 degrees', -5],
    ['it drops by 3-4 = -1', -1],
    ['3.75 dollars each', 3.75],
    ['The answer is 42.', 42],
    ['12. Then 7.', 7],
    ['1,234,567 people', 1234567],
    ['x = 0.5 or 2', 2],
    ['about 7.0', 7],
  ])('%j -> %p', (text, expected) => {
    expect(extractAnswer(text)).toBe(expected);
  });

  it('returns null when there is no number', () => {
    expect(extractAnswer('I do not know.')).toBeNull();
    expect(extractAnswer('')).toBeNull();
  });

  it('compares as floats against gold text', () => {
    expect(answersMatch(18, '18')).toBe(true);
    expect(answersMatch(18.0, '18.00')).toBe(true);
    expect(answersMatch(1000, '1,000')).toBe(true);
    expect(answersMatch(-3, '-3')).toBe(true);
    expect(answersMatch(3, '-3')).toBe(false);
    expect(answersMatch(0.1 + 0.2, '0.3')).toBe(true);
    expect(answersMatch(17.99, '18')).toBe(false);
    expect(answersMatch(null, '18')).toBe(false);
    expect(answersMatch(5, 'none')).toBe(false);
    expect(answersMatch(5, 5)).toBe(true);
  });
});
