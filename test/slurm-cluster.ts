// A real single-node Slurm cluster for tests: Debian's slurmctld, slurmd and munge, started as root
// in a fresh temporary folder (configuration, state, spool, logs, pid files, munge key and socket),
// on free TCP ports, so it touches nothing of the machine's own Slurm or munge and two clusters never
// share anything. `startSlurm()` either returns the running cluster (an environment whose SLURM_CONF
// points the client commands — sbatch, squeue, scancel, sacct, scontrol — at it) or `{ skip }` with
// the reason it could not start one.
//
// Accounting: Debian 12's Slurm (22.05) ships no accounting_storage/filetxt plugin any more (only
// none, slurmdbd and mysql), so plain `sacct` answers "Slurm accounting storage is disabled" without
// slurmdbd and a database. What replaces it is the job-completion log: JobCompType=jobcomp/filetxt
// writes one line per finished job (and per array task) to `jobCompLoc`, and `sacct -c` (completion
// data) reads that file — JobID, State (COMPLETED, FAILED, CANCELLED, ...), ExitCode, Start, End work
// with `-o ... -P`. Its limits: array tasks are listed under their raw job ids (`squeue -o %A`), not as
// 1234_5, and sacct prints "error: Unknown type ArrayJobId/ArrayTaskId" on stderr for them; the file
// itself carries ArrayJobId= and ArrayTaskId=, for a caller that parses it.
//
// Seen on this cluster, worth knowing for a test of a Slurm executor: `squeue -t all` lists finished
// jobs (COMPLETED, FAILED, CANCELLED) for MinJobAge to MinJobAge + 60 s (a once-a-minute purge).
// scancel of a running array task gives CANCELLED; scancel of a task still pending inside the
// array's unsplit record (1234_[2-3]) just drops it from that record, leaving no CANCELLED entry
// anywhere. A job with afterok on a FAILED job stays PENDING (DependencyNeverSatisfied) until
// cancelled (SchedulerParameters=kill_invalid_depend did not change that within 20 s). `scontrol requeue` of a cancelled task makes it eligible only ~2 min later; a new
// `sbatch --array=<those ids>` runs at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { cpus as machineCpus, hostname, tmpdir, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';

export interface SlurmOptions {
  /** CPUs the node offers (default: this machine's). More than the machine has is allowed
   * (SlurmdParameters=config_overrides), to run a wider array than the hardware in a test. */
  cpus?: number;
  /** MinJobAge: seconds a finished job stays at least visible to squeue and scontrol (default 30).
   * slurmctld purges old jobs once a minute, so one disappears between MinJobAge and MinJobAge + 60 s
   * after its end (seen: ~57 s with 30). */
  minJobAge?: number;
  /** More slurm.conf lines, appended (a later line wins over ours). */
  extraConfig?: string[];
  /** How long to wait for the node to report idle, in ms (default 60 000). */
  timeoutMs?: number;
}

