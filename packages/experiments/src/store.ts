// The results store: one small JSON record per finished run, `<results>/<id>.json` (the format is
// in docs/experiments.md). Records are what is committed and compared; run folders are not.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, writeTextAtomic } from '@kava/core/app';

/** Accuracy with the latents shuffled across questions and replaced by placeholders (eval.latentUsage). */
export interface LatentUsage {
  accuracyLatentsShuffled?: number;
  accuracyLatentsPlaceholder?: number;
  perQuestionLatentsShuffled?: string;
  perQuestionLatentsPlaceholder?: string;
}

/** A term's gradient norm: its median over the first and the second half of the measured steps. */
export interface TermGradNorm {
  firstHalf: number | null;
  secondHalf: number | null;
}

/** How the run's gradients behaved (from its metrics.jsonl). */
export interface Gradients {
  /** The fraction of steps whose gradient norm was clipped. */
  clipFraction?: number;
  /** Each loss term's gradient norm alone, and `step`, the whole (train.gradNormEvery). */
  termGradNorms?: Record<string, TermGradNorm>;
}

/** A finished run's record. */
export interface RunRecord extends LatentUsage, Gradients {
  experiment: string;
  id: string;
  stage?: string;
  method: string;
  /** The trace style (`data.trace`), or null when the grid leaves it to the config. */
  traces: string | null;
  seed: number;
  /** The build it was fine-tuned from: its teacher's accuracy and the sha256 of its weights. */
  backbone?: { teacherAccuracy: number; sha256: string };
  /** The sha256 of the weights this run exported for a later stage. */
  sha256?: string;
  accuracy: number;
  correct: number;
  questions: number;
  mode?: string;
  forwardPassesPerQuestion?: number;
  kvEntriesPerQuestion?: number;
  trainSeconds: number;
  /** Held-out accuracy at each evaluation during training. */
  curve: { step: number; accuracy: number }[];
  /** Per held-out question, in order: "1" correct, "0" wrong (for paired intervals). */
  perQuestion: string;
  /** The settings that decided these numbers (see PlannedRun.settings). */
  settings: string;
  [more: string]: unknown;
}

/**
 * The records of one experiment, in one folder; `shared` names the runs whose records are kept in
 * another grid's folder (the same runs, shared: PlannedRun.results), by id.
 */
export class ResultsStore {
  constructor(
    readonly dir: string,
    readonly shared: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** The store of a grid's planned runs: its folder, and the folders of the runs it shares. */
  static of(grid: { results: string }, runs: readonly { id: string; results: string }[]): ResultsStore {
    return new ResultsStore(grid.results, new Map(runs.filter((r) => r.results !== grid.results).map((r) => [r.id, r.results])));
  }

  /** The record file of run `id`. */
  file(id: string): string {
    return join(this.shared.get(id) ?? this.dir, `${id}.json`);
  }

  /** Run `id`'s record, or null when there is none (an unreadable one is an error, not "none"). */
  read(id: string): RunRecord | null {
    const file = this.file(id);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ConfigError(`cannot read the record ${file}: ${(err as Error).message}`);
    }
    return parseRecord(text, file);
  }

  /**
   * Checks that the folder is one this process can read and write (or does not exist yet): a
   * results "folder" that is a file, or one without permission, would otherwise read as "no
   * records" and every run would train again.
   */
  check(): void {
    for (const dir of new Set([this.dir, ...this.shared.values()])) {
      if (!existsSync(dir)) continue;
      if (!statSync(dir).isDirectory()) throw new ConfigError(`the results folder ${dir} is a file, not a folder`);
      try {
        accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
      } catch {
        throw new ConfigError(`the results folder ${dir} cannot be read and written by this user`);
      }
    }
  }

  /** Run `id`'s record if it was made with `settings`, else null. */
  current(id: string, settings: string): RunRecord | null {
    const r = this.read(id);
    return r && r.settings === settings ? r : null;
  }

  /** Writes a record whole or not at all (a crash never leaves half a file). */
  write(record: RunRecord): string {
    const file = this.file(record.id);
    mkdirSync(dirname(file), { recursive: true });
    writeTextAtomic(file, `${JSON.stringify(record, null, 1)}\n`);
    return file;
  }

  /**
   * Every record in the folder, by file name, and the shared runs' records. Only the folder's own
   * `.json` files are read: a sibling file, a subfolder or a half-written temporary is not a record.
   */
  all(): RunRecord[] {
    const own = existsSync(this.dir)
      ? readdirSync(this.dir)
          .filter((f) => f.endsWith('.json') && !f.startsWith('.') && statSync(join(this.dir, f)).isFile())
          .sort()
          .map((f) => readRecord(join(this.dir, f)))
      : [];
    const shared = [...this.shared.keys()]
      .sort()
      .map((id) => this.read(id))
      .filter((r): r is RunRecord => r !== null);
    return [...own, ...shared];
  }
}

function readRecord(file: string): RunRecord {
  return parseRecord(readFileSync(file, 'utf8'), file);
}

function parseRecord(text: string, file: string): RunRecord {
  let r: RunRecord;
  try {
    r = JSON.parse(text) as RunRecord;
  } catch (err) {
    throw new ConfigError(`${file}: not a run record (invalid JSON: ${(err as Error).message})`);
  }
  for (const key of ['id', 'accuracy', 'perQuestion', 'settings'] as const)
    if (r[key] === undefined) throw new ConfigError(`${file}: not a run record (no "${key}")`);
  return r;
}
