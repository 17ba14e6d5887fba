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
  /** <genid>: the VM generation ID (a GUID) Windows guests read through the vmgenid device */
  readonly genid?: string;
  readonly title?: string;
  readonly description?: string;
  /** <metadata>: applications' own elements (virt-install's libosinfo os id), kept verbatim. */
  readonly metadata?: XmlElement;
  /** <maxMemory slots>: the hotplug ceiling, KiB */
  readonly maxMemory?: { readonly size: number; readonly slots?: number };
  /** KiB */
  readonly memory: number;
  /** <memory dumpCore>: guest RAM in the QEMU process's core dumps (absent: qemu.conf's dump_guest_core) */
  readonly dumpCore?: boolean;
  /** KiB */
  readonly currentMemory?: number;
  readonly memoryBacking?: MemoryBacking;
  readonly vcpu: Vcpu;
  /** <iothreads>: how many I/O threads (iothread1…N) devices may be pinned to */
  readonly iothreads?: number;
  readonly numatune?: Numatune;
  /** <sysinfo>: SMBIOS tables (used with <os><smbios mode='sysinfo'/>) and fw_cfg entries */
  readonly sysinfo?: readonly Sysinfo[];
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
  /** <qemu:capabilities>: QEMU capability flags forced on (add) or off (del) by hand */
  readonly qemuCapabilities?: { readonly add: readonly string[]; readonly del: readonly string[] };
  /** <qemu:override>: -device properties changed or removed behind libvirt's back */
  readonly qemuOverrides?: readonly QemuDeviceOverride[];
  /** <qemu:deprecation behavior>: what QEMU does with deprecated interfaces (-compat) */
  readonly qemuDeprecation?: QemuDeprecation;
  /** Top-level elements not modelled yet, kept verbatim. */
  readonly extra: readonly XmlElement[];
}

/** <memoryBacking>: where guest RAM comes from and how it is allocated. */
export interface MemoryBacking extends Spanned {
  /** <hugepages>: present = huge pages; each <page size nodeset> (no pages: the default size for all) */
  readonly hugepages?: readonly HugePage[];
  readonly nosharepages?: boolean;
  readonly locked?: boolean;
  readonly source?: 'file' | 'anonymous' | 'memfd';
  readonly access?: MemAccess;
  readonly allocation?: { readonly mode?: 'immediate' | 'ondemand'; readonly threads?: number };
  readonly discard?: boolean;
}

export type MemAccess = 'shared' | 'private';

export interface HugePage {
  /** KiB; absent: the host's default huge page size */
  readonly size?: number;
  /** guest NUMA nodes these pages back, as written ("0,2-3"); absent: all */
  readonly nodeset?: string;
}

export type NumatuneMode = 'strict' | 'preferred' | 'interleave' | 'restrictive';

/** <numatune>: host NUMA binding of guest RAM, for all of it and per guest node (<memnode>). */
export interface Numatune extends Spanned {
  readonly memory?: { readonly mode?: NumatuneMode; readonly nodeset?: string; readonly placement?: 'static' | 'auto' };
  readonly memnodes: readonly { readonly cellid: number; readonly mode?: NumatuneMode; readonly nodeset: string }[];
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
  /** <os firmware>: libvirt picks the firmware from QEMU's descriptor files when the guest starts */
  readonly firmware?: 'bios' | 'efi';
  /** <firmware><feature enabled name/>: what an autoselected firmware must have (true) or lack (false) */
  readonly firmwareFeatures?: { readonly secureBoot?: boolean; readonly enrolledKeys?: boolean };
  readonly loader?: { readonly path: string; readonly readonly?: boolean; readonly type?: 'rom' | 'pflash'; readonly secure?: boolean; readonly stateless?: boolean };
  /** the variable store: a file, or (type='network') a network image */
  readonly nvram?: { readonly path?: string; readonly template?: string; readonly source?: Extract<DiskSource, { type: 'network' }> };
  readonly kernel?: string;
  readonly initrd?: string;
  readonly cmdline?: string;
  readonly dtb?: string;
  readonly boot: readonly BootDevice[];
  readonly bootmenu?: { readonly enable: boolean; readonly timeout?: number };
  readonly bios?: { readonly useserial?: boolean; readonly rebootTimeout?: number };
  /** <smbios mode>: the guest's SMBIOS tables: QEMU's own (emulate), the host's, or <sysinfo>'s */
  readonly smbios?: 'emulate' | 'host' | 'sysinfo';
  readonly extra: readonly XmlElement[];
}

