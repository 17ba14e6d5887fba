// The QEMU option table: every option domxml knows, with its argument kind, read by the argv
// lexer (does the option take a value?), the parser (how to read the value) and the emitter
// (how to print it for a given QEMU version).
//
// Argument kinds (QEMU's qemu-options.hx HAS_ARG plus how the value is parsed):
//   none    a flag, no value                         -S, -no-acpi
//   value   one opaque word                          -kernel PATH, -append TEXT, -hda FILE
//   keyval  QemuOpts, maybe with an implied key      -machine pc,usb=off  (implied key "type")
//   json    keyval, or a JSON object when the value starts with '{' (QEMU's JSON syntax);
//           `jsonSince` is the first QEMU version for which libvirt prints it as JSON.
import { inRange, type QemuVersion } from './version.js';

export type ArgKind = 'none' | 'value' | 'keyval' | 'json';
export type PropType = 'string' | 'bool' | 'number' | 'size';

export interface OptionSpec {
  readonly name: string;
  readonly arg: ArgKind;
  /** The key a leading bare word stands for (QemuOpts implied_opt_name). */
  readonly implied?: string;
  /** libvirt spells the implied key out when printing ("-name guest=X", "-mon chardev=X"). */
  readonly namesImplied?: boolean;
  /** Typed properties: JSON printing and reading keyval strings back to numbers/booleans. */
  readonly props?: Readonly<Record<string, PropType>>;
  readonly since?: string;
  /** First QEMU version that no longer has the option. */
  readonly until?: string;
  readonly jsonSince?: string;
  /** Properties younger than the option: the QEMU version that brought each (older ones refuse it). */
  readonly propsSince?: Readonly<Record<string, string>>;
  /** Why/what instead, for options QEMU removed. */
  readonly removedHint?: string;
  readonly help?: string;
}

const O = (name: string, arg: ArgKind, rest: Omit<OptionSpec, 'name' | 'arg'> = {}): OptionSpec => ({
  name,
  arg,
  ...rest,
});

const DEVICE_PROPS: Record<string, PropType> = {
  bootindex: 'number', unit: 'number', 'scsi-id': 'number', lun: 'number', channel: 'number',
  port: 'string', 'chassis': 'number', 'nr': 'number', 'num_queues': 'number', 'num-queues': 'number',
  'vectors': 'number', 'vram_size': 'number', 'vgamem_mb': 'number', 'ram_size': 'number',
  'vram64_size_mb': 'number', 'max_outputs': 'number', 'iothread': 'string', 'share-rw': 'bool',
  'write-cache': 'string', 'multifunction': 'bool', 'physical_block_size': 'number',
  'logical_block_size': 'number', 'rotation_rate': 'number', 'p2': 'number', 'p3': 'number',
  'masterbus': 'string', 'firstport': 'number', 'ioeventfd': 'bool', 'event_idx': 'bool',
  'host_mtu': 'number', 'rx_queue_size': 'number', 'tx_queue_size': 'number', 'mq': 'bool',
  'busnr': 'number', 'numa_node': 'number', 'max-bytes': 'number', 'period': 'number',
  'guest-cid': 'number', 'size': 'size', 'addr': 'string', 'hotplug': 'bool',
};

