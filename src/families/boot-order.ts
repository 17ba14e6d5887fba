// Boot order: <os><boot dev=…/> or per-device <boot order=…/>, turned into QEMU bootindex values.
import type { Disk, Domain, NetInterface } from '../ir/domain.js';

export type Bootable = Disk | NetInterface;

/**
 * libvirt gives per-device <boot order> as is; otherwise each <boot dev> goes to the first device
 * of its kind (hd: first disk or LUN, cdrom: first cdrom, fd: first floppy, network: first
 * interface) with its position in the <boot> list, counted from 1.
 */
export function bootIndexes(dom: Domain): Map<Bootable, number> {
  const out = new Map<Bootable, number>();
  const { disks, interfaces } = dom.devices;
  const explicit = [...disks, ...interfaces].filter((d) => d.bootOrder !== undefined);
  if (explicit.length) {
    for (const d of explicit) out.set(d, d.bootOrder!);
    return out;
  }
  // NB: a <boot dev> keeps its place in the list as its index even when no device matched an
  // earlier one (libvirt: bootCD = i + 1), so <boot dev='cdrom'/><boot dev='hd'/> without a cdrom gives the disk 2
  const order = dom.os.boot.length ? dom.os.boot : ['hd' as const];
  for (const [i, dev] of order.entries()) {
    const target =
      // NB: a SCSI LUN boots as a hard disk (libvirt's bootDisk covers disk and lun)
      dev === 'hd' ? disks.find((d) => d.device === 'disk' || d.device === 'lun')
      : dev === 'cdrom' ? disks.find((d) => d.device === 'cdrom')
      : dev === 'fd' ? disks.find((d) => d.device === 'floppy')
      : interfaces[0];
    if (target && !out.has(target)) out.set(target, i + 1);
  }
  return out;
}
