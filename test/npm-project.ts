// Running npm and npx the way a user does, from a test: without what `npm test` adds to the
// environment (npm_package_*, npm_lifecycle_*, the repository as prefix).
import { spawnSync } from 'node:child_process';

/** The user's environment without what `npm test` adds (npm_package_*, npm_lifecycle_*, the repo as prefix). */
export function userEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cache|userconfig|globalconfig|https?_proxy|proxy|noproxy|strict_ssl|cafile)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keep.test(k)));
}

/** Runs a command in `cwd` with the user's environment (plus `env`); `out` is stdout then stderr. */
export function run(cmd: string, args: string[], cwd: string, timeout = 300_000, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...userEnv(), ...env }, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
