// <tpm>: a TPM for the guest. argv: -tpmdev passthrough (host TPM, passed as fd sets) or emulator
// (-chardev socket to swtpm or an external emulator) + -device tpm-tis|tpm-crb|tpm-spapr.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { Tpm, TpmBackend, TpmModel } from '../ir/domain.js';
import type { ParsedOption } from '../lexer/argv-parser.js';
import { has } from '../qemu/caps.js';
import { propStr, props } from '../qemu/props.js';
import { domainShortName, type EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, enumAttr, reqAttr, yesNo } from '../xml/values.js';
import { fail } from '../errors.js';
import { readAddressXml, writeAddressXml } from './address.js';
import { claimFdSet, passFile } from './chardev.js';

const MODELS = ['tpm-tis', 'tpm-crb', 'tpm-spapr', 'spapr-tpm-proxy'] as const;
const BACKENDS = ['passthrough', 'emulator', 'external'] as const;
const PCR_BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
const KNOWN = new Set(['backend', 'alias', 'address']);
/** The host TPM libvirt passes through when <device path> is absent. */
const DEFAULT_DEVICE = '/dev/tpm0';
/** libvirt's swtpm state directory ($run/libvirt/qemu/swtpm): the emulator's socket lives there. */
const SWTPM_DIR = '/run/libvirt/qemu/swtpm';
/** NB: libvirt names the chardev of the (single) emulator TPM chrtpm, whatever its alias. */
const CHARDEV_ID = 'chrtpm';

// --- XML -----------------------------------------------------------------------------------

function readBackendXml(tpm: XmlElement): TpmBackend {
  const b = child(tpm, 'backend');
  if (!b) return fail('XmlMissingElement', { element: 'backend', parent: 'tpm' }, tpm.span);
  const type = checkEnum(b, 'tpm backend type', reqAttr(b, 'type'), BACKENDS);
  switch (type) {
    case 'passthrough': {
      const device = child(b, 'device')?.attrs.path;
      return device !== undefined ? { type, device } : { type };
    }
    case 'emulator': {
      const version = enumAttr(b, 'version', ['1.2', '2.0'] as const);
      const persistent = boolAttr(b, 'persistent_state');
      const secret = child(b, 'encryption')?.attrs.secret;
      const banks = child(b, 'active_pcr_banks');
      return {
        type,
        ...(version !== undefined ? { version } : {}),
        ...(persistent !== undefined ? { persistentState: persistent } : {}),
        ...(secret !== undefined ? { encryptionSecret: secret } : {}),
        ...(banks ? { activePcrBanks: banks.children.map((c) => checkEnum(c, 'active_pcr_banks bank', c.name, PCR_BANKS)) } : {}),
      };
    }
    case 'external': {
      const src = child(b, 'source');
      if (src && src.attrs.type !== undefined && src.attrs.type !== 'unix') {
        return fail('XmlBadValue', { what: 'tpm external source type', value: src.attrs.type, expected: 'unix' }, src.span);
      }
      return src?.attrs.path !== undefined ? { type, socket: src.attrs.path } : { type };
    }
  }
}

