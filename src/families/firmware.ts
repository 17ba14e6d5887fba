// QEMU firmware descriptors (QEMU's docs/interop/firmware.json) -> the explicit <loader>/<nvram> of an <os firmware='efi|bios'> domain: libvirt 9.0's firmware autoselection (qemu_firmware.c).
//
// libvirt resolves <os firmware> when the guest starts, from the descriptor files of the host it
// runs on. The converter does not look at its own host: the descriptors are data, the built-in set
// (a stock Debian 12 host with the ovmf package) or the files of --firmware-dir.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import type { Domain, Feature, Os } from '../ir/domain.js';
import { isQ35, isX86 } from '../ir/defaults.js';
import { resolveMachineAlias, type Caps } from '../qemu/caps.js';
import { el } from '../xml/tree.js';
import { featureElement, stateOf } from './features.js';

export type FirmwareInterface = 'bios' | 'openfirmware' | 'uboot' | 'uefi';
const INTERFACES: readonly FirmwareInterface[] = ['bios', 'openfirmware', 'uboot', 'uefi'];

export type FirmwareFeature =
  | 'acpi-s3'
  | 'acpi-s4'
  | 'amd-sev'
  | 'amd-sev-es'
  | 'enrolled-keys'
  | 'requires-smm'
  | 'secure-boot'
  | 'verbose-dynamic'
  | 'verbose-static';
const FEATURES: readonly FirmwareFeature[] = ['acpi-s3', 'acpi-s4', 'amd-sev', 'amd-sev-es', 'enrolled-keys', 'requires-smm', 'secure-boot', 'verbose-dynamic', 'verbose-static'];

export interface FlashFile {
  readonly filename: string;
  readonly format: string;
}

/** Where the firmware goes: flash (code + variable-store template, or one image), -kernel, or ROM (-bios). */
export type FirmwareMapping =
  | { readonly device: 'flash'; readonly mode: 'split'; readonly executable: FlashFile; readonly nvramTemplate: FlashFile }
  | { readonly device: 'flash'; readonly mode: 'combined' | 'stateless'; readonly executable: FlashFile }
  | { readonly device: 'kernel'; readonly filename: string }
  | { readonly device: 'memory'; readonly filename: string };

export interface FirmwareDescriptor {
  /** The file name: descriptors are tried in its order, and a later directory's file of that name replaces it. */
  readonly name: string;
  readonly interfaces: readonly FirmwareInterface[];
  readonly mapping: FirmwareMapping;
  /** libvirt architecture names (QEMU's i386 is i686, arm is armv7l); machine types as globs */
  readonly targets: readonly { readonly arch: string; readonly machines: readonly string[] }[];
  /** Known features only: libvirt ignores the rest. */
  readonly features: readonly FirmwareFeature[];
}

/** The descriptors autoselection picks from, and what to call them in messages. */
export interface FirmwareSet {
  readonly source: string;
  readonly descriptors: readonly FirmwareDescriptor[];
}

const raw = (filename: string): FlashFile => ({ filename, format: 'raw' });
const X86_Q35 = [{ arch: 'x86_64', machines: ['pc-q35-*'] }];
const ARM_VIRT = [{ arch: 'aarch64', machines: ['virt-*'] }];

/**
 * /usr/share/qemu/firmware of Debian 12 with ovmf and qemu-efi-aarch64 2022.11-6+deb12u2
 * installed (each package's three files; a descriptor only ever matches its own arch, so the
 * x86 files can come first).
 */
