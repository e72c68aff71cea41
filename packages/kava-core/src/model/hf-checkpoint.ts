import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KavaError } from '../errors.js';
import { SafetensorsFile, countNonFinite, type SafetensorsEntry } from './safetensors.js';
import { readJsonFile } from '../io/json-file.js';
import type { ParameterSpec } from './weights.js';

/**
 * The weights of a Hugging Face model directory: `model.safetensors`, or the shards listed by
 * `model.safetensors.index.json` (`weight_map`: tensor name -> shard file). Every file is
 * opened and its header validated up front; tensors are read on demand.
 */
export class CheckpointReader {
  private readonly where = new Map<string, { file: SafetensorsFile; entry: SafetensorsEntry }>();
  private readonly files: SafetensorsFile[] = [];

  private constructor(readonly dir: string) {}

  static open(dir: string): CheckpointReader {
    const reader = new CheckpointReader(dir);
    try {
      reader.load();
    } catch (err) {
      reader.close();
      throw err;
    }
    return reader;
  }

  private load(): void {
    const single = join(this.dir, 'model.safetensors');
    const indexPath = join(this.dir, 'model.safetensors.index.json');
    if (existsSync(single)) {
      const file = this.openFile(single);
      for (const [name, entry] of file.entries) this.where.set(name, { file, entry });
      return;
    }
    if (!existsSync(indexPath)) {
      throw new KavaError(
        `model directory ${this.dir}: no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are supported)`,
        { exitCode: 2 },
      );
    }
    const index = readJsonFile(indexPath);
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (
      map === null ||
      typeof map !== 'object' ||
      Array.isArray(map) ||
      !Object.values(map as object).every((v) => typeof v === 'string')
    ) {
      throw new KavaError(`${indexPath}: "weight_map" must be an object mapping tensor names to shard files`, {
        exitCode: 2,
      });
    }
    const byFile = new Map<string, SafetensorsFile>();
    for (const shard of new Set(Object.values(map as Record<string, string>))) {
      if (shard.includes('/') || shard.includes('\\'))
        throw new KavaError(`${indexPath}: shard "${shard}" must be a file name in the model directory`, {
          exitCode: 2,
        });
      const path = join(this.dir, shard);
      if (!existsSync(path))
        throw new KavaError(`${indexPath}: shard file ${shard} does not exist in ${this.dir}`, { exitCode: 2 });
      byFile.set(shard, this.openFile(path));
    }
    for (const [name, shard] of Object.entries(map as Record<string, string>)) {
      const file = byFile.get(shard)!;
      const entry = file.entries.get(name);
      if (entry === undefined)
        throw new KavaError(`${indexPath}: tensor "${name}" is listed in shard ${shard}, which does not contain it`, {
          exitCode: 2,
        });
      this.where.set(name, { file, entry });
    }
    for (const [shard, file] of byFile) {
      for (const name of file.entries.keys()) {
        if ((map as Record<string, string>)[name] !== shard)
          throw new KavaError(
            `${join(this.dir, shard)}: tensor "${name}" is not listed for this shard in model.safetensors.index.json`,
            { exitCode: 2 },
          );
      }
    }
  }

  private openFile(path: string): SafetensorsFile {
    const file = SafetensorsFile.open(path);
    this.files.push(file);
    return file;
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  shape(name: string): number[] | undefined {
    return this.where.get(name)?.entry.shape;
  }

  read(name: string): Float32Array {
    const found = this.where.get(name);
    if (found === undefined) throw new KavaError(`model directory ${this.dir}: no tensor "${name}"`, { exitCode: 2 });
    const values = found.file.read(name);
    // A model with NaN or Infinity in it answers nothing (an empty answer, exit 0): say where instead.
    const bad = countNonFinite(values);
    if (bad > 0)
      throw new KavaError(
        `${found.file.path}: tensor "${name}" holds ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or Infinity) of ${values.length}; these weights cannot be used`,
        { exitCode: 2 },
      );
    return values;
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

/**
 * Strict match of a checkpoint against the tensors a config expects: a missing tensor, an
 * unexpected one or a shape mismatch is an error naming the tensor and both shapes. `ignore`
 * names tensors a checkpoint may carry that the model does not use.
 */
export function checkTensors(
  source: string,
  have: ReadonlyMap<string, readonly number[]>,
  expected: readonly Pick<ParameterSpec, 'name' | 'shape'>[],
  ignore: (name: string) => boolean = () => false,
): void {
  const wanted = new Map(expected.map((s) => [s.name, s.shape]));
  const missing = expected.filter((s) => !have.has(s.name));
  if (missing.length > 0) {
    const list = missing
      .slice(0, 5)
      .map((s) => `"${s.name}" [${s.shape.join(', ')}]`)
      .join(', ');
    throw new KavaError(
      `${source}: missing tensor${missing.length > 1 ? 's' : ''} ${list}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
      { exitCode: 2 },
    );
  }
  const unexpected = [...have.keys()].filter((n) => !wanted.has(n) && !ignore(n));
  if (unexpected.length > 0) {
    throw new KavaError(
      `${source}: unexpected tensor${unexpected.length > 1 ? 's' : ''} ${unexpected
        .slice(0, 5)
        .map((n) => `"${n}"`)
        .join(', ')}` +
        `${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''} (not part of this model's config)`,
      { exitCode: 2 },
    );
  }
  for (const [name, shape] of wanted) {
    const got = have.get(name)!;
    if (got.length !== shape.length || got.some((v, i) => v !== shape[i])) {
      throw new KavaError(
        `${source}: tensor "${name}" has shape [${got.join(', ')}] but the config expects [${shape.join(', ')}]`,
        { exitCode: 2 },
      );
    }
  }
}
