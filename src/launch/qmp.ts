// A small QMP client (QEMU Machine Protocol over a unix socket): greeting, qmp_capabilities,
// execute with ids, asynchronous events. One JSON object per line in both directions.
import { createConnection, type Socket } from 'node:net';
import { LaunchError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface QmpEvent {
  readonly event: string;
  readonly data?: Json;
  readonly timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends LaunchError {
  constructor(readonly klass: string, desc: string) {
    super(`QMP error ${klass}: ${desc}`);
  }
}

export class Qmp {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (v: Json) => void; reject: (e: Error) => void; raw: boolean }>();
  private readonly listeners: ((e: QmpEvent) => void)[] = [];
  private closedWith: Error | undefined;
  greeting: Json = null;

  private constructor(private readonly sock: Socket) {}

  /** Connects, reads the greeting, negotiates capabilities. Retries until QEMU listens (timeoutMs). */
  static async connect(path: string, timeoutMs = 10000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await Qmp.once(path, Math.max(500, deadline - Date.now()));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private static once(path: string, timeoutMs: number): Promise<Qmp> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const q = new Qmp(sock);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new LaunchError(`no QMP greeting on ${path} within ${timeoutMs} ms (another client connected?)`));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      q.onGreeting = (g) => {
        clearTimeout(timer);
        q.greeting = g;
        sock.removeAllListeners('error');
        sock.on('error', (e) => q.close(e));
        q.execute('qmp_capabilities').then(() => resolve(q), reject);
      };
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => q.onData(d));
      sock.on('close', () => q.close(new LaunchError('QMP connection closed')));
    });
  }

  private onGreeting: ((g: Json) => void) | undefined;

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(JSON.parse(line) as { [k: string]: Json });
    }
  }

  private onMessage(m: { [k: string]: Json }): void {
    if ('QMP' in m) {
      const g = this.onGreeting;
      this.onGreeting = undefined;
      g?.(m);
      return;
    }
    if ('event' in m) {
      for (const l of this.listeners) l(m as unknown as QmpEvent);
      return;
    }
    const id = typeof m.id === 'string' ? m.id : undefined;
    const p = id !== undefined ? this.pending.get(id) : undefined;
    if (!p || id === undefined) return;
    this.pending.delete(id);
    if (p.raw) {
      const { id: _drop, ...rest } = m;
      void _drop;
      p.resolve(rest);
    } else if ('error' in m) {
      const e = m.error as { class?: string; desc?: string };
      p.reject(new QmpError(e.class ?? 'GenericError', e.desc ?? ''));
    } else p.resolve(m.return ?? null);
  }

  onEvent(l: (e: QmpEvent) => void): void {
    this.listeners.push(l);
  }

  /** Runs a command; resolves to its "return" value, rejects with its "error". */
  execute(command: string, args?: { [k: string]: Json }): Promise<Json> {
    return this.send({ execute: command, ...(args ? { arguments: args } : {}) }, false);
  }

  /** Sends a request object as given and resolves to the whole reply ({return} or {error}), as a proxy must. */
  request(req: { [k: string]: Json }): Promise<Json> {
    return this.send(req, true);
  }

  private send(req: { [k: string]: Json }, raw: boolean): Promise<Json> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = `domxml-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, raw });
      this.sock.write(JSON.stringify({ ...req, id }) + '\n');
    });
  }

  /** HMP through QMP's human-monitor-command. */
  async hmp(commandLine: string): Promise<string> {
    return String(await this.execute('human-monitor-command', { 'command-line': commandLine }));
  }

  close(err: Error = new LaunchError('QMP connection closed')): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.sock.destroy();
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }
}
