// `kava doctor` as a user runs it: every section, each finding marked, and exit 0 on any machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CUDA11_LIBRARIES, findLibraries } from '@kava/core/internal';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const kava = (args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });

describe('kava doctor', () => {
  it('prints the machine, backends, native kernels and GPU sections, and what --backend auto runs', () => {
    const r = kava(['doctor']);
    expect(r.status).toBe(0);
    const sections = r.stdout.split('\n').filter((l) => /^\S/.test(l));
    expect(sections.slice(0, 4)).toEqual(['Machine', 'Backends', 'Native kernels', 'GPU']);
    expect(r.stdout).toMatch(/^ {2}(ok|MISSING| {2}) {5} node {2,}Node v\d+/m);
    expect(r.stdout).toMatch(/ wasm {2,}\S/);
    expect(r.stdout).toMatch(/ auto {2,}--backend auto \(the default\) runs: (wasm|cpu|tensorflow)/);
    expect(r.stdout).toMatch(/native kernels {2,}\S/);
    // Every missing piece comes with its fix on the next line.
    const lines = r.stdout.split('\n');
    lines.forEach((line, i) => {
      if (line.includes('MISSING')) expect(lines[i + 1]).toMatch(/^\s+fix: \S/);
    });
  });

  it('--json gives the same findings as data', () => {
    const r = kava(['doctor', '--json']);
    expect(r.status).toBe(0);
    const sections = JSON.parse(r.stdout) as {
      title: string;
      checks: { name: string; status: string; fix?: string }[];
    }[];
    expect(sections.map((s) => s.title)).toEqual([
      'Machine',
      'Backends',
      'Native kernels',
      'GPU',
      'Hugging Face cache',
    ]);
    for (const check of sections.flatMap((s) => s.checks)) {
      expect(['ok', 'missing', 'info']).toContain(check.status);
      if (check.status === 'missing') expect(check.fix).toBeTruthy();
    }
  });
});

describe('finding the CUDA 11 libraries', () => {
  it('looks in LD_LIBRARY_PATH first, then the ldconfig cache, and reports the rest missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-cuda-'));
    writeFileSync(join(dir, 'libcudart.so.11.0'), '');
    const ldconfig =
      "3 libs found in cache `/etc/ld.so.cache'\n\tlibcudnn.so.8 (libc6,x86-64) => /opt/cudnn/lib/libcudnn.so.8\n\tlibcudart.so.11.0 (libc6,x86-64) => /elsewhere/libcudart.so.11.0\n";
    const found = findLibraries(CUDA11_LIBRARIES, { LD_LIBRARY_PATH: `/nonexistent:${dir}` }, ldconfig);
    expect(found.get('libcudart.so.11.0')).toBe(join(dir, 'libcudart.so.11.0'));
    expect(found.get('libcudnn.so.8')).toBe('/opt/cudnn/lib/libcudnn.so.8');
    expect(found.get('libcublas.so.11')).toBeNull();
    expect([...found.keys()]).toEqual(CUDA11_LIBRARIES);
  });
});
