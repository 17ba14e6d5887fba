// The domain IR: one typed, read-only model of a libvirt domain, the hub both directions go
// through (argv -> IR -> XML, XML -> IR -> argv). Fields are in the order libvirt writes the XML.
// `$span` records where a value came from (XML element or argv word); emitters ignore it.
// Elements the IR does not model yet are kept in `extra` so that XML -> IR -> XML loses nothing;
// to-native reports them as warnings.
import type { Span } from '../errors.js';
import type { XmlElement } from '../xml/tree.js';

export interface Spanned {
  readonly $span?: Span;
}

export type VirtType = 'qemu' | 'kvm';
export type LifecycleAction = 'destroy' | 'restart' | 'preserve' | 'rename-restart' | 'coredump-destroy' | 'coredump-restart';

export interface Domain extends Spanned {
  readonly type: VirtType;
  readonly name: string;
  readonly uuid?: string;
  readonly title?: string;
  readonly description?: string;
  /** KiB */
  readonly memory: number;
  /** KiB */
  readonly currentMemory?: number;
  readonly vcpu: Vcpu;
  readonly os: Os;
  readonly features: readonly Feature[];
  readonly cpu?: Cpu;
  readonly clock: Clock;
  readonly onPoweroff?: LifecycleAction;
  readonly onReboot?: LifecycleAction;
  readonly onCrash?: LifecycleAction;
  readonly devices: Devices;
  readonly qemuCommandline?: QemuCommandline;
  /** Top-level elements not modelled yet, kept verbatim. */
  readonly extra: readonly XmlElement[];
}

export interface Vcpu extends Spanned {
  readonly count: number;
  readonly placement?: 'static' | 'auto';
  readonly current?: number;
  readonly cpuset?: string;
}

export type BootDevice = 'hd' | 'cdrom' | 'fd' | 'network';

export interface Os extends Spanned {
  readonly type: 'hvm';
  readonly arch?: string;
  readonly machine?: string;
  readonly loader?: { readonly path: string; readonly readonly?: boolean; readonly type?: 'rom' | 'pflash'; readonly secure?: boolean };
  readonly nvram?: { readonly path?: string; readonly template?: string };
  readonly kernel?: string;
  readonly initrd?: string;
  readonly cmdline?: string;
  readonly dtb?: string;
  readonly boot: readonly BootDevice[];
  readonly bootmenu?: { readonly enable: boolean; readonly timeout?: number };
  readonly bios?: { readonly useserial?: boolean; readonly rebootTimeout?: number };
  readonly extra: readonly XmlElement[];
}

export type Feature =
  | ({ readonly kind: 'acpi' } & Spanned)
  | ({ readonly kind: 'apic'; readonly eoi?: 'on' | 'off' } & Spanned)
  | ({ readonly kind: 'pae' } & Spanned)
  /** Any other feature element, kept verbatim until the IR models it. */
  | ({ readonly kind: 'other'; readonly element: XmlElement } & Spanned);

export interface Cpu extends Spanned {
  readonly mode?: 'custom' | 'host-model' | 'host-passthrough' | 'maximum';
  readonly match?: 'minimum' | 'exact' | 'strict';
  readonly check?: 'none' | 'partial' | 'full';
  readonly model?: string;
  readonly fallback?: 'allow' | 'forbid';
  readonly vendor?: string;
  readonly topology?: { readonly sockets: number; readonly dies?: number; readonly cores: number; readonly threads: number };
  readonly features: readonly { readonly policy: 'force' | 'require' | 'optional' | 'disable' | 'forbid'; readonly name: string }[];
  readonly extra: readonly XmlElement[];
}

export interface Clock extends Spanned {
  readonly offset: 'utc' | 'localtime' | 'timezone' | 'variable' | 'absolute';
  readonly timezone?: string;
  readonly adjustment?: string;
  readonly basis?: 'utc' | 'localtime';
  readonly start?: string;
  readonly timers: readonly Timer[];
}

export interface Timer extends Spanned {
  readonly name: string;
  readonly present?: boolean;
  readonly tickpolicy?: string;
  readonly track?: string;
  readonly frequency?: number;
  readonly mode?: string;
}

// --- devices -------------------------------------------------------------------------------

