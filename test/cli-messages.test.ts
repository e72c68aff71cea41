// Issue 43 finding 10, "messages that mislead", reproduced through the built binary: each mistake
// ends with exit code 2 and a message that names the file, flag or plugin and what was expected,
// before any work starts (no "cannot tell the format" for an empty file, no bare ENOENT or wasm
// fault, no 13-minute soak for --help).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const kava = (args: string[], cwd: string) => run([BIN, ...args], cwd);
const temp = () => mkdtempSync(join(tmpdir(), 'kava-messages-'));
const record = JSON.stringify({ question: 'What is 3?', steps: ['<<3-1=2>>', '<<2+1=3>>'], answer: '3' });
const compress = ['compress', '--backend', 'cpu', '--question', 'What is 2 + 3?', '--cot', '<<2+3=5>>'];

describe('data files', () => {
  const dir = temp();
  const dryRun = (name: string, bytes: string | Buffer) => {
    writeFileSync(join(dir, name), bytes);
    return kava(['train', '--dry-run', '--backend', 'cpu', '--data', name], dir);
  };

  it('an empty, a binary and a Latin-1 file are named for what they are (exit 2)', () => {
    const empty = dryRun('empty.jsonl', '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe(
      `kava: data.train: ${join(dir, 'empty.jsonl')} is empty (0 bytes): there are no records to read\n`,
    );
    const binary = dryRun('data.jsonl', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]));
    expect(binary.code).toBe(2);
    expect(binary.stderr).toMatch(/data\.jsonl: a NUL byte at offset 5: this is a binary file, not a text data file/);
    const latin1 = dryRun('latin1.jsonl', Buffer.from(`${record}\n${record.replace('What', 'Qu\xe9')}\n`, 'latin1'));
    expect(latin1.code).toBe(2);
    expect(latin1.stderr).toMatch(
      new RegExp(`latin1\\.jsonl:2: not UTF-8 text: byte 0xE9 at offset ${record.length + 1 + 15} is not valid UTF-8`),
    );
  });

  it('a file that starts with a UTF-8 byte order mark trains like one without', () => {
    const r = dryRun('bom.jsonl', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${record}\n`)]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

it('a scorer plugin that throws is named with its plugin and what a scorer returns (exit 2)', () => {
  const dir = temp();
  // A plain plugin object (no imports, so it loads from a temporary folder) whose scorer throws.
  writeFileSync(
    join(dir, 'exploding.mjs'),
    `export default { name: 'kava-plugin-exploding', register(registry) {
      registry.scorer({ name: 'exploding', description: 'throws', create: () => ({ name: 'exploding', needs: ['keys'], score() { throw new Error('scorer exploded'); } }) });
    } };\n`,
  );
  const r = kava([...compress, '--plugin', './exploding.mjs', '--scorer', 'exploding'], dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(
    /^kava: plugin "kava-plugin-exploding": scorer "exploding" threw while scoring a cache of \[B, L, H_kv, N, d\] = \[1, \d+, \d+, \d+, \d+\]: scorer exploded \(a scorer returns float32 scores \[B, L, H_kv, N\]/,
  );
});

describe('flags and settings refused before the work starts', () => {
  const dir = temp();

  it('kava export --out naming a file, even with --force', () => {
    writeFileSync(join(dir, 'notes.txt'), 'keep me\n');
    for (const force of [[], ['--force']]) {
      // the run does not exist either: --out is checked first, before the run loads
      const r = kava(['export', 'no-such-run', '--out', 'notes.txt', ...force], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `kava: export: ${join(dir, 'notes.txt')} is a file, not a folder; an export is a folder, so choose another --out\n`,
      );
    }
  });

  it('kava compress --out in a missing folder, an empty question, a question past train.maxQuestionTokens', () => {
    const missing = kava([...compress, '--out', 'no-such-folder/kept.svg'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `kava: --out no-such-folder/kept.svg: the folder ${join(dir, 'no-such-folder')} does not exist; create it, or write the file elsewhere\n`,
    );
    const empty = kava(['compress', '--question', ' ', '--cot', '<<2+3=5>>'], dir);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('kava: --question: expected the question text, got " "\n');
    const long = kava([...compress, '--question', 'word '.repeat(5000)], dir);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(
      /^kava: --question: \d{4} tokens, more than train\.maxQuestionTokens \(\d+\), the most of it a training example keeps; shorten it, or raise the limit \(--set train\.maxQuestionTokens=\d{4}\)\n$/,
    );
    const raised = kava(
      [...compress, '--question', 'word '.repeat(5000), '--set', 'train.maxQuestionTokens=6000'],
      dir,
    );
    expect(raised.code).toBe(2);
    expect(raised.stderr).toMatch(
      /^kava: train\.maxQuestionTokens 6000: the sequence with the written CoT would be up to 6000/,
    );
  });

  it('latent.count past the model positions', () => {
    const r = kava(['train', '--dry-run', '--backend', 'cpu', '--set', 'latent.count=1e5'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^kava: latent\.count 100000: the latent student's sequence would be up to \d+ \(train\.maxQuestionTokens\) \+ 100000 \(latent\.count\) \+ \d+ \(train\.maxAnswerTokens\) = \d+ tokens plus a few delimiters, more than the model's 2048 positions \(maxPositionEmbeddings\); lower latent\.count\n$/,
    );
  });

  it('--model-dir org/name (a Hugging Face id, not a folder here) points to --model; a folder without config.json says what is missing', () => {
    const id = kava(['infer', '--backend', 'cpu', '--model-dir', 'meta-llama/Llama-3.2-1B', 'What is 2 + 3?'], dir);
    expect(id.code).toBe(2);
    expect(id.stderr).toMatch(
      /^kava: --model-dir meta-llama\/Llama-3\.2-1B: no such folder\. "meta-llama\/Llama-3\.2-1B" looks like a Hugging Face model id: pass it as --model meta-llama\/Llama-3\.2-1B \(backbone\.model\): kava reads it from the Hugging Face cache, downloading it first when it is not there \(`kava download meta-llama\/Llama-3\.2-1B` fetches it ahead\)/,
    );
    const train = kava(['train', '--dry-run', '--backend', 'cpu', '--model-dir', 'Qwen/Qwen2.5-0.5B'], dir);
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/"Qwen\/Qwen2\.5-0\.5B" looks like a Hugging Face model id/);
    const empty = kava(['train', '--dry-run', '--backend', 'cpu', '--model-dir', '.'], dir);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/config\.json not found \(expected a Hugging Face model directory/);
    expect(empty.stderr).not.toMatch(/looks like a Hugging Face model id/);
  });
});

describe('node scripts/soak.mjs', () => {
  it('--help prints the usage and exits 0 without training; an unknown flag exits 2', () => {
    const help = run(['scripts/soak.mjs', '--help'], REPO);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: node scripts\/soak\.mjs \[options\]/);
    expect(help.stdout).toContain('--steps N');
    const unknown = run(['scripts/soak.mjs', '--stepz', '3'], REPO);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("soak: Unknown option '--stepz' (see --help)\n");
  });
});
