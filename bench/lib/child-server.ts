// Starts a Node HTTP server as a child process (so it does not share the load generator's event
// loop), waits until it answers, and stops it with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface ChildServer {
  url: string;
  /** The child's process id (bench/usage.ts reads its CPU time from /proc). */
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** `node <nodeArgs> <script>` with PORT set; ready when any HTTP answer comes back. */
export async function startServer(script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ChildServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, script], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan); // never leave a server behind if the bench dies
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with code ${child.exitCode}`);
    if (i > 300) throw new Error(`${script} did not answer on ${url} within 30 s`);
    const up = await fetch(`${url}/healthz`).then(() => true, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      process.off('exit', orphan);
    },
  };
}
