// <rng>: virtio random number generators. argv: -object rng-random|rng-egd|rng-builtin (with a
// -chardev for egd) + -device virtio-rng-pci,rng=…,max-bytes=,period=.
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { Rng, RngBackend } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propNum, propStr, props } from '../qemu/props.js';
import type { EmitContext } from '../emit/context.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, intAttr, reqAttr } from '../xml/values.js';
import { fail } from '../errors.js';
import {
  acpiIndexFromProps, pciAddressFromProps, pciPlacementWithAcpi, readAcpiIndexXml, readAddressXml, readVirtioOptionsXml, virtioModelOf, virtioModelProps,
  virtioOptionsAttrs, virtioOptionsFromProps, virtioTransportProps, writeAcpiXml, writeAddressXml,
} from './address.js';
import { buildChardev, readChardevSourceXml } from './chardev.js';
import { chardevBodyXml, takeChardevSource } from './redirdev.js';

const MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;
const BACKENDS = ['random', 'egd', 'builtin'] as const;
const KNOWN = new Set(['rate', 'backend', 'driver', 'alias', 'acpi', 'address']);
/** libvirt's device when <backend model='random'> names none (virDomainRNGDefParseXML). */
const DEFAULT_RANDOM = '/dev/random';
/** QEMU's rate-limit period (ms) libvirt passes when <rate> gives bytes only. */
const DEFAULT_PERIOD = 1000;

// --- XML -----------------------------------------------------------------------------------

function readBackendXml(rng: XmlElement): RngBackend {
  const b = child(rng, 'backend');
  if (!b) return fail('XmlMissingElement', { element: 'backend', parent: 'rng' }, rng.span);
  const model = checkEnum(b, 'rng backend model', reqAttr(b, 'model'), BACKENDS);
  switch (model) {
    case 'random': {
      const device = b.text.trim();
      return device ? { model, device } : { model };
    }
    case 'egd':
      return { model, source: readChardevSourceXml(b) };
    case 'builtin':
      return { model };
  }
}

export function readRngXml(e: XmlElement): Rng {
  const rate = child(e, 'rate');
  const driver = readVirtioOptionsXml(child(e, 'driver'));
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  const period = rate && intAttr(rate, 'period');
  return {
    model: checkEnum(e, 'rng model', reqAttr(e, 'model'), MODELS),
    ...(rate ? { rate: { bytes: intAttr(rate, 'bytes') ?? fail('XmlMissingAttribute', { attribute: 'bytes', element: 'rate' }, rate.span), ...(period !== undefined ? { period } : {}) } } : {}),
    backend: readBackendXml(e),
    ...(Object.keys(driver).length ? { driver } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...readAcpiIndexXml(e),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

function writeBackendXml(b: RngBackend): XmlElement {
  switch (b.model) {
    case 'random':
      return el('backend', { model: 'random' }, b.device ?? '');
    case 'egd':
      return el('backend', { model: 'egd', type: b.source.type }, chardevBodyXml(b.source));
    case 'builtin':
      return el('backend', { model: 'builtin' });
  }
}

/** NB: libvirt's order: rate, backend, driver, alias, acpi, address. */
export function writeRngXml(r: Rng): XmlElement {
  const driver = virtioOptionsAttrs(r.driver);
  return el(
    'rng',
    { model: r.model },
    r.rate && el('rate', { bytes: r.rate.bytes, period: r.rate.period }),
    writeBackendXml(r.backend),
    Object.values(driver).some((v) => v !== undefined) && el('driver', driver),
    r.extra,
    r.alias !== undefined && el('alias', { name: r.alias }),
    writeAcpiXml(r.acpiIndex),
    writeAddressXml(r.address),
  );
}

// --- IR -> argv ------------------------------------------------------------------------------

/** NB: libvirt gives each <rng> without a user alias the next free rngN (qemuAssignDeviceRNGAlias). */
function rngAliases(rngs: readonly Rng[]): string[] {
  let next = 0;
  return rngs.map((r) => r.alias ?? `rng${next++}`);
}

export function buildRngs(ctx: EmitContext): void {
  const aliases = rngAliases(ctx.dom.devices.rngs);
  ctx.dom.devices.rngs.forEach((r, i) => {
    const alias = aliases[i]!;
    if (!has(ctx.caps, 'device')) {
      ctx.diag.warn('UnsupportedForTarget', { what: '<rng>', target: 'QEMU without -device' }, r.$span);
      return;
    }
    for (const e of r.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of rng ${alias}` }, e.span);
    const objId = `obj${alias}`;
    const b = r.backend;
    switch (b.model) {
      case 'random':
        ctx.out.object('-object', props({ 'qom-type': 'rng-random', id: objId, filename: b.device ?? DEFAULT_RANDOM }));
        break;
      case 'egd': {
        const chardev = buildChardev(ctx, { source: b.source, extra: [], ...(r.$span ? { $span: r.$span } : {}) }, alias);
        if (!chardev) return;
        ctx.out.object('-object', props({ 'qom-type': 'rng-egd', id: objId, chardev }));
        break;
      }
      case 'builtin':
        ctx.out.object('-object', props({ 'qom-type': 'rng-builtin', id: objId }));
        break;
    }
    ctx.out.object('-device', props({
      ...virtioModelProps(ctx, 'virtio-rng-pci', r.model),
      ...virtioTransportProps(r.driver),
      rng: objId,
      id: alias,
      'max-bytes': r.rate?.bytes,
      period: r.rate ? r.rate.period ?? DEFAULT_PERIOD : undefined,
      ...pciPlacementWithAcpi(ctx.dom, r),
    }));
  });
}

// --- argv -> IR ------------------------------------------------------------------------------

const DEVICE = /^virtio-rng-pci(-transitional|-non-transitional)?$/;

export function readRngsArgv(r: ArgvReader): void {
  for (const dev of r.devices((drv) => DEVICE.test(drv))) {
    const objId = propStr(dev.props, 'rng');
    const obj = r.unclaimedWithId('-object', objId);
    if (!obj) continue;
    const p = optProps(obj);
    let backend: RngBackend;
    switch (propStr(p, 'qom-type')) {
      case 'rng-random': {
        const file = propStr(p, 'filename');
        backend = { model: 'random', ...(file !== undefined ? { device: file } : {}) };
        break;
      }
      case 'rng-egd': {
        const source = takeChardevSource(r, propStr(p, 'chardev'));
        if (!source) continue;
        backend = { model: 'egd', source };
        break;
      }
      case 'rng-builtin':
        backend = { model: 'builtin' };
        break;
      default:
        continue;
    }
    r.claim(obj);
    r.claim(dev.opt);
    const bytes = propNum(dev.props, 'max-bytes');
    const period = propNum(dev.props, 'period');
    const address = pciAddressFromProps(dev.props, { multifunction: true });
    const driver = virtioOptionsFromProps(dev.props);
    const id = propStr(dev.props, 'id');
    r.draft.devices.rngs.push({
      model: virtioModelOf(dev.driver, dev.props).model ?? 'virtio',
      // NB: the period libvirt adds by default is not written back
      ...(bytes !== undefined ? { rate: { bytes, ...(period !== undefined && period !== DEFAULT_PERIOD ? { period } : {}) } } : {}),
      backend,
      ...(Object.keys(driver).length ? { driver } : {}),
      ...(id?.startsWith('ua-') ? { alias: id } : {}),
      ...acpiIndexFromProps(dev.props),
      ...(address ? { address } : {}),
      extra: [],
      $span: dev.opt.span,
    });
  }
}
