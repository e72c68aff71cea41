import { appendJsonLine } from '../io/json-file.js';
import { join } from 'node:path';
import type { KavaConfig } from '../config/schema.js';
import { isPlainObject } from '../config/merge.js';
import { cosineWithWarmup } from './schedule.js';

/**
 * What a resume changes. A run's config.json is written once, when the run starts, and never
 * rewritten: each resume appends the settings it changed to resumes.jsonl beside it, and says
 * what a different step count does to the learning-rate schedule and the teacher warm-up.
 */

/** One setting that differs from the saved configuration, by its dotted key. */
export interface ConfigChange {
  key: string;
  from: unknown;
  to: unknown;
}

/** Settings that differ between two configurations (objects compared key by key, anything else as a whole). */
export function configChanges(saved: unknown, current: unknown, prefix = ''): ConfigChange[] {
  if (isPlainObject(saved) && isPlainObject(current)) {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])];
    return keys.flatMap((key) => configChanges(saved[key], current[key], prefix ? `${prefix}.${key}` : key));
  }
  return JSON.stringify(saved) === JSON.stringify(current) ? [] : [{ key: prefix, from: saved, to: current }];
}

const show = (value: unknown) => (value === undefined ? '(unset)' : JSON.stringify(value));

/** "train.steps 40 → 60, backend "auto" → "wasm"". */
export function formatChanges(changes: readonly ConfigChange[]): string {
  return changes.map((c) => `${c.key} ${show(c.from)} → ${show(c.to)}`).join(', ');
}

/** The lines that explain a new step count at resume `step` (0 lines when it did not change). */
export function scheduleChange(step: number, before: number, after: number, train: KavaConfig['train']): string[] {
  if (before === after) return [];
  const warmup = (total: number) => (train.warmup > 0 ? Math.max(1, Math.round(train.warmup * total)) : 0);
  const lr = (total: number) => cosineWithWarmup(step, total, train.lr, train.warmup).toPrecision(3);
  const lines = [
    `total steps ${before} → ${after}: the learning-rate schedule now runs over ${after} steps ` +
      `(warm-up ${warmup(before)} → ${warmup(after)} steps, cosine decay to 0 at step ${after}); step ${step + 1} trains at lr ${lr(after)} instead of ${lr(before)}`,
  ];
  if (train.teacherWarmup > 0) {
    const end = (total: number) => Math.round(train.teacherWarmup * total);
    lines.push(
      `the teacher warm-up (train.teacherWarmup ${train.teacherWarmup}) now ends after step ${end(after)} instead of ${end(before)}` +
        (step < end(after) && step >= end(before)
          ? `: steps ${step + 1}–${end(after)} train the teacher only again`
          : ''),
    );
  }
  if (after <= step) lines.push(`the run is already at step ${step}: nothing is left to train`);
  return lines;
}

/** Appends one resume (when, from which checkpoint, at which step, what changed) to `<runDir>/resumes.jsonl`. */
export function recordResume(
  runDir: string,
  entry: { step: number; checkpoint: string; changes: readonly ConfigChange[] },
): void {
  const changes = Object.fromEntries(entry.changes.map((c) => [c.key, { from: c.from ?? null, to: c.to ?? null }]));
  appendJsonLine(join(runDir, 'resumes.jsonl'), {
    time: new Date().toISOString(),
    step: entry.step,
    checkpoint: entry.checkpoint,
    changes,
  });
}
