/** True for plain `{}` objects (not arrays, tensors or class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Layers configs: later layers win. Plain objects merge key by key, arrays and scalars replace,
 * `undefined` leaves the lower layer alone. Inputs are not modified.
 */
export function mergeConfigs(...layers: unknown[]): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (layer === undefined || layer === null) continue;
    out = mergeTwo(out, layer) as Record<string, unknown>;
  }
  return out;
}

function mergeTwo(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(over) || !isPlainObject(base)) return isPlainObject(over) ? mergeTwo({}, over) : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeTwo(base[key], value);
  return out;
}
