import {
  AdamW,
  clipByGlobalNorm,
  cosineWithWarmup,
  deriveSeed,
  evaluationPlan,
  evaluationSteps,
  Rng,
  tf,
} from '@kava/core/internal';

describe('AdamW', () => {
  it('matches torch.optim.AdamW updates computed by hand', () => {
    // torch: p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p -= lr * m̂ / (sqrt(v̂) + eps)
    const lr = 0.1,
      wd = 0.01,
      b1 = 0.9,
      b2 = 0.999,
      eps = 1e-8;
    let p = [1.0, -2.0],
      m = [0, 0],
      v = [0, 0];
    const gradsPerStep = [
      [0.5, -1.5],
      [0.25, 2.0],
      [-1.0, 0.1],
    ];
    const w = tf.variable(tf.tensor1d(p));
    const opt = new AdamW({ weightDecay: wd });
    gradsPerStep.forEach((g, i) => {
      const t = i + 1;
      p = p.map((x, k) => {
        m[k] = b1 * m[k]! + (1 - b1) * g[k]!;
        v[k] = b2 * v[k]! + (1 - b2) * g[k]! ** 2;
        const mh = m[k]! / (1 - b1 ** t);
        const vh = v[k]! / (1 - b2 ** t);
        return x * (1 - lr * wd) - (lr * mh) / (Math.sqrt(vh) + eps);
      });
      const grad = tf.tensor1d(g);
      opt.apply(new Map([['w', w]]), new Map([['w', grad]]), lr);
      grad.dispose();
      const got = Array.from(w.dataSync());
      got.forEach((x, k) => expect(x).toBeCloseTo(p[k]!, 5));
    });
    expect(opt.step).toBe(3);
    opt.dispose();
    w.dispose();
  });

  it('restores from its state to the same next update', () => {
    const make = () => tf.variable(tf.tensor1d([0.3, 0.7]));
    const g1 = tf.tensor1d([0.2, -0.4]);
    const g2 = tf.tensor1d([-0.1, 0.5]);
    const a = make();
    const optA = new AdamW({ weightDecay: 0.1 });
    optA.apply(new Map([['a', a]]), new Map([['a', g1]]), 0.01);
    const b = tf.variable(a.clone());
    const optB = new AdamW({ weightDecay: 0.1 });
    optB.load(optA.step, optA.state());
    optA.apply(new Map([['a', a]]), new Map([['a', g2]]), 0.01);
    optB.apply(new Map([['a', b]]), new Map([['a', g2]]), 0.01);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    for (const t of [a, b, g1, g2]) t.dispose();
    optA.dispose();
    optB.dispose();
  });

  it('skips weight decay where asked', () => {
    const w = tf.variable(tf.tensor1d([1]));
    const opt = new AdamW({ weightDecay: 0.5 });
    const zero = tf.tensor1d([0]);
    opt.apply(new Map([['norm.weight', w]]), new Map([['norm.weight', zero]]), 0.1, (name) => !name.includes('norm'));
    expect(w.dataSync()[0]).toBe(1);
    opt.apply(new Map([['norm.weight', w]]), new Map([['norm.weight', zero]]), 0.1);
    expect(w.dataSync()[0]).toBeCloseTo(0.95, 6);
    opt.dispose();
    w.dispose();
    zero.dispose();
  });
});

describe('cosine schedule with warm-up', () => {
  it('warms up linearly, peaks, and decays to zero', () => {
    const total = 100;
    expect(cosineWithWarmup(0, total, 1, 0.03)).toBeCloseTo(1 / 3);
    expect(cosineWithWarmup(2, total, 1, 0.03)).toBeCloseTo(1);
    expect(cosineWithWarmup(3, total, 1, 0.03)).toBeCloseTo(1);
    expect(cosineWithWarmup(3 + 97 / 2, total, 1, 0.03)).toBeCloseTo(0.5);
    expect(cosineWithWarmup(99, total, 1, 0.03)).toBeLessThan(0.01);
    expect(cosineWithWarmup(0, total, 2, 0)).toBeCloseTo(2);
  });
});

