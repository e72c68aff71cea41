import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the Hugging Face hub is and who we are to it, read from the environment variables the
 * Python client (huggingface_hub) reads, so one setting serves PyTorch work and kava alike.
 */
export interface HubSettings {
  /** HF_ENDPOINT (a mirror), else https://huggingface.co. No trailing slash. */
  endpoint: string;
  /** HF_TOKEN, else the token file `huggingface-cli login` writes (HF_TOKEN_PATH, HF_HOME/token); null when neither. */
  token: string | null;
  /** Where the token came from, for messages. */
  tokenSource: string | null;
  /** HF_HUB_OFFLINE: never reach the network; only the cache. */
  offline: boolean;
}

const TRUE = new Set(['1', 'on', 'yes', 'true']);

/** XDG_CACHE_HOME, else ~/.cache: where the Hugging Face cache and kava's own live by default. */
export const cacheHome = (env: NodeJS.ProcessEnv = process.env): string =>
  env.XDG_CACHE_HOME ?? join(homedir(), '.cache');

/** HF_HOME, else XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (huggingface_hub's rule). */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HOME ?? join(cacheHome(env), 'huggingface');
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  const offline = TRUE.has((env.HF_HUB_OFFLINE ?? '').toLowerCase());
  if (env.HF_TOKEN) return { endpoint, token: env.HF_TOKEN.trim(), tokenSource: 'HF_TOKEN', offline };
  const file = env.HF_TOKEN_PATH ?? join(hfHome(env), 'token');
  const token = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return token
    ? { endpoint, token, tokenSource: file, offline }
    : { endpoint, token: null, tokenSource: null, offline };
}
