import type { Command } from 'commander';
import { ConfigError, scorerOptions, type LoadedRun } from '@kava/core/app';
import { positiveFlag } from './options.js';

export interface KvBudgetFlags {
  kvBudget?: string;
  kvInterval?: string;
  kvScorer?: string;
  kvEvictor?: string;
}

/** --kv-budget, --kv-interval, --kv-scorer, --kv-evictor: a KV budget on the trace while it is written (cot mode). */
export function addKvBudgetOptions(command: Command): Command {
  return command
    .option(
      '--kv-budget <n>',
      'cot mode: compress the cache of the trace to n entries per layer and KV head while it is written (eval.kvBudget; R-KV style)',
    )
    .option(
      '--kv-interval <n>',
      'with --kv-budget: trace tokens written between compressions (eval.kvInterval; default 16)',
    )
    .option(
      '--kv-scorer <name>',
      "with --kv-budget: the scorer that chooses what stays, with its default options (default: the run's compression.scorer)",
    )
    .option(
      '--kv-evictor <name>',
      "with --kv-budget: the evictor, with its default options, e.g. pyramid or adakv for budgets per layer or head (default: the run's compression.evictor)",
    );
}

/** Applies the flags to the loaded run's settings; a budget outside cot mode is refused. */
export function applyKvBudget(run: LoadedRun, flags: KvBudgetFlags, mode: string, command: string): void {
  const { config, plugins } = run.resolved;
  const budget = positiveFlag('--kv-budget', flags.kvBudget);
  const interval = positiveFlag('--kv-interval', flags.kvInterval);
  if (budget !== undefined) config.eval.kvBudget = budget;
  if (interval !== undefined) config.eval.kvInterval = interval;
  if (flags.kvScorer !== undefined) {
    config.compression.scorer = flags.kvScorer;
    config.compression.options = scorerOptions({ scorer: flags.kvScorer, options: {} }, plugins.registry);
  }
  if (flags.kvEvictor !== undefined) {
    plugins.registry.get('evictor', flags.kvEvictor, '--kv-evictor');
    config.compression.evictor = flags.kvEvictor;
    config.compression.evictorOptions = {};
  }
  if (config.eval.kvBudget !== null && mode !== 'cot')
    throw new ConfigError(
      `kava ${command} --kv-budget: a KV budget applies to a trace being written (--mode cot); this ${command} answers in ${mode} mode`,
    );
  if (
    (interval !== undefined || flags.kvScorer !== undefined || flags.kvEvictor !== undefined) &&
    config.eval.kvBudget === null
  )
    throw new ConfigError(`kava ${command}: --kv-interval, --kv-scorer and --kv-evictor go with --kv-budget N`);
}
