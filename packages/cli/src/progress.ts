import cliProgress from 'cli-progress';
import type { StepMetrics } from '@kava/core/app';

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

/** One line of step metrics: every loss term, lr, grad norm, tokens/s. */
export function metricsLine(m: StepMetrics): string {
  const losses = Object.entries(m.losses)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join('  ');
  return `${losses}  lr ${m.lr.toExponential(2)}  |g| ${fmt(m.gradNorm)}  ${Math.round(m.tokensPerSecond)} tok/s`;
}

/**
 * Training progress: a live bar with step/total, losses, lr, tokens/s and ETA on a terminal;
 * plain log lines (every `every` steps and the last) when stdout is not a TTY, e.g. in CI.
 */
export class TrainProgress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly started: number;
  /** The step this process started from (a resumed run starts past 0): the ETA counts only steps run here. */
  private firstStep: number | null = null;
  constructor(
    private readonly tty = Boolean(process.stdout.isTTY),
    private readonly every = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  step(m: StepMetrics): void {
    this.firstStep ??= m.step - 1;
    if (this.tty) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            format: 'step {value}/{total} [{bar}] eta {eta_formatted}  {metrics}',
            barsize: 20,
            hideCursor: true,
            etaBuffer: 20,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(m.totalSteps, this.firstStep, { metrics: '' });
      }
      this.bar.update(m.step, { metrics: metricsLine(m) });
      return;
    }
    if (m.step % this.every === 0 || m.step === m.totalSteps || m.step === 1) {
      const elapsed = (this.now() - this.started) / 1000;
      const eta = (elapsed / (m.step - this.firstStep)) * (m.totalSteps - m.step);
      process.stdout.write(`step ${m.step}/${m.totalSteps}  ${metricsLine(m)}  eta ${Math.round(eta)}s\n`);
    }
  }

  /** Prints a message without breaking the bar. */
  log(line: string): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
    process.stdout.write(`${line}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/**
 * Evaluation progress: a bar with questions done / total and ETA on a terminal; without one
 * (CI, a pipe) a plain line at every tenth of the questions and at the end.
 */
export class EvalProgress {
  private bar: cliProgress.SingleBar | null = null;
  private printed = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(out.isTTY),
  ) {}

  update(done: number): void {
    if (this.tty) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            format: `${this.label} {value}/{total} [{bar}] eta {eta_formatted}`,
            barsize: 20,
            hideCursor: true,
            etaBuffer: 4,
            clearOnComplete: true,
            stream: this.out,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(this.total, 0);
      }
      this.bar.update(done);
      return;
    }
    const every = Math.max(1, Math.ceil(this.total / 10));
    if (done >= this.total || done - this.printed >= every) {
      this.printed = done;
      this.out.write(`${this.label} ${done}/${this.total}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
