/**
 * Sandboxed execution of untrusted programs with bubblewrap.
 *
 * Two modes, chosen by probing the machine once:
 *
 * - "root": we are uid 0. bubblewrap runs as root *without* a user namespace (so it can bind-mount paths
 *   that only root can traverse, e.g. a rustup toolchain under /root), builds the mount/pid/net/ipc/uts
 *   namespaces, and then `setpriv` switches to the unprivileged uid/gid 65534 with every capability cleared
 *   (effective, permitted, inheritable, ambient and bounding sets) and no_new_privs set, so setuid binaries
 *   under /usr cannot regain anything. Memory and process-count limits are cgroups v1 (`memory`, `pids`)
 *   created per run under `<mount>/batcoder/<id>`; the whole tree is killed through them.
 * - "user": we are an ordinary user. bubblewrap creates an unprivileged user namespace (the sandbox runs as
 *   our own uid with no capabilities); limits are rlimits (RLIMIT_DATA for memory, RLIMIT_NPROC for processes).
 *
 * In both modes: no network (empty net namespace), a private pid namespace (the program cannot see or
 * signal anything outside; when its init dies the kernel kills every process left in it, so daemons cannot
 * outlive the run), a read-only view of /usr plus the few extra paths an executor names, the program files
 * read-only at /src, a private size-limited tmpfs at /tmp (the only writable place; also the cwd), a cleared
 * environment, RLIMIT_CPU / RLIMIT_FSIZE / RLIMIT_NOFILE / RLIMIT_CORE, a wall-clock timeout that kills the
 * process group, and a cap on captured stdout+stderr.
 *
 * `unsafe` mode (only when the caller explicitly opts out) runs the command directly on the host in a temp
 * directory with the same rlimits and timeout but no isolation at all.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { UserError } from "../core/errors.js";

export interface SandboxLimits {
  /** Wall-clock limit; the whole process tree is killed when it passes. */
  wallMs: number;
  /** RLIMIT_CPU per process, seconds. */
  cpuSeconds: number;
  /** Memory for the whole tree (cgroup) or per process (RLIMIT_DATA in user mode). */
  memoryBytes: number;
  /** Max processes/threads (pids cgroup, or RLIMIT_NPROC in user mode). */
  maxProcs: number;
  /** RLIMIT_FSIZE: largest file the program may write. */
  fileSizeBytes: number;
  /** RLIMIT_NOFILE. */
  openFiles: number;
  /** stdout + stderr captured beyond this are dropped and the run is killed. */
  outputBytes: number;
  /** Size of the private writable /tmp. */
  tmpBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  wallMs: 10_000,
  cpuSeconds: 10,
  memoryBytes: 1024 * 1024 * 1024,
  maxProcs: 64,
  fileSizeBytes: 16 * 1024 * 1024,
  openFiles: 256,
  outputBytes: 1024 * 1024,
  tmpBytes: 256 * 1024 * 1024,
};

export interface SandboxRun {
  /** argv inside the sandbox (absolute path or a name found on PATH=/usr/local/bin:/usr/bin:/bin). */
  command: string[];
  /** Files to place (read-only) under /src, by relative path. */
  files?: Record<string, string | Buffer>;
  stdin?: string;
  env?: Record<string, string>;
  /** Extra host paths bound read-only at the same path inside (skipped when absent on the host). */
  roBinds?: string[];
  /** A private, size-limited (tmpBytes) writable tmpfs at /dev/shm (POSIX semaphores: Python multiprocessing). */
  shm?: boolean;
  limits?: Partial<SandboxLimits>;
  /**
   * Called with each piece of stdout as it arrives (the whole stdout is still in the result). A caller that
   * watches a protocol streamed by the program (e.g. per-call deadlines) stops the run with `signal`.
   */
  onStdout?: (chunk: Buffer) => void;
  /** Aborting it kills the whole process tree at once; the result then has `aborted: true`. */
  signal?: AbortSignal;
}

export type SandboxMode = "root" | "user" | "unsafe";

export interface SandboxResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  timedOut: boolean;
  outputLimited: boolean;
  /** The memory limit was hit (cgroup OOM kill, or an allocation failure reported by the runtime). */
  memoryExceeded: boolean;
  /** RLIMIT_CPU was hit (SIGXCPU / SIGKILL from the kernel). */
  cpuExceeded: boolean;
  /** The caller stopped the run through `SandboxRun.signal`. */
  aborted: boolean;
  mode: SandboxMode;
}

