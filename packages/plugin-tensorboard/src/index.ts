import { isAbsolute, join } from 'node:path';
import { z, type KavaPlugin, type LoggerContext, type MetricsLogger, type StepRecord } from '@kava/core';
import { EventFileWriter } from './event-file.js';

export { EventFileWriter, EventProto, maskedCrc32c, tfRecord } from './event-file.js';

const options = z.strictObject({
  dir: z
    .string()
    .min(1)
    .default('tensorboard')
    .describe('folder of the event files, relative to the run folder (`tensorboard --logdir RUNS` shows every run)'),
});

/** The scalars of one training step, by TensorBoard tag: loss/<term>, train/*, grad_norm/<term>. */
export function stepScalars(record: StepRecord): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [term, value] of Object.entries(record.losses)) out[`loss/${term}`] = value;
  out['train/lr'] = record.lr;
  out['train/grad_norm'] = record.gradNorm;
  out['train/tokens_per_second'] = record.tokensPerSecond;
  out['train/seconds_per_step'] = record.seconds;
  out['train/peak_rss_mib'] = record.peakRssMiB;
  for (const [term, value] of Object.entries(record.termGradNorms ?? {})) out[`grad_norm/${term}`] = value;
  return out;
}

/** Writes a run's metrics as TensorBoard event files in `<run>/<dir>`. */
export function createTensorBoardLogger(context: LoggerContext): MetricsLogger {
  const dir = String(context.options.dir ?? 'tensorboard');
  const writer = new EventFileWriter(isAbsolute(dir) ? dir : join(context.runDir, dir));
  if (context.resumedAt > 0) writer.restartAt(context.resumedAt + 1);
  return {
    step: (record) => writer.scalars(record.step, stepScalars(record)),
    evaluation: (info) =>
      writer.scalars(info.step, {
        [`eval/accuracy`]: info.accuracy,
        ...Object.fromEntries(Object.entries(info.metrics).map(([k, v]) => [`eval/${k}`, v])),
      }),
    close: () => writer.close(),
  };
}

/** The TensorBoard logger, on by default (`loggers: { tensorboard: false }` turns it off). */
const plugin: KavaPlugin = {
  name: '@kava/plugin-tensorboard',
  register(registry) {
    registry.logger({
      name: 'tensorboard',
      description: 'TensorBoard event files: losses, learning rate, gradient norms, held-out accuracy',
      options,
      enabledByDefault: true,
      create: createTensorBoardLogger,
    });
  },
};
export default plugin;