describe('evaluation steps (train.evalEvery)', () => {
  it('"auto" draws a five-point curve on runs of 100+ steps with at most 500 questions, else evaluates at the end', () => {
    expect(evaluationSteps('auto', 300, 200)).toEqual([60, 120, 180, 240]);
    expect(evaluationSteps('auto', 1000, 500)).toEqual([200, 400, 600, 800]);
    expect(evaluationSteps('auto', 99, 200)).toEqual([]);
    expect(evaluationSteps('auto', 3000, 1319)).toEqual([]); // all of GSM8k's test: too dear to repeat
    expect(evaluationSteps('auto', 300, 0)).toEqual([]);
    expect(evaluationPlan('auto', 300, 200)).toBe(
      'held-out evaluation of 200 questions at steps 60, 120, 180, 240 and at the end (train.evalEvery auto)',
    );
    expect(evaluationPlan('auto', 3000, 1319)).toMatch(/at the end \(train\.evalEvery auto: more than 500 questions/);
  });

  it('a number evaluates every that many steps before the last; 0 only at the end', () => {
    expect(evaluationSteps(100, 300, 200)).toEqual([100, 200]);
    expect(evaluationSteps(7, 20, 4)).toEqual([7, 14]);
    expect(evaluationSteps(0, 300, 200)).toEqual([]);
    expect(evaluationPlan(10, 3000, 200)).toBe(
      'held-out evaluation of 200 questions every 10 steps (299 times) and at the end (train.evalEvery 10)',
    );
  });
});

describe('gradient clipping by global norm', () => {
  it('scales every gradient by maxNorm / norm when the norm is larger', () => {
    const grads = new Map([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor1d([0, 4])],
    ]);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 2);
    expect(norm).toBeCloseTo(5);
    expect(Array.from(clipped.get('a')!.dataSync())[0]).toBeCloseTo(1.2, 4);
    expect(Array.from(clipped.get('b')!.dataSync())[1]).toBeCloseTo(1.6, 4);
    const { grads: same } = clipByGlobalNorm(grads, 10);
    expect(Array.from(same.get('b')!.dataSync())).toEqual([0, 4]);
    for (const m of [grads, clipped, same]) for (const t of m.values()) t.dispose();
  });
});

describe('Rng', () => {
  it('is reproducible from its state', () => {
    const a = new Rng(42);
    a.next();
    const b = new Rng(0);
    b.state = a.state;
    expect([a.next(), a.int(10), a.shuffle([1, 2, 3, 4])]).toEqual([b.next(), b.int(10), b.shuffle([1, 2, 3, 4])]);
    expect(new Rng(1).next()).not.toEqual(new Rng(2).next());
  });

  it("gives the n-th seed of a stream directly (the trainer's per-micro-batch seeds)", () => {
    for (const seed of [0, 5, -3, 2 ** 31 + 7]) {
      const rng = new Rng(seed);
      const drawn = Array.from({ length: 50 }, () => rng.seed());
      expect(drawn.map((_, n) => Rng.seedAt(seed, n))).toEqual(drawn);
    }
    expect(() => Rng.seedAt(0, -1)).toThrow(/index must be an integer/);
  });

  it('derives seeds per site: fixed for the same inputs, distinct across sites and parents', () => {
    expect(deriveSeed(9, 1, 2)).toBe(deriveSeed(9, 1, 2));
    const seeds = new Set<number>();
    for (let parent = 0; parent < 20; parent++)
      for (let site = 0; site < 50; site++) seeds.add(deriveSeed(parent, site));
    expect(seeds.size).toBe(1000);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 31).toBe(true);
    expect(deriveSeed(9, 1, 2)).not.toBe(deriveSeed(9, 2, 1));
  });
});
