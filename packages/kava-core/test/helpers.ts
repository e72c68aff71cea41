import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, setNativeKernelsEnabled } from '@kava/core/app';

/** The repository root (tests run from anywhere). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const PLUGIN_FIXTURES = join(REPO, 'test/fixtures/plugins');

/** A fresh temporary folder with the given files (path -> contents). */
export function tempProject(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kava-test-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * Set-up of a describe block that tests the repo's kernels on `backend`: wasm is initialised first
 * (loading it registers the fast kernels on both backends); afterwards the fast kernels are on
 * again and cpu is current, so the next block starts from the same state.
 */
export function useKernelBackend(backend: 'wasm' | 'cpu'): void {
  beforeAll(async () => {
    await initBackend('wasm');
    await initBackend(backend);
  });
  afterAll(async () => {
    setNativeKernelsEnabled(true);
    await initBackend('cpu');
  });
}
