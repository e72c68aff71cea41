import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, freemem, platform, arch, totalmem } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { loadNativeAddon, NATIVE_ENVIRONMENT } from './native-addon.js';
import { initBackend } from './backend.js';
import { NATIVE_ENABLE_HINT } from './native-kernels.js';

/**
 * `kava doctor`'s findings: what this machine offers for training (backends, native kernels and
 * their BLAS, threads, memory, GPU libraries), each missing piece with the command that fixes it.
 * Probing never throws: a failed probe is a finding.
 */
export interface DoctorCheck {
  name: string;
  status: 'ok' | 'missing' | 'info';
  detail: string;
  /** The command (or step) that fixes a missing piece. */
  fix?: string;
}

/** One section of `kava doctor`: a title and its checks. */
export interface DoctorSection {
  title: string;
  checks: DoctorCheck[];
}

/**
 * The libraries `@tensorflow/tfjs-node-gpu` 4.22 (TensorFlow 2.9, built for CUDA 11.2 and
 * cuDNN 8.1) opens at start-up, by soname. A CUDA 12 driver runs them; the CUDA 11 runtime
 * libraries themselves must be installed beside it.
 */
export const CUDA11_LIBRARIES = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
];

/** NVIDIA's pip wheels that carry exactly those libraries (cuDNN 8: any 8.x is ABI-compatible with 8.1). */
export const CUDA11_FIX =
  'python3 -m pip install nvidia-cuda-runtime-cu11 nvidia-cublas-cu11 nvidia-cufft-cu11 nvidia-curand-cu11 ' +
  'nvidia-cusolver-cu11 nvidia-cusparse-cu11 "nvidia-cudnn-cu11<9", then export LD_LIBRARY_PATH=$(python3 -c ' +
  "\"import nvidia,os;r=nvidia.__path__[0];print(':'.join(os.path.join(r,d,'lib') for d in os.listdir(r)))\"):$LD_LIBRARY_PATH (see docs/gpu.md)";

const TFJS_NODE_GPU =
  'npm install @tensorflow/tfjs-node-gpu@4.22.0 (downloads libtensorflow at install time: needs internet and an approved install script)';
const TFJS_NODE =
  'npm install @tensorflow/tfjs-node@4.22.0 (downloads libtensorflow at install time: needs internet and an approved install script)';

function installed(pkg: string): string | null {
  try {
    return createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  } catch {
    return null;
  }
}

function run(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return null;
  }
}

/** Where the dynamic loader would find each library: LD_LIBRARY_PATH folders, then the ldconfig cache. */
export function findLibraries(
  names: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  ldconfig: string | null = run('ldconfig', ['-p']),
): Map<string, string | null> {
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const cached = new Map<string, string>();
  for (const line of (ldconfig ?? '').split('\n')) {
    const m = /^\s*(\S+) \(.*\) => (\S+)$/.exec(line);
    if (m && !cached.has(m[1]!)) cached.set(m[1]!, m[2]!);
  }
  const found = new Map<string, string | null>();
  for (const name of names) {
    const dir = dirs.find((d) => existsSync(join(d, name)));
    found.set(name, dir ? join(dir, name) : (cached.get(name) ?? null));
  }
  return found;
}

