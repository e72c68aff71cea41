import { createHash } from 'node:crypto';
import { existsSync, statSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import { fileError, makeDir } from '../io/file-errors.js';
import { describeIssues } from '../config/errors.js';
import { SafetensorsFile, countNonFinite, writeSafetensors } from '../model/safetensors.js';
import { writeTextAtomic } from '../model/atomic-write.js';
import { readJsonObject } from '../io/json-file.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import type { AdamW } from './adamw.js';

/** What a checkpoint restores besides tensors. */
export interface TrainingState {
  step: number;
  totalSteps: number;
  optimizerStep: number;
  /** Position in the shuffled data: epoch and index of the next example. */
  data: { epoch: number; index: number };
  /** Name and shape of every trainable variable (checked on load). */
  params: { name: string; shape: number[] }[];
  /**
   * sha256 of the checkpoint's tensor files, verified on load: a file changed after the save
   * (a flipped bit, a partial copy) is refused instead of resumed. Absent in older checkpoints.
   */
  sha256?: Record<string, string>;
}

const PARAMS = 'params.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const STATE = 'state.json';
export const checkpointName = (step: number) => `step-${String(step).padStart(7, '0')}`;
/** Where a checkpoint keeps its tokenizer (with the added reasoning tokens). */
export const tokenizerDir = (checkpointDir: string) => join(checkpointDir, 'tokenizer');

function tensorsToWrite(tensors: ReadonlyMap<string, tf.Tensor>) {
  return [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: () => t.dataSync() as Float32Array }));
}

/**
 * Writes a checkpoint into `<runDir>/checkpoints/step-N` atomically: everything goes into a
 * temporary folder that is renamed into place only when complete, and `latest` is updated
 * (atomically) after that. A crash mid-save leaves the previous checkpoint and `latest` intact.
 * Keeps the newest `keep` checkpoints.
 */
export async function saveCheckpoint(
  runDir: string,
  state: TrainingState,
  params: ReadonlyMap<string, tf.Variable>,
  optimizer: AdamW,
  tokenizer: Tokenizer,
  keep = 2,
): Promise<string> {
  const root = join(runDir, 'checkpoints');
  const name = checkpointName(state.step);
  const final = join(root, name);
  const temp = join(root, `.${name}.${process.pid}.tmp`);
  // Weights that are not finite come from a diverged step: saving them would make them the
  // checkpoint a resume or an evaluation takes. The run stops instead, its last checkpoint intact.
  for (const [name, variable] of params) {
    const bad = countNonFinite(variable.dataSync() as Float32Array);
    if (bad > 0)
      throw new KavaError(
        `step ${state.step}: tensor "${name}" holds ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or Infinity), so the checkpoint was not written; the weights diverged (is train.lr too large?). The run's last checkpoint, ${latestName(root) ?? 'none'}, is unchanged`,
      );
  }
  const removeTemp = () => {
    try {
      rmSync(temp, { recursive: true, force: true });
    } catch {
      // Nothing was made where it cannot be removed; the error that matters comes next.
    }
  };
  try {
    rmSync(temp, { recursive: true, force: true });
    makeDir(temp);
    writeSafetensors(join(temp, PARAMS), tensorsToWrite(params));
    writeSafetensors(join(temp, OPTIMIZER), tensorsToWrite(optimizer.state()));
    await tokenizer.save(tokenizerDir(temp));
    const sha256 = Object.fromEntries([PARAMS, OPTIMIZER].map((f) => [f, fileHash(join(temp, f))]));
    writeTextAtomic(join(temp, STATE), `${JSON.stringify({ ...state, sha256 }, null, 2)}\n`);
  } catch (error) {
    // A full disk or a failing write leaves no half-written folder behind, and says where: the
    // checkpoint it was writing, not the temporary folder that is gone (the helpers' own errors
    // name the temporary path, so their system error is taken instead). Node 20's rmSync throws
    // ENOTDIR where Node 24's ignores it, so both reach here through different calls.
    removeTemp();
    const system = error instanceof KavaError && (error.cause as NodeJS.ErrnoException)?.code ? error.cause : error;
    throw fileError(final, 'save the checkpoint', system);
  }
  discard(final);
  renameSync(temp, final);
  writeTextAtomic(join(root, 'latest'), `${name}\n`);
  const all = readdirSync(root)
    .filter((d) => /^step-\d+$/.test(d))
    .sort();
  for (const old of all.slice(0, Math.max(0, all.length - keep))) discard(join(root, old));
  return final;
}

const fileHash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The checkpoint `latest` names in a checkpoints folder, or null. */
function latestName(root: string): string | null {
  const file = join(root, 'latest');
  return existsSync(file) ? join(root, readFileSync(file, 'utf8').trim()) : null;
}

/** Refuses a tensor file whose bytes are not those the checkpoint was saved with. */
function verifyHash(dir: string, file: string, state: TrainingState): void {
  const expected = state.sha256?.[file];
  if (!expected) return; // a checkpoint from before checksums
  const actual = fileHash(join(dir, file));
  if (actual !== expected)
    throw new KavaError(
      `${join(dir, file)}: its sha256 is ${actual.slice(0, 12)}…, the checkpoint was saved with ${expected.slice(0, 12)}… (${join(dir, STATE)}): the file changed after the save (corrupted or partly copied); take an earlier checkpoint of the run`,
      { exitCode: 2 },
    );
}

/**
 * Removes a checkpoint folder without ever showing a half-deleted one under its name: it is first
 * renamed to a temporary name (one rename is atomic), then deleted. A kill in between leaves a
 * temporary folder, which the next start removes (removeStaleTemporaries).
 */
