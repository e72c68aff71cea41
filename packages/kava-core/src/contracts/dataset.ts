/** One reasoning example: the question, the written CoT as steps, the final answer. */
export interface Example {
  /** Stable id (file:line or generator seed/index). */
  id: string;
  question: string;
  /** Chain-of-thought steps in the configured trace style (may be empty for eval-only data). */
  steps: string[];
  /** The final answer as written (e.g. "18"). */
  answer: string;
}

/** How a dataset source reads its records. */
export interface ReadOptions {
  /** Skip malformed records (and count them) instead of failing on the first one. */
  skipInvalid?: boolean;
  /** Trace style to derive where the format supports both. */
  trace?: 'equation' | 'nl';
}

/** A stream of examples. Reading is lazy: large files are never held as one string. */
export interface DatasetSource {
  readonly name: string;
  /** Iterates examples in file order. */
  examples(options?: ReadOptions): AsyncIterable<Example>;
  /** Records skipped as malformed during the last full iteration (with skipInvalid). */
  readonly skipped?: number;
}

/** A dataset format contributed by a plugin, selected by `data.format` or sniffed. */
export interface DatasetFormat {
  name: string;
  description: string;
  /** True when this format can read the file (first bytes and file name). Used for sniffing. */
  sniff?(head: string, file: string): boolean;
  /** The examples of `file` (read lazily). */
  open(file: string): DatasetSource;
}
