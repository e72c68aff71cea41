import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appendJsonLine, readJsonLines, readJsonObject } from '../io/json-file.js';
import { KavaError } from '../errors.js';
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

/** One line of resumes.jsonl as read back: the changed settings, by dotted key. */
interface ResumeRecord {
  changes?: Record<string, { from: unknown; to: unknown }>;
}

/** `value` at the dotted `key` of `target` (made as nested objects), in place. */
function setDotted(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/**
 * The settings a run last trained with: its config.json (written once, at the start) with every
 * resume's recorded changes applied in order. A plain `--resume` continues these, so a step count
 * or backend changed by an earlier resume is not silently reverted (issue 43, finding 4).
 */
export function latestRunSettings(runDir: string): Record<string, unknown> {
  const settings = readJsonObject(join(runDir, 'config.json'));
  const resumes = join(runDir, 'resumes.jsonl');
  if (!existsSync(resumes)) return settings;
  for (const [i, record] of readJsonLines<ResumeRecord>(resumes, { onTornLine: () => {} }).entries()) {
    if (!isPlainObject(record) || (record.changes !== undefined && !isPlainObject(record.changes)))
      throw new KavaError(`${resumes}:${i + 1}: expected a resume record ({"changes": {...}})`, { exitCode: 2 });
    for (const [key, change] of Object.entries(record.changes ?? {})) {
      if (!isPlainObject(change) || !('to' in change))
        throw new KavaError(`${resumes}:${i + 1}: changes.${key}: expected {"from": ..., "to": ...}`, { exitCode: 2 });
      setDotted(settings, key, change.to);
    }
  }
  return settings;
}

/** The settings recorded by the run's resumes, as a config layer (empty when it was never resumed or changed nothing). */
export function resumedSettingsLayer(runDir: string): Record<string, unknown> {
  const resumes = join(runDir, 'resumes.jsonl');
  if (!existsSync(resumes)) return {};
  const base = readJsonObject(join(runDir, 'config.json'));
  const latest = latestRunSettings(runDir);
  const layer: Record<string, unknown> = {};
  for (const change of configChanges(base, latest)) setDotted(layer, change.key, change.to ?? null);
  return layer;
}