export const DEBIAN_OVMF: FirmwareSet = {
  source: 'the built-in descriptors (Debian 12, ovmf and qemu-efi-aarch64 2022.11)',
  descriptors: [
    {
      // secure boot with Microsoft's keys enrolled: first in line, so a plain firmware='efi' gets it
      name: '40-edk2-x86_64-secure-enrolled.json',
      interfaces: ['uefi'],
      mapping: { device: 'flash', mode: 'split', executable: raw('/usr/share/OVMF/OVMF_CODE_4M.ms.fd'), nvramTemplate: raw('/usr/share/OVMF/OVMF_VARS_4M.ms.fd') },
      targets: X86_Q35,
      features: ['acpi-s3', 'amd-sev', 'enrolled-keys', 'requires-smm', 'secure-boot', 'verbose-dynamic'],
    },
    {
      name: '50-edk2-x86_64-secure.json',
      interfaces: ['uefi'],
      mapping: { device: 'flash', mode: 'split', executable: raw('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'), nvramTemplate: raw('/usr/share/OVMF/OVMF_VARS_4M.fd') },
      targets: X86_Q35,
      features: ['acpi-s3', 'amd-sev', 'requires-smm', 'secure-boot', 'verbose-dynamic'],
    },
    {
      // the only one without SMM, hence the only one for i440fx machines
      name: '60-edk2-x86_64.json',
      interfaces: ['uefi'],
      mapping: { device: 'flash', mode: 'split', executable: raw('/usr/share/OVMF/OVMF_CODE_4M.fd'), nvramTemplate: raw('/usr/share/OVMF/OVMF_VARS_4M.fd') },
      targets: [{ arch: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }],
      features: ['acpi-s3', 'amd-sev', 'verbose-dynamic'],
    },
    {
      // NB: Arm firmware needs no SMM for secure boot, so the enrolled-keys build is what a
      // plain firmware='efi' gets
      name: '40-edk2-aarch64-secure-enrolled.json',
      interfaces: ['uefi'],
      mapping: { device: 'flash', mode: 'split', executable: raw('/usr/share/AAVMF/AAVMF_CODE.ms.fd'), nvramTemplate: raw('/usr/share/AAVMF/AAVMF_VARS.ms.fd') },
      targets: ARM_VIRT,
      features: ['enrolled-keys', 'secure-boot', 'verbose-static'],
    },
    {
      // (the package ships no AAVMF_CODE.secboot.fd: libvirt does not look before it picks)
      name: '50-edk2-aarch64-secure.json',
      interfaces: ['uefi'],
      mapping: { device: 'flash', mode: 'split', executable: raw('/usr/share/AAVMF/AAVMF_CODE.secboot.fd'), nvramTemplate: raw('/usr/share/AAVMF/AAVMF_VARS.fd') },
      targets: ARM_VIRT,
      features: ['secure-boot', 'verbose-static'],
    },
    {
      name: '60-edk2-aarch64.json',
      interfaces: ['uefi'],
      mapping: { device: 'flash', mode: 'split', executable: raw('/usr/share/AAVMF/AAVMF_CODE.fd'), nvramTemplate: raw('/usr/share/AAVMF/AAVMF_VARS.fd') },
      targets: ARM_VIRT,
      features: ['verbose-static'],
    },
  ],
};

// --- descriptor files --------------------------------------------------------------------------