/** One <entry name>value</entry> of an SMBIOS table. */
export interface SysinfoEntry {
  readonly name: string;
  readonly value: string;
}

export type Sysinfo =
  | ({
      readonly type: 'smbios';
      readonly bios: readonly SysinfoEntry[];
      readonly system: readonly SysinfoEntry[];
      readonly baseBoards: readonly (readonly SysinfoEntry[])[];
      readonly chassis: readonly SysinfoEntry[];
      readonly oemStrings: readonly string[];
    } & Spanned)
  | ({
      readonly type: 'fwcfg';
      /** opt/… names, each with a value or the file QEMU reads it from */
      readonly entries: readonly { readonly name: string; readonly value?: string; readonly file?: string }[];
    } & Spanned);

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
  /** <cpu migratable>: host-passthrough/maximum without (off) or with (on) features that block migration */
  readonly migratable?: boolean;
  readonly topology?: { readonly sockets: number; readonly dies?: number; readonly cores: number; readonly threads: number };
  /** <cache level mode>: the CPU cache the guest sees: emulated (an L3 of QEMU's), the host's, or none */
  readonly cache?: { readonly level?: number; readonly mode: 'emulate' | 'passthrough' | 'disable' };
  /** <maxphysaddr mode bits>: the guest's physical address width, the host's or a number of bits */
  readonly maxphysaddr?: { readonly mode: 'passthrough' | 'emulate'; readonly bits?: number };
  readonly features: readonly { readonly policy: 'force' | 'require' | 'optional' | 'disable' | 'forbid'; readonly name: string }[];
  /** <numa><cell>: guest NUMA nodes (memory in KiB) */
  readonly numa?: readonly NumaCell[];
  /** <numa><interconnects>: the latencies and bandwidths between nodes (ACPI HMAT), in document order */
  readonly interconnects?: readonly NumaInterconnect[];
  readonly extra: readonly XmlElement[];
}

export interface NumaCell {
  readonly id: number;
  readonly cpus?: string;
  readonly memory: number;
  readonly memAccess?: MemAccess;
  readonly discard?: boolean;
  /** <distances><sibling id value>: the ACPI SLIT distance to each node */
  readonly distances?: readonly { readonly id: number; readonly value: number }[];
  /** <cache>: the node's memory-side caches (ACPI HMAT) */
  readonly caches?: readonly NumaCache[];
}

/** <cell><cache level associativity policy><size/><line/>: a memory-side cache of a guest NUMA node. */
export interface NumaCache extends Spanned {
  readonly level: number;
  readonly associativity: 'none' | 'direct' | 'full';
  readonly policy: 'none' | 'writeback' | 'writethrough';
  /** KiB */
  readonly size: number;
  /** bytes */
  readonly line: number;
}

/** <interconnects><latency|bandwidth initiator target cache type value>: one HMAT entry. */
export interface NumaInterconnect extends Spanned {
  readonly kind: 'latency' | 'bandwidth';
  readonly initiator: number;
  readonly target: number;
  /** the level of the target's cache this is about; absent: its memory */
  readonly cache?: number;
  readonly type: 'access' | 'read' | 'write';
  /** latency: nanoseconds; bandwidth: KiB per second */
  readonly value: number;
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
  /** <catchup threshold slew limit>: Xen's tick catch-up tuning (libvirt's QEMU driver uses none of it) */
  readonly catchup?: { readonly threshold?: number; readonly slew?: number; readonly limit?: number };
}