export interface SlurmCluster {
  /** For the client commands: the caller's environment without SLURM_* and other Slurm client
   * variables, /usr/sbin on PATH, SLURM_CONF set to this cluster's slurm.conf, and SBATCH_OUTPUT
   * to `dir`/slurm-%j.out (%j: the raw job id, also for array tasks) unless --output says otherwise. */
  env: NodeJS.ProcessEnv;
  /** The one (default) partition. */
  partition: string;
  /** CPUs of the one node: that many 1-CPU jobs or array tasks run at once. */
  cpus: number;
  /** The temporary folder holding everything; removed by stop(). */
  dir: string;
  /** The slurm.conf path (also env.SLURM_CONF). */
  conf: string;
  /** The node's name in Slurm (not the hostname). */
  nodeName: string;
  /** The job-completion log that `sacct -c` reads. */
  jobCompLoc: string;
  /** `sinfo --version`, e.g. "slurm-wlm 22.05.8". */
  version: string;
  /** The last lines of the daemons' logs, for a failing test's message. */
  logTail(lines?: number): string;
  /** Cancels the jobs, stops the daemons this call started and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

export type SlurmSkip = { skip: string };

const PACKAGES = ['slurmctld', 'slurmd', 'slurm-client', 'munge'];
const COMMANDS = ['slurmctld', 'slurmd', 'munged', 'sbatch', 'squeue', 'sinfo', 'sacct', 'scancel', 'scontrol'];
// Daemons live in sbin, which a non-login root shell (and so jest) may lack on PATH.
const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const PARTITION = 'debug';
const NODE_NAME = 'kava-node';

interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command to its end (or `timeoutMs`), stdout and stderr together. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => resolve({ code: null, output: output + String(err) }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tail = (text: string, lines: number) => text.trimEnd().split('\n').slice(-lines).join('\n');

function withSystemPath(path: string | undefined): string {
  const parts = (path ?? '').split(delimiter).filter(Boolean);
  return [...parts, ...SYSTEM_PATH.filter((p) => !parts.includes(p))].join(delimiter);
}

function missingCommands(path: string): string[] {
  const dirs = path.split(delimiter);
  return COMMANDS.filter((cmd) => !dirs.some((dir) => existsSync(join(dir, cmd))));
}

/** Installs the Debian packages unless every command is already there; returns why not, or null. */
async function ensureInstalled(env: NodeJS.ProcessEnv): Promise<string | null> {
  const path = env.PATH ?? '';
  if (missingCommands(path).length === 0) return null;
  if (!path.split(delimiter).some((dir) => existsSync(join(dir, 'apt-get')))) {
    return `Slurm is not installed (missing ${missingCommands(path).join(', ')}) and there is no apt-get`;
  }
  // No recommends: slurm-wlm-basic-plugins (a dependency) holds every plugin used here, and the
  // recommended extras (hdf5, influxdb, rrd, PMIx, ...) double the download. The lock timeout lets two
  // test files that install at once queue instead of failing. Package scripts may start the system's
  // munged (harmless: ours is separate) and skip slurmctld/slurmd (there is no /etc/slurm/slurm.conf).
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    run(
      'apt-get',
      ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-q', '--no-install-recommends', ...PACKAGES],
      aptEnv,
      600_000,
    );
  let result = await install();
  if (result.code !== 0) {
    // A fresh image has empty package lists: update them once and try again.
    const update = await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-q'], aptEnv, 300_000);
    result = update.code === 0 ? await install() : update;
  }
  if (result.code !== 0 || missingCommands(path).length > 0) {
    return `apt-get install ${PACKAGES.join(' ')} failed (exit ${result.code}):\n${tail(result.output, 20)}`;
  }
  return null;
}

/** `count` distinct TCP ports nobody listens on now. All are held until all are known: releasing one
 * before asking for the next lets the kernel hand out the same port twice (slurmctld and slurmd on
 * one port: "Address already in use"). Another process may still take one before our daemons bind
 * it, so startSlurm retries on that error. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Pids of this cluster's job steps and of the processes its jobs run, found through /proc, for
 * those that outlive scancel and slurmd. A job's processes inherit SLURM_CONF from sbatch's
 * environment and get SLURM_JOB_ID; slurmstepd inherits SLURM_CONF from slurmd. */
function jobProcesses(conf: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (!environ.includes(`SLURM_CONF=${conf}`)) continue;
      const stepd = readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'slurmstepd';
      if (stepd || environ.some((v) => v.startsWith('SLURM_JOB_ID='))) pids.push(pid);
    } catch {
      // Gone meanwhile, or a kernel thread.
    }
  }
  return pids;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM, then SIGKILL after `graceMs` if it still runs. */
