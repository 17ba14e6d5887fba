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
  /** <maxMemory slots>: the hotplug ceiling, KiB */
  readonly maxMemory?: { readonly size: number; readonly slots?: number };
  /** KiB */
  readonly memory: number;
  /** KiB */
  readonly currentMemory?: number;
  readonly vcpu: Vcpu;
  /** <iothreads>: how many I/O threads (iothread1…N) devices may be pinned to */
  readonly iothreads?: number;
  readonly os: Os;
  readonly features: readonly Feature[];
  readonly cpu?: Cpu;
  readonly clock: Clock;
  readonly onPoweroff?: LifecycleAction;
  readonly onReboot?: LifecycleAction;
  readonly onCrash?: LifecycleAction;
  /** <pm>: whether the guest may suspend to RAM (S3) / disk (S4); unset keeps QEMU's default. */
  readonly pm?: { readonly suspendToMem?: boolean; readonly suspendToDisk?: boolean };
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
  readonly loader?: { readonly path: string; readonly readonly?: boolean; readonly type?: 'rom' | 'pflash'; readonly secure?: boolean; readonly stateless?: boolean };
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
  /** <numa><cell>: guest NUMA nodes (memory in KiB) */
  readonly numa?: readonly NumaCell[];
  readonly extra: readonly XmlElement[];
}

export interface NumaCell {
  readonly id: number;
  readonly cpus?: string;
  readonly memory: number;
  readonly memAccess?: 'shared' | 'private';
  readonly discard?: boolean;
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
  /** Source types libvirt resolves on the host (storage pools, NVMe, vhost-user): kept as written. */
  | { readonly type: 'volume' | 'nvme' | 'vhostuser'; readonly element?: XmlElement }
  | {
      readonly type: 'network';
      readonly protocol: 'nbd' | 'iscsi' | 'rbd' | 'gluster' | 'sheepdog' | 'http' | 'https' | 'ftp' | 'ftps' | 'tftp' | 'ssh' | 'vxhs' | 'nfs';
      readonly name?: string;
      readonly hosts: readonly { readonly name?: string; readonly port?: number; readonly transport?: 'tcp' | 'unix' | 'rdma'; readonly socket?: string }[];
      /** rbd: <snapshot name>, <config file> */
      readonly snapshot?: string;
      readonly config?: string;
      /** <auth> inside <source> (rbd; libvirt's preferred place) */
      readonly auth?: DiskAuth;
    };

/** <auth username><secret type usage|uuid/></auth> of a network disk. */
export interface DiskAuth {
  readonly username: string;
  readonly secretType?: 'iscsi' | 'ceph';
  readonly secretUsage?: string;
  readonly secretUuid?: string;
}

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
    readonly rerrorPolicy?: string;
    readonly queues?: number;
    readonly queueSize?: number;
    readonly iothread?: number;
    /** virtio transport options: iommu_platform, ats, packed ring */
    readonly iommu?: boolean;
    readonly ats?: boolean;
    readonly packed?: boolean;
  };
  /** <auth> written before <source> (iscsi, as libvirt's parser placed it) */
  readonly auth?: DiskAuth;
  readonly target: { readonly dev: string; readonly bus?: DiskBus; readonly tray?: 'open' | 'closed'; readonly rotationRate?: number };
  readonly blockio?: { readonly logical?: number; readonly physical?: number; readonly discardGranularity?: number };
  readonly geometry?: { readonly cyls: number; readonly heads: number; readonly secs: number; readonly trans?: string };
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
  /** pci controllers: <model name=…/> and <target …/> (chassis/port are filled in at define time) */
  readonly pci?: PciControllerOpts;
  /** <driver>: virtio-scsi/virtio-serial tuning and virtio transport options */
  readonly driver?: VirtioDriverOpts;
  readonly extra: readonly XmlElement[];
}

export interface VirtioDriverOpts {
  readonly queues?: number;
  readonly cmdPerLun?: number;
  readonly maxSectors?: number;
  readonly ioeventfd?: boolean;
  readonly iothread?: number;
  readonly iommu?: boolean;
  readonly ats?: boolean;
  readonly packed?: boolean;
}