// --- devices -------------------------------------------------------------------------------

export interface Devices {
  readonly emulator?: string;
  readonly disks: readonly Disk[];
  readonly controllers: readonly Controller[];
  readonly filesystems: readonly Filesystem[];
  readonly interfaces: readonly NetInterface[];
  readonly smartcards: readonly Smartcard[];
  readonly serials: readonly Chardev[];
  readonly parallels: readonly Chardev[];
  readonly consoles: readonly Chardev[];
  readonly channels: readonly Chardev[];
  readonly inputs: readonly Input[];
  readonly tpms: readonly Tpm[];
  readonly graphics: readonly Graphics[];
  readonly sounds: readonly Sound[];
  readonly audios: readonly Audio[];
  readonly videos: readonly Video[];
  readonly hostdevs: readonly Hostdev[];
  readonly redirdevs: readonly Redirdev[];
  readonly redirfilter?: readonly RedirFilterRule[];
  readonly hubs: readonly Hub[];
  readonly watchdogs: readonly Watchdog[];
  readonly memballoon?: Memballoon;
  readonly rngs: readonly Rng[];
  readonly panics: readonly Panic[];
  readonly shmems: readonly Shmem[];
  /** <memory model=…>: hotpluggable RAM and persistent memory */
  readonly memories: readonly MemoryDevice[];
  readonly iommu?: Iommu;
  readonly vsock?: Vsock;
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
  /** a memory module's DIMM slot and guest-physical base address */
  | { readonly type: 'dimm'; readonly slot?: number; readonly base?: number }
  /** An address type the IR does not model in detail: attributes kept as written. */
  | { readonly type: 'other'; readonly attrs: Readonly<Record<string, string>> };

export interface DeviceCommon extends Spanned {
  readonly alias?: string;
  readonly address?: Address;
  readonly bootOrder?: number;
  /** <boot loadparm>: s390's boot menu entry (QEMU's s390-ccw machine takes it; no other) */
  readonly bootLoadparm?: string;
  /** <acpi index>: a PCI device's ACPI index (-device acpi-index=), for stable guest device names */
  readonly acpiIndex?: number;
}

export type DiskSource =
  /** fdgroup: the image is a file descriptor group handed to libvirt at run time (virDomainFDAssociate) */
  | { readonly type: 'file'; readonly file?: string; readonly fdgroup?: string }
  | { readonly type: 'block'; readonly dev?: string; readonly fdgroup?: string }
  | { readonly type: 'dir'; readonly dir?: string; readonly fdgroup?: string }
  /** Source types libvirt resolves on the host (storage pools, NVMe, vhost-user): kept as written. */
  | { readonly type: 'volume' | 'nvme' | 'vhostuser'; readonly element?: XmlElement }
  | {
      readonly type: 'network';
      readonly protocol: 'nbd' | 'iscsi' | 'rbd' | 'gluster' | 'sheepdog' | 'http' | 'https' | 'ftp' | 'ftps' | 'tftp' | 'ssh' | 'vxhs' | 'nfs';
      readonly name?: string;
      readonly hosts: readonly { readonly name?: string; readonly port?: number; readonly transport?: 'tcp' | 'unix' | 'rdma'; readonly socket?: string }[];
      /** http(s): the URL's query string */
      readonly query?: string;
      /** nbd: tls='yes|no' (TLS with qemu.conf's nbd_tls_x509 certificates) */
      readonly tls?: boolean;
      /** rbd: <snapshot name>, <config file> */
      readonly snapshot?: string;
      readonly config?: string;
      /** iscsi: <initiator><iqn name> */
      readonly initiator?: string;
      /** http(s)/ftp(s): <ssl verify>, <cookies>, <readahead size>, <timeout seconds> */
      readonly sslVerify?: boolean;
      readonly cookies?: readonly { readonly name: string; readonly value: string }[];
      readonly readahead?: number;
      readonly timeout?: number;
      /** <auth> inside <source> (rbd; libvirt's preferred place) */
      readonly auth?: DiskAuth;
      /** nfs: <identity user group> ('+N' is a numeric id) */
      readonly identity?: { readonly user?: string; readonly group?: string };
    };

/** <encryption format><secret type='passphrase' uuid|usage/></encryption>: a LUKS passphrase. */
export interface DiskEncryption {
  readonly format: 'luks' | 'luks2' | 'qcow' | 'default';
  /** engine='qemu' (QEMU decrypts) or 'librbd' */
  readonly engine?: 'qemu' | 'librbd';
  readonly secretUuid?: string;
  readonly secretUsage?: string;
  /** written inside <source> (libvirt's current place) rather than on the <disk> */
  readonly inSource?: boolean;
}

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
    readonly pagePerVq?: boolean;
    /** virtio-blk ioeventfd / event_idx; copy_on_read puts a copy-on-read filter over the image */
    readonly ioeventfd?: boolean;
    readonly eventIdx?: boolean;
    readonly copyOnRead?: boolean;
  };
  /** <disk model>: which virtio-blk (vhost-user-blk) interfaces the device offers (bus='virtio') */
  readonly model?: VirtioModel;
  /** <source startupPolicy>: what libvirt does when the image is missing as the guest starts */
  readonly startupPolicy?: 'mandatory' | 'requisite' | 'optional';
  /** <disk rawio sgio> (device='lun') */
  readonly rawio?: boolean;
  readonly sgio?: 'filtered' | 'unfiltered';
  /** <source><slices><slice type='storage'>: the part of the image the guest sees */
  readonly slice?: DiskSlice;
  /** <source><reservations>: SCSI persistent reservations through qemu-pr-helper */
  readonly reservations?: DiskReservations;
  /** <backingStore>: the image this one is an overlay of; null: <backingStore/>, none */
  readonly backingStore?: DiskBackingStore | null;
  /** <auth> written before <source> (iscsi, as libvirt's parser placed it) */
  readonly auth?: DiskAuth;
  /** <encryption>: the image is LUKS-encrypted; its passphrase is a libvirt secret */
  readonly encryption?: DiskEncryption;
  readonly target: { readonly dev: string; readonly bus?: DiskBus; readonly tray?: 'open' | 'closed'; readonly removable?: boolean; readonly rotationRate?: number };
  readonly blockio?: { readonly logical?: number; readonly physical?: number; readonly discardGranularity?: number };
  readonly geometry?: { readonly cyls: number; readonly heads: number; readonly secs: number; readonly trans?: string };
  readonly readonly?: boolean;
  readonly shareable?: boolean;
  readonly serial?: string;
  readonly wwn?: string;
  readonly vendor?: string;
  readonly product?: string;
  readonly snapshot?: string;
  readonly extra: readonly XmlElement[];
}

