// A domain under construction (both readers fill one) and its conversion to the read-only IR.
import type { DomainDraft } from './argv-reader.js';
import type { Domain } from './domain.js';

export function newDraft(): DomainDraft {
  return {
    type: 'qemu',
    name: '',
    memory: 0,
    vcpu: { count: 1 },
    os: { type: 'hvm', boot: [], extra: [] },
    features: [],
    clock: { offset: 'utc', timers: [] },
    devices: {
      disks: [], controllers: [], interfaces: [], serials: [], parallels: [], consoles: [], channels: [],
      inputs: [], graphics: [], sounds: [], audios: [], videos: [], filesystems: [], tpms: [], rngs: [], smartcards: [], hostdevs: [], redirdevs: [], hubs: [], memories: [], watchdogs: [], panics: [], shmems: [], extra: [],
    },
    qemuArgs: [],
    qemuEnv: [],
    extra: [],
  };
}

export function finishDraft(d: DomainDraft): Domain {
  const { qemuArgs, qemuEnv, ...rest } = d;
  return {
    ...rest,
    ...(qemuArgs.length || qemuEnv.length ? { qemuCommandline: { args: qemuArgs, env: qemuEnv } } : {}),
  };
}