export interface PciControllerOpts {
  readonly modelName?: string;
  readonly chassisNr?: number;
  readonly chassis?: number;
  readonly port?: number;
  readonly busNr?: number;
  readonly hotplug?: boolean;
}

export type NetType = 'user' | 'network' | 'bridge' | 'ethernet' | 'direct' | 'vhostuser' | 'server' | 'client' | 'mcast' | 'udp' | 'hostdev' | 'vdpa' | 'null' | 'vds';

/** <interface><source>: which attributes apply depends on the interface type. */
export interface NetSource {
  /** type='network' */
  readonly network?: string;
  readonly portgroup?: string;
  /** type='bridge' (and the bridge a network resolved to) */
  readonly bridge?: string;
  /** type='direct': host NIC; type='user' with passt: host interface; type='vdpa': device node */
  readonly dev?: string;
  /** direct: vepa|bridge|private|passthrough; vhostuser: server|client */
  readonly mode?: string;
  /** vhostuser: the socket type ('unix') and path */
  readonly type?: string;
  readonly path?: string;
  /** server/client/mcast/udp */
  readonly address?: string;
  readonly port?: number;
  /** udp: the local end */
  readonly local?: { readonly address: string; readonly port: number };
  /** vhostuser client: <reconnect enabled timeout> */
  readonly reconnect?: { readonly enabled: boolean; readonly timeout?: number };
  /** Children not modelled (a hostdev interface's <address>), kept verbatim. */
  readonly extra: readonly XmlElement[];
}

/** <driver> of a NIC: the backend (vhost or QEMU) and virtio-net tuning. */
export interface NetDriver {
  readonly name?: 'qemu' | 'vhost' | 'kvm' | 'vfio' | 'xen';
  readonly txmode?: 'iothread' | 'timer';
  readonly ioeventfd?: boolean;
  readonly eventIdx?: boolean;
  readonly queues?: number;
  readonly rxQueueSize?: number;
  readonly txQueueSize?: number;
  readonly rss?: boolean;
  readonly rssHashReport?: boolean;
  readonly iommu?: boolean;
  readonly ats?: boolean;
  readonly packed?: boolean;
  readonly pagePerVq?: boolean;
  /** <host csum gso tso4 tso6 ecn ufo mrg_rxbuf> offloads, in libvirt's attribute order */
  readonly host?: Readonly<Record<string, boolean>>;
  /** <guest csum tso4 tso6 ecn ufo> offloads */
  readonly guest?: Readonly<Record<string, boolean>>;
}

export interface NetInterface extends DeviceCommon {
  readonly type: NetType;
  readonly mac?: string;
  readonly source?: NetSource;
  /** type='user': guest-side addresses (<ip address family prefix>) */
  readonly ips: readonly { readonly address: string; readonly family?: 'ipv4' | 'ipv6'; readonly prefix?: number }[];
  readonly script?: string;
  readonly downscript?: string;
  /** <target dev managed>: the host-side tap name */
  readonly targetDev?: string;
  readonly targetManaged?: boolean;
  readonly model?: string;
  readonly driver?: NetDriver;
  /** <backend type tap vhost logFile> */
  readonly backend?: { readonly type?: 'default' | 'passt'; readonly tap?: string; readonly vhost?: string; readonly logFile?: string };
  /** <tune><sndbuf> */
  readonly sndbuf?: number;
  readonly linkState?: 'up' | 'down';
  readonly mtu?: number;
  readonly rom?: { readonly bar?: boolean; readonly file?: string; readonly enabled?: boolean };
  readonly acpiIndex?: number;
  readonly extra: readonly XmlElement[];
}

/** <reconnect enabled timeout> inside a tcp/unix <source>: a client that reconnects after a drop. */
export interface ChardevReconnect {
  readonly enabled: boolean;
  /** seconds */
  readonly timeout?: number;
}