/** libvirt reads at most this much of a descriptor (DOCUMENT_SIZE). */
const MAX_DESCRIPTOR = 1024 * 1024;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One descriptor file's JSON, checked as libvirt's qemuFirmwareParse does. */
export function parseFirmwareDescriptor(text: string, file: string): FirmwareDescriptor {
  const bad = (reason: string): never => fail('FirmwareDescriptorInvalid', { file, reason });
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    return bad(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) return bad('not a JSON object');
  const array = (v: Json | undefined, what: string): Json[] => (Array.isArray(v) ? v : bad(`missing '${what}' array`));
  const str = (o: { [k: string]: Json }, key: string, where: string): string => {
    const v = o[key];
    return typeof v === 'string' ? v : bad(`missing '${key}' in ${where}`);
  };
  const interfaces = array(doc['interface-types'], 'interface-types').map((v) =>
    typeof v === 'string' && (INTERFACES as readonly string[]).includes(v) ? (v as FirmwareInterface) : bad(`unknown interface type '${String(v)}'`),
  );
  const m = doc.mapping;
  if (!isObject(m)) return bad("missing 'mapping'");
  const flashFile = (key: string): FlashFile => {
    const f = m[key];
    if (!isObject(f)) return bad(`missing '${key}' in mapping`);
    return { filename: str(f, 'filename', key), format: str(f, 'format', key) };
  };
  let mapping: FirmwareMapping;
  const device = str(m, 'device', 'mapping');
  if (device === 'flash') {
    // NB: "mode" came later to the spec; a descriptor without it is split (code + variable store)
    const mode = m.mode === undefined ? 'split' : m.mode;
    if (mode === 'split') mapping = { device, mode, executable: flashFile('executable'), nvramTemplate: flashFile('nvram-template') };
    else if (mode === 'combined' || mode === 'stateless') mapping = { device, mode, executable: flashFile('executable') };
    else return bad(`unknown flash mode '${String(mode)}'`);
  } else if (device === 'kernel' || device === 'memory') mapping = { device, filename: str(m, 'filename', 'mapping') };
  else return bad(`unknown device type '${device}'`);
  const targets = array(doc.targets, 'targets').map((t) => {
    if (!isObject(t)) return bad('a target is not an object');
    const arch = str(t, 'architecture', 'a target');
    // NB: descriptors use QEMU's architecture names, domains libvirt's
    const machines = array(t.machines, 'machines').map((x) => (typeof x === 'string' ? x : bad('a machine type is not a string')));
    return { arch: arch === 'i386' ? 'i686' : arch === 'arm' ? 'armv7l' : arch, machines };
  });
  // NB: libvirt skips features it does not know (newer spec versions add some)
  const features = array(doc.features, 'features').filter((f): f is FirmwareFeature => typeof f === 'string' && (FEATURES as readonly string[]).includes(f));
  return { name: file.split('/').pop() ?? file, interfaces, mapping, targets, features };
}

/**
 * The descriptors of directories given in increasing priority (as libvirt reads /usr/share/qemu,
 * then /etc/qemu, then $XDG_CONFIG_HOME/qemu): a file replaces the same-named file of an earlier
 * directory, an empty file masks it, and the survivors are tried in file-name order.
 */
export function readFirmwareDirs(dirs: readonly string[]): FirmwareSet {
  // a directory or file that cannot be read fails the run, as libvirt fails the start
  const io = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      return fail('Io', { reason: `--firmware-dir: ${what}: ${(err as Error).message}` });
    }
  };
  const byName = new Map<string, { path: string; size: number }>();
  for (const dir of dirs) {
    for (const name of io(dir, () => readdirSync(dir))) {
      // NB: the spec names descriptors *.json; hidden files are editors' leftovers
      if (name.startsWith('.') || !name.endsWith('.json')) continue;
      const path = join(dir, name);
      const st = io(path, () => statSync(path));
      if (st.isFile()) byName.set(name, { path, size: st.size });
    }
  }
  const descriptors: FirmwareDescriptor[] = [];
  // NB: strcmp order, as libvirt sorts them (not locale order)
  for (const [, { path, size }] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (size === 0) continue;
    if (size > MAX_DESCRIPTOR) fail('FirmwareDescriptorInvalid', { file: path, reason: `larger than ${MAX_DESCRIPTOR} bytes` });
    descriptors.push(parseFirmwareDescriptor(io(path, () => readFileSync(path, 'utf8')), path));
  }
  return { source: `the descriptors in ${dirs.join(':')}`, descriptors };
}

// --- what the domain asks for ------------------------------------------------------------------

/** g_pattern_match_simple: '*' any run of characters, '?' one character. */
function globMatch(pattern: string, text: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(text);
}

/** What a descriptor must offer: libvirt's qemuFirmwareMatchDomain, as a list of checks. */
interface Wanted {
  readonly iface: FirmwareInterface;
  readonly arch: string;
  readonly machine: string;
  /** feature -> required (true) or refused (false) */
  readonly features: ReadonlyMap<FirmwareFeature, boolean>;
  /** a flash firmware must have this mode */
  readonly flashMode: 'split' | 'stateless';
}

/** AMD SEV launch security (<launchSecurity type='sev'>), and whether its policy asks for SEV-ES (bit 2). */
function sevWanted(dom: Domain): { sev: boolean; es: boolean } {
  const ls = dom.extra.find((e) => e.name === 'launchSecurity');
  if (ls?.attrs.type !== 'sev') return { sev: false, es: false };
  const policy = Number(ls.children.find((c) => c.name === 'policy')?.text.trim() ?? 0);
  return { sev: true, es: (policy & 0x4) !== 0 };
}

