import { isAbsolute, resolve } from 'node:path';
import type { ZodType } from 'zod';
import { ConfigError } from '../errors.js';
import { configLayerSchema, type KavaConfigInput } from '../config/schema.js';
import { mergeConfigs } from '../config/merge.js';

/**
 * `--set key=value` on the command line: one setting by its dotted path, typed by the schema
 * (`train.lr=1e-4` a number, `compression.scorer=keydiff` a string, `latent.projection=false` a
 * boolean), then validated with the rest of the configuration like a file would be. Parts a
 * plugin owns (`compression.options.*`, a loss term's options) take JSON when it parses, else
 * the text as a string. File and folder settings given here are relative to the current folder,
 * like every other path typed on the command line.
 */

/** Settings that name a file or folder. */
export const PATH_SETTINGS = [
  'backbone.modelDir',
  'data.train',
  'data.test',
  'data.validation',
  'eval.data',
  'train.out',
] as const;

interface Node {
  type: string;
  nullable: boolean;
  schema: ZodType;
}

type Def = {
  type: string;
  innerType?: ZodType;
  shape?: Record<string, ZodType>;
  valueType?: ZodType;
  options?: ZodType[];
};
const defOf = (schema: ZodType) => (schema as unknown as { def: Def }).def;

/** The schema under defaults, optionals and nullables, and whether null is allowed. */
function unwrap(schema: ZodType): Node {
  let node = schema;
  let nullable = false;
  for (let def = defOf(node); def.innerType; def = defOf(node)) {
    if (def.type === 'nullable') nullable = true;
    node = def.innerType;
  }
  return { type: defOf(node).type, nullable, schema: node };
}

/** The schema at a dotted path, null for a part no schema of ours describes (a plugin's options). */
function schemaAt(key: string, flag: string): Node | null {
  let node = unwrap(configLayerSchema as unknown as ZodType);
  const parts = key.split('.');
  for (const [i, part] of parts.entries()) {
    const def = defOf(node.schema);
    if (node.type === 'object') {
      const child = def.shape?.[part];
      if (!child) {
        // A loose object (a loss term) takes a plugin's own options; a strict one knows all its keys.
        const catchall = (node.schema as unknown as { def: { catchall?: ZodType } }).def.catchall;
        if (catchall && defOf(catchall).type !== 'never') return null;
        const at = parts.slice(0, i).join('.');
        const known = Object.keys(def.shape ?? {}).join(', ');
        throw new ConfigError(`${flag}: no setting "${key}" (${at ? `${at} has` : 'the top level has'} ${known})`);
      }
      node = unwrap(child);
    } else if (node.type === 'record') {
      node = unwrap(def.valueType!);
    } else {
      return null;
    }
  }
  return node;
}

/** The value text as the schema's type at `key`. */
function typed(text: string, node: Node | null, key: string, flag: string): unknown {
  if (node?.nullable && text === 'null') return null;
  const asJson = () => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  };
  switch (node?.type) {
    case 'string':
    case 'enum':
      return text;
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n))
        throw new ConfigError(`${flag}: ${key} expects a number, got "${text}"`);
      return n;
    }
    case 'boolean':
      if (text === 'true' || text === 'false') return text === 'true';
      throw new ConfigError(`${flag}: ${key} expects true or false, got "${text}"`);
    case 'array': {
      // A JSON array, or a comma-separated list (lora.targets=q_proj,v_proj).
      const value = asJson();
      return Array.isArray(value) ? value : text.split(',').map((s) => s.trim());
    }
    default:
      return asJson();
  }
}

/** One `key=value` as a config layer. */
function assignment(text: string, cwd: string): KavaConfigInput {
  const flag = `--set ${text}`;
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`${flag}: expected key=value with a dotted key, e.g. --set train.lr=1e-4`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key))
    throw new ConfigError(`${flag}: "${key}" is not a dotted setting name (e.g. train.lr, compression.scorer)`);
  let value = typed(raw, schemaAt(key, flag), key, flag);
  // A path is the user's, relative to where they typed it; a hub dataset (hf:…) is not a path.
  if (
    (PATH_SETTINGS as readonly string[]).includes(key) &&
    typeof value === 'string' &&
    !isAbsolute(value) &&
    !value.startsWith('hf:')
  )
    value = resolve(cwd, value);
  const layer: Record<string, unknown> = {};
  let node = layer;
  const parts = key.split('.');
  for (const part of parts.slice(0, -1)) node = node[part] = {} as Record<string, unknown>;
  node[parts[parts.length - 1]!] = value;
  return layer as KavaConfigInput;
}

/** `--set` assignments, in order (a later one wins), as one config layer. */
export function assignmentsLayer(assignments: readonly string[], cwd = process.cwd()): KavaConfigInput {
  return mergeConfigs(...assignments.map((a) => assignment(a, cwd))) as KavaConfigInput;
}