export type ChardevSource =
  | { readonly type: 'null' | 'vc' | 'pty' | 'stdio' | 'spicevmc' }
  | { readonly type: 'file' | 'dev' | 'pipe'; readonly path: string; readonly append?: boolean }
  | {
      readonly type: 'tcp';
      readonly mode: 'bind' | 'connect';
      readonly host?: string;
      readonly service?: string;
      /** <source tls='yes|no'>; absent: qemu.conf's chardev_tls decides */
      readonly tls?: boolean;
      readonly reconnect?: ChardevReconnect;
      /** <protocol type>; libvirt writes raw when absent */
      readonly protocol?: 'raw' | 'telnet' | 'telnets' | 'tls';
    }
  | { readonly type: 'udp'; readonly host?: string; readonly service?: string; readonly bindHost?: string; readonly bindService?: string }
  | { readonly type: 'unix'; readonly mode: 'bind' | 'connect'; readonly path?: string; readonly reconnect?: ChardevReconnect }
  | { readonly type: 'spiceport' | 'dbus'; readonly channel: string }
  | { readonly type: 'qemu-vdagent'; readonly clipboard?: boolean; readonly mouse?: 'client' | 'server' }
  /** bhyve's null-modem pair; QEMU has no backend for it */
  | { readonly type: 'nmdm'; readonly master: string; readonly slave: string };

export interface Chardev extends DeviceCommon {
  readonly source: ChardevSource;
  /** <log file append>: QEMU copies the guest's output there too */
  readonly log?: { readonly file: string; readonly append?: boolean };
  /** <target type=…> (serial: isa-serial/usb-serial/pci-serial/isa-debug…, console: serial/virtio…, channel: virtio/guestfwd) */
  readonly targetType?: string;
  /** guestfwd: the guest-side IP address */
  readonly targetAddress?: string;
  /** serial/parallel/console: the port number; guestfwd: the guest-side TCP port */
  readonly targetPort?: number;
  /** virtio channel name (org.qemu.guest_agent.0, com.redhat.spice.0, …) */
  readonly targetName?: string;
  readonly targetModel?: string;
  readonly extra: readonly XmlElement[];
}

export interface Input extends DeviceCommon {
  readonly type: 'mouse' | 'keyboard' | 'tablet' | 'passthrough' | 'evdev';
  readonly bus?: 'ps2' | 'usb' | 'virtio' | 'xen' | 'none';
  readonly model?: 'virtio' | 'virtio-transitional' | 'virtio-non-transitional';
  /** <source evdev=…> (passthrough, evdev) with evdev's grab/repeat/grabToggle */
  readonly source?: { readonly evdev?: string; readonly dev?: string; readonly grab?: 'all'; readonly repeat?: boolean; readonly grabToggle?: string };
  readonly extra: readonly XmlElement[];
}

export interface GraphicsListen {
  readonly type: 'address' | 'network' | 'socket' | 'none';
  readonly address?: string;
  readonly network?: string;
  readonly socket?: string;
}

/** <gl enable=… rendernode=…> (sdl, spice, egl-headless, dbus) */
export interface GraphicsGl {
  readonly enable?: boolean;
  readonly rendernode?: string;
}

/** The password attributes vnc and spice share. */
export interface GraphicsAuth {
  readonly passwd?: string;
  readonly passwdValidTo?: string;
  readonly connected?: 'keep' | 'disconnect' | 'fail';
}

export const SPICE_CHANNELS = ['main', 'display', 'inputs', 'cursor', 'playback', 'record', 'smartcard', 'usbredir'] as const;
export type SpiceChannelName = (typeof SPICE_CHANNELS)[number];
export type SpiceMode = 'secure' | 'insecure' | 'any';

