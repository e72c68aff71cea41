import { closest, distance } from 'fastest-levenshtein';
import { z, type ZodType } from 'zod';
import { ConfigError } from '../errors.js';

/** Formats a value for an error message, briefly. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The keys an object schema at `path` accepts, following defaults, optionals and nullables. */
function keysAt(schema: ZodType, path: readonly PropertyKey[]): string[] {
  let node: ZodType | undefined = schema;
  for (const key of [...path, null]) {
    while (node && !(node instanceof z.ZodObject)) {
      const def: { innerType?: ZodType; type: string; valueType?: ZodType } = (
        node as unknown as { def: { innerType?: ZodType; type: string; valueType?: ZodType } }
      ).def;
      if (def.innerType) node = def.innerType;
      else if (def.type === 'record' && key !== null) {
        node = def.valueType;
        break;
      } else return [];
    }
    if (!node) return [];
    if (key === null) break;
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, ZodType>)[String(key)];
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** The candidate a misspelt `key` most likely meant (a few edits away), or null. */
export function likelyMeant(key: string, candidates: readonly string[]): string | null {
  if (candidates.length === 0) return null;
  const best = closest(key, [...candidates]);
  return distance(key.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(best.length / 3)) ? best : null;
}

function didYouMean(key: string, candidates: string[]): string {
  if (candidates.length === 0) return '';
  const best = likelyMeant(key, candidates);
  return best !== null ? ` (did you mean "${best}"?)` : ` (expected one of: ${candidates.join(', ')})`;
}

const joinPath = (path: readonly PropertyKey[]) => path.map(String).join('.') || '(root)';

/** One line per problem: `<source>: <key.path>: <what was expected>, got <actual>`. */
export function describeIssues(
  schema: ZodType,
  issues: readonly z.core.$ZodIssue[],
  source: string,
  prefix: readonly string[] = [],
): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const got = 'input' in issue ? show(issue.input) : 'nothing';
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          lines.push(
            `${source}: ${joinPath([...path, key])}: unknown key${didYouMean(key, keysAt(schema, issue.path))}`,
          );
        }
        break;
      case 'invalid_type':
        lines.push(`${source}: ${joinPath(path)}: expected ${issue.expected}, got ${got}`);
        break;
      case 'invalid_value':
        lines.push(
          `${source}: ${joinPath(path)}: expected one of ${issue.values.map((v) => show(v)).join(', ')}, got ${got}`,
        );
        break;
      default:
        lines.push(`${source}: ${joinPath(path)}: ${issue.message.replace(/^Invalid input: /, '')}, got ${got}`);
    }
  }
  return lines;
}

/** Parses `value` with `schema` or throws one ConfigError listing every problem. */
export function parseOrThrow<T extends ZodType>(
  schema: T,
  value: unknown,
  source: string,
  prefix: readonly string[] = [],
): z.output<T> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const lines = describeIssues(schema, result.error.issues, source, prefix);
  throw new ConfigError(
    lines.length === 1 ? `Invalid configuration: ${lines[0]}` : `Invalid configuration:\n  ${lines.join('\n  ')}`,
  );
}
