// End to end through the built `kava` binary: train → report → eval → infer → compress, and the
// error paths a user meets first.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOOK_NAMES } from '@kava/core';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const kava = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A small model so the whole pipeline runs in seconds. */
const SMALL = {
  backbone: { overrides: { numLayers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 64 } },
  data: { synthetic: { trainSize: 64, testSize: 8 } },
  latent: { count: 4, iterations: 1 },
  train: { batchSize: 4, microBatchSize: 4, checkpointEvery: 0 },
  eval: { limit: 8 },
};

describe('kava end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kava-e2e-'));
  writeFileSync(join(dir, 'kava.config.json'), JSON.stringify({ preset: 'tiny-llama', ...SMALL }));
  let runDir = '';

  it('trains (shortened by flags), writes the report, and evaluates at the end', () => {
    const r = kava(['train', '--steps', '3', '--out', 'runs'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: /m);
    const last = r.stdout.split('\n').find((l) => l.startsWith('step 3/3'))!;
    for (const part of ['teacher-ce', 'student-ce', 'codi', 'kv', 'total', 'lr', 'tok/s', 'eta'])
      expect(last).toContain(part);
    expect(r.stdout).toMatch(/held-out accuracy: \d+\.\d% \(\d+\/8, latent\)/);
    expect(r.stdout).toMatch(/^method kava: .*scorer rkv/m); // the start banner
    expect(r.stdout).toMatch(/^evaluating held-out questions 8\/8$/m); // evaluation progress
    runDir = join(dir, 'runs', readdirSync(join(dir, 'runs'))[0]!);
    for (const f of ['config.json', 'metrics.jsonl', 'eval.jsonl', 'report.md', 'checkpoints/latest'])
      expect(existsSync(join(runDir, f))).toBe(true);
    const svg = readFileSync(join(runDir, 'report.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toMatch(/<path[^>]*d="M/); // the loss curves are drawn
    expect(readFileSync(join(runDir, 'report.md'), 'utf8')).toMatch(/\| teacher-ce \|/);
  });

  it('kava report regenerates the report', () => {
    const r = kava(['report', runDir], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/steps: 3\/3/);
  });

  it('kava report RUN RUN compares runs: curves overlaid, a row per run with its method and scorer', () => {
    const other = kava(['train', '--steps', '2', '--run-dir', 'runs-nocot', '--preset', 'no-cot'], dir);
    expect(other.code).toBe(0);
    const r = kava(['report', runDir, 'runs-nocot', '--out', 'compared'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const table = readFileSync(join(dir, 'compared', 'comparison.md'), 'utf8');
    expect(table).toBe(r.stdout.slice(0, table.length));
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| run '));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/\| kava \| rkv \| 3\/3 \| [\d.]+ \| \d+\.\d% \(step 3\)/);
    expect(rows[1]).toMatch(/^\| runs-nocot \| no-cot \| {2}\| 2\/2 \|/);
    const svg = readFileSync(join(dir, 'compared', 'comparison.svg'), 'utf8');
    expect(svg).toContain('runs-nocot'); // the legend names each run
    expect(svg.match(/<path[^>]*d="M/g)!.length).toBeGreaterThanOrEqual(2);
    const one = kava(['report', runDir, '--out', 'x'], dir);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/--out is for comparing two or more runs/);
  });

  it('kava eval --json reports accuracy, passes, KV entries and time', () => {
    const r = kava(['eval', '--run', runDir, '--json'], dir);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ mode: 'latent', questions: 8 });
    // Jacobi with T = 1: prefix, one refinement, the final latent pass, then answer tokens.
    expect(report.forwardPassesPerQuestion).toBeGreaterThanOrEqual(3);
    expect(report.kvEntriesPerQuestion).toBeGreaterThan(4);
    expect(report.wallSeconds).toBeGreaterThan(0);
    expect(existsSync(report.predictionsFile)).toBe(true);
  });

  it('every hook docs/hooks.md names fires where it says: all of them in training, its lists for kava eval and kava infer', () => {
    // The hook names come from docs/hooks.md, so the reference and the code cannot drift apart.
    const doc = readFileSync(join(REPO, 'docs/hooks.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(\w+)` \| \w+Hook \|/gm)].map((m) => m[1]!);
    const trainOrder = /calls the hooks in this order:\s*```([\s\S]*?)```/.exec(doc)![1]!;
    const forTraining = documented.filter((name) => new RegExp(`\\b${name}\\b`).test(trainOrder));
    const forCommand = (command: string) => {
      const m = new RegExp(`\`kava ${command}\` calls ([^(]*)\\(with \`kind: "${command}"\``).exec(doc);
      expect(m).not.toBeNull();
      return [...m![1]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!);
    };
    expect([...documented].sort()).toEqual([...HOOK_NAMES].sort()); // the table lists every hook the code declares
    expect(forTraining).toEqual(documented); // training calls every hook

    const log = join(dir, 'hooks.log');
    writeFileSync(
      join(dir, 'hook-logger.mjs'),
      `import { appendFileSync } from 'node:fs';
export default { name: 'hook-logger', apply(h) {
  for (const name of ${JSON.stringify(documented)}) {
    // A name the docs list but the code lacks fails here (h[name] is undefined).
    h[name].tap('hook-logger', (...args) => {
      appendFileSync(${JSON.stringify(log)}, name + (args[0] && args[0].kind ? ' ' + args[0].kind : '') + '\\n');
      return args[0]; // waterfall hooks pass their value on
    });
  }
} };
`,
    );
    const fired = () => {
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      writeFileSync(log, '');
      return lines;
    };
    const names = (lines: string[]) => [...new Set(lines.map((l) => l.split(' ')[0]!))].sort();

    writeFileSync(log, '');
    const trained = kava(['train', '--steps', '2', '--run-dir', 'runs-hooks', '--plugin', './hook-logger.mjs'], dir);
    expect(trained.code).toBe(0);
    const inTraining = fired();
    expect(names(inTraining)).toEqual([...forTraining].sort());
    expect(inTraining.filter((l) => l.startsWith('run'))).toEqual(['runStart train', 'runEnd train']);

    const evaluated = kava(['eval', '--run', join(dir, 'runs-hooks'), '--json', '--plugin', './hook-logger.mjs'], dir);
    expect(evaluated.code).toBe(0);
    expect(fired()).toEqual(forCommand('eval').map((n) => (n.startsWith('run') ? `${n} eval` : n)));

    const inferred = kava(
      ['infer', '--checkpoint', join(dir, 'runs-hooks'), '--plugin', './hook-logger.mjs', 'What is 2 + 3?'],
      dir,
    );
    expect(inferred.code).toBe(0);
    expect(fired()).toEqual(forCommand('infer').map((n) => (n.startsWith('run') ? `${n} infer` : n)));
  });

  it('kava infer answers a question and shows its cost; --mode cot shows the trace', () => {
    const q = 'Mia has 3 boxes of 4 pens. How many pens does Mia have?';
    const latent = kava(['infer', '--checkpoint', runDir, q], dir);
    expect(latent.code).toBe(0);
    expect(latent.stdout).toMatch(/^answer: /m);
    expect(latent.stdout).toMatch(
      /cost: \d+ forward passes, \d+ generated tokens, \d+ KV entries held \(mode latent\)/,
    );
    const cot = kava(['infer', '--checkpoint', runDir, '--mode', 'cot', q], dir);
    expect(cot.code).toBe(0);
    expect(cot.stdout).toMatch(/^trace: /m);
  });

  it('--kv-budget compresses the trace while it is written (cot mode), and says what the cache held', () => {
    const budget = [
      '--mode',
      'cot',
      '--kv-budget',
      '4',
      '--kv-interval',
      '2',
      '--kv-scorer',
      'keydiff',
      '--limit',
      '3',
    ];
    const r = kava(['eval', '--run', runDir, ...budget, '--json'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.peakKvEntriesPerQuestion).toBeGreaterThanOrEqual(report.kvEntriesPerQuestion);
    const plain = JSON.parse(kava(['eval', '--run', runDir, '--mode', 'cot', '--limit', '3', '--json'], dir).stdout);
    expect(plain.peakKvEntriesPerQuestion).toBeUndefined();
    // Whatever the untrained model writes, the cache under the budget holds no more than without one.
    expect(report.kvEntriesPerQuestion).toBeLessThanOrEqual(plain.kvEntriesPerQuestion);
    const latent = kava(['eval', '--run', runDir, '--kv-budget', '4', '--limit', '1'], dir);
    expect(latent.code).toBe(2);
    expect(latent.stderr).toMatch(/--kv-budget: a KV budget applies to a trace being written \(--mode cot\)/);
    // A scorer that reads the answer (the last trace tokens' queries stand in) with budgets per head.
    const perHead = [...budget.slice(0, 6), '--kv-scorer', 'attention', '--kv-evictor', 'adakv', '--limit', '3'];
    const adakv = kava(['eval', '--run', runDir, ...perHead, '--json'], dir);
    expect(adakv.stderr).toBe('');
    expect(adakv.code).toBe(0);
    expect(JSON.parse(adakv.stdout).peakKvEntriesPerQuestion).toBeLessThanOrEqual(plain.kvEntriesPerQuestion);
    const typo = kava(['eval', '--run', runDir, ...budget.slice(0, 4), '--kv-evictor', 'adakb'], dir);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--kv-evictor.*"adakb"/);
  });

  it('a malformed or non-finite checkpoint is an input error: eval and infer exit 2 naming the file', () => {
    const bad = mkdtempSync(join(tmpdir(), 'kava-e2e-bad-'));
    cpSync(runDir, bad, { recursive: true });
    const checkpoint = join(bad, 'checkpoints', readFileSync(join(bad, 'checkpoints', 'latest'), 'utf8').trim());
    const params = join(checkpoint, 'params.safetensors');
    const bytes = readFileSync(params);
    writeFileSync(params, bytes.subarray(0, bytes.length - 10)); // truncated
    const truncated = kava(['eval', '--run', bad], dir);
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toContain(`${params}: its sha256 is`); // the checkpoint's checksum
    // Without the checksum (a checkpoint from before them), the file's own checks name it.
    const stateFile = join(checkpoint, 'state.json');
    const { sha256: _sha, ...state } = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(stateFile, JSON.stringify(state));
    expect(kava(['eval', '--run', bad], dir).stderr).toContain(`safetensors file ${params}:`);
    // The same file with one weight turned to NaN (what a diverged step could save before the
    // trainer refused to write non-finite weights).
    const header = 8 + Number(bytes.readBigUInt64LE(0));
    const poisoned = Buffer.from(bytes);
    poisoned.writeFloatLE(NaN, header);
    writeFileSync(params, poisoned);
    const nan = kava(['infer', '--checkpoint', bad, 'What is 2 + 3?'], dir);
    expect(nan.code).toBe(2);
    expect(nan.stderr).toMatch(
      new RegExp(`^kava: ${params.replace(/[.]/g, '\\.')}: tensor "[^"]+" holds 1 non-finite value`),
    );
  });

  it('swapping compression.scorer in the config changes the kept tokens (rkv, keydiff, a third-party plugin)', () => {
    const kept: Record<string, unknown> = {};
    // On an untrained model attention carries little signal, and rkv at its default λ = 0.1 ranks
    // almost like keydiff (exactly like it at λ = 0); λ = 0.5 lets the answer queries' attention count.
    const configs = [
      ['rkv', [], { lambda: 0.5 }],
      ['keydiff', [], {}],
      ['value-norm', ['kava-plugin-example'], {}],
    ] as const;
    for (const [scorer, plugins, options] of configs) {
      const d = mkdtempSync(join(tmpdir(), 'kava-compress-'));
      // The default tiny architecture (4 layers x 2 KV heads): eight (layer, head) choices to compare.
      writeFileSync(
        join(d, 'kava.config.json'),
        JSON.stringify({ preset: 'tiny-llama', plugins, compression: { scorer, options } }),
      );
      const r = kava(
        [
          'compress',
          '--question',
          'Mia has 3 boxes of 4 pens. She gives away 5 pens.',
          '--cot',
          '<<3*4=12>> <<12-5=7>> <<7+1=8>>',
          '--answer',
          '8',
          '--budget',
          '3',
          '--json',
          '--out',
          join(d, 'k.svg'),
        ],
        d,
      );
      // Only the note that the weights are a fresh model's (no --checkpoint).
      expect(r.stderr).toMatch(/^note: no --checkpoint: a fresh tiny-llama model with random weights; .*\n$/);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(Object.keys(out.scorers)).toEqual([scorer]);
      kept[scorer] = out.scorers[scorer];
      expect(readFileSync(join(d, 'k.svg'), 'utf8').startsWith('<svg')).toBe(true);
    }
    expect(kept.rkv).not.toEqual(kept.keydiff);
    expect(kept['value-norm']).not.toEqual(kept.keydiff);
    expect(kept['value-norm']).not.toEqual(kept.rkv);
  });

  it('Ctrl-C during training stops after the current step, saves a checkpoint and --resume continues it', async () => {
    const child = spawn(process.execPath, [BIN, 'train', '--steps', '100000', '--run-dir', 'runs-int'], { cwd: dir });
    let stdout = '';
    try {
      const code = await new Promise<number | null>((done) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (/^step \d+\/100000/m.test(stdout) && !child.killed) child.kill('SIGINT');
        });
        child.on('close', done);
      });
      expect(code).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stdout).toMatch(/^interrupted; checkpoint saved: .*step-\d+$/m);
    const steps = readFileSync(join(dir, 'runs-int', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n').length;
    expect(steps).toBeLessThan(1000);
    expect(existsSync(join(dir, 'runs-int', 'checkpoints', 'latest'))).toBe(true);
    // The folder holds a run now: reusing it without --resume is refused.
    const again = kava(['train', '--steps', '3', '--run-dir', 'runs-int'], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--run-dir runs-int: already holds a run/);
    const resumed = kava(['train', '--steps', String(steps + 2), '--resume', 'runs-int'], dir);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`resumed from`);
    expect(resumed.stdout).toContain(`steps: ${steps + 2}/${steps + 2}`);
  }, 120_000);

  /**
   * Starts `kava train` into `runDir` (in `cwd`), sends `signal` once the first step is printed and,
   * with `again`, once more when the run says it is stopping; waits for the exit.
   */
  const trainUntilSignalled = async (runDir: string, signal: NodeJS.Signals, again = false, cwd = dir) => {
    const child = spawn(process.execPath, [BIN, 'train', '--steps', '100000', '--run-dir', runDir], { cwd });
    let stdout = '';
    let sent = 0;
    try {
      const code = await new Promise<number | null>((done) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          // Signals of one kind are not queued: the second is sent only after the first was handled.
          if (sent === 0 && /^step \d+\/100000/m.test(stdout)) (sent++, child.kill(signal));
          if (again && sent === 1 && /stopping after this micro-batch/.test(stdout)) (sent++, child.kill(signal));
        });
        child.on('close', done);
      });
      return { code, stdout };
    } finally {
      child.kill('SIGKILL');
    }
  };
  it('SIGTERM (timeout, docker stop, Slurm) saves a checkpoint like Ctrl-C and exits 143; --resume continues', async () => {
    const r = await trainUntilSignalled('runs-term', 'SIGTERM');
    expect(r.code).toBe(143);
    expect(r.stdout).toMatch(
      /^SIGTERM: stopping after this micro-batch \(or evaluation batch\) and saving the last whole step/m,
    );
    expect(r.stdout).toMatch(/^interrupted; checkpoint saved: .*step-\d+$/m);
    const steps = readFileSync(join(dir, 'runs-term', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n').length;
    expect(readFileSync(join(dir, 'runs-term', 'checkpoints', 'latest'), 'utf8').trim()).toBe(
      `step-${String(steps).padStart(7, '0')}`,
    );
    for (const f of ['state.json', 'params.safetensors', 'optimizer.safetensors'])
      expect(existsSync(join(dir, 'runs-term', 'checkpoints', `step-${String(steps).padStart(7, '0')}`, f))).toBe(true);
    const resumed = kava(['train', '--steps', String(steps + 1), '--resume', 'runs-term'], dir);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`steps: ${steps + 1}/${steps + 1}`);
  }, 120_000);

  it('a second signal exits at once (143) and leaves no half-visible checkpoint', async () => {
    // Steps long enough (the default tiny architecture, a checkpoint after each) that the second
    // signal lands while the run is still finishing its step or saving.
    const slow = mkdtempSync(join(tmpdir(), 'kava-e2e-slow-'));
    writeFileSync(
      join(slow, 'kava.config.json'),
      JSON.stringify({
        preset: 'tiny-llama',
        data: SMALL.data,
        train: { batchSize: 16, microBatchSize: 8, checkpointEvery: 1 },
      }),
    );
    const r = await trainUntilSignalled('run', 'SIGTERM', true, slow);
    expect(r.code).toBe(143);
    expect(r.stdout).not.toMatch(/^interrupted; checkpoint saved/m);
    const root = join(slow, 'run', 'checkpoints');
    const visible = readdirSync(root).filter((d) => /^step-\d+$/.test(d));
    expect(visible.length).toBeGreaterThan(0); // the step-0 one at least
    for (const d of visible)
      for (const f of ['state.json', 'params.safetensors', 'optimizer.safetensors', 'tokenizer'])
        expect(existsSync(join(root, d, f))).toBe(true);
    expect(visible).toContain(readFileSync(join(root, 'latest'), 'utf8').trim());
  }, 120_000);

  it('kill -9 at any moment while checkpointing leaves the last complete checkpoint, and --resume goes on from it', async () => {
    const project = mkdtempSync(join(tmpdir(), 'kava-e2e-kill-'));
    writeFileSync(
      join(project, 'kava.config.json'),
      JSON.stringify({ preset: 'tiny-llama', ...SMALL, train: { ...SMALL.train, checkpointEvery: 1 } }),
    );
    const root = join(project, 'r', 'checkpoints');
    // A checkpoint after every step, and SIGKILL at a different moment after the first step each time.
    for (const [i, delay] of [0, 40, 120, 250].entries()) {
      const args = ['train', '--steps', '100000', ...(i === 0 ? ['--run-dir', 'r'] : ['--resume', 'r'])];
      const child = spawn(process.execPath, [BIN, ...args], { cwd: project });
      await new Promise<void>((done) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (/^step \d+\/100000/m.test(out)) setTimeout(() => child.kill('SIGKILL'), delay);
        });
        child.on('close', () => done());
      });
      const visible = readdirSync(root).filter((d) => /^step-\d+$/.test(d));
      for (const d of visible)
        for (const f of ['state.json', 'params.safetensors', 'optimizer.safetensors', 'tokenizer/tokenizer.json'])
          expect(existsSync(join(root, d, f))).toBe(true);
      expect(visible).toContain(readFileSync(join(root, 'latest'), 'utf8').trim());
    }
    const step = Number(readFileSync(join(root, 'latest'), 'utf8').trim().slice(5));
    const resumed = kava(['train', '--resume', 'r', '--steps', String(step + 1)], project);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`steps: ${step + 1}/${step + 1}`);
    expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]); // what the kills left is cleaned up
  }, 180_000);

  it("--resume continues with the run's own settings (not the current folder's), changes only the flags given and keeps config.json", () => {
    const project = mkdtempSync(join(tmpdir(), 'kava-e2e-resume-'));
    writeFileSync(
      join(project, 'base.json'),
      JSON.stringify({
        preset: 'tiny-llama',
        ...SMALL,
        train: { ...SMALL.train, checkpointEvery: 2, teacherWarmup: 0.5 },
      }),
    );
    const first = kava(['train', '--config', 'base.json', '--steps', '4', '--run-dir', 'r'], project);
    expect(first.code).toBe(0);
    const runDir = join(project, 'r');
    const config = readFileSync(join(runDir, 'config.json'), 'utf8');
    // From another folder, with no config file there: the run's own architecture, schedule, checkpoints.
    const elsewhere = mkdtempSync(join(tmpdir(), 'kava-e2e-elsewhere-'));
    const resumed = kava(['train', '--resume', runDir, '--steps', '6'], elsewhere);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^resume changes: train\.steps 4 → 6$/m);
    expect(resumed.stdout).toMatch(/^total steps 4 → 6: the learning-rate schedule now runs over 6 steps/m);
    expect(resumed.stdout).toContain('steps: 6/6');
    expect(readFileSync(join(runDir, 'config.json'), 'utf8')).toBe(config);
    expect(readFileSync(join(runDir, 'resumes.jsonl'), 'utf8')).toContain('"train.steps":{"from":4,"to":6}');
    const preset = kava(['train', '--resume', runDir, '--preset', 'kava'], elsewhere);
    expect(preset.code).toBe(2);
    expect(preset.stderr).toMatch(/--config and --preset cannot be combined with it/);
  }, 120_000);

  it.each([
    [['train', '--preset', 'llama-1b'], /meta-llama\/Llama-3\.2-1B-Instruct.*--model-dir/],
    [['train', '--steps', 'many'], /--steps: expected a positive integer, got "many"/],
    [['train', '--steps', '2', '--epochs', '1'], /give one of them, not both/],
    [['eval'], /give --run DIR, --checkpoint DIR, --model-dir DIR or --model ORG\/NAME/],
    [['eval', '--run', '/nonexistent/run'], /no checkpoint found/],
    [['infer', '--checkpoint', '/nonexistent/run', 'q'], /no checkpoint found/],
    [['report', '/nonexistent/run'], /not a run directory/],
    [
      ['compress', '--question', 'q', '--cot', 'c', '--scorer', 'scissorhands'],
      /no loaded plugin provides a scorer named "scissorhands"\. Available: /,
    ],
  ])('kava %j exits 2 with a clear message', (args, message) => {
    const r = kava(args as string[], mkdtempSync(join(tmpdir(), 'kava-err-')));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
  });
});
