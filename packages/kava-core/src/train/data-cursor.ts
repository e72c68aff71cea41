import type { Example } from '../contracts/dataset.js';
import { shuffle } from '../data/select.js';

/** Where a cursor stands: the epoch and the index into that epoch's order (what a checkpoint saves). */
export interface CursorPosition {
  epoch: number;
  index: number;
}

/** The run's examples in training order: epoch e is the training set shuffled with seed data.shuffleSeed + e. */
export class DataCursor {
  private order: Example[];
  epoch: number;
  index: number;

  constructor(
    private readonly examples: readonly Example[],
    private readonly seed: number,
    at: CursorPosition = { epoch: 0, index: 0 },
  ) {
    this.epoch = at.epoch;
    this.index = at.index;
    this.order = shuffle(examples, seed + this.epoch);
  }

  get position(): CursorPosition {
    return { epoch: this.epoch, index: this.index };
  }

  /** Moves back (or on) to `at`, e.g. the start of a step that was dropped. */
  seek(at: CursorPosition): void {
    if (at.epoch !== this.epoch) this.order = shuffle(this.examples, this.seed + at.epoch);
    this.epoch = at.epoch;
    this.index = at.index;
  }

  take(n: number): Example[] {
    const out: Example[] = [];
    while (out.length < n) {
      if (this.index >= this.order.length) {
        this.epoch++;
        this.index = 0;
        this.order = shuffle(this.examples, this.seed + this.epoch);
      }
      out.push(this.order[this.index++]!);
    }
    return out;
  }
}