export interface Devices {
  readonly emulator?: string;
  readonly disks: readonly Disk[];
  readonly controllers: readonly Controller[];
  readonly interfaces: readonly NetInterface[];
  readonly serials: readonly Chardev[];
  readonly parallels: readonly Chardev[];
  readonly consoles: readonly Chardev[];
  readonly channels: readonly Chardev[];
  readonly inputs: readonly Input[];
  readonly graphics: readonly Graphics[];
  readonly sounds: readonly Sound[];
  readonly audios: readonly Audio[];
  readonly videos: readonly Video[];
  readonly memballoon?: Memballoon;
  /** Device elements not modelled yet, kept verbatim in their order. */
  readonly extra: readonly XmlElement[];
}

export type Address =
  | { readonly type: 'pci'; readonly domain: number; readonly bus: number; readonly slot: number; readonly function: number; readonly multifunction?: boolean }
  | { readonly type: 'drive'; readonly controller: number; readonly bus: number; readonly target: number; readonly unit: number }
  | { readonly type: 'usb'; readonly bus: number; readonly port?: string }
  | { readonly type: 'virtio-serial'; readonly controller: number; readonly bus: number; readonly port?: number }
  | { readonly type: 'ccid'; readonly controller: number; readonly slot: number }
  | { readonly type: 'isa'; readonly iobase?: number; readonly irq?: number }
  /** An address type the IR does not model in detail: attributes kept as written. */
  | { readonly type: 'other'; readonly attrs: Readonly<Record<string, string>> };

export interface DeviceCommon extends Spanned {
  readonly alias?: string;
  readonly address?: Address;
  readonly bootOrder?: number;
}

export type DiskSource =
  | { readonly type: 'file'; readonly file?: string }
  | { readonly type: 'block'; readonly dev?: string }
  | { readonly type: 'dir'; readonly dir?: string }
  | {
      readonly type: 'network';
      readonly protocol: 'nbd' | 'iscsi' | 'rbd' | 'gluster' | 'sheepdog' | 'http' | 'https' | 'ftp' | 'ftps' | 'tftp' | 'ssh' | 'vxhs' | 'nfs';
      readonly name?: string;
      readonly hosts: readonly { readonly name?: string; readonly port?: number; readonly transport?: 'tcp' | 'unix' | 'rdma'; readonly socket?: string }[];
    };

export type DiskBus = 'ide' | 'scsi' | 'virtio' | 'xen' | 'usb' | 'sata' | 'fdc' | 'sd' | 'uml';

export interface Disk extends DeviceCommon {
  readonly source: DiskSource;
  readonly device: 'disk' | 'cdrom' | 'floppy' | 'lun';
  readonly driver?: {
    readonly name?: string;
    readonly type?: string;
    readonly cache?: 'default' | 'none' | 'writethrough' | 'writeback' | 'directsync' | 'unsafe';
    readonly io?: 'threads' | 'native' | 'io_uring';
    readonly discard?: 'unmap' | 'ignore';
    readonly detectZeroes?: 'off' | 'on' | 'unmap';
    readonly errorPolicy?: string;
  };
  readonly target: { readonly dev: string; readonly bus?: DiskBus; readonly tray?: 'open' | 'closed' };
  readonly readonly?: boolean;
  readonly shareable?: boolean;
  readonly serial?: string;
  readonly wwn?: string;
  readonly snapshot?: string;
  readonly extra: readonly XmlElement[];
}

export type ControllerType = 'ide' | 'fdc' | 'scsi' | 'sata' | 'virtio-serial' | 'ccid' | 'usb' | 'pci' | 'xenbus' | 'isa';

export interface Controller extends DeviceCommon {
  readonly type: ControllerType;
  readonly index: number;
  readonly model?: string;
  readonly ports?: number;
  readonly vectors?: number;
  /** usb companion controllers: <master startport='N'/> */
  readonly masterStartport?: number;
  readonly extra: readonly XmlElement[];
}

export type NetType = 'user' | 'network' | 'bridge' | 'ethernet' | 'direct' | 'vhostuser' | 'server' | 'client' | 'mcast' | 'udp' | 'hostdev' | 'vdpa' | 'null' | 'vds';

export interface NetInterface extends DeviceCommon {
  readonly type: NetType;
  readonly mac?: string;
  readonly source?: Readonly<Record<string, string>>;
  readonly targetDev?: string;
  readonly model?: string;
  readonly extra: readonly XmlElement[];
}

