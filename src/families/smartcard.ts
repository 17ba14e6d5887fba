// <smartcard mode='host'|'host-certificates'|'passthrough'> and the ccid controllers they sit on.
// argv: -device usb-ccid (the controller), -device ccid-card-emulated (backend nss-emulated or
// certificates) or -chardev + -device ccid-card-passthru.
import type { EmitContext } from '../emit/context.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import type { Address, Controller, Domain, Smartcard } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propStr, props } from '../qemu/props.js';
import { child, children, el, type XmlElement } from '../xml/tree.js';
import { checkEnum, reqAttr } from '../xml/values.js';
import { fail } from '../errors.js';
import { readAddressXml, writeAddressXml } from './address.js';
import { buildChardev, readChardevSourceXml } from './chardev.js';
import { controllerAlias } from './controller.js';
import { chardevBodyXml, takeChardevSource } from './redirdev.js';
import { usbAddressFromProps, usbPlacement } from './usb-address.js';

const MODES = ['host', 'host-certificates', 'passthrough'] as const;
const KNOWN = new Set(['certificate', 'database', 'source', 'protocol', 'alias', 'address']);
/** NSS database libvirt names when the XML gives none (VIR_DOMAIN_SMARTCARD_DEFAULT_DATABASE). */
const DEFAULT_DATABASE = '/etc/pki/nssdb';

// --- XML ---------------------------------------------------------------------------------------

export function readSmartcardXml(e: XmlElement): Smartcard {
  const mode = checkEnum(e, 'smartcard mode', reqAttr(e, 'mode'), MODES);
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  const common = {
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
  switch (mode) {
    case 'host':
      return { mode, ...common };
    case 'host-certificates': {
      const certificates = children(e, 'certificate').map((c) => c.text.trim());
      // NB: QEMU's emulated card takes exactly three certificates (cert1..cert3)
      if (certificates.length !== 3) return fail('XmlBadValue', { what: 'number of smartcard certificates', value: String(certificates.length), expected: '3' }, e.span);
      const db = child(e, 'database');
      return { mode, certificates, ...(db ? { database: db.text.trim() } : {}), ...common };
    }
    case 'passthrough':
      return { mode, source: readChardevSourceXml(e), ...common };
  }
}

export function writeSmartcardXml(s: Smartcard): XmlElement {
  return el(
    'smartcard',
    { mode: s.mode, type: s.mode === 'passthrough' ? s.source.type : undefined },
    s.mode === 'host-certificates' && [...s.certificates.map((c) => el('certificate', {}, c)), s.database !== undefined && el('database', {}, s.database)],
    s.mode === 'passthrough' && chardevBodyXml(s.source),
    s.extra,
    s.alias !== undefined && el('alias', { name: s.alias }),
    writeAddressXml(s.address),
  );
}

// --- defaults ----------------------------------------------------------------------------------

/**
 * libvirt's define-time placement (virDomainDefMaybeAddSmartcardController): a card without an
 * address goes on ccid controller 0, in the slot after the highest one taken there; every card's
 * controller is added when missing. Returns the cards and the ccid controller indexes they need.
 */
export function smartcardsWithDefaults(dom: Domain): { smartcards: Smartcard[]; controllers: number[] } {
  const cards = dom.devices.smartcards;
  const controllers: number[] = [];
  const out = cards.map((s, i) => {
    let address: Address | undefined = s.address;
    if (!address) {
      let max = -1;
      cards.forEach((o, j) => {
        if (j !== i && o.address?.type === 'ccid' && o.address.controller === 0) max = Math.max(max, o.address.slot);
      });
      address = { type: 'ccid', controller: 0, slot: max + 1 };
    }
    controllers.push(address.type === 'ccid' ? address.controller : 0);
    return address === s.address ? s : { ...s, address };
  });
  return { smartcards: out, controllers };
}

// --- IR -> argv --------------------------------------------------------------------------------

/** The usb-ccid controllers: libvirt adds them after the USB hubs they may plug into. */
export function buildCcidControllers(ctx: EmitContext): void {
  if (!has(ctx.caps, 'device')) return;
  for (const c of ctx.dom.devices.controllers) {
    if (c.type !== 'ccid') continue;
    ctx.out.object('-device', props({ driver: 'usb-ccid', id: controllerAlias(c, ctx.dom), ...usbPlacement(ctx.dom, c) }));
  }
}

export function buildSmartcards(ctx: EmitContext): void {
  const dom = ctx.dom;
  dom.devices.smartcards.forEach((s, i) => {
    if (!has(ctx.caps, 'device')) {
      ctx.diag.warn('UnsupportedForTarget', { what: '<smartcard>', target: 'QEMU without -device' }, s.$span);
      return;
    }
    for (const e of s.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: 'of smartcard' }, e.span);
    const id = s.alias ?? `smartcard${i}`;
    const a = s.address?.type === 'ccid' ? s.address : { controller: 0 };
    const ctl = dom.devices.controllers.find((c) => c.type === 'ccid' && c.index === a.controller);
    // NB: a card plugs into its controller's one CCID bus, whatever the slot
    const bus = `${ctl ? controllerAlias(ctl, dom) : `ccid${a.controller}`}.0`;
    switch (s.mode) {
      case 'host':
        ctx.out.object('-device', props({ driver: 'ccid-card-emulated', backend: 'nss-emulated', id, bus }));
        break;
      case 'host-certificates':
        ctx.out.object('-device', props({
          driver: 'ccid-card-emulated', backend: 'certificates',
          cert1: s.certificates[0], cert2: s.certificates[1], cert3: s.certificates[2],
          db: s.database ?? DEFAULT_DATABASE, id, bus,
        }));
        break;
      case 'passthrough': {
        const chardev = buildChardev(ctx, { source: s.source, extra: [], ...(s.$span ? { $span: s.$span } : {}) }, id, 'smartcard');
        if (chardev) ctx.out.object('-device', props({ driver: 'ccid-card-passthru', chardev, id, bus }));
        break;
      }
    }
  });
}

