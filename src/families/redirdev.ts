// <redirdev bus='usb'> and <redirfilter>: USB redirection over a chardev. argv: -chardev
// id=charredirN + -device usb-redir,chardev=,id=redirN,filter=…,bus=,port=.
import type { EmitContext } from '../emit/context.js';
import type { ArgvReader } from '../ir/argv-reader.js';
import { optProps } from '../ir/argv-reader.js';
import type { ChardevSource, Redirdev, RedirFilterRule } from '../ir/domain.js';
import { has } from '../qemu/caps.js';
import { propNum, propStr, props } from '../qemu/props.js';
import { child, el, type XmlElement } from '../xml/tree.js';
import { boolAttr, checkEnum, intAttr, reqAttr, yesNo } from '../xml/values.js';
import { fail } from '../errors.js';
import { readAddressXml, writeAddressXml } from './address.js';
import { buildChardev, readChardevSourceXml, settleChardev, sourceFromChardev, writeChardevSourceXml } from './chardev.js';
import { usbAddressFromProps, usbPlacement } from './usb-address.js';

const KNOWN = new Set(['source', 'protocol', 'boot', 'alias', 'address']);

// --- XML ---------------------------------------------------------------------------------------

export function readRedirdevXml(e: XmlElement): Redirdev {
  checkEnum(e, 'redirdev bus', e.attrs.bus ?? 'usb', ['usb'] as const);
  const boot = child(e, 'boot');
  const alias = child(e, 'alias');
  const address = child(e, 'address');
  return {
    source: readChardevSourceXml(e),
    ...(boot ? { bootOrder: intAttr(boot, 'order') } : {}),
    ...(boot?.attrs.loadparm !== undefined ? { bootLoadparm: boot.attrs.loadparm } : {}),
    ...(alias?.attrs.name ? { alias: alias.attrs.name } : {}),
    ...(address ? { address: readAddressXml(address) } : {}),
    extra: e.children.filter((c) => !KNOWN.has(c.name)),
    $span: e.span,
  };
}

/** The chardev-style body shared with <smartcard mode='passthrough'>: source(s), then a tcp protocol. */
export function chardevBodyXml(s: ChardevSource): Array<XmlElement | undefined> {
  // NB: libvirt always writes a tcp source's protocol, raw when none was given
  return [...writeChardevSourceXml(s), s.type === 'tcp' ? el('protocol', { type: s.protocol ?? 'raw' }) : undefined];
}

export function writeRedirdevXml(r: Redirdev): XmlElement {
  return el(
    'redirdev',
    { bus: 'usb', type: r.source.type },
    chardevBodyXml(r.source),
    r.bootOrder !== undefined && el('boot', { order: r.bootOrder, loadparm: r.bootLoadparm }),
    r.extra,
    r.alias !== undefined && el('alias', { name: r.alias }),
    writeAddressXml(r.address),
  );
}

/** <redirfilter><usbdev class vendor product version allow/>…: "-1" (or absent) matches any. */
export function readRedirfilterXml(e: XmlElement): RedirFilterRule[] {
  return e.children.filter((u) => u.name === 'usbdev').map((u) => {
    const num = (k: string) => (u.attrs[k] === undefined || u.attrs[k] === '-1' ? undefined : intAttr(u, k));
    const usbClass = num('class');
    const vendor = num('vendor');
    const product = num('product');
    const version = u.attrs.version === undefined || u.attrs.version === '-1' ? undefined : parseUsbVersion(u);
    const allow = boolAttr(u, 'allow');
    if (allow === undefined) return fail('XmlMissingAttribute', { attribute: 'allow', element: 'usbdev' }, u.span);
    return { ...(usbClass !== undefined ? { usbClass } : {}), ...(vendor !== undefined ? { vendor } : {}), ...(product !== undefined ? { product } : {}), ...(version !== undefined ? { version } : {}), allow };
  });
}

/** A USB version "2.00" as the BCD number USB descriptors use (0x0200). */
function parseUsbVersion(u: XmlElement): number {
  const v = reqAttr(u, 'version');
  const m = /^([0-9a-f]{1,2})\.([0-9a-f]{1,2})$/i.exec(v);
  if (!m) return fail('XmlBadValue', { what: 'usbdev version', value: v, expected: 'MAJOR.MINOR, e.g. 2.00' }, u.span);
  return (parseInt(m[1]!, 16) << 8) | parseInt(m[2]!, 16);
}

const hex = (v: number, w: number) => `0x${v.toString(16).padStart(w, '0')}`;

export function writeRedirfilterXml(rules: readonly RedirFilterRule[]): XmlElement {
  return el(
    'redirfilter',
    {},
    rules.map((u) =>
      el('usbdev', {
        class: u.usbClass === undefined ? undefined : hex(u.usbClass, 2),
        vendor: u.vendor === undefined ? undefined : hex(u.vendor, 4),
        product: u.product === undefined ? undefined : hex(u.product, 4),
        version: u.version === undefined ? undefined : `${(u.version >> 8).toString(16)}.${(u.version & 0xff).toString(16).padStart(2, '0')}`,
        allow: yesNo(u.allow),
      }),
    ),
  );
}