function machineSection(): DoctorSection {
  const [major] = process.versions.node.split('.').map(Number) as [number];
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return {
    title: 'Machine',
    checks: [
      {
        name: 'node',
        status: major >= 22 ? 'ok' : 'info',
        detail: `Node ${process.version} on ${platform()}-${arch()}${major < 22 ? ' (Node 20 is past its end of life; 22 and 24 are the supported LTS lines)' : ''}`,
      },
      { name: 'cpu', status: 'info', detail: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}` },
      { name: 'memory', status: 'info', detail: `${gib(totalmem())} total, ${gib(freemem())} free` },
    ],
  };
}

async function backendSection(hasGpu: boolean): Promise<DoctorSection> {
  const checks: DoctorCheck[] = [];
  for (const [name, pkg, fix] of [
    ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu', TFJS_NODE_GPU],
    ['tensorflow', '@tensorflow/tfjs-node', TFJS_NODE],
  ] as const) {
    const where = installed(pkg);
    checks.push(
      where
        ? {
            name,
            status: 'ok',
            detail: `${pkg} installed (${where.replace(/\/package\.json$/, '')}); kava tries it first with --backend auto`,
          }
        : name === 'tensorflow-gpu' && !hasGpu
          ? { name, status: 'info', detail: `${pkg} is not installed (it needs an NVIDIA GPU; none found)` }
          : { name, status: 'missing', detail: `${pkg} is not installed`, fix },
    );
  }
  const previous = tf.getBackend();
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    const ok = await tf.setBackend('wasm');
    checks.push(
      ok
        ? {
            name: 'wasm',
            status: 'ok',
            detail:
              '@tensorflow/tfjs-backend-wasm starts (a 4 GiB heap: `kava train --dry-run` says whether a model fits)',
          }
        : {
            name: 'wasm',
            status: 'missing',
            detail: 'the wasm backend did not start',
            fix: 'npm install @tensorflow/tfjs-backend-wasm@4.22.0',
          },
    );
  } catch (err) {
    checks.push({
      name: 'wasm',
      status: 'missing',
      detail: `the wasm backend failed to load: ${(err as Error).message}`,
      fix: 'npm install @tensorflow/tfjs-backend-wasm@4.22.0',
    });
  } finally {
    if (previous) await tf.setBackend(previous);
  }
  checks.push({
    name: 'cpu',
    status: 'ok',
    detail: 'the pure-JavaScript backend is always there (slow: about 1 GFLOP/s)',
  });
  try {
    const chosen = await initBackend('auto');
    checks.push({
      name: 'auto',
      status: 'info',
      detail: `--backend auto (the default) runs: ${chosen.description.replace(/^backend: /, '')}`,
    });
  } catch (err) {
    checks.push({ name: 'auto', status: 'missing', detail: `--backend auto failed: ${(err as Error).message}` });
  }
  return { title: 'Backends', checks };
}

function nativeSection(): DoctorSection {
  const { addon, detail } = loadNativeAddon();
  const env = NATIVE_ENVIRONMENT.filter((v) => process.env[v] !== undefined).map((v) => `${v}=${process.env[v]}`);
  const checks: DoctorCheck[] = addon
    ? [
        {
          name: 'native kernels',
          status: 'ok',
          detail: `${detail}; BLAS ${addon.blas.library} (${addon.blas.config}), kernel set ${addon.blas.core}, ${addon.blas.threads} thread(s)`,
        },
      ]
    : [
        {
          name: 'native kernels',
          status: 'missing',
          detail: `${detail}: matmuls run on the stock tfjs kernels (10-50x slower on wasm)`,
          fix: NATIVE_ENABLE_HINT,
        },
      ];
  checks.push({
    name: 'environment',
    status: 'info',
    detail: env.length ? env.join(' ') : 'no BLAS or kava variables set',
  });
  return { title: 'Native kernels', checks };
}

function gpuSection(smi: string | null): DoctorSection {
  if (smi === null)
    return {
      title: 'GPU',
      checks: [
        {
          name: 'nvidia',
          status: 'info',
          detail: 'no NVIDIA GPU found (nvidia-smi is not on PATH or found no device); training runs on the CPU',
        },
      ],
    };
  const checks: DoctorCheck[] = smi
    .trim()
    .split('\n')
    .map((line, i) => ({ name: `gpu ${i}`, status: 'ok' as const, detail: line.trim() }));
  const libraries = findLibraries(CUDA11_LIBRARIES);
  const missing = [...libraries].filter(([, path]) => path === null).map(([name]) => name);
  for (const [name, path] of libraries) {
    checks.push(
      path
        ? { name, status: 'ok', detail: path }
        : { name, status: 'missing', detail: 'not found on LD_LIBRARY_PATH or in the ldconfig cache' },
    );
  }
  if (missing.length)
    checks.push({
      name: 'cuda 11 runtime',
      status: 'missing',
      detail: `${missing.length} of ${CUDA11_LIBRARIES.length} libraries that tfjs-node-gpu 4.22 needs are missing`,
      fix: CUDA11_FIX,
    });
  return { title: 'GPU', checks };
}

/** Every section of `kava doctor`. */
export async function diagnose(): Promise<DoctorSection[]> {
  const smi = run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
  return [machineSection(), await backendSection(smi !== null), nativeSection(), gpuSection(smi)];
}