function wanted(dom: Domain, caps: Caps): Wanted {
  const os = dom.os;
  const features = new Map<FirmwareFeature, boolean>();
  // NB: only a suspend the domain turns on needs firmware support; off or unset asks nothing
  if (dom.pm?.suspendToMem === true) features.set('acpi-s3', true);
  if (dom.pm?.suspendToDisk === true) features.set('acpi-s4', true);
  if (os.firmwareFeatures?.secureBoot !== undefined) features.set('secure-boot', os.firmwareFeatures.secureBoot);
  if (os.firmwareFeatures?.enrolledKeys !== undefined) features.set('enrolled-keys', os.firmwareFeatures.enrolledKeys);
  // <loader secure='yes'> restricts flash writes to SMM: only firmware built for SMM copes
  if (os.loader?.secure === true) features.set('requires-smm', true);
  const sev = sevWanted(dom);
  if (sev.sev) features.set('amd-sev', true);
  if (sev.es) features.set('amd-sev-es', true);
  return {
    iface: os.firmware === 'bios' ? 'bios' : 'uefi',
    arch: os.arch ?? 'x86_64',
    // NB: descriptors name versioned machine types (pc-q35-*): the alias q35 is matched as what it stands for
    machine: resolveMachineAlias(os.machine ?? '', caps),
    features,
    flashMode: os.loader?.stateless ? 'stateless' : 'split',
  };
}

function matches(fw: FirmwareDescriptor, w: Wanted): boolean {
  if (!fw.interfaces.includes(w.iface)) return false;
  if (!fw.targets.some((t) => t.arch === w.arch && t.machines.some((m) => globMatch(m, w.machine)))) return false;
  // a feature asked for must be there; one turned off (only <firmware><feature enabled='no'> can) must not
  for (const [feature, on] of w.features) if (fw.features.includes(feature) !== on) return false;
  // NB: a combined image (code and variables in one writable flash) is never picked
  return fw.mapping.device !== 'flash' || fw.mapping.mode === w.flashMode;
}

function describe(w: Wanted): string {
  const parts = [`${w.iface} for ${w.arch} ${w.machine}`];
  for (const [feature, on] of w.features) parts.push(on ? feature : `no ${feature}`);
  if (w.flashMode === 'stateless') parts.push('stateless flash');
  return parts.join(', ');
}

// --- define-time checks ------------------------------------------------------------------------

/** libvirt's checks of <os> firmware settings (virDomainDefOSValidate and the QEMU driver's), before any selection. */
/** The <os> firmware settings libvirt 9.0 refuses when it defines or starts a domain (FirmwareConflict). */
export function checkFirmwareConfig(dom: Domain): void {
  const { os } = dom;
  const { loader, nvram } = os;
  const no = (reason: string): never => fail('FirmwareConflict', { reason }, os.$span);
  if (os.firmware) {
    if (os.firmwareFeatures?.enrolledKeys === true && os.firmwareFeatures.secureBoot === false) {
      no("firmware feature 'enrolled-keys' cannot be enabled when firmware feature 'secure-boot' is disabled");
    }
    // NB: only what steers the selection may be given; the rest is what the selection fills in
    if (loader?.readonly !== undefined) no("loader attribute 'readonly' cannot be specified when firmware autoselection is enabled");
    if (loader?.type !== undefined) no("loader attribute 'type' cannot be specified when firmware autoselection is enabled");
    if (loader?.path) no('loader path cannot be specified when firmware autoselection is enabled');
    if (nvram?.template !== undefined) no("nvram attribute 'template' cannot be specified when firmware autoselection is enabled");
    if (loader?.secure === false) no("loader attribute 'secure' cannot be specified when firmware autoselection is enabled");
    if (os.firmware === 'bios' && nvram) no("firmware type 'bios' does not support nvram");
  } else if (os.firmwareFeatures) no('cannot use feature-based firmware autoselection when firmware autoselection is disabled');
  if (loader?.stateless && nvram) no('NVRAM is not permitted when loader is stateless');
  const uefi = os.firmware === 'efi' || loader?.type === 'pflash';
  const acpi = dom.features.some((f) => f.kind === 'acpi');
  if (uefi && isX86(os.arch) && !acpi) no('UEFI requires ACPI on this architecture');
  // NB: the other way round on aarch64: its ACPI tables come from the UEFI firmware
  if (acpi && os.arch === 'aarch64' && !uefi) no('ACPI requires UEFI on this architecture');
  if (loader?.secure) {
    // QEMU implements SMM-only flash writes on q35 alone
    if (!isQ35(os.machine)) no('Secure boot is supported with q35 machine types only');
    // NB: an autoselected firmware turns SMM on itself when it needs it
    if (!os.firmware && stateOf(featureElement(dom.features, 'smm')) !== true) no('Secure boot requires SMM feature enabled');
  }
}

