// Boot order: <os><boot dev=…/> or per-device <boot order=…/>, turned into QEMU bootindex values.
import type { Disk, Domain, NetInterface } from '../ir/domain.js';

export type Bootable = Disk | NetInterface;

/**
 * libvirt gives per-device <boot order> as is; otherwise each <boot dev> in turn goes to the
 * first device of its kind (hd: first disk, cdrom: first cdrom, fd: first floppy, network: first
 * interface), numbered from 1.
 */
export function bootIndexes(dom: Domain): Map<Bootable, number> {
  const out = new Map<Bootable, number>();
  const { disks, interfaces } = dom.devices;
  const explicit = [...disks, ...interfaces].filter((d) => d.bootOrder !== undefined);
  if (explicit.length) {
    for (const d of explicit) out.set(d, d.bootOrder!);
    return out;
  }
  let n = 1;
  for (const dev of dom.os.boot.length ? dom.os.boot : ['hd' as const]) {
    const target =
      dev === 'hd' ? disks.find((d) => d.device === 'disk')
      : dev === 'cdrom' ? disks.find((d) => d.device === 'cdrom')
      : dev === 'fd' ? disks.find((d) => d.device === 'floppy')
      : interfaces[0];
    if (target && !out.has(target)) out.set(target, n++);
  }
  return out;
}
