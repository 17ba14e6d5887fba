// What every argv -> IR family reader receives: the parsed command line, with the options each
// reader claims marked, and the domain being assembled. Whatever no reader claims ends up in
// <qemu:commandline> with a warning (see from-argv.ts).
import type { Diagnostics } from '../errors.js';
import type { CommandLine, ParsedOption } from '../lexer/argv-parser.js';
import { propBool, propNum, propStr, type PropValue, type Props } from '../qemu/props.js';
import type { Iommu, Panic, Watchdog, Filesystem, Rng, Shmem, Tpm, Vsock } from './domain.js';
import type { Chardev, Controller, Disk, Domain, Hostdev, Hub, Redirdev, RedirFilterRule, Smartcard, Draft, Feature, Graphics, Input, NetInterface, Os, Sound, Video, Audio, Memballoon, Clock, Vcpu, Cpu, MemoryDevice } from './domain.js';
import type { XmlElement } from '../xml/tree.js';

export interface DevicesDraft {
  emulator?: string;
  disks: Disk[];
  controllers: Controller[];
  filesystems: Filesystem[];
  interfaces: NetInterface[];
  smartcards: Smartcard[];
  serials: Chardev[];
  parallels: Chardev[];
  consoles: Chardev[];
  channels: Chardev[];
  inputs: Input[];
  tpms: Tpm[];
  graphics: Graphics[];
  sounds: Sound[];
  audios: Audio[];
  videos: Video[];
  hostdevs: Hostdev[];
  redirdevs: Redirdev[];
  redirfilter?: RedirFilterRule[];
  hubs: Hub[];
  watchdogs: Watchdog[];
  memballoon?: Memballoon;
  rngs: Rng[];
  panics: Panic[];
  shmems: Shmem[];
  iommu?: Iommu;
  vsock?: Vsock;
  memories: MemoryDevice[];
  extra: XmlElement[];
}

export interface DomainDraft extends Omit<Draft<Domain>, 'os' | 'features' | 'devices' | 'clock' | 'vcpu' | 'cpu' | 'qemuCommandline' | 'extra'> {
  vcpu: Draft<Vcpu>;
  os: Draft<Os> & { boot: Os['boot'][number][] };
  features: Feature[];
  cpu?: Cpu;
  clock: Draft<Clock>;
  devices: DevicesDraft;
  qemuArgs: string[];
  qemuEnv: { name: string; value?: string }[];
  extra: XmlElement[];
}

export interface DeviceOption {
  readonly opt: ParsedOption;
  readonly props: Props;
  readonly driver: string;
}

export class ArgvReader {
  private readonly claimed = new Set<ParsedOption>();
  /** -object iothread ids to libvirt's I/O thread numbers (general.ts fills it; devices' iothread= look it up) */
  readonly iothreads = new Map<string, number>();
  /** QEMU ids of controller devices to their <controller> (controller.ts fills it; disks' bus=ID.N look it up) */
  readonly controllerIds = new Map<string, { readonly type: string; readonly index: number }>();
  constructor(
    readonly cmd: CommandLine,
    readonly diag: Diagnostics,
    readonly draft: DomainDraft,
  ) {}

  /** Claims and returns every unclaimed option with one of these names, in command-line order. */
  take(...names: string[]): ParsedOption[] {
    const out = this.cmd.options.filter((o) => names.includes(o.name) && !this.claimed.has(o));
    out.forEach((o) => this.claimed.add(o));
    return out;
  }

  /** QEMU takes the last occurrence of a single-valued option. */
  takeLast(...names: string[]): ParsedOption | undefined {
    const all = this.take(...names);
    return all[all.length - 1];
  }

  /**
   * Claims every option with this name and gives their properties merged, as QEMU merges the
   * options whose QemuOptsList has merge_lists (-boot, -rtc, -name…): a key's last value counts.
   * Reading a key marks it read on the option it comes from; the values it replaced are settled.
   */
  takeMerged(name: string): Props | undefined {
    const all = this.take(name);
    if (!all.length) return undefined;
    const from = new Map<string, ParsedOption>();
    for (const o of all) for (const k of Object.keys(optProps(o))) from.set(k, o);
    for (const o of all) for (const k of Object.keys(optProps(o))) if (from.get(k) !== o) this.settle(o, k);
    // NB: an option none of whose keys is asked for is still read key by key (see watchProps), not whole
    for (const o of all) void ('' in optProps(o));
    const merged: Record<string, PropValue> = {};
    for (const [k, o] of from) Object.defineProperty(merged, k, { enumerable: true, get: () => optProps(o)[k] });
    return merged;
  }

