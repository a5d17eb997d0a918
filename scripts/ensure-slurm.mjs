#!/usr/bin/env node
// A single-node Slurm cluster for the job-array test of apps/cli (test/slurm.test.ts), built from
// Debian's packages `slurm-wlm` and `munge` (never a download of anything else). Three uses:
//
//   node scripts/ensure-slurm.mjs              installs the packages with apt-get when missing and
//                                              we are root on a Debian-like system; otherwise says
//                                              how. Under CI (CI=true) missing Slurm is an error, so
//                                              that the cluster test cannot silently vanish.
//   node scripts/ensure-slurm.mjs start DIR    writes a munge key and slurm.conf into DIR (an empty
//                                              folder) and starts munged (as user munge), slurmctld
//                                              and slurmd (as root) with their sockets, state, logs
//                                              and pid files in DIR, on free ports; waits until the
//                                              node is idle, then prints one JSON line
//                                              { "slurmConf", "pids": { munged, slurmctld, slurmd } }.
//                                              On failure it stops what it started and exits 1.
//   node scripts/ensure-slurm.mjs stop DIR     stops the daemons whose pid files are in DIR, by pid
//                                              (SIGTERM, then SIGKILL after 10 s), and nothing else.
//
// slurm.conf: this host (`hostname -s`) as the only node and the controller, at 127.0.0.1;
// ProctrackType=proctrack/linuxproc and TaskPlugin=task/none (no cgroups needed, works in
// containers and VMs), SlurmUser=root, no accounting. See docs/scale.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';

const binaries = {
  sbatch: '/usr/bin/sbatch',
  slurmctld: '/usr/sbin/slurmctld',
  slurmd: '/usr/sbin/slurmd',
  munged: '/usr/sbin/munged',
};
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function installed() {
  return Object.values(binaries).every((p) => existsSync(p));
}

function ensureInstalled() {
  if (installed()) {
    console.log('ensure-slurm: using slurm-wlm and munge from /usr');
    return 0;
  }
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.log(
      'ensure-slurm: installing Debian packages slurm-wlm and munge with apt-get (needed by the Slurm job-array test)',
    );
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'slurm-wlm', 'munge'], { stdio: 'inherit', env });
    if (installed()) return 0;
  }
  const msg =
    'ensure-slurm: no Slurm found. As root on Debian/Ubuntu: apt-get install slurm-wlm munge; ' +
    'the Slurm job-array test (apps/cli/test/slurm.test.ts) is skipped without it.';
  if (process.env.CI) {
    console.error(msg);
    return 1;
  }
  console.warn(msg);
  return 0;
}

/** A TCP port that was free a moment ago. */
function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

function readPid(file) {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pidFiles(dir) {
  return {
    slurmd: join(dir, 'slurmd.pid'),
    slurmctld: join(dir, 'slurmctld.pid'),
    munged: join(dir, 'munge', 'munged.pid'),
  };
}

/** Stops the daemons recorded in DIR's pid files: slurmd, slurmctld, then munged. */
async function stop(dir) {
  for (const [name, file] of Object.entries(pidFiles(dir))) {
    const pid = readPid(file);
    if (pid === undefined || !alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    console.error(`ensure-slurm: stopped ${name} (pid ${pid})`);
  }
}

async function waitFor(what, check, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = check();
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`ensure-slurm: ${what} did not come up within ${ms / 1000} s`);
    await sleep(250);
  }
}

async function start(dir) {
  if (!installed())
    throw new Error('ensure-slurm: slurm-wlm and munge are not installed (run node scripts/ensure-slurm.mjs as root)');
  if (!isRoot) throw new Error('ensure-slurm: starting slurmd and munged needs root');
  dir = resolve(dir);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755); // munged needs every directory above its socket to be searchable by all
  const host = execFileSync('hostname', ['-s'], { encoding: 'utf8' }).trim();
  const munge = join(dir, 'munge');
  mkdirSync(munge, { recursive: true });
  const ids = (name) => Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const mungeUid = ids('munge');
  const mungeGid = Number(execFileSync('id', ['-g', 'munge'], { encoding: 'utf8' }).trim());
  chownSync(munge, mungeUid, mungeGid);
  chmodSync(munge, 0o755);
  // a fresh key for this cluster only (the system's /etc/munge is left alone)
  const key = join(munge, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  chownSync(key, mungeUid, mungeGid);
  for (const sub of ['state', 'spool', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const socket = join(munge, 'munge.socket');
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  const cpuCount = cpus().length;
  writeFileSync(
    conf,
    [
      '# generated by scripts/ensure-slurm.mjs: a single-node cluster for tests',
      'ClusterName=ablationpath',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SwitchType=switch/none',
      'MpiDefault=none',
      'SchedulerType=sched/builtin',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'JobCompType=jobcomp/none',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'MailProg=/bin/true',
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpuCount} RealMemory=1000 State=UNKNOWN`,
      `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const files = pidFiles(dir);
  try {
    execFileSync(
      'runuser',
      [
        '-u',
        'munge',
        '--',
        binaries.munged,
        `--socket=${socket}`,
        `--key-file=${key}`,
        `--pid-file=${files.munged}`,
        `--log-file=${join(munge, 'munged.log')}`,
        `--seed-file=${join(munge, 'munged.seed')}`,
      ],
      { stdio: 'inherit' },
    );
    await waitFor('munged', () => readPid(files.munged), 10_000);
    const env = { ...process.env, SLURM_CONF: conf };
    execFileSync(binaries.slurmctld, ['-f', conf], { stdio: 'inherit', env });
    await waitFor('slurmctld', () => readPid(files.slurmctld), 20_000);
    execFileSync(binaries.slurmd, ['-f', conf], { stdio: 'inherit', env });
    await waitFor('slurmd', () => readPid(files.slurmd), 20_000);
    await waitFor(
      'the node (sinfo state idle)',
      () => /^idle/.test(spawnSync('sinfo', ['-h', '-N', '-o', '%t'], { env, encoding: 'utf8' }).stdout?.trim() ?? ''),
      60_000,
    );
    const pids = Object.fromEntries(Object.entries(files).map(([name, file]) => [name, readPid(file)]));
    console.log(JSON.stringify({ slurmConf: conf, pids }));
  } catch (e) {
    await stop(dir);
    for (const log of [join(dir, 'log', 'slurmctld.log'), join(dir, 'log', 'slurmd.log'), join(munge, 'munged.log')]) {
      if (existsSync(log))
        console.error(`--- ${log} (last lines)\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`);
    }
    throw e;
  }
}

const [command, dir] = process.argv.slice(2);
try {
  if (command === undefined) process.exit(ensureInstalled());
  else if ((command === 'start' || command === 'stop') && dir !== undefined) {
    await (command === 'start' ? start(dir) : stop(dir));
  } else {
    console.error('usage: node scripts/ensure-slurm.mjs [start DIR | stop DIR]');
    process.exit(2);
  }
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