export const OPTIONS: readonly OptionSpec[] = [
  // --- standard options ---
  O('-name', 'keyval', { implied: 'guest', namesImplied: true, props: { 'debug-threads': 'bool' } }),
  O('-S', 'none', { help: 'do not start the CPU at start-up' }),
  O('-M', 'keyval', { implied: 'type' }),
  O('-machine', 'keyval', { implied: 'type' }),
  O('-accel', 'keyval', { implied: 'accel' }),
  O('-cpu', 'keyval', { implied: 'model' }),
  O('-m', 'keyval', { implied: 'size' }),
  O('-smp', 'keyval', { implied: 'cpus' }),
  O('-uuid', 'value'),
  O('-numa', 'keyval', { implied: 'type' }),
  O('-object', 'json', { implied: 'qom-type', jsonSince: '6.0', props: { size: 'number', prealloc: 'bool', share: 'bool', 'discard-data': 'bool', merge: 'bool', dump: 'bool', 'host-nodes': 'string', 'prealloc-threads': 'number', 'x-use-canonical-path-for-ramblock-id': 'bool', 'max-bytes': 'number', period: 'number', 'reserve': 'bool' } }),
  // NB: properties every device family may print, which older QEMU refuses ("Property not found")
  O('-device', 'json', { implied: 'driver', jsonSince: '6.2', props: DEVICE_PROPS, propsSince: { 'acpi-index': '6.0', 'page-per-vq': '2.7', packed: '4.2' } }),
  O('-blockdev', 'json', { jsonSince: '2.9', props: { 'read-only': 'bool', 'auto-read-only': 'bool', 'cache.direct': 'bool', 'cache.no-flush': 'bool', 'force-share': 'bool' } }),
  O('-drive', 'keyval', { implied: 'file', namesImplied: true }),
  O('-netdev', 'json', { implied: 'type', jsonSince: '7.0', props: { vhost: 'bool', 'queues': 'number', 'ipv4': 'bool', 'ipv6': 'bool' } }),
  O('-net', 'keyval', { implied: 'type' }),
  O('-nic', 'keyval', { implied: 'type' }),
  O('-chardev', 'keyval', { implied: 'backend' }),
  O('-mon', 'keyval', { implied: 'chardev', namesImplied: true }),
  O('-audiodev', 'json', { implied: 'driver', namesImplied: true, jsonSince: '6.2' }),
  O('-fsdev', 'keyval', { implied: 'fsdriver' }),
  O('-virtfs', 'keyval', { implied: 'fsdriver' }),
  O('-tpmdev', 'keyval', { implied: 'type' }),
  O('-global', 'value'),
  O('-set', 'value'),
  O('-iothread', 'keyval'),
  O('-overcommit', 'keyval', { since: '3.1' }),
  O('-realtime', 'keyval', { since: '1.6', until: '6.0', removedHint: 'use -overcommit mem-lock=' }),
  O('-sandbox', 'keyval', { implied: 'enable', since: '1.2' }),
  O('-msg', 'keyval', { since: '2.6' }),
  O('-rtc', 'keyval'),
  O('-boot', 'keyval', { implied: 'order' }),
  O('-display', 'keyval', { implied: 'type' }),
  O('-vga', 'value'),
  O('-vnc', 'keyval', { implied: 'vnc' }),
  O('-spice', 'keyval'),
  O('-smbios', 'keyval', { implied: 'type' }),
  O('-fw_cfg', 'keyval', { implied: 'name' }),
  O('-incoming', 'value'),
  O('-k', 'value'),
  O('-L', 'value'),
  O('-bios', 'value'),
  O('-kernel', 'value'),
  O('-initrd', 'value'),
  O('-append', 'value'),
  O('-dtb', 'value'),
  O('-pidfile', 'value'),
  O('-D', 'value'),
  O('-d', 'value'),
  O('-trace', 'keyval', { implied: 'enable' }),
  O('-mem-path', 'value'),
  O('-mem-prealloc', 'none'),
  O('-serial', 'value'),
  O('-parallel', 'value'),
  O('-monitor', 'value'),
  O('-qmp', 'value'),
  O('-watchdog', 'value', { until: '7.2', removedHint: 'use -device with a watchdog model' }),
  O('-watchdog-action', 'value'),
  O('-action', 'keyval'),
  O('-balloon', 'value', { until: '5.0', removedHint: 'use -device virtio-balloon' }),
  O('-usbdevice', 'value'),
  O('-pcidevice', 'keyval', { until: '2.12', removedHint: 'use -device vfio-pci,host=…' }),
  O('-soundhw', 'value', { until: '7.1', removedHint: 'use -audiodev and -device' }),
  O('-hda', 'value'),
  O('-hdb', 'value'),
  O('-hdc', 'value'),
  O('-hdd', 'value'),
  O('-cdrom', 'value'),
  O('-fda', 'value'),
  O('-fdb', 'value'),
  O('-sda', 'value'),
  O('-mtdblock', 'value'),
  O('-sd', 'value'),
  O('-pflash', 'value'),
  O('-snapshot', 'none'),
  O('-add-fd', 'keyval'),
  O('-machine-options', 'keyval'),
  O('-icount', 'keyval', { implied: 'shift' }),
  O('-semihosting-config', 'keyval'),
  O('-loadvm', 'value'),
  O('-runas', 'value', { until: '9.1' }),
  O('-chroot', 'value', { until: '9.1' }),
  O('-run-with', 'keyval'),
  O('-gdb', 'value'),
  O('-option-rom', 'value'),
  O('-prom-env', 'value'),
  O('-seed', 'value'),
  O('-compat', 'json', { jsonSince: '6.0' }),
  O('-device-help', 'none'),
  // --- flags ---
  O('-no-user-config', 'none'),
  O('-nodefaults', 'none'),
  O('-nodefconfig', 'none', { until: '2.12' }),
  O('-no-shutdown', 'none'),
  O('-no-reboot', 'none'),
  O('-no-acpi', 'none', { until: '9.0', removedHint: 'use -machine acpi=off' }),
  O('-no-hpet', 'none', { until: '9.0', removedHint: 'use -machine hpet=off' }),
  O('-nographic', 'none'),
  O('-enable-kvm', 'none'),
  O('-no-kvm', 'none', { until: '1.3', removedHint: 'the default is TCG unless -enable-kvm or -accel kvm' }),
  O('-no-kqemu', 'none', { until: '0.13', removedHint: 'kqemu support is gone' }),
  O('-kernel-kqemu', 'none', { until: '0.13' }),
  O('-usb', 'none'),
  O('-localtime', 'none', { until: '3.1', removedHint: 'use -rtc base=localtime' }),
  O('-daemonize', 'none'),
  O('-full-screen', 'none'),
  O('-no-fd-bootchk', 'none', { until: '7.1' }),
  O('-no-frame', 'none', { until: '5.2' }),
  O('-alt-grab', 'none', { until: '7.1' }),
  O('-ctrl-grab', 'none', { until: '7.1' }),
  O('-win2k-hack', 'none'),
  O('-rtc-td-hack', 'none', { until: '2.0', removedHint: 'use -rtc driftfix=slew' }),
  O('-no-kvm-irqchip', 'none', { until: '1.3', removedHint: 'use -machine kernel_irqchip=off' }),
  O('-no-kvm-pit-reinjection', 'none', { until: '1.3', removedHint: 'use -global kvm-pit.lost_tick_policy=discard' }),
  O('-enable-nesting', 'none', { until: '1.3' }),
  O('-s', 'none'),
  O('-singlestep', 'none'),
  O('-preconfig', 'none'),
  O('-only-migratable', 'none'),
  O('-enable-fips', 'none', { until: '7.1' }),
  O('-sdl', 'none', { until: '6.2', removedHint: 'use -display sdl' }),
  O('-curses', 'none', { until: '6.2', removedHint: 'use -display curses' }),
  O('-portrait', 'none'),
  O('-no-quit', 'none', { until: '6.2' }),
  O('-version', 'none'),
  O('-help', 'none'),
  O('-h', 'none'),
];

const BY_NAME = new Map<string, OptionSpec>(OPTIONS.map((o) => [o.name, o]));

/** Looks an option up; QEMU accepts "--name" as "-name". */
export function lookupOption(word: string): OptionSpec | undefined {
  return BY_NAME.get(normalizeOptionName(word));
}

export function normalizeOptionName(word: string): string {
  return word.startsWith('--') ? word.slice(1) : word;
}

/** Whether QEMU `version` prints this option's value as JSON (libvirt's choice). */
export function printsJson(spec: OptionSpec, version: QemuVersion): boolean {
  return spec.arg === 'json' && spec.jsonSince !== undefined && inRange(version, spec.jsonSince);
}

export function optionSpec(name: string): OptionSpec {
  const spec = BY_NAME.get(name);
  if (!spec) throw new Error(`internal: option ${name} is not in the option table`);
  return spec;
}