  has(name: string): boolean {
    return this.cmd.options.some((o) => o.name === name);
  }

  claim(o: ParsedOption): void {
    this.claimed.add(o);
  }

  /** Gives an option back to the readers that come later. */
  unclaim(o: ParsedOption): void {
    this.claimed.delete(o);
  }

  isClaimed(o: ParsedOption): boolean {
    return this.claimed.has(o);
  }

  /**
   * Marks properties of an option as dealt with although nothing in the domain holds them (none
   * given: all of them): libvirt's own plumbing (its monitor's socket, the master key file,
   * -boot strict=on) that a domain implies. The caller says why.
   */
  settle(o: ParsedOption, ...keys: string[]): void {
    const p = optProps(o);
    for (const k of keys.length ? keys : Object.keys(p)) void p[k];
  }

  /**
   * Settles a property libvirt derives from the domain (a codec's cad=, a spicevmc's name=) when
   * it has the value libvirt prints for the domain read back. Another value stays unread, so it
   * is kept as a <qemu:override> or warned about like any property without an XML home.
   */
  expect(o: ParsedOption, key: string, expected: string | number | boolean): void {
    // NB: peeks past the watch (which traps get/has only), so a mismatch is not marked read
    const value = Object.getOwnPropertyDescriptor(optProps(o), key)?.value as Props[string] | undefined;
    if (value === undefined) return;
    const one: Props = { [key]: value };
    const v = typeof expected === 'number' ? propNum(one, key) : typeof expected === 'boolean' ? propBool(one, key) : propStr(one, key);
    if (v === expected) this.settle(o, key);
  }

  /** Unclaimed -device options whose driver passes the test (not claimed: call claim()). */
  devices(test: (driver: string) => boolean): DeviceOption[] {
    const out: DeviceOption[] = [];
    for (const opt of this.cmd.options) {
      if (opt.name !== '-device' || this.claimed.has(opt) || opt.value.kind !== 'props') continue;
      const driver = propStr(opt.value.props, 'driver') ?? '';
      if (test(driver)) out.push({ opt, props: opt.value.props, driver });
    }
    return out;
  }

  /** The unclaimed -device whose property `key` equals `value` (e.g. netdev=hostnet0). */
  deviceWith(key: string, value: string): DeviceOption | undefined {
    return this.devices(() => true).find((d) => propStr(d.props, key) === value);
  }

  unclaimed(): ParsedOption[] {
    return this.cmd.options.filter((o) => !this.claimed.has(o));
  }

  /** The unclaimed option NAME with id=ID (the -chardev or -object a device refers to). */
  unclaimedWithId(name: string, id: string | undefined): ParsedOption | undefined {
    if (id === undefined) return undefined;
    return this.unclaimed().find((o) => o.name === name && propStr(optProps(o), 'id') === id);
  }

  env(name: string): string | undefined {
    return this.cmd.env.find((e) => e.name === name)?.value;
  }
}

/** The props of an option value, or {} for raw/none values. */
export function optProps(o: ParsedOption): Props {
  return o.value.kind === 'props' ? o.value.props : {};
}

export function optText(o: ParsedOption): string {
  return o.value.kind === 'raw' ? o.value.text : o.rawValue ?? '';
}

/**
 * The command line with every option's properties watched: which keys the readers look at. A
 * reader that reads an option's properties reads those it understands, so a key it never looked at
 * was dropped: `unread` names them (from-native warns, as nothing may be dropped silently).
 * Readers that take an option's text whole (-cpu, -smbios) never touch its properties and are
 * not second-guessed.
 */
export function watchProps(cmd: CommandLine): { readonly cmd: CommandLine; unread(o: ParsedOption): readonly string[] } {
  const read = new Map<ParsedOption, Set<string>>();
  const options = cmd.options.map((o) => {
    if (o.value.kind !== 'props') return o;
    const seen = new Set<string>();
    const props = new Proxy(o.value.props, {
      get(target, key, receiver) {
        if (typeof key === 'string') seen.add(key);
        return Reflect.get(target, key, receiver);
      },
      has(target, key) {
        if (typeof key === 'string') seen.add(key);
        return Reflect.has(target, key);
      },
    });
    const watched: ParsedOption = { ...o, value: { ...o.value, props } };
    read.set(watched, seen);
    return watched;
  });
  return {
    cmd: { ...cmd, options },
    unread: (o) => {
      const seen = read.get(o);
      if (!seen?.size) return [];
      return Object.keys(o.value.kind === 'props' ? o.value.props : {}).filter((k) => !seen.has(k));
    },
  };
}