export type ChardevSource =
  | { readonly type: 'null' | 'vc' | 'pty' | 'stdio' | 'spicevmc' | 'qemu-vdagent' | 'dbus'; readonly path?: string }
  | { readonly type: 'file' | 'dev' | 'pipe' | 'nmdm'; readonly path: string; readonly append?: boolean }
  | { readonly type: 'tcp'; readonly mode: 'bind' | 'connect'; readonly host?: string; readonly service?: string; readonly protocol?: 'raw' | 'telnet' | 'telnets' | 'tls'; readonly tls?: boolean }
  | { readonly type: 'udp'; readonly host?: string; readonly service?: string; readonly bindHost?: string; readonly bindService?: string }
  | { readonly type: 'unix'; readonly mode: 'bind' | 'connect'; readonly path?: string }
  | { readonly type: 'spiceport'; readonly channel: string };

export interface Chardev extends DeviceCommon {
  readonly source: ChardevSource;
  /** <target type=…> (serial: isa-serial/usb-serial/pci-serial…, console: serial/virtio…, channel: virtio/guestfwd) */
  readonly targetType?: string;
  readonly targetPort?: number;
  readonly targetName?: string;
  readonly targetModel?: string;
  readonly extra: readonly XmlElement[];
}

export interface Input extends DeviceCommon {
  readonly type: 'mouse' | 'keyboard' | 'tablet' | 'passthrough' | 'evdev';
  readonly bus?: 'ps2' | 'usb' | 'virtio' | 'xen' | 'none';
  readonly extra: readonly XmlElement[];
}

export interface GraphicsListen {
  readonly type: 'address' | 'network' | 'socket' | 'none';
  readonly address?: string;
  readonly network?: string;
  readonly socket?: string;
}

export type Graphics =
  | ({
      readonly type: 'vnc';
      readonly port?: number;
      readonly autoport?: boolean;
      readonly websocket?: number;
      readonly sharePolicy?: string;
      readonly keymap?: string;
      readonly passwd?: string;
      readonly listens: readonly GraphicsListen[];
      readonly extra: readonly XmlElement[];
    } & Spanned)
  | ({ readonly type: 'sdl'; readonly display?: string; readonly xauth?: string; readonly fullscreen?: boolean; readonly extra: readonly XmlElement[] } & Spanned)
  | ({
      readonly type: 'spice';
      readonly port?: number;
      readonly tlsPort?: number;
      readonly autoport?: boolean;
      readonly passwd?: string;
      readonly keymap?: string;
      readonly defaultMode?: string;
      readonly listens: readonly GraphicsListen[];
      readonly extra: readonly XmlElement[];
    } & Spanned)
  | ({ readonly type: 'egl-headless' | 'dbus' | 'rdp' | 'desktop'; readonly attrs: Readonly<Record<string, string>>; readonly extra: readonly XmlElement[] } & Spanned);

export interface Video extends DeviceCommon {
  readonly model: 'vga' | 'cirrus' | 'vmvga' | 'xen' | 'vbox' | 'qxl' | 'parallels' | 'virtio' | 'gop' | 'none' | 'bochs' | 'ramfb';
  readonly vram?: number;
  readonly ram?: number;
  readonly vgamem?: number;
  readonly vram64?: number;
  readonly heads?: number;
  readonly primary?: boolean;
  readonly extra: readonly XmlElement[];
}

export interface Sound extends DeviceCommon {
  readonly model: string;
  readonly codecs: readonly string[];
  readonly audioId?: number;
  readonly extra: readonly XmlElement[];
}

export interface Audio extends Spanned {
  readonly id: number;
  readonly type: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
}

export interface Memballoon extends DeviceCommon {
  readonly model: 'virtio' | 'virtio-transitional' | 'virtio-non-transitional' | 'xen' | 'none';
  readonly autodeflate?: boolean;
  readonly freePageReporting?: boolean;
  readonly statsPeriod?: number;
  readonly extra: readonly XmlElement[];
}

export interface QemuCommandline {
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value?: string }[];
}

export const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';

export function assertNever(x: never, what = 'value'): never {
  throw new Error(`internal: unexpected ${what}: ${JSON.stringify(x)}`);
}

/** A mutable view of an IR type, for builders that assemble a domain piece by piece. */
export type Draft<T> = { -readonly [K in keyof T]: T[K] };
