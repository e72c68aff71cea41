import { createRequire } from 'node:module';
import { KavaError, ConfigError } from '../errors.js';
import { tf } from '../tf.js';
import { registerMissingWasmKernels } from './wasm-kernels.js';
import { nativeKernelNotes, registerNativeKernels } from './native-kernels.js';

/** A tfjs backend by name (`train.backend`, `--backend`); "auto" picks the fastest that loads. */
export type BackendName = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** What `initBackend` chose and why (the backend line of `kava train` and `kava doctor`). */
export interface BackendInfo {
  /** What was asked for. */
  requested: BackendName;
  /** What runs: one of the concrete names. */
  name: Exclude<BackendName, 'auto'>;
  /** The tfjs backend name ("tensorflow", "wasm", "cpu"). */
  tfBackend: string;
  /** One line for the user: backend, kernels, and how to get a faster one. */
  description: string;
}

/** How to install each optional backend, for error messages. */
const INSTALL_HINT: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu':
    'npm install @tensorflow/tfjs-node-gpu@4.22.0 (Linux x64 with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1; ' +
    'its install step downloads libtensorflow, so approve its install script and have internet access)',
  tensorflow:
    'npm install @tensorflow/tfjs-node@4.22.0 (its install step downloads libtensorflow, so approve its install ' +
    'script and have internet access)',
};
const PACKAGE = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' } as const;

function isInstalled(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

async function tryTensorflow(kind: 'tensorflow-gpu' | 'tensorflow', required: boolean): Promise<boolean> {
  const pkg = PACKAGE[kind];
  if (!isInstalled(pkg)) {
    if (required)
      throw new ConfigError(
        `backend "${kind}" needs ${pkg}, which is not installed. Install it with: ${INSTALL_HINT[kind]}`,
      );
    return false;
  }
  try {
    await import(pkg);
    return await tf.setBackend('tensorflow');
  } catch (err) {
    if (!required) return false;
    throw new KavaError(
      `backend "${kind}": ${pkg} is installed but failed to load (${err instanceof Error ? err.message : String(err)}). ` +
        `Reinstall it with: ${INSTALL_HINT[kind]}`,
      { cause: err },
    );
  }
}

let wasmLoaded = false;
/** Imports the wasm backend and registers its missing kernels and the native ones (wasm and cpu). */
async function loadWasmKernels(): Promise<void> {
  if (wasmLoaded) return;
  await import('@tensorflow/tfjs-backend-wasm');
  registerMissingWasmKernels();
  registerNativeKernels();
  wasmLoaded = true;
}

async function tryWasm(required: boolean): Promise<boolean> {
  try {
    await loadWasmKernels();
    return await tf.setBackend('wasm');
  } catch (err) {
    if (!required) return false;
    throw new KavaError(`backend "wasm" failed to start: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

/**
 * Selects and initialises the tfjs backend. `auto` takes tfjs-node-gpu, then tfjs-node when
 * installed, else wasm, else cpu. Asking for a backend that is not installed is a ConfigError
 * saying how to install it.
 */
export async function initBackend(requested: BackendName = 'auto'): Promise<BackendInfo> {
  let name: Exclude<BackendName, 'auto'>;
  switch (requested) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      await tryTensorflow(requested, true);
      name = requested;
      break;
    case 'wasm':
      await tryWasm(true);
      name = 'wasm';
      break;
    case 'cpu':
      // The native kernels replace the cpu backend's too; they are registered with the wasm ones.
      await loadWasmKernels().catch(() => undefined);
      await tf.setBackend('cpu');
      name = 'cpu';
      break;
    case 'auto':
      if (await tryTensorflow('tensorflow-gpu', false)) name = 'tensorflow-gpu';
      else if (await tryTensorflow('tensorflow', false)) name = 'tensorflow';
      else if (await tryWasm(false)) name = 'wasm';
      else {
        await tf.setBackend('cpu');
        name = 'cpu';
      }
      break;
    default:
      throw new ConfigError(
        `backend: expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu, got ${JSON.stringify(requested)}`,
      );
  }
  await tf.ready();
  const tfBackend = tf.getBackend();
  const notes = nativeKernelNotes(tfBackend);
  const description = `backend: ${name} (tfjs ${tf.version_core}${requested === 'auto' ? ', chosen automatically' : ''})${notes ? `; ${notes}` : ''}`;
  return { requested, name, tfBackend, description };
}