export function readTpmXml(e: XmlElement): Tpm {
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  return {
    ...(e.attrs.model !== undefined ? { model: checkEnum(e, 'tpm model', e.attrs.model, MODELS) } : {}),
    backend: readBackendXml(e),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function writeBackendXml(b: TpmBackend): XmlElement {
  switch (b.type) {
    case 'passthrough':
      return el('backend', { type: b.type }, b.device !== undefined && el('device', { path: b.device }));
    case 'emulator':
      return el(
        'backend',
        { type: b.type, version: b.version, persistent_state: yesNo(b.persistentState) },
        b.encryptionSecret !== undefined && el('encryption', { secret: b.encryptionSecret }),
        b.activePcrBanks !== undefined && el('active_pcr_banks', {}, b.activePcrBanks.map((n) => el(n))),
      );
    case 'external':
      return el('backend', { type: b.type }, b.socket !== undefined && el('source', { type: 'unix', mode: 'connect', path: b.socket }));
  }
}

export function writeTpmXml(t: Tpm): XmlElement {
  return el(
    'tpm',
    { model: t.model },
    writeBackendXml(t.backend),
    t.extra,
    t.alias !== undefined && el('alias', { name: t.alias }),
    writeAddressXml(t.address),
  );
}

// --- IR -> argv ------------------------------------------------------------------------------

/** libvirt's default model (qemuDomainTPMDefPostParse): the SPAPR one on POWER, TIS elsewhere. */
function modelOf(ctx: EmitContext, t: Tpm): TpmModel {
  return t.model ?? (/^ppc64/.test(ctx.dom.os.arch ?? ctx.caps.arch) ? 'tpm-spapr' : 'tpm-tis');
}

/** The -device driver of a model: TIS is an ISA device on x86 and a sysbus device elsewhere. */
function deviceDriver(ctx: EmitContext, model: TpmModel): string {
  const x86 = /^(x86_64|i[3-6]86)$/.test(ctx.dom.os.arch ?? ctx.caps.arch);
  return model === 'tpm-tis' && !x86 ? 'tpm-tis-device' : model;
}

/** Where libvirt's swtpm listens (qemuTPMEmulatorSocketBuildPath): one socket per domain. */
function swtpmSocket(name: string): string {
  return `${SWTPM_DIR}/${domainShortName(-1, name)}-swtpm.sock`;
}

function emulatorChardev(ctx: EmitContext, path: string): string {
  ctx.out.keyval('-chardev', props({ backend: 'socket', id: CHARDEV_ID, path }));
  return CHARDEV_ID;
}

export function buildTpms(ctx: EmitContext): void {
  ctx.dom.devices.tpms.forEach((t, i) => {
    const alias = t.alias ?? `tpm${i}`;
    if (!has(ctx.caps, 'device')) {
      ctx.diag.warn('UnsupportedForTarget', { what: '<tpm>', target: 'QEMU without -device' }, t.$span);
      return;
    }
    for (const e of t.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of tpm ${alias}` }, e.span);
    const model = modelOf(ctx, t);
    const b = t.backend;
    if (model === 'spapr-tpm-proxy') {
      // NB: the proxy forwards to the host's resource manager itself: no -tpmdev
      if (b.type !== 'passthrough') return ctx.diag.warn('UnsupportedForTarget', { what: `a ${b.type} backend`, target: 'spapr-tpm-proxy' }, t.$span);
      ctx.out.object('-device', props({ driver: 'spapr-tpm-proxy', id: alias, 'host-path': b.device ?? DEFAULT_DEVICE }));
      return;
    }
    const tpmdev = `tpm-${alias}`;
    switch (b.type) {
      case 'passthrough': {
        const device = b.device ?? DEFAULT_DEVICE;
        if (ctx.runnable) {
          // QEMU opens the device and finds its sysfs cancel file itself
          ctx.out.keyval('-tpmdev', props({ type: 'passthrough', id: tpmdev, path: device }));
        } else {
          // NB: libvirt opens the TPM and its sysfs cancel file and passes both as fd sets
          const path = passFile(ctx, `${alias}-tpm`);
          const cancel = passFile(ctx, `${alias}-cancel`);
          ctx.out.keyval('-tpmdev', props({ type: 'passthrough', id: tpmdev, path, 'cancel-path': cancel }));
        }
        break;
      }
      case 'emulator': {
        const path = swtpmSocket(ctx.dom.name);
        if (ctx.runnable) ctx.diag.warn('RunnableSubstitute', { what: 'the swtpm emulator', instead: `the socket ${path}, where swtpm has to be started` }, t.$span);
        ctx.out.keyval('-tpmdev', props({ type: 'emulator', id: tpmdev, chardev: emulatorChardev(ctx, path) }));
        break;
      }
      case 'external': {
        if (b.socket === undefined) return ctx.diag.warn('UnsupportedForTarget', { what: 'an external TPM without a <source path>', target: 'QEMU' }, t.$span);
        // NB: QEMU drives an external emulator exactly as it drives swtpm
        ctx.out.keyval('-tpmdev', props({ type: 'emulator', id: tpmdev, chardev: emulatorChardev(ctx, b.socket) }));
        break;
      }
    }
    ctx.out.object('-device', props({ driver: deviceDriver(ctx, model), tpmdev, id: alias }));
  });
}

// --- argv -> IR ------------------------------------------------------------------------------

const DEVICES: Readonly<Record<string, TpmModel>> = { 'tpm-tis': 'tpm-tis', 'tpm-tis-device': 'tpm-tis', 'tpm-crb': 'tpm-crb', 'tpm-spapr': 'tpm-spapr' };

function readBackend(r: ArgvReader, o: ParsedOption): TpmBackend | undefined {
  const p = optProps(o);
  switch (propStr(p, 'type')) {
    case 'passthrough': {
      const path = propStr(p, 'path');
      // NB: libvirt names the fd sets after the TPM's alias (tpmdev id tpm-ALIAS): ALIAS-tpm, ALIAS-cancel
      const alias = (propStr(p, 'id') ?? '').replace(/^tpm-/, '');
      claimFdSet(r, propStr(p, 'cancel-path'), `${alias}-cancel`);
      if (claimFdSet(r, path, `${alias}-tpm`)) {
        r.diag.warn('HostSideUnknown', { option: '-tpmdev', what: `the host TPM behind ${path}`, outcome: `read as ${DEFAULT_DEVICE}, libvirt's default` }, o.span);
        return { type: 'passthrough', device: DEFAULT_DEVICE };
      }
      return { type: 'passthrough', device: path ?? DEFAULT_DEVICE };
    }
    case 'emulator': {
      const ref = propStr(p, 'chardev');
      const ch = r.unclaimedWithId('-chardev', ref);
      const cp = ch ? optProps(ch) : {};
      const path = propStr(cp, 'path');
      if (!ch || propStr(cp, 'backend') !== 'socket' || path === undefined) return undefined;
      r.claim(ch);
      // NB: a socket in libvirt's swtpm directory is the swtpm libvirt runs; any other is external
      if (path.startsWith(`${SWTPM_DIR}/`) && path.endsWith('-swtpm.sock')) return { type: 'emulator' };
      return { type: 'external', socket: path };
    }
    default:
      return undefined;
  }
}

export function readTpmsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const o of r.unclaimed()) {
    if (o.name !== '-tpmdev') continue;
    const id = propStr(optProps(o), 'id');
    const dev = r.devices((drv) => drv in DEVICES).find((x) => propStr(x.props, 'tpmdev') === id);
    if (!dev) continue;
    const backend = readBackend(r, o);
    if (!backend) continue;
    r.claim(o);
    r.claim(dev.opt);
    const alias = propStr(dev.props, 'id');
    d.tpms.push({ model: DEVICES[dev.driver]!, backend, ...(alias?.startsWith('ua-') ? { alias } : {}), extra: [], $span: dev.opt.span });
  }
  for (const dev of r.devices((drv) => drv === 'spapr-tpm-proxy')) {
    r.claim(dev.opt);
    const alias = propStr(dev.props, 'id');
    d.tpms.push({
      model: 'spapr-tpm-proxy',
      backend: { type: 'passthrough', device: propStr(dev.props, 'host-path') ?? DEFAULT_DEVICE },
      ...(alias?.startsWith('ua-') ? { alias } : {}),
      extra: [],
      $span: dev.opt.span,
    });
  }
}