// --- IR -> argv --------------------------------------------------------------------------------

/** QEMU's usb-redir filter: class:vendor:product:version:allow rules joined by '|', -1 = any. */
function filterText(rules: readonly RedirFilterRule[]): string {
  const h = (v: number | undefined, w: number) => (v === undefined ? '-1' : `0x${v.toString(16).toUpperCase().padStart(w, '0')}`);
  return rules.map((u) => `${h(u.usbClass, 2)}:${h(u.vendor, 4)}:${h(u.product, 4)}:${h(u.version, 4)}:${u.allow ? 1 : 0}`).join('|');
}

export function buildRedirdevs(ctx: EmitContext): void {
  const dom = ctx.dom;
  if (!has(ctx.caps, 'device') && dom.devices.redirfilter?.length) ctx.diag.warn('UnsupportedForTarget', { what: '<redirfilter>', target: 'QEMU without -device (no usb-redir)' });
  dom.devices.redirdevs.forEach((r, i) => {
    if (!has(ctx.caps, 'device')) {
      ctx.diag.warn('UnsupportedForTarget', { what: '<redirdev>', target: 'QEMU without -device' }, r.$span);
      return;
    }
    const id = r.alias ?? `redir${i}`;
    const chardev = buildChardev(ctx, { source: r.source, extra: [], ...(r.$span ? { $span: r.$span } : {}) }, id, 'usbredir');
    if (!chardev) return;
    for (const e of r.extra) ctx.diag.warn('XmlUnsupportedElement', { element: e.name, detail: `of redirdev ${id}` }, e.span);
    ctx.out.object('-device', props({
      driver: 'usb-redir',
      chardev,
      id,
      filter: dom.devices.redirfilter ? filterText(dom.devices.redirfilter) : undefined,
      bootindex: r.bootOrder,
      ...usbPlacement(dom, r),
    }));
  });
}

// --- argv -> IR --------------------------------------------------------------------------------

/** Claims the -chardev a device refers to and reads its source (sockets, spicevmc, files…). */
export function takeChardevSource(r: ArgvReader, id: string | undefined, spicevmcName?: string): ChardevSource | undefined {
  const o = r.unclaimedWithId('-chardev', id);
  const src = o && sourceFromChardev(optProps(o));
  if (!o || !src) return undefined;
  r.claim(o);
  settleChardev(r, o, spicevmcName);
  const fd = propStr(optProps(o), 'fd');
  if (fd !== undefined) r.diag.warn('PassedDescriptor', { option: '-chardev', what: `the listening socket fd=${fd}` }, o.span);
  return src.source;
}

function parseFilter(text: string): RedirFilterRule[] | undefined {
  const rules: RedirFilterRule[] = [];
  for (const rule of text.split('|')) {
    const f = rule.split(':');
    if (f.length !== 5) return undefined;
    const n = (s: string) => (s === '-1' ? undefined : parseInt(s, 16));
    const [usbClass, vendor, product, version] = f.slice(0, 4).map(n);
    if ([usbClass, vendor, product, version].some((v) => v !== undefined && !Number.isFinite(v))) return undefined;
    rules.push({ ...(usbClass !== undefined ? { usbClass } : {}), ...(vendor !== undefined ? { vendor } : {}), ...(product !== undefined ? { product } : {}), ...(version !== undefined ? { version } : {}), allow: f[4] === '1' });
  }
  return rules;
}

export function readRedirdevsArgv(r: ArgvReader): void {
  const d = r.draft.devices;
  for (const dev of r.devices((drv) => drv === 'usb-redir')) {
    const source = takeChardevSource(r, propStr(dev.props, 'chardev'), 'usbredir');
    if (!source) continue;
    r.claim(dev.opt);
    const filter = propStr(dev.props, 'filter');
    const rules = filter !== undefined ? parseFilter(filter) : undefined;
    // NB: the filter is one per domain in XML; libvirt gives every usb-redir the same one
    if (rules && !d.redirfilter) d.redirfilter = rules;
    const id = propStr(dev.props, 'id');
    const boot = propNum(dev.props, 'bootindex');
    const address = usbAddressFromProps(r, dev.props);
    d.redirdevs.push({
      source: source.type === 'tcp' && source.protocol === undefined ? { ...source, protocol: 'raw' } : source,
      ...(boot !== undefined ? { bootOrder: boot } : {}),
      ...(id?.startsWith('ua-') ? { alias: id } : {}),
      ...(address ? { address } : {}),
      extra: [],
      $span: dev.opt.span,
    });
  }
}