/** <slice type='storage' offset size>: a byte range of the storage. */
export interface DiskSlice {
  readonly offset: number;
  readonly size: number;
}

/** <reservations managed>: libvirt's own pr-helper, or one listening on a given socket. */
export interface DiskReservations {
  readonly managed: boolean;
  readonly path?: string;
  readonly mode?: 'client' | 'server';
}

/** One image down a disk's backing chain: its own source, format, slice and encryption. */
export interface DiskBackingStore {
  readonly source: DiskSource;
  readonly format?: string;
  readonly slice?: DiskSlice;
  readonly encryption?: DiskEncryption;
  readonly index?: number;
  readonly backingStore?: DiskBackingStore | null;
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

/** The transport options every virtio device's <driver> takes (virDomainVirtioOptions). */
export interface VirtioOptions {
  readonly iommu?: boolean;
  readonly ats?: boolean;
  readonly packed?: boolean;
  readonly pagePerVq?: boolean;
}

export interface VirtioDriverOpts extends VirtioOptions {
  readonly queues?: number;
  readonly cmdPerLun?: number;
  readonly maxSectors?: number;
  readonly ioeventfd?: boolean;
  readonly iothread?: number;
}

export interface PciControllerOpts {
  readonly modelName?: string;
  readonly chassisNr?: number;
  readonly chassis?: number;
  readonly port?: number;
  readonly busNr?: number;
  /** <target index>: a pSeries PHB's index (spapr-pci-host-bridge) */
  readonly targetIndex?: number;
  readonly hotplug?: boolean;
  /** <target><node>: the guest NUMA node of a PCI(e) expander bus */
  readonly numaNode?: number;
  /** <pcihole64>: the root bus's 64-bit PCI hole, KiB */
  readonly pcihole64?: number;
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
  /** <mac type check>: ESX's MAC address policy (generated/static, range check), no QEMU effect */
  readonly macType?: 'generated' | 'static';
  readonly macCheck?: boolean;
  /** <interface trustGuestRxFilters>: libvirt follows the guest's RX filter changes on the host tap (no argv) */
  readonly trustGuestRxFilters?: boolean;
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

export type WatchdogModel = 'i6300esb' | 'ib700' | 'diag288' | 'itco';
export type WatchdogAction = 'reset' | 'shutdown' | 'poweroff' | 'pause' | 'none' | 'dump' | 'inject-nmi';

/** <watchdog model action>: a hardware watchdog and what QEMU does when it fires. */
export interface Watchdog extends DeviceCommon {
  readonly model: WatchdogModel;
  /** absent: libvirt's default, reset */
  readonly action?: WatchdogAction;
  readonly extra: readonly XmlElement[];
}

export type PanicModel = 'isa' | 'pseries' | 'hyperv' | 's390' | 'pvpanic';

/** <panic model>: how the guest reports a crash (pvpanic ISA/PCI device, Hyper-V crash MSRs…). */
export interface Panic extends DeviceCommon {
  /** absent: the architecture's default (isa on x86) */
  readonly model?: PanicModel;
  readonly extra: readonly XmlElement[];
}

export const SHMEM_MODELS = ['ivshmem', 'ivshmem-plain', 'ivshmem-doorbell'] as const;
export type ShmemModel = (typeof SHMEM_MODELS)[number];

/** <shmem name role>: memory shared with other guests or the host (ivshmem). */
export interface Shmem extends DeviceCommon {
  /** the shared memory's name: /dev/shm/NAME, or the default server socket's */
  readonly name: string;
  readonly role?: 'master' | 'peer';
  /** <model type>: absent is libvirt's default, the legacy ivshmem */
  readonly model?: ShmemModel;
  /** <size>, in bytes (libvirt gives a memory-backed one 4 MiB) */
  readonly size?: number;
  /** <server path>: an ivshmem server provides the memory and interrupts (path absent: libvirt's default) */
  readonly server?: { readonly path?: string };
  /** <msi vectors ioeventfd> */
  readonly msi?: { readonly vectors?: number; readonly ioeventfd?: boolean };
  readonly extra: readonly XmlElement[];
}

/** <iommu model><driver intremap caching_mode eim iotlb aw_bits/></iommu> */
export interface Iommu extends DeviceCommon {
  readonly model: 'intel' | 'smmuv3' | 'virtio';
  readonly driver?: {
    readonly intremap?: boolean;
    readonly cachingMode?: boolean;
    readonly eim?: boolean;
    readonly iotlb?: boolean;
    readonly awBits?: number;
  };
  readonly extra: readonly XmlElement[];
}

/** <hostdev mode='subsystem'><source>: which host device. iscsi is type='scsi' protocol='iscsi' in XML. */
export type HostdevSource =
  | { readonly type: 'pci'; readonly domain: number; readonly bus: number; readonly slot: number; readonly function: number; readonly writeFiltering?: boolean }
  | {
      readonly type: 'usb';
      readonly vendor?: number;
      readonly product?: number;
      readonly bus?: number;
      readonly device?: number;
      readonly startupPolicy?: 'mandatory' | 'requisite' | 'optional';
      readonly guestReset?: 'off' | 'uninitialized' | 'on';
    }
  | { readonly type: 'scsi'; readonly adapter: string; readonly bus: number; readonly target: number; readonly unit: number }
  | {
      readonly type: 'iscsi';
      readonly name: string;
      readonly hosts: readonly { readonly name?: string; readonly port?: number }[];
      readonly auth?: DiskAuth;
      readonly initiatorIqn?: string;
    }
  | { readonly type: 'scsi_host'; readonly wwpn: string }
  | { readonly type: 'mdev'; readonly uuid: string };

export interface Hostdev extends DeviceCommon {
  readonly managed?: boolean;
  /** scsi: SG_IO filtering and raw I/O */
  readonly sgio?: 'filtered' | 'unfiltered';
  readonly rawio?: boolean;
  /** mdev: vfio-pci|vfio-ccw|vfio-ap; scsi_host: virtio|virtio-transitional|virtio-non-transitional */
  readonly model?: string;
  /** mdev vfio-pci: a display for the guest (display=on) and a boot display (ramfb) */
  readonly display?: boolean;
  readonly ramfb?: boolean;
  /** <driver name='vfio|kvm|xen'/> (pci) */
  readonly driverName?: string;
  readonly source: HostdevSource;
  readonly readonly?: boolean;
  readonly shareable?: boolean;
  readonly rom?: { readonly bar?: boolean; readonly file?: string; readonly enabled?: boolean };
  readonly extra: readonly XmlElement[];
}

/** <redirdev bus='usb' type=…>: a USB device redirected over a chardev (usbredir protocol). */
export interface Redirdev extends DeviceCommon {
  readonly source: ChardevSource;
  readonly extra: readonly XmlElement[];
}

/** One <redirfilter><usbdev class vendor product version allow/> rule; absent fields match any. */
export interface RedirFilterRule {
  readonly usbClass?: number;
  readonly vendor?: number;
  readonly product?: number;
  /** BCD, as QEMU's filter takes it: "2.56" is 0x0256 */
  readonly version?: number;
  readonly allow: boolean;
}

/** <smartcard>: a CCID card on a usb-ccid controller. */
export type Smartcard =
  | ({ readonly mode: 'host'; readonly extra: readonly XmlElement[] } & DeviceCommon)
  | ({ readonly mode: 'host-certificates'; readonly certificates: readonly string[]; readonly database?: string; readonly extra: readonly XmlElement[] } & DeviceCommon)
  | ({ readonly mode: 'passthrough'; readonly source: ChardevSource; readonly extra: readonly XmlElement[] } & DeviceCommon);

/** <hub type='usb'>: a USB hub, adding 8 ports. */
export interface Hub extends DeviceCommon {
  readonly type: 'usb';
  readonly extra: readonly XmlElement[];
}

export type MemoryModel = 'dimm' | 'nvdimm' | 'virtio-pmem' | 'virtio-mem';

export interface MemoryDevice extends DeviceCommon {
  readonly model: MemoryModel;
  readonly access?: MemAccess;
  readonly discard?: boolean;
  /** <uuid>: an nvdimm's identity (pSeries guests) */
  readonly uuid?: string;
  /** <source>: host nodes and page size (dimm, virtio-mem), or the backing file (nvdimm, virtio-pmem) */
  readonly source?: {
    readonly nodemask?: string;
    /** KiB */
    readonly pagesize?: number;
    readonly path?: string;
    /** KiB */
    readonly alignsize?: number;
    readonly pmem?: boolean;
  };
  /** <target>: sizes in KiB */
  readonly target: {
    readonly size: number;
    readonly node?: number;
    readonly label?: number;
    readonly readonly?: boolean;
    readonly block?: number;
    readonly requested?: number;
  };
  readonly extra: readonly XmlElement[];
}

export type VirtioModel = 'virtio' | 'virtio-transitional' | 'virtio-non-transitional';

export type FilesystemType = 'mount' | 'block' | 'file' | 'template' | 'ram' | 'bind' | 'volume';
export type FilesystemDriverType = 'path' | 'handle' | 'loop' | 'nbd' | 'ploop' | 'virtiofs';

/** <binary> of a virtiofs filesystem: how libvirt runs virtiofsd (nothing of it is on QEMU's line). */
export interface VirtiofsBinary {
  readonly path?: string;
  readonly xattr?: boolean;
  readonly cache?: 'none' | 'always' | 'auto';
  readonly sandbox?: 'namespace' | 'chroot';
  readonly lock?: { readonly posix?: boolean; readonly flock?: boolean };
  readonly threadPoolSize?: number;
}

/** <filesystem>: a host directory shared with the guest (virtio-9p or virtiofs). */
export interface Filesystem extends DeviceCommon {
  readonly type: FilesystemType;
  readonly accessmode?: 'passthrough' | 'mapped' | 'squash';
  readonly model?: VirtioModel;
  readonly multidevs?: 'remap' | 'forbid' | 'warn';
  /** permission bits of files / directories the guest creates (mapped mode) */
  readonly fmode?: number;
  readonly dmode?: number;
  readonly driver?: { readonly type?: FilesystemDriverType; readonly format?: string; readonly wrpolicy?: 'immediate'; readonly queue?: number } & VirtioOptions;
  readonly binary?: VirtiofsBinary;
  /** <source dir|socket|dev|file|name|usage units> as written (which one applies depends on type) */
  readonly source: { readonly dir?: string; readonly socket?: string; readonly dev?: string; readonly file?: string; readonly name?: string; readonly usage?: number; readonly units?: string };
  readonly target: string;
  readonly readonly?: boolean;
  readonly extra: readonly XmlElement[];
}

export type RngBackend =
  /** a host device QEMU reads (libvirt's default /dev/random when absent) */
  | { readonly model: 'random'; readonly device?: string }
  /** an EGD daemon behind a chardev */
  | { readonly model: 'egd'; readonly source: ChardevSource }
  | { readonly model: 'builtin' };

export interface Rng extends DeviceCommon {
  readonly model: VirtioModel;
  /** <rate bytes period>: at most `bytes` per `period` ms */
  readonly rate?: { readonly bytes: number; readonly period?: number };
  readonly backend: RngBackend;
  readonly driver?: VirtioOptions;
  readonly extra: readonly XmlElement[];
}

export type TpmModel = 'tpm-tis' | 'tpm-crb' | 'tpm-spapr' | 'spapr-tpm-proxy';

export type TpmBackend =
  | { readonly type: 'passthrough'; readonly device?: string }
  | {
      readonly type: 'emulator';
      readonly version?: '1.2' | '2.0';
      readonly persistentState?: boolean;
      /** <encryption secret>: the UUID of the secret swtpm encrypts its state with */
      readonly encryptionSecret?: string;
      /** <active_pcr_banks>: sha1, sha256, sha384, sha512 */
      readonly activePcrBanks?: readonly string[];
    }
  /** a TPM emulator libvirt does not run: QEMU connects to its socket */
  | { readonly type: 'external'; readonly socket?: string };

export interface Tpm extends DeviceCommon {
  readonly model?: TpmModel;
  readonly backend: TpmBackend;
  readonly extra: readonly XmlElement[];
}

export interface Vsock extends DeviceCommon {
  readonly model?: VirtioModel;
  /** <cid auto>: libvirt picks a free CID when the domain starts */
  readonly autoCid?: boolean;
  /** <cid address>: the guest's context ID */
  readonly cid?: number;
  readonly driver?: VirtioOptions;
  readonly extra: readonly XmlElement[];
}

export type QemuDeprecation = 'none' | 'omit' | 'reject' | 'crash';

/** <qemu:device alias><qemu:frontend><qemu:property name type value/>…: in document order. */
export interface QemuDeviceOverride {
  readonly alias: string;
  readonly frontend: readonly QemuPropertyOverride[];
}

export type QemuPropertyOverride =
  | { readonly name: string; readonly type: 'string' | 'signed' | 'unsigned' | 'bool'; readonly value: string }
  | { readonly name: string; readonly type: 'remove' };

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