function discard(dir: string): void {
  if (!existsSync(dir)) return;
  const aside = join(dirname(dir), `.${basename(dir)}.${process.pid}.${Date.now()}.tmp`);
  renameSync(dir, aside);
  rmSync(aside, { recursive: true, force: true });
}

/** Temporary names of checkpoint folders and atomic writes: `.<name>.<pid>[.<time>].tmp`. */
const TEMPORARY = /^\..+\.(\d+)(?:\.\d+)?\.tmp$/;

const isRunning = (pid: number) => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the temporary checkpoint folders and files of a run (in the run folder and its
 * checkpoints/) that a process killed while saving left behind; those of a live process are
 * kept. Returns what was removed.
 */
export function removeStaleTemporaries(runDir: string): string[] {
  const removed: string[] = [];
  for (const dir of [runDir, join(runDir, 'checkpoints')]) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir)) {
      const pid = TEMPORARY.exec(name)?.[1];
      if (pid === undefined || isRunning(Number(pid))) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  }
  return removed;
}

/** The newest complete checkpoint of a run directory (or the checkpoint directory itself). */
export function findCheckpoint(path: string): string {
  if (existsSync(join(path, STATE))) return path;
  const latest = join(path, 'checkpoints', 'latest');
  if (!existsSync(latest) && existsSync(join(path, 'config.json')) && !existsSync(join(path, 'checkpoints')))
    throw new KavaError(
      `${path}: this run saved no checkpoint to resume from (it stopped before its first save, or train.checkpointEvery is 0 and it never finished); train it again with its settings: kava train --config ${join(path, 'config.json')}`,
      { exitCode: 2 },
    );
  if (!existsSync(latest))
    throw new KavaError(`${path}: no checkpoint found (expected ${latest} or a checkpoint folder with ${STATE})`, {
      exitCode: 2,
    });
  const dir = join(path, 'checkpoints', readFileSync(latest, 'utf8').trim());
  if (!existsSync(join(dir, STATE)))
    throw new KavaError(`${latest} names ${dir}, which is missing or incomplete`, { exitCode: 2 });
  return dir;
}

const count = z.number().int().nonnegative();
/** state.json as the trainer writes it (looser keys are kept: later versions may add some). */
const STATE_SCHEMA = z.looseObject({
  step: count,
  totalSteps: z.number().int().positive(),
  optimizerStep: count,
  data: z.looseObject({ epoch: count, index: count }),
  params: z.array(z.looseObject({ name: z.string(), shape: z.array(count) })),
  sha256: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).optional(),
});

/**
 * A checkpoint's state.json, checked field by field: a hand-edited or damaged file is refused
 * naming the file and the field, before anything of the run is touched.
 */
export function readTrainingState(dir: string): TrainingState {
  const file = join(dir, STATE);
  const result = STATE_SCHEMA.safeParse(readJsonObject(file), { reportInput: true });
  if (result.success) return result.data as TrainingState;
  const lines = describeIssues(STATE_SCHEMA, result.error.issues, file);
  throw new KavaError(
    `${lines.length === 1 ? lines[0] : lines.join('; ')} (a checkpoint's state as the trainer wrote it; the file was changed or damaged: take another checkpoint of the run)`,
    { exitCode: 2 },
  );
}

/**
 * Refuses weights that are not finite: a model with NaN or Infinity in it answers nothing, and
 * evaluating or resuming it would only hide where the run went wrong.
 */
function assertFinite(file: string, name: string, values: Float32Array): void {
  const bad = countNonFinite(values);
  if (bad > 0) {
    throw new KavaError(
      `${file}: tensor "${name}" holds ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or Infinity) of ${values.length}; ` +
        'these weights come from a diverged step and cannot be used. Take an earlier checkpoint of the run',
      { exitCode: 2 },
    );
  }
}

/** Restores trainable variables (and the optimiser when given) from a checkpoint folder. */
export function loadCheckpoint(
  dir: string,
  params: ReadonlyMap<string, tf.Variable>,
  optimizer?: AdamW,
): TrainingState {
  const state = readTrainingState(dir);
  verifyHash(dir, PARAMS, state);
  if (optimizer) verifyHash(dir, OPTIMIZER, state);
  const file = SafetensorsFile.open(join(dir, PARAMS));
  try {
    for (const [name, variable] of params) {
      const entry = file.entries.get(name);
      if (!entry)
        throw new KavaError(
          `${join(dir, PARAMS)}: missing "${name}"; the checkpoint was made with a different model configuration`,
          { exitCode: 2 },
        );
      if (entry.shape.join() !== variable.shape.join()) {
        throw new KavaError(
          `${join(dir, PARAMS)}: "${name}" has shape [${entry.shape}], the model expects [${variable.shape}] (different model configuration?)`,
          { exitCode: 2 },
        );
      }
      const values = file.read(name);
      assertFinite(join(dir, PARAMS), name, values);
      tf.tidy(() => variable.assign(tf.tensor(values, entry.shape)));
    }
    if (file.entries.size !== params.size) {
      const extra = [...file.entries.keys()].filter((n) => !params.has(n));
      throw new KavaError(
        `${join(dir, PARAMS)}: unexpected tensors ${extra.slice(0, 5).join(', ')}; the checkpoint was made with a different model configuration`,
        { exitCode: 2 },
      );
    }
  } finally {
    file.close();
  }
  if (optimizer) {
    const opt = SafetensorsFile.open(join(dir, OPTIMIZER));
    try {
      const moments = new Map<string, tf.Tensor>();
      for (const [name, entry] of opt.entries) moments.set(name, tf.tensor(opt.read(name), entry.shape));
      optimizer.load(state.optimizerStep, moments);
      tf.dispose([...moments.values()]);
    } finally {
      opt.close();
    }
  }
  return state;
}