async function terminate(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  // A plain sleep() would hold jest's worker open for the whole grace time after a quick exit.
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
  const timedOut = await Promise.race([exited.then(() => false), grace]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function startSlurm(options: SlurmOptions = {}): Promise<SlurmCluster | SlurmSkip> {
  // A port taken by another process between freePorts and the daemons' bind (another test file's
  // cluster, say) fails the start; new ports fix it.
  for (let attempt = 1; ; attempt++) {
    const started = await startSlurmOnce(options);
    if (!('skip' in started) || attempt === 3 || !started.skip.includes('Address already in use')) return started;
  }
}

async function startSlurmOnce(options: SlurmOptions): Promise<SlurmCluster | SlurmSkip> {
  if (process.platform !== 'linux') return { skip: `Slurm needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { skip: 'not root: the Slurm test cluster runs its daemons as root' };

  // The clients must see only this cluster: drop the caller's Slurm variables (a test run inside a
  // Slurm job has SLURM_JOB_ID etc.; SQUEUE_FORMAT and the like change client output).
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(SLURM|SBATCH|SQUEUE|SACCT|SINFO|SCANCEL|SCONTROL|SRUN|SALLOC)_/.test(key)) env[key] = value;
  }
  env.PATH = withSystemPath(env.PATH);
  const installError = await ensureInstalled(env);
  if (installError) return { skip: installError };

  const cpus = options.cpus ?? machineCpus().length;
  const minJobAge = options.minJobAge ?? 30;
  const timeoutMs = options.timeoutMs ?? 60_000;

  // munged refuses a socket whose folder others cannot traverse, and mkdtemp makes it 0700. A long
  // TMPDIR would make the socket's path too long for a Unix socket (108 bytes).
  const base = tmpdir().length <= 60 ? tmpdir() : '/tmp';
  const dir = mkdtempSync(join(base, 'kava-slurm-'));
  chmodSync(dir, 0o755);
  for (const sub of ['state', 'spool', 'log']) mkdirSync(join(dir, sub));
  const conf = join(dir, 'slurm.conf');
  const jobCompLoc = join(dir, 'jobcomp.txt');
  const mungeSocket = join(dir, 'munge.sock');
  const logs = { munged: join(dir, 'log', 'munged.log'), slurmctld: join(dir, 'log', 'slurmctld.log') };
  const slurmdLog = join(dir, 'log', 'slurmd.log');
  env.SLURM_CONF = conf;
  // sbatch's default output, slurm-<id>.out in the submitter's folder, would litter the repository
  // jest runs in; --output still wins over this.
  env.SBATCH_OUTPUT = join(dir, 'slurm-%j.out');

  const children: ChildProcess[] = [];
  let stopped = false;
  let up = false; // slurmctld answered: jobs may exist
  const logTail = (lines = 30) =>
    [logs.munged, logs.slurmctld, slurmdLog]
      .filter((file) => existsSync(file))
      .map((file) => `--- ${file}\n${tail(readFileSync(file, 'utf8'), lines)}`)
      .join('\n');
  // A test that dies without calling stop() (a crash, a timeout, jest killing its worker) must not
  // leave daemons behind. process.on('exit') cannot do it: jest gives each test file a copy of
  // `process` whose 'exit' never fires. So a watchdog shell waits for this process to end, then kills
  // whatever carries this cluster's private SLURM_CONF (daemons, job steps, jobs) and removes `dir`;
  // stop() ends the watchdog first. Its own environment lacks SLURM_CONF, so it spares itself.
  const watchdog = spawn(
    'sh',
    [
      '-c',
      `while kill -0 "$1" 2>/dev/null; do sleep 1; done
      for e in /proc/[0-9]*/environ; do
        if tr '\\0' '\\n' < "$e" 2>/dev/null | grep -qxF "SLURM_CONF=$2"; then
          p=\${e#/proc/}; kill -KILL "\${p%/environ}" 2>/dev/null
        fi
      done
      rm -rf "$3"`,
      'slurm-watchdog',
      String(process.pid),
      conf,
      dir,
    ],
    { env: { PATH: env.PATH }, stdio: 'ignore', detached: true },
  );
  watchdog.unref();

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    watchdog.kill('SIGKILL');
    if (up) {
      // Cancel what still runs first: slurmd's exit would leave job steps (and their sleeps) running.
      const queued = await run('squeue', ['-h', '-o', '%A'], env);
      const ids = queued.code === 0 ? queued.output.split(/\s+/).filter(Boolean) : [];
      if (ids.length > 0) {
        await run('scancel', ids, env);
        for (let i = 0; i < 20; i++) {
          const active = await run('squeue', ['-h', '-t', 'R,CG,S', '-o', '%A'], env);
          if (active.code !== 0 || active.output.trim() === '') break;
          await sleep(250);
        }
      }
    }
    // slurmd before slurmctld (so it does not retry registering), munged last (both use it).
    for (const child of [...children].reverse()) await terminate(child);
    for (const pid of jobProcesses(conf)) kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };

  /** Starts a daemon in the foreground as our child (so its pid is ours to stop and its early exit is
   * seen), its stdout and stderr into log/<name>.out. */
  const startDaemon = (cmd: string, args: string[]): ChildProcess => {
    const out = openSync(join(dir, 'log', `${cmd}.out`), 'a');
    const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
    closeSync(out);
    child.on('error', () => undefined); // reported through the exit check below
    child.unref(); // a running cluster must not keep jest's worker alive
    children.push(child);
    return child;
  };
  const failed = async (why: string): Promise<SlurmSkip> => {
    const outs = readdirSync(join(dir, 'log'))
      .filter((f) => f.endsWith('.out'))
      .map((f) => `--- ${f}\n${tail(readFileSync(join(dir, 'log', f), 'utf8'), 10)}`);
    const reason = `${why}\n${logTail()}\n${outs.join('\n')}`;
    await stop();
    return { skip: reason };
  };

  try {
    // munge: a key of our own (mode 0600 or munged refuses it) and our own socket, pid and seed
    // files, so a system munged, running or not, is neither used nor disturbed.
    const key = join(dir, 'munge.key');
    writeFileSync(key, randomBytes(1024), { mode: 0o600 });
    const munged = startDaemon('munged', [
      '--foreground',
      `--key-file=${key}`,
      `--socket=${mungeSocket}`,
      `--pid-file=${join(dir, 'munged.pid')}`,
      `--seed-file=${join(dir, 'munged.seed')}`,
      `--log-file=${logs.munged}`,
    ]);
    for (let i = 0; !existsSync(mungeSocket); i++) {
      if (munged.exitCode !== null || i > 100) return await failed('munged did not start');
      await sleep(100);
    }

    const [ctldPort, slurmdPort] = await freePorts(2);
    const host = hostname().split('.')[0];
    // Under the machine's memory, so that the node is honest even without config_overrides below.
    const memoryMb = Math.floor((totalmem() / 2 ** 20) * 0.9);
    const lines = [
      `ClusterName=kava${ctldPort}`,
      // slurmctld only runs where SlurmctldHost names this host; the address avoids DNS.
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      // Daemons, clients and job steps all read the socket from here.
      `AuthInfo=socket=${mungeSocket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${logs.slurmctld}`,
      `SlurmdLogFile=${slurmdLog}`,
      'SlurmctldDebug=info',
      'SlurmdDebug=info',
      // No cgroups (a container often cannot use them): processes are tracked through /proc.
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'MpiDefault=none',
      'MailProg=/bin/true',
      // Per-CPU allocation, so `cpus` 1-CPU array tasks run side by side (CR_Core would hand out whole
      // cores, halving that on a machine with hyperthreads); memory is not a consumable.
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'SchedulerType=sched/backfill',
      // No slurmdbd: see the top of this file. sacct -c reads the completion log.
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${jobCompLoc}`,
      `MinJobAge=${minJobAge}`,
      // Fast start and fast cancel: short timeouts, 2 s from SIGTERM to SIGKILL on scancel.
      'SlurmctldTimeout=10',
      'SlurmdTimeout=10',
      'MessageTimeout=5',
      'KillWait=2',
      'InactiveLimit=0',
      'Waittime=0',
      'ReturnToService=2',
      // Trust the node line below over the hardware slurmd detects (no drain on a mismatch).
      'SlurmdParameters=config_overrides',
      `NodeName=${NODE_NAME} NodeHostname=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memoryMb} State=UNKNOWN`,
      `PartitionName=${PARTITION} Nodes=${NODE_NAME} Default=YES MaxTime=INFINITE State=UP`,
      ...(options.extraConfig ?? []),
    ];
    writeFileSync(conf, lines.join('\n') + '\n');

    // -D: foreground. -N: this node's name, whatever the hostname.
    const daemons = [
      startDaemon('slurmctld', ['-D', '-f', conf]),
      startDaemon('slurmd', ['-D', '-f', conf, '-N', NODE_NAME]),
    ];
    const deadline = Date.now() + timeoutMs;
    let state = '';
    for (;;) {
      const dead = daemons.find((d) => d.exitCode !== null || d.signalCode !== null);
      if (dead) {
        return await failed(`${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode}) before the node came up`);
      }
      const sinfo = await run('sinfo', ['-h', '-N', '-n', NODE_NAME, '-o', '%T'], env, 5_000);
      state = sinfo.output.trim();
      up ||= sinfo.code === 0;
      if (sinfo.code === 0 && state === 'idle') break;
      if (Date.now() > deadline) {
        return await failed(`the node did not become idle in ${timeoutMs / 1000} s (sinfo: ${state || '-'})`);
      }
      await sleep(200);
    }
    const version = (await run('sinfo', ['--version'], env)).output.trim();
    return { env, partition: PARTITION, cpus, dir, conf, nodeName: NODE_NAME, jobCompLoc, version, logTail, stop };
  } catch (err) {
    return await failed(`starting Slurm threw: ${err instanceof Error ? err.stack : String(err)}`);
  }
}
