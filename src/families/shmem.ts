// <shmem>: inter-VM shared memory (ivshmem). argv: -object memory-backend-file on /dev/shm/NAME +
// -device ivshmem-plain, or -device ivshmem-doorbell + -chardev socket to an ivshmem server; before
// QEMU 2.6 the one -device ivshmem,shm=NAME|chardev=.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import { SHMEM_MODELS, type Domain, type Shmem } from '../ir/domain.js';
import { fail } from '../errors.js';
import { has } from '../qemu/caps.js';
import { formatVersion } from '../qemu/version.js';
import { propBool, propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { withFields } from '../ir/records.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, enumAttr, intAttr, onOff, reqAttr, sizeBytes } from '../xml/values.js';
import { acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, writeAcpiXml, writeAddressXml } from './address.js';
import { sizeOf } from './memory.js';

const KNOWN = new Set(['model', 'size', 'server', 'msi', 'alias', 'acpi', 'address']);
const ROLES = ['master', 'peer'] as const;
const MiB = 1024 * 1024;
/** libvirt's size for a memory-backed shmem without <size> (qemuDomainShmemDefPostParse). */
const DEFAULT_SIZE = 4 * MiB;
/** QEMU's shared memory for <shmem name>: libvirt does not let it be anything else. */
const SHM_DIR = '/dev/shm/';

// --- XML -----------------------------------------------------------------------------------

export function readShmemXml(e: XmlElement): Shmem {
  const name = reqAttr(e, 'name');
  const role = enumAttr(e, 'role', ROLES);
  const model = child(e, 'model');
  const size = child(e, 'size');
  const server = child(e, 'server');
  const msi = child(e, 'msi');
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  const vectors = msi && intAttr(msi, 'vectors');
  const ioeventfd = msi && boolAttr(msi, 'ioeventfd');
  return {
    name,
    ...(role !== undefined ? { role } : {}),
    ...(model ? { model: enumAttr(model, 'type', SHMEM_MODELS) } : {}),
    // NB: a bare number is bytes (libvirt scales <size> from b)
    ...(size ? { size: sizeBytes(size, 'b') } : {}),
    ...(server ? { server: server.attrs.path !== undefined ? { path: server.attrs.path } : {} } : {}),
    ...(msi ? { msi: { ...(vectors !== undefined ? { vectors } : {}), ...(ioeventfd !== undefined ? { ioeventfd } : {}) } } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

/** NB: libvirt's order (virDomainShmemDefFormat): model, size (in MiB), server, msi, alias, acpi, address. */
export function writeShmemXml(s: Shmem): XmlElement {
  return el(
    'shmem',
    { name: s.name, role: s.role },
    s.model !== undefined && el('model', { type: s.model }),
    s.size !== undefined && el('size', { unit: 'M' }, String(Math.floor(s.size / MiB))),
    s.server && el('server', { path: s.server.path }),
    s.msi && el('msi', { vectors: s.msi.vectors, ioeventfd: onOff(s.msi.ioeventfd) }),
    s.extra,
    s.alias !== undefined && el('alias', { name: s.alias }),
    writeAcpiXml(s.acpiIndex),
    writeAddressXml(s.address),
  );
}

// --- rules -----------------------------------------------------------------------------------

/**
 * libvirt's rules for <shmem> (its parser, qemuDomainShmemDefPostParse and qemu_validate.c), in
 * its order; the first broken one is raised as ShmemInvalid at the element. `validate` runs them too.
 */
export function checkShmemConfig(dom: Domain): void {
  for (const s of dom.devices.shmems) {
    const bad = (reason: string): never => fail('ShmemInvalid', { name: s.name, reason }, s.$span);
    if (s.size !== undefined && s.size < MiB) bad('its size must be at least 1 MiB (1024 KiB)');
    if (s.size !== undefined && !Number.isInteger(Math.log2(s.size))) bad('its size must be a power of two');
    if (s.msi && !s.server) bad('<msi> is only supported with a <server>');
    const model = s.model ?? 'ivshmem';
    if (model === 'ivshmem-doorbell' && !s.server) bad("model 'ivshmem-doorbell' is supported only with a <server>");
    if (model === 'ivshmem-plain' && s.server) bad("model 'ivshmem-plain' is supported only without a <server>");
    if (model === 'ivshmem-doorbell' && s.size !== undefined) bad("model 'ivshmem-doorbell' does not take a <size>: the server gives the memory");
    if (s.name.includes('/')) bad("its name cannot include a '/' (it names a file in /dev/shm)");
    if (s.name === '.' || s.name === '..') bad(`its name cannot be '${s.name}' (it names a file in /dev/shm)`);
    if (s.address && s.address.type !== 'pci') bad("only 'pci' addresses are supported for the shared memory device");
  }
}

/**
 * libvirt's define-time shmem settings (qemuDomainShmemDefPostParse): a memory-backed one gets
 * 4 MiB; a server of ivshmem-doorbell turns MSI on with ioeventfd (the legacy ivshmem keeps what is given).
 */
export function shmemDefaults(s: Shmem): Shmem {
  if (s.server) return s.model !== 'ivshmem-doorbell' || s.msi?.ioeventfd !== undefined ? s : withFields(s, { msi: { ...s.msi, ioeventfd: true } });
  return s.size !== undefined || s.model === 'ivshmem-doorbell' ? s : withFields(s, { size: DEFAULT_SIZE });
}

// --- IR -> argv ------------------------------------------------------------------------------

/** libvirt's default socket of an ivshmem server (qemuDomainPrepareShmemChardev). */
function defaultServerPath(name: string): string {
  return `/var/lib/libvirt/shmem-${name}-sock`;
}

/** NB: libvirt names each shmem without a user alias after its position (qemuAssignDeviceShmemAlias). */
function shmemAlias(s: Shmem, i: number): string {
  return s.alias ?? `shmem${i}`;
}

export function buildShmems(ctx: EmitContext): void {
  const shmems = ctx.dom.devices.shmems;
  if (!shmems.length) return;
  checkShmemConfig(ctx.dom);
  shmems.forEach((s, i) => {
    const model = s.model ?? 'ivshmem';
    if (model === 'ivshmem' && !has(ctx.caps, 'ivshmem') && has(ctx.caps, 'ivshmem-plain')) {
      return fail('ShmemInvalid', { name: s.name, reason: "the legacy ivshmem device (its model when <model> is absent) is gone since QEMU 4.0: give <model type='ivshmem-plain'/>, or 'ivshmem-doorbell' with a <server>" }, s.$span);
    }
    // NB: an older QEMU than the device (ivshmem came in 0.13, ivshmem-plain/-doorbell in 2.6)
    if (!has(ctx.caps, model === 'ivshmem' ? 'ivshmem' : 'ivshmem-plain')) {
      return ctx.diag.warn('UnsupportedForTarget', { what: `<shmem name='${s.name}'> (${model})`, target: `QEMU ${formatVersion(ctx.caps.version)}` }, s.$span);
    }
    for (const e of s.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of shmem ${s.name}` }, e.span);
    const alias = shmemAlias(s, i);
    const chardev = s.server ? `char${alias}` : undefined;
    const size = s.server ? s.size : s.size ?? DEFAULT_SIZE;
    // NB: a doorbell's server turns MSI on, with ioeventfd on unless the XML says otherwise; the
    // legacy device has MSI only when <msi> asks for it
    const ioeventfd = s.server && model !== 'ivshmem' ? s.msi?.ioeventfd ?? true : s.msi?.ioeventfd;
    if (model === 'ivshmem') {
      // libvirt 5.x's legacy device: the memory named by shm=, or the server's chardev with MSI
      ctx.out.object('-device', props({
        driver: 'ivshmem',
        id: alias,
        size: size !== undefined ? `${size / MiB}m` : undefined,
        shm: chardev ? undefined : s.name,
        chardev,
        msi: chardev && s.msi ? true : undefined,
        vectors: s.msi?.vectors,
        ioeventfd,
        ...pciPlacementWithAcpi(ctx.dom, s),
      }));
    } else {
      const memdev = chardev ? undefined : `shmmem-${alias}`;
      if (memdev) ctx.out.object('-object', props({ 'qom-type': 'memory-backend-file', id: memdev, 'mem-path': `${SHM_DIR}${s.name}`, size, share: true }));
      ctx.out.object('-device', props({
        driver: model,
        id: alias,
        chardev,
        memdev,
        master: s.role === 'master' ? 'on' : undefined,
        vectors: s.msi?.vectors,
        ioeventfd,
        ...pciPlacementWithAcpi(ctx.dom, s),
      }));
    }
    // NB: libvirt adds the server's chardev after the device that uses it
    if (chardev) ctx.out.keyval('-chardev', props({ backend: 'socket', id: chardev, path: s.server?.path ?? defaultServerPath(s.name) }));
  });
}

// --- argv -> IR ------------------------------------------------------------------------------

const DEVICE = /^ivshmem(-plain|-doorbell)?$/;
const DEFAULT_SERVER = /^\/var\/lib\/libvirt\/shmem-(.+)-sock$/;

export function readShmemsArgv(r: ArgvReader): void {
  for (const dev of r.devices((drv) => DEVICE.test(drv))) {
    const p = dev.props;
    const model = dev.driver as Shmem['model'] & string;
    const id = propStr(p, 'id');
    const chardevId = propStr(p, 'chardev');
    const chardev = r.unclaimedWithId('-chardev', chardevId);
    let name: string | undefined;
    let size: number | undefined;
    let server: Shmem['server'];
    if (chardev) {
      // a server: libvirt connects to a unix socket, its own default path naming the shmem
      const c = optProps(chardev);
      const path = propStr(c, 'path');
      if (propStr(c, 'backend') !== 'socket' || path === undefined || propBool(c, 'server') === true) continue;
      // NB: the name is on the command line only in libvirt's default socket path; else the
      // socket's file name (less its extension) is the likeliest one the user gave
      const named = DEFAULT_SERVER.exec(path);
      const file = /([^/.]+)(?:\.[^/]*)?$/.exec(path)?.[1];
      name = named?.[1] ?? file ?? id ?? `shmem${r.draft.devices.shmems.length}`;
      server = named ? {} : { path };
      r.claim(chardev);
    } else if (model === 'ivshmem') {
      name = propStr(p, 'shm');
      if (name === undefined) continue;
    } else {
      // memory: a shared file in /dev/shm named after the shmem, which is all libvirt can say
      const memdev = propStr(p, 'memdev');
      const obj = r.unclaimedWithId('-object', memdev);
      const o = obj && optProps(obj);
      const path = o && propStr(o, 'mem-path');
      if (!obj || !o || propStr(o, 'qom-type') !== 'memory-backend-file' || !path?.startsWith(SHM_DIR) || propBool(o, 'share') !== true) continue;
      name = path.slice(SHM_DIR.length);
      const kib = sizeOf(obj, o, 'size', 'B');
      size = kib !== undefined ? kib * 1024 : undefined;
      r.claim(obj);
    }
    if (model === 'ivshmem' && !chardev) {
      const word = propStr(p, 'size');
      // NB: the legacy device takes MiB (size=4m or 4)
      const m = word !== undefined ? /^(\d+)[mM]?$/.exec(word) : undefined;
      if (word !== undefined && !m) return fail('BadOptionValue', { option: dev.opt.written, value: word, reason: 'size= expects MiB, such as 4m' }, dev.opt.valueSpan);
      if (m) size = Number(m[1]) * MiB;
    }
    r.claim(dev.opt);
    const vectors = propNum(p, 'vectors');
    const ioeventfd = propBool(p, 'ioeventfd');
    // NB: master is on/off/auto; auto (QEMU's default) is a guest without a role
    const master = propBool(p, 'master');
    const address = pciAddressFromProps(p, { multifunction: true });
    // NB: the legacy device's msi=on is <msi> (ivshmem-doorbell always has MSI)
    const msiOn = model === 'ivshmem' ? propBool(p, 'msi') === true : server !== undefined;
    r.draft.devices.shmems.push({
      name,
      ...(master === true ? { role: 'master' as const } : master === false ? { role: 'peer' as const } : {}),
      model,
      ...(size !== undefined ? { size } : {}),
      ...(server ? { server } : {}),
      ...(msiOn && (model === 'ivshmem' || vectors !== undefined || ioeventfd !== undefined) ? { msi: { ...(vectors !== undefined ? { vectors } : {}), ...(ioeventfd !== undefined ? { ioeventfd } : {}) } } : {}),
      ...(id?.startsWith('ua-') ? { alias: id } : {}),
      ...(address ? { address, ...acpiIndexFromProps(p) } : {}),
      extra: [],
      $span: dev.opt.span,
    });
  }
}
