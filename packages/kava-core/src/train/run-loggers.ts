import type { KavaConfig } from '../config/schema.js';
import type { MetricsLogger, StepRecord } from '../contracts/logger.js';
import type { EvaluationInfo } from '../plugin/hooks.js';
import type { Registry } from '../plugin/registry.js';

/**
 * The loggers of one run (config.loggers, resolved with their options), behind one face. A
 * logger that throws is turned off with a note and the run goes on: a tracker that cannot write
 * must not cost a training.
 */
export class RunLoggers {
  /** Opened at the first step's record: a run that fails before it leaves no logger files behind. */
  private open: { name: string; logger: MetricsLogger }[] | null = null;
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly config: KavaConfig,
    private readonly runDir: string,
    private readonly resumedAt: number,
    private readonly log: (line: string) => void,
  ) {}

  /** The loggers' names, for the run's banner. */
  get names(): string[] {
    return Object.entries(this.config.loggers)
      .filter(([, options]) => options !== false)
      .map(([name]) => name);
  }

  private opened(): { name: string; logger: MetricsLogger }[] {
    if (this.open !== null || this.closed) return this.open ?? [];
    this.open = [];
    for (const [name, options] of Object.entries(this.config.loggers)) {
      if (options === false) continue;
      try {
        const { runDir, config, resumedAt } = this;
        const logger = this.registry
          .get('logger', name, `loggers.${name}`)
          .create({ runDir, config, options, resumedAt });
        this.open.push({ name, logger });
      } catch (error) {
        this.log(`logger "${name}" failed to open: ${(error as Error).message}; the run goes on without it`);
      }
    }
    return this.open;
  }

  step(record: StepRecord): void {
    this.each('step', (l) => l.step(record));
  }

  evaluation(info: EvaluationInfo & { step: number }): void {
    this.each('evaluation', (l) => l.evaluation(info));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { name, logger } of (this.open ?? []).splice(0)) {
      try {
        await logger.close();
      } catch (error) {
        this.log(`logger "${name}" failed to close: ${(error as Error).message}`);
      }
    }
  }

  private each(what: string, call: (logger: MetricsLogger) => void): void {
    const open = this.opened();
    for (const entry of [...open]) {
      try {
        call(entry.logger);
      } catch (error) {
        this.log(
          `logger "${entry.name}" failed (${what}): ${(error as Error).message}; it is off for the rest of the run`,
        );
        open.splice(open.indexOf(entry), 1);
        // Already failing (the note above says so): a close that throws or rejects adds nothing.
        Promise.resolve()
          .then(() => entry.logger.close())
          .catch(() => {});
      }
    }
  }
}