const SANDBOX_UID = 65534;
const SANDBOX_GID = 65534;
const CG_ROOT = "/sys/fs/cgroup";
const CG_NAME = "batcoder";

interface Probe {
  ok: boolean;
  mode: "root" | "user";
  reason?: string;
  /** cgroups v1 memory+pids usable (root only). */
  cgroups: boolean;
  bwrap?: string;
}
let probeCache: Probe | undefined;

function which(cmd: string): string | undefined {
  for (const dir of ["/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin", "/sbin"]) {
    const p = path.join(dir, cmd);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function cgroupsUsable(): boolean {
  try {
    for (const ctl of ["memory", "pids"]) {
      const dir = path.join(CG_ROOT, ctl, CG_NAME);
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/** Checks once whether this machine can sandbox (bubblewrap present and able to build the namespaces). */
export function probeSandbox(force = false): Probe {
  if (probeCache && !force) return probeCache;
  const isRoot = process.getuid?.() === 0;
  const mode: "root" | "user" = isRoot ? "root" : "user";
  if (process.platform !== "linux") {
    probeCache = { ok: false, mode, reason: "sandboxing needs Linux (bubblewrap)", cgroups: false };
    return probeCache;
  }
  // BATCODER_BWRAP overrides the bubblewrap binary (tests use it to simulate a machine without one).
  const bwrap = process.env.BATCODER_BWRAP ?? which("bwrap");
  if (!bwrap || !fs.existsSync(bwrap)) {
    probeCache = {
      ok: false,
      mode,
      reason: "bubblewrap (bwrap) is not installed — apt-get install bubblewrap",
      cgroups: isRoot && cgroupsUsable(),
    };
    return probeCache;
  }
  if (isRoot && !which("setpriv")) {
    probeCache = {
      ok: false,
      mode,
      reason: "setpriv (util-linux) is missing; needed to drop root inside the sandbox",
      cgroups: false,
    };
    return probeCache;
  }
  const args = [...bwrapBaseArgs(mode, []), "--", ...(isRoot ? setprivArgs() : []), "/bin/true"];
  const r = spawnSync(bwrap, args, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) {
    probeCache = {
      ok: false,
      mode,
      reason: `bubblewrap cannot create a sandbox here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`,
      cgroups: isRoot && cgroupsUsable(),
    };
    return probeCache;
  }
  probeCache = { ok: true, mode, cgroups: isRoot && cgroupsUsable(), bwrap };
  return probeCache;
}

/** Throws a UserError explaining why, unless the machine can sandbox or the caller opted out. */
export function requireSandbox(unsafeNoSandbox: boolean): SandboxMode {
  if (unsafeNoSandbox) return "unsafe";
  const p = probeSandbox();
  if (!p.ok) {
    throw new UserError(
      `cannot run generated code safely: ${p.reason}. Fix that, or pass --unsafe-no-sandbox to run untrusted ` +
        `programs directly on this machine (only with rlimits and a timeout; no isolation).`,
    );
  }
  return p.mode;
}

function setprivArgs(): string[] {
  return [
    "/usr/bin/setpriv",
    `--reuid=${SANDBOX_UID}`,
    `--regid=${SANDBOX_GID}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--bounding-set=-all",
    "--no-new-privs",
    "--",
  ];
}

/** Parent directories of a bind target, so they can be created world-traversable (bwrap makes them 0700). */
function parentsOf(target: string): string[] {
  const out: string[] = [];
  let d = path.dirname(target);
  while (d !== "/" && d !== ".") {
    out.unshift(d);
    d = path.dirname(d);
  }
  return out;
}

function bwrapBaseArgs(mode: "root" | "user", roBinds: string[], tmpBytes = DEFAULT_LIMITS.tmpBytes): string[] {
  const a: string[] = [];
  if (mode === "root")
    a.push("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
  else a.push("--unshare-all", "--unshare-user");
  a.push("--die-with-parent", "--new-session", "--hostname", "sandbox");
  a.push("--ro-bind", "/usr", "/usr");
  for (const l of ["bin", "sbin", "lib", "lib64", "lib32", "libx32"]) {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(`/${l}`);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) a.push("--symlink", fs.readlinkSync(`/${l}`), `/${l}`);
    else a.push("--ro-bind", `/${l}`, `/${l}`);
  }
  a.push("--proc", "/proc", "--dev", "/dev");
  a.push("--size", String(tmpBytes), "--perms", "1777", "--tmpfs", "/tmp");
  const made = new Set<string>(["/tmp"]);
  const etc = [
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
  ];
  for (const p of [...etc, ...roBinds]) {
    if (!fs.existsSync(p)) continue;
    for (const parent of parentsOf(p)) {
      if (made.has(parent) || parent === "/usr" || parent.startsWith("/usr/")) continue;
      a.push("--perms", "0755", "--dir", parent);
      made.add(parent);
    }
    a.push("--ro-bind", p, p);
  }
  return a;
}

function rlimitArgs(l: SandboxLimits, mode: SandboxMode): string[] {
  const cpuSoft = Math.max(1, Math.ceil(l.cpuSeconds));
  const a = [
    "/usr/bin/prlimit",
    `--cpu=${cpuSoft}:${cpuSoft + 1}`,
    `--fsize=${l.fileSizeBytes}`,
    `--nofile=${l.openFiles}`,
    "--core=0",
  ];
  if (mode !== "root") {
    // No cgroups: per-process data limit and a per-uid process cap (counted from what the user already runs).
    a.push(`--data=${l.memoryBytes}`);
    a.push(`--nproc=${l.maxProcs + countUserProcs()}`);
  }
  a.push("--");
  return a;
}

function countUserProcs(): number {
  const uid = process.getuid?.() ?? -1;
  let n = 0;
  try {
    for (const pid of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const st = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const m = /^Uid:\s+(\d+)/m.exec(st);
        if (m && Number(m[1]) === uid) {
          const t = /^Threads:\s+(\d+)/m.exec(st);
          n += t ? Number(t[1]) : 1;
        }
      } catch {
        /* process went away */
      }
    }
  } catch {
    return 256;
  }
  return n;
}

class Cgroup {
  readonly dirs: string[];
  constructor(
    readonly id: string,
    limits: SandboxLimits,
  ) {
    this.dirs = ["memory", "pids"].map((c) => path.join(CG_ROOT, c, CG_NAME, id));
    for (const d of this.dirs) fs.mkdirSync(d, { recursive: true });
    const [mem, pids] = this.dirs as [string, string];
    fs.writeFileSync(path.join(mem, "memory.limit_in_bytes"), String(limits.memoryBytes));
    try {
      fs.writeFileSync(path.join(mem, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes));
    } catch {
      /* no swap accounting */
    }
    fs.writeFileSync(path.join(pids, "pids.max"), String(limits.maxProcs));
  }
  /** Shell snippet that moves the current shell into both cgroups. */
  enterScript(): string {
    return this.dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(" && ");
  }
  oomKills(): number {
    try {
      const t = fs.readFileSync(path.join(this.dirs[0]!, "memory.oom_control"), "utf8");
      const m = /oom_kill\s+(\d+)/.exec(t);
      if (m) return Number(m[1]);
    } catch {
      /* ignore */
    }
    try {
      return Number(fs.readFileSync(path.join(this.dirs[0]!, "memory.failcnt"), "utf8")) > 0 ? 1 : 0;
    } catch {
      return 0;
    }
  }
  pids(): number[] {
    const out = new Set<number>();
    for (const d of this.dirs) {
      try {
        for (const s of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n"))
          if (s.trim()) out.add(Number(s));
      } catch {
        /* gone */
      }
    }
    return [...out];
  }
  killAll(): void {
    for (let i = 0; i < 50; i++) {
      const ps = this.pids();
      if (ps.length === 0) return;
      for (const p of ps) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* already dead */
        }
      }
    }
  }
  async destroy(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      this.killAll();
      let left = 0;
      for (const d of this.dirs) {
        try {
          fs.rmdirSync(d);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") left++;
        }
      }
      if (left === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Removes per-run cgroups left behind by a process that died mid-run (their name starts with its pid):
 * whatever still runs in them is killed first.
 */
export function reapStaleCgroups(): number {
  let reaped = 0;
  const dirs = new Set<string>();
  for (const ctl of ["memory", "pids"]) {
    try {
      for (const n of fs.readdirSync(path.join(CG_ROOT, ctl, CG_NAME))) dirs.add(n);
    } catch {
      /* no cgroup dir */
    }
  }
  for (const name of dirs) {
    const pid = Number(name.split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === "EPERM";
    }
    if (alive) continue;
    const cg = Object.create(Cgroup.prototype) as Cgroup;
    (cg as unknown as { dirs: string[] }).dirs = ["memory", "pids"].map((c) => path.join(CG_ROOT, c, CG_NAME, name));
    cg.killAll();
    for (const d of cg.dirs) {
      try {
        fs.rmdirSync(d);
        reaped++;
      } catch {
        /* busy or gone */
      }
    }
  }
  return reaped;
}

let reapedOnce = false;

export interface SandboxOptions {
  /** Run on the host without isolation (explicit opt-out). */
  unsafe?: boolean;
  limits?: Partial<SandboxLimits>;
}

/** Runs commands in a fresh sandbox each. Stateless apart from the (cached) machine probe. */
export class Sandbox {
  readonly mode: SandboxMode;
  readonly limits: SandboxLimits;
  private readonly cgroups: boolean;
  constructor(opts: SandboxOptions = {}) {
    this.mode = requireSandbox(opts.unsafe ?? false);
    // cgroups also guard unsafe runs as root (RLIMIT_NPROC does not bind root; daemons escape the process group).
    this.cgroups = this.mode !== "user" && process.getuid?.() === 0 && probeSandbox().cgroups;
    this.limits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
    if (this.cgroups && !reapedOnce) {
      reapedOnce = true;
      reapStaleCgroups();
    }
  }

  async run(job: SandboxRun): Promise<SandboxResult> {
    const limits: SandboxLimits = { ...this.limits, ...(job.limits ?? {}) };
    const id = `${process.pid}-${crypto.randomBytes(6).toString("hex")}`;
    const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-sbx-"));
    fs.chmodSync(hostDir, 0o755);
    const srcDir = path.join(hostDir, "src");
    fs.mkdirSync(srcDir, { mode: 0o755 });
    fs.chmodSync(srcDir, 0o755);
    for (const [rel, content] of Object.entries(job.files ?? {})) {
      const p = path.join(srcDir, rel);
      if (!p.startsWith(srcDir + path.sep)) throw new Error(`sandbox: file path escapes /src: ${rel}`);
      fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
      fs.writeFileSync(p, content, { mode: 0o644 });
    }
    let cg: Cgroup | undefined;
    try {
      const env: Record<string, string> = {
        PATH: "/usr/local/bin:/usr/bin:/bin",
        HOME: "/tmp",
        TMPDIR: "/tmp",
        LANG: "C.UTF-8",
        LC_ALL: "C.UTF-8",
        ...(job.env ?? {}),
      };
      let argv: string[];
      let spawnEnv: NodeJS.ProcessEnv;
      let cwd: string;
      if (this.mode === "unsafe") {
        // No isolation: /src and /tmp are rewritten to host directories.
        const tmp = path.join(hostDir, "tmp");
        fs.mkdirSync(tmp);
        const rewrite = (s: string) =>
          s.replace(
            /(^|[^\w./-])\/(src|tmp)(?=\/|$|[\s;&|'"])/g,
            (_m, pre: string, which: string) => pre + (which === "src" ? srcDir : tmp),
          );
        // Still never run generated code as root: drop to uid 65534 with no capabilities (no isolation otherwise;
        // a toolchain only root can reach, such as rustup under /root, is then unavailable).
        const drop = process.getuid?.() === 0 && fs.existsSync("/usr/bin/setpriv");
        if (drop) fs.chownSync(tmp, SANDBOX_UID, SANDBOX_GID);
        argv = [...rlimitArgs(limits, "unsafe"), ...(drop ? setprivArgs() : []), ...job.command.map(rewrite)];
        spawnEnv = Object.fromEntries(
          Object.entries({ ...env, HOME: tmp, TMPDIR: tmp }).map(([k, v]) => [k, rewrite(v)]),
        );
        cwd = tmp;
      } else {
        const bw = [
          ...bwrapBaseArgs(this.mode, job.roBinds ?? [], limits.tmpBytes),
          "--ro-bind",
          srcDir,
          "/src",
          "--chdir",
          "/tmp",
          "--clearenv",
        ];
        if (job.shm) bw.push("--size", String(limits.tmpBytes), "--perms", "1777", "--tmpfs", "/dev/shm");
        for (const [k, v] of Object.entries(env)) bw.push("--setenv", k, v);
        bw.push("--");
        argv = [
          ...rlimitArgs(limits, this.mode),
          probeSandbox().bwrap ?? "/usr/bin/bwrap",
          ...bw,
          ...(this.mode === "root" ? setprivArgs() : []),
          ...job.command,
        ];
        spawnEnv = { PATH: "/usr/bin:/bin" };
        cwd = hostDir;
      }
      // Second line of defence: if this process dies mid-run, coreutils `timeout` still kills the tree.
      argv = ["/usr/bin/timeout", "--signal=KILL", `${Math.ceil(limits.wallMs / 1000) + 5}s`, ...argv];
      let script = 'exec "$@"';
      if (this.cgroups) {
        cg = new Cgroup(id, limits);
        script = `${cg.enterScript()} && exec "$@"`;
      }
      return await this.spawnAndWatch(
        ["/bin/sh", "-c", script, "sh", ...argv],
        spawnEnv,
        cwd,
        job.stdin ?? "",
        limits,
        cg,
        job,
      );
    } finally {
      if (cg) await cg.destroy();
      fs.rmSync(hostDir, { recursive: true, force: true });
    }
  }

  private spawnAndWatch(
    argv: string[],
    env: NodeJS.ProcessEnv,
    cwd: string,
    stdin: string,
    limits: SandboxLimits,
    cg: Cgroup | undefined,
    watch: Pick<SandboxRun, "onStdout" | "signal">,
  ): Promise<SandboxResult> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const child = spawn(argv[0]!, argv.slice(1), { env, cwd, detached: true, stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let total = 0;
      let timedOut = false;
      let outputLimited = false;
      let aborted = false;
      let done = false;
      const killTree = () => {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          /* gone */
        }
        cg?.killAll();
      };
      const take = (bucket: Buffer[]) => (b: Buffer) => {
        if (outputLimited) return;
        const room = limits.outputBytes - total;
        if (b.length > room) {
          if (room > 0) bucket.push(b.subarray(0, room));
          total = limits.outputBytes;
          outputLimited = true;
          killTree();
          return;
        }
        bucket.push(b);
        total += b.length;
      };
      const takeOut = take(out);
      child.stdout!.on("data", (b: Buffer) => {
        takeOut(b);
        watch.onStdout?.(b);
      });
      const onAbort = () => {
        if (done) return;
        aborted = true;
        killTree();
      };
      if (watch.signal?.aborted) onAbort();
      else watch.signal?.addEventListener("abort", onAbort, { once: true });
      child.stderr!.on("data", take(err));
      child.stdin!.on("error", () => {
        /* the program may exit without reading stdin */
      });
      child.stdin!.end(stdin);
      const timer = setTimeout(() => {
        timedOut = true;
        killTree();
      }, limits.wallMs);
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        watch.signal?.removeEventListener("abort", onAbort);
        // Anything left in the group (e.g. a daemon in unsafe mode) goes too.
        killTree();
        const stdout = Buffer.concat(out).toString("utf8");
        const stderr = Buffer.concat(err).toString("utf8");
        const oom = cg ? cg.oomKills() > 0 : false;
        const memoryExceeded =
          oom ||
          /MemoryError|Cannot allocate memory|out of memory|failed to allocate|std::bad_alloc|OutOfMemoryError|memory allocation of \d+ bytes failed|heap out of memory|Allowed memory size/i.test(
            stderr,
          );
        const cpuExceeded = signal === "SIGXCPU" || code === 128 + 24;
        resolve({
          exitCode: code,
          signal,
          stdout,
          stderr,
          wallMs: performance.now() - t0,
          timedOut,
          outputLimited,
          memoryExceeded: memoryExceeded && !timedOut && !outputLimited && !aborted,
          cpuExceeded,
          aborted,
          mode: this.mode,
        });
      };
      child.on("error", () => finish(null, null));
      child.on("close", finish);
    });
  }
}
