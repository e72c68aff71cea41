// docs/results.md leads with the replication's table, remade from the committed results by
// `npm run experiment -- --report-only`: the block between its markers is replaced, and the prose
// written by hand around it must survive every remake.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script module without type declarations
import { foldInto } from '../scripts/lib/replication-report.mjs';

describe('replication report: the block it keeps in docs/results.md', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kava-report-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces only what stands between the markers, again and again', () => {
    const file = join(dir, 'results.md');
    writeFileSync(
      file,
      '# Results\n\nBy hand.\n\n<!-- two-stage:begin (generated) -->\nold table\n<!-- two-stage:end -->\n\nMore prose.\n',
    );
    expect(foldInto(file, 'two-stage', '| a |\n|---|\n| 1 |')).toBe(true);
    expect(foldInto(file, 'two-stage', '| a |\n|---|\n| 2 |')).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(
      '# Results\n\nBy hand.\n\n<!-- two-stage:begin (generated) -->\n\n| a |\n|---|\n| 2 |\n\n<!-- two-stage:end -->\n\nMore prose.\n',
    );
  });

  it('leaves a file without its markers (or another experiment’s) untouched', () => {
    const file = join(dir, 'results.md');
    const text = '# Results\n\n<!-- two-stage-ablation:begin -->\nx\n<!-- two-stage-ablation:end -->\n';
    writeFileSync(file, text);
    expect(foldInto(file, 'two-stage', 'table')).toBe(false);
    expect(foldInto(join(dir, 'missing.md'), 'two-stage', 'table')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});