// --- argv -> IR --------------------------------------------------------------------------------

const userAlias = (id: string | undefined) => (id?.startsWith('ua-') ? { alias: id } : {});

export function readSmartcardsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const dev of r.devices((drv) => drv === 'usb-ccid')) {
    r.claim(dev.opt);
    const address = usbAddressFromProps(r, dev.props);
    const c: Controller = { type: 'ccid', index: d.controllers.filter((x) => x.type === 'ccid').length, ...userAlias(propStr(dev.props, 'id')), ...(address ? { address } : {}), extra: [], $span: dev.opt.span };
    d.controllers.push(c);
  }
  const ccidAddress = (bus: string | undefined): Address | undefined => {
    const name = /^(.+)\.\d+$/.exec(bus ?? '')?.[1];
    if (name === undefined) return undefined;
    const ccid = d.controllers.filter((c) => c.type === 'ccid');
    const ctl = ccid.find((c) => c.alias === name) ?? ccid.find((c) => !c.alias && `ccid${c.index}` === name);
    return ctl ? { type: 'ccid', controller: ctl.index, slot: 0 } : undefined;
  };
  for (const dev of r.devices((drv) => drv === 'ccid-card-emulated' || drv === 'ccid-card-passthru')) {
    const p = dev.props;
    const address = ccidAddress(propStr(p, 'bus'));
    const common = { ...userAlias(propStr(p, 'id')), ...(address ? { address } : {}), extra: [], $span: dev.opt.span };
    if (dev.driver === 'ccid-card-passthru') {
      const source = takeChardevSource(r, propStr(p, 'chardev'), 'smartcard');
      if (!source) continue;
      r.claim(dev.opt);
      d.smartcards.push({ mode: 'passthrough', source, ...common });
      continue;
    }
    const backend = propStr(p, 'backend');
    if (backend === 'certificates') {
      const certificates = ['cert1', 'cert2', 'cert3'].map((k) => propStr(p, k));
      if (certificates.some((c) => c === undefined)) continue;
      const db = propStr(p, 'db');
      r.claim(dev.opt);
      d.smartcards.push({ mode: 'host-certificates', certificates: certificates as string[], ...(db !== undefined ? { database: db } : {}), ...common });
    } else if (backend === undefined || backend === 'nss-emulated') {
      r.claim(dev.opt);
      d.smartcards.push({ mode: 'host', ...common });
    }
  }
}