// --- the selection -----------------------------------------------------------------------------

export interface FirmwareOptions {
  readonly caps: Caps;
  readonly firmware: FirmwareSet;
  /** qemu.conf nvram_dir: where a guest's own copy of the variable store lives */
  readonly nvramDir: string;
}

/**
 * The domain as libvirt starts it: <os firmware> replaced by the first matching descriptor's
 * explicit loader (and NVRAM, SMM) so that the emitters see only explicit firmware.
 */
export function resolveFirmware(dom: Domain, opts: FirmwareOptions): Domain {
  checkFirmwareConfig(dom);
  const os = dom.os;
  if (!os.firmware) return dom;
  const w = wanted(dom, opts.caps);
  const fw = opts.firmware.descriptors.find((d) => matches(d, w));
  if (!fw) {
    return fail('FirmwareNotFound', { firmware: os.firmware, wanted: describe(w), source: opts.firmware.source }, os.$span);
  }
  const { firmware: _firmware, firmwareFeatures: _features, ...rest } = os;
  let next: Os = rest;
  const m = fw.mapping;
  if (m.device === 'flash') {
    // NB: libvirt 9.0 checks the format only of the descriptor it picked, and fails rather than try the next
    const rawOnly = (what: string, f: FlashFile): void => {
      if (f.format !== 'raw') fail('FirmwareDescriptorInvalid', { file: fw.name, reason: `unsupported ${what} format '${f.format}'` });
    };
    rawOnly('flash', m.executable);
    const loader = {
      path: m.executable.filename,
      readonly: true,
      type: 'pflash' as const,
      // NB: firmware built for SMM must only be written from SMM: QEMU's cfi.pflash01 secure=on
      ...(fw.features.includes('requires-smm') || os.loader?.secure ? { secure: true } : {}),
      ...(os.loader?.stateless ? { stateless: true } : {}),
    };
    next = { ...next, loader };
    if (m.mode === 'split') {
      rawOnly('nvram template', m.nvramTemplate);
      // the guest's variables: a copy of the template at nvram_dir/NAME_VARS.fd unless <nvram> names a place
      const given = os.nvram?.path !== undefined || os.nvram?.source !== undefined;
      next = { ...next, nvram: given ? { ...os.nvram, template: m.nvramTemplate.filename } : { path: `${opts.nvramDir}/${dom.name}_VARS.fd`, template: m.nvramTemplate.filename } };
    }
  } else if (m.device === 'memory') next = { ...next, loader: { path: m.filename, type: 'rom' } };
  else next = { ...next, kernel: m.filename };
  return { ...dom, os: next, features: withSmm(dom, fw) };
}

/** A firmware that requires SMM turns the <smm> feature on; one the domain turned off is an error. */
function withSmm(dom: Domain, fw: FirmwareDescriptor): readonly Feature[] {
  if (!fw.features.includes('requires-smm')) return dom.features;
  const smm = stateOf(featureElement(dom.features, 'smm'));
  if (smm === false) fail('FirmwareConflict', { reason: 'domain has SMM turned off but chosen firmware requires it' }, dom.os.$span);
  return smm === true ? dom.features : [...dom.features, { kind: 'other', element: el('smm', { state: 'on' }) }];
}
