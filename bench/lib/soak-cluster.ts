// The soak test's cluster: Kontor processes as child processes under a small supervisor (a
// process that exits is started again, as systemd or a Procfile platform would), and a
// round-robin HTTP proxy in front of the web processes, as a load balancer would be.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProcKind = 'web' | 'worker' | 'gateway';

export interface Proc {
  name: string;
  kind: ProcKind;
  /** web and gateway processes: the port they listen on (the same after a restart). */
  port: number | null;
  child: ChildProcess | null;
  starts: number;
  /** Exits the supervisor did not cause: crashes. */
  unexpectedExits: { code: number | null; signal: string | null; log: string }[];
  /** The last lines the process wrote to stderr (its JSON logs), across restarts. */
  log: string[];
  /** Set just before the supervisor kills it, so the exit is not counted as a crash. */
  expectingExit: boolean;
}

const LOG_LINES = 200;

export class Supervisor {
  readonly procs: Proc[] = [];
  private stopping = false;

  constructor(private readonly root: string, private readonly envOf: (p: Proc) => Record<string, string>) {
    // Never leave a child behind, whatever way this process ends.
    process.once('exit', () => {
      for (const p of this.procs) if (p.child && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    });
  }

  add(name: string, kind: ProcKind, port: number | null): Proc {
    const p: Proc = { name, kind, port, child: null, starts: 0, unexpectedExits: [], log: [], expectingExit: false };
    this.procs.push(p);
    return p;
  }

  start(p: Proc): void {
    const script = p.kind === 'worker' ? 'jobs/worker.ts' : 'src/server.ts';
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: this.root, env: this.envOf(p), stdio: ['ignore', 'ignore', 'pipe'] });
    p.child = child;
    p.starts += 1;
    p.expectingExit = false;
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      p.log.push(...lines.map((l) => `[${p.name}#${p.starts}] ${l}`));
      if (p.log.length > LOG_LINES) p.log.splice(0, p.log.length - LOG_LINES);
    });
    child.once('exit', (code, signal) => {
      if (p.child !== child) return;
      if (!p.expectingExit) p.unexpectedExits.push({ code, signal, log: p.log.slice(-40).join('\n') });
      p.child = null;
      if (!this.stopping) setTimeout(() => { if (!this.stopping && !p.child) this.start(p); }, 300);
    });
  }

  /** SIGKILL: no clean-up at all, as when a machine or a container dies. The supervisor restarts it. */
  kill(p: Proc): boolean {
    if (!p.child) return false;
    p.expectingExit = true;
    p.child.kill('SIGKILL');
    return true;
  }

  /** Resolves when every web and gateway process answers /healthz (bounded). */
  async ready(timeoutMs = 60_000, which: Proc[] = this.procs): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (const p of which) {
      if (p.port === null) continue;
      for (;;) {
        const up = await fetch(`http://127.0.0.1:${p.port}/healthz`).then((r) => r.ok, () => false);
        if (up) break;
        if (Date.now() > until) throw new Error(`${p.name} did not answer /healthz within ${timeoutMs} ms; its log:\n${p.log.slice(-30).join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** SIGTERM everything, then SIGKILL whatever is still running after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const running = this.procs.filter((p) => p.child);
    await Promise.all(running.map((p) => new Promise<void>((resolve) => {
      const child = p.child!;
      p.expectingExit = true;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    })));
  }
}

export interface Proxy {
  url: string;
  counts: { forwarded: number; retriedRefused: number; badGateway: number };
  close(): Promise<void>;
}

/**
 * The load balancer: gateway sandbox paths (`/v1/...`, `/sandbox/...`: the offline Stripe,
 * NestPay and iyzico stand-ins keep their state in memory) go to the one gateway process;
 * everything else round-robins over the web processes that are running. A refused connection
 * (a process being restarted) is tried on the next process, since nothing reached it; a
 * connection lost mid-request answers 502, as a real proxy would.
 */
export async function startProxy(web: Proc[], gateway: Proc): Promise<Proxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const counts = { forwarded: 0, retriedRefused: 0, badGateway: 0 };
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(Buffer.concat(chunks), 0));
    const toGateway = /^\/(v1|sandbox)\//.test(req.url ?? '');
    const forward = (body: Buffer, attempt: number) => {
      const live = toGateway ? [gateway] : web.filter((p) => p.child);
      const target = live.length ? live[next++ % live.length]! : (toGateway ? gateway : web[next++ % web.length]!);
      const up = http.request({ host: '127.0.0.1', port: target.port!, method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        ur.on('error', () => res.destroy());
        counts.forwarded++;
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (res.headersSent) return void res.destroy();
        if (err.code === 'ECONNREFUSED' && attempt < 20) {
          counts.retriedRefused++;
          return void setTimeout(() => forward(body, attempt + 1), 50 * Math.min(attempt + 1, 5));
        }
        counts.badGateway++;
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad_gateway', message: String(err.code ?? err.message) }));
      });
      up.end(body);
    };
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}
