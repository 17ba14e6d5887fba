// Lifecycle verbs on running guests (virsh list, dominfo, shutdown, destroy,
// qemu-monitor-command): through the supervisor's control socket, or straight to QEMU's monitor
// when the supervisor is gone. Dead guests are found out and cleaned, never shown as running.
import { createConnection } from 'node:net';
import { refuse } from './errors.js';
import type { Instance } from './instance.js';
import { Qmp, type Json } from './qmp.js';
import { cleanup, isQemuAlive, isSupervisorAlive, liveRecords, readRecord, type DomainRecord } from './state.js';

export function findRunning(inst: Instance, name: string): DomainRecord {
  const rec = readRecord(inst, name) ?? liveRecords(inst).find((r) => r.uuid === name || String(r.id) === name);
  if (!rec || !isQemuAlive(rec)) {
    if (rec && !isSupervisorAlive(rec)) cleanup(inst, rec);
    return refuse(`domain '${name}' is not running (${inst.uri})`);
  }
  return rec;
}

function viaControl(path: string, req: { [k: string]: Json }, timeoutMs: number): Promise<Json> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      resolve(JSON.parse(buf.slice(0, nl)) as Json);
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Sends one QMP request; resolves to the whole reply ({"return": …} or {"error": …}). */
export async function monitorRequest(rec: DomainRecord, req: { [k: string]: Json }, timeoutMs = 10000): Promise<Json> {
  if (isSupervisorAlive(rec)) {
    try {
      return await viaControl(rec.control, req, timeoutMs);
    } catch {
      /* fall through to the monitor itself */
    }
  }
  const qmp = await Qmp.connect(rec.monitor, timeoutMs);
  try {
    return await qmp.request(req);
  } finally {
    qmp.close();
  }
}

function returned(reply: Json): Json {
  const r = reply as { return?: Json; error?: { class?: string; desc?: string } };
  if (r && typeof r === 'object' && r.error) refuse(`QEMU: ${r.error.desc ?? r.error.class}`);
  return r?.return ?? null;
}

export async function domainState(rec: DomainRecord): Promise<string> {
  try {
    const st = returned(await monitorRequest(rec, { execute: 'query-status' }, 3000)) as { status?: string };
    return st.status === 'prelaunch' || st.status === 'paused' ? 'paused' : st.status === 'shutdown' ? 'shut off' : st.status ?? 'running';
  } catch {
    return 'running';
  }
}

async function waitGone(inst: Instance, rec: DomainRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isQemuAlive(rec)) {
      // give the supervisor a moment to undo its changes; do it here if it is gone
      const until = Date.now() + 3000;
      while (isSupervisorAlive(rec) && readRecord(inst, rec.name) && Date.now() < until) await sleep(50);
      if (readRecord(inst, rec.name)) cleanup(inst, rec);
      return true;
    }
    await sleep(100);
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** ACPI power button, then `quit` if the guest has not gone after `timeoutS` seconds. */
export async function shutdown(inst: Instance, rec: DomainRecord, timeoutS: number): Promise<string> {
  returned(await monitorRequest(rec, { execute: 'system_powerdown' }));
  if (await waitGone(inst, rec, timeoutS * 1000)) return `Domain '${rec.name}' is being shutdown… done: the guest powered off`;
  try {
    returned(await monitorRequest(rec, { execute: 'quit' }));
  } catch {
    /* the guest may have gone just now */
  }
  if (await waitGone(inst, rec, 10000)) return `Domain '${rec.name}' shut down: no power-off within ${timeoutS}s, QEMU told to quit`;
  return refuse(`domain '${rec.name}' did not stop; try destroy`);
}

/** libvirt's destroy: SIGTERM, then SIGKILL if QEMU lingers. */
export async function destroy(inst: Instance, rec: DomainRecord): Promise<string> {
  process.kill(rec.pid, 'SIGTERM');
  if (await waitGone(inst, rec, 10000)) return `Domain '${rec.name}' destroyed`;
  process.kill(rec.pid, 'SIGKILL');
  if (await waitGone(inst, rec, 5000)) return `Domain '${rec.name}' destroyed (killed)`;
  return refuse(`domain '${rec.name}' (pid ${rec.pid}) did not die`);
}

export async function dominfo(rec: DomainRecord): Promise<[string, string][]> {
  const state = await domainState(rec);
  return [
    ['Id', String(rec.id)],
    ['Name', rec.name],
    ['UUID', rec.uuid ?? ''],
    ['OS Type', 'hvm'],
    ['State', state],
    ['PID', String(rec.pid)],
    ['User', `${rec.guest.user} (${rec.guest.uid}:${rec.guest.gid})`],
    ['Emulator', rec.emulator],
    ['State dir', rec.stateDir],
    ['Monitor', rec.monitor],
    ['Log', rec.logFile],
    ['Cgroup', rec.cgroup ?? '-'],
    ['Started', rec.startedAt],
  ];
}
