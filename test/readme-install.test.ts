// The README's "from packed tarballs" block, run as written: the lines under "# in the clone" in
// this repository, the lines under "# in your project" in a fresh folder outside it. The one
// liberty taken: the pack destination is a temporary folder instead of /tmp/kava-packages (so two
// runs cannot meet). A kava.config.json in the project shortens the last line, `npx kava train`,
// to 3 steps; the command itself is the README's. Third-party dependencies come through npm's
// cache (--prefer-offline), as in the registry round trip.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './npm-project.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST_BUILT = ['kava-core', 'cli', 'plugin-rkv'].every((p) =>
  existsSync(join(REPO, 'packages', p, 'dist/index.js')),
);

/** The README's tarball block: each command with where it runs. */
function tarballBlock(): { where: 'clone' | 'project'; command: string }[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('from packed tarballs'));
  const block = section.slice(section.indexOf('```sh') + 5, section.indexOf('```', section.indexOf('```sh') + 5));
  let where: 'clone' | 'project' = 'clone';
  const commands: { where: 'clone' | 'project'; command: string }[] = [];
  for (const raw of block.split('\n').map((l) => l.trim())) {
    if (raw.startsWith('# in the clone')) where = 'clone';
    else if (raw.startsWith('# in your project')) where = 'project';
    else if (raw && !raw.startsWith('#')) commands.push({ where, command: raw.replace(/\s+#.*$/, '') });
  }
  return commands;
}

const maybe = DIST_BUILT ? describe : describe.skip;

maybe("the README's tarball install, run as written", () => {
  const work = mkdtempSync(join(tmpdir(), 'kava-readme-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('packs in the clone, installs in a fresh project, builds the native addon and trains', () => {
    const commands = tarballBlock();
    expect(commands.map((c) => c.where)).toEqual(['clone', 'clone', 'project', 'project', 'project']);
    expect(commands.at(-1)!.command).toBe('npx kava train');
    const packages = join(work, 'packages');
    const project = join(work, 'project');
    run('mkdir', ['-p', project], work);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-kava-project', private: true }, null, 2));
    // Short, so the test trains in seconds; everything else is the default run.
    writeFileSync(
      join(project, 'kava.config.json'),
      JSON.stringify({ train: { steps: 3, out: 'runs' }, eval: { limit: 4 } }, null, 2),
    );
    for (const { where, command } of commands) {
      const line = command.replaceAll('/tmp/kava-packages', packages);
      const offline = line.startsWith('npm install ') ? ' --prefer-offline --no-audit --no-fund' : '';
      const r = run('bash', ['-c', `${line}${offline}`], where === 'clone' ? REPO : project, 600_000);
      if (r.code !== 0) throw new Error(`${command} (in the ${where}) exited ${r.code}:\n${r.out.slice(-3000)}`);
      if (command === 'npx kava train') {
        expect(r.stdout).toMatch(/steps: 3\/3/);
        expect(r.stdout).toMatch(/held-out accuracy: /);
      }
    }
    expect(existsSync(join(project, 'node_modules/@kava/cli/package.json'))).toBe(true);
  }, 900_000);
});