export type Graphics =
  | ({
      readonly type: 'vnc';
      readonly port?: number;
      readonly autoport?: boolean;
      readonly websocket?: number;
      readonly keymap?: string;
      readonly sharePolicy?: 'allow-exclusive' | 'force-shared' | 'ignore';
      readonly powerControl?: boolean;
      readonly listens: readonly GraphicsListen[];
      readonly audioId?: number;
      readonly extra: readonly XmlElement[];
    } & GraphicsAuth & Spanned)
  | ({ readonly type: 'sdl'; readonly display?: string; readonly xauth?: string; readonly fullscreen?: boolean; readonly gl?: GraphicsGl; readonly extra: readonly XmlElement[] } & Spanned)
  | ({
      readonly type: 'spice';
      readonly port?: number;
      readonly tlsPort?: number;
      readonly autoport?: boolean;
      readonly keymap?: string;
      readonly defaultMode?: SpiceMode;
      readonly listens: readonly GraphicsListen[];
      /** <channel name mode>, in libvirt's channel order */
      readonly channels: readonly { readonly name: SpiceChannelName; readonly mode: SpiceMode }[];
      readonly image?: string;
      readonly jpeg?: string;
      readonly zlib?: string;
      readonly playback?: boolean;
      readonly streaming?: string;
      readonly copypaste?: boolean;
      readonly mouse?: 'server' | 'client';
      readonly filetransfer?: boolean;
      readonly gl?: GraphicsGl;
      readonly extra: readonly XmlElement[];
    } & GraphicsAuth & Spanned)
  | ({ readonly type: 'egl-headless'; readonly gl?: GraphicsGl; readonly extra: readonly XmlElement[] } & Spanned)
  | ({ readonly type: 'dbus' | 'rdp' | 'desktop'; readonly attrs: Readonly<Record<string, string>>; readonly extra: readonly XmlElement[] } & Spanned);

export type VideoModel = 'default' | 'vga' | 'cirrus' | 'vmvga' | 'xen' | 'vbox' | 'qxl' | 'parallels' | 'virtio' | 'gop' | 'none' | 'bochs' | 'ramfb';

export interface Video extends DeviceCommon {
  readonly model: VideoModel;
  /** KiB */
  readonly vram?: number;
  readonly ram?: number;
  readonly vgamem?: number;
  readonly vram64?: number;
  readonly heads?: number;
  readonly primary?: boolean;
  readonly accel3d?: boolean;
  readonly accel2d?: boolean;
  readonly rendernode?: string;
  readonly resolution?: { readonly x: number; readonly y: number };
  /** <driver …> attributes (iommu, ats, packed, name=vhostuser…) */
  readonly driver?: Readonly<Record<string, string>>;
  /** <acpi index=…>: the slot's ACPI index, for stable guest NIC/GPU names */
  readonly acpiIndex?: number;
  readonly extra: readonly XmlElement[];
}

export type SoundModel = 'sb16' | 'es1370' | 'pcspk' | 'ac97' | 'ich6' | 'ich9' | 'usb' | 'ich7' | 'virtio';

export interface Sound extends DeviceCommon {
  readonly model: SoundModel;
  readonly codecs: readonly ('duplex' | 'micro' | 'output')[];
  readonly audioId?: number;
  readonly extra: readonly XmlElement[];
}

export type AudioType = 'none' | 'alsa' | 'coreaudio' | 'jack' | 'oss' | 'pulseaudio' | 'sdl' | 'spice' | 'file' | 'dbus' | 'pipewire';

/** <input>/<output> of an <audio>: attributes as libvirt names them, in its order. */
export interface AudioStream {
  readonly mixingEngine?: boolean;
  readonly fixedSettings?: boolean;
  readonly voices?: number;
  readonly bufferLength?: number;
  readonly settings?: { readonly frequency?: number; readonly channels?: number; readonly format?: string };
  /** backend-specific attributes (dev, bufferCount, tryPoll, serverName, …), as written */
  readonly backend: Readonly<Record<string, string>>;
}

export interface Audio extends Spanned {
  readonly id: number;
  readonly type: AudioType;
  readonly timerPeriod?: number;
  /** backend attributes on <audio> itself (driver, tryMMap, exclusive, dspPolicy, path, serverName…) */
  readonly attrs: Readonly<Record<string, string>>;
  readonly input?: AudioStream;
  readonly output?: AudioStream;
  readonly extra: readonly XmlElement[];
}

export interface Memballoon extends DeviceCommon {
  readonly model: 'virtio' | 'virtio-transitional' | 'virtio-non-transitional' | 'xen' | 'none';
  readonly driver?: VirtioDriverOpts;
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
