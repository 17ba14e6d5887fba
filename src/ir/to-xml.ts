// IR -> domain XML, in libvirt's element order (virDomainDefFormatInternal), 2-space indented.
import { writeSysinfoXml } from '../families/sysinfo.js';
import { writeClockXml } from '../families/clock.js';
import { writeControllerXml } from '../families/controller.js';
import { writeChardevXml } from '../families/chardev.js';
import { writeCpuXml } from '../families/cpu.js';
import { writeDiskXml } from '../families/disk.js';
import { writeGraphicsXml } from '../families/graphics.js';
import { writeHostdevXml } from '../families/hostdev.js';
import { writeHubXml } from '../families/hub.js';
import { writeInputXml } from '../families/input.js';
import { writeRedirdevXml, writeRedirfilterXml } from '../families/redirdev.js';
import { writeSmartcardXml } from '../families/smartcard.js';
import { writeInterfaceXml } from '../families/net.js';
import { writeAudioXml, writeSoundXml } from '../families/sound.js';
import { writeVideoXml } from '../families/video.js';
import { writeFeaturesXml } from '../families/features.js';
import { writeGeneral } from '../families/general.js';
import { writeLifecycleXml } from '../families/lifecycle.js';
import { writeMemballoonXml } from '../families/memballoon.js';
import { writeFilesystemXml } from '../families/filesystem.js';
import { writeRngXml } from '../families/rng.js';
import { writeTpmXml } from '../families/tpm.js';
import { writeShmemXml } from '../families/shmem.js';
import { writeVsockXml } from '../families/vsock.js';
import { writeMemoryDeviceXml } from '../families/memory.js';
import { writeOsXml } from '../families/os.js';
import { usesQemuNamespace, writeQemuNamespaceXml } from '../families/qemu-commandline.js';
import { writeIommuXml, writePanicXml, writeWatchdogXml } from '../families/platform-devices.js';
import { el, textEl, type XmlElement } from '../xml/tree.js';
import { writeXml } from '../xml/write.js';
import { QEMU_NS, type Devices, type Domain } from './domain.js';

export function domainToElement(d: Domain): XmlElement {
  return el(
    'domain',
    { type: d.type, ...(usesQemuNamespace(d) ? { 'xmlns:qemu': QEMU_NS } : {}) },
    writeGeneral(d),
    // NB: libvirt writes <sysinfo> after the tuning elements, before <os>
    (d.sysinfo ?? []).map(writeSysinfoXml),
    writeOsXml(d.os),
    writeFeaturesXml(d.features),
    d.cpu && writeCpuXml(d.cpu),
    d.clock && writeClockXml(d.clock),
    writeLifecycleXml(d),
    devicesXml(d.devices),
    d.extra,
    writeQemuNamespaceXml(d),
  );
}

/** NB: libvirt writes devices by kind in this order (virDomainDefFormatInternal); elements the
 * IR does not model yet (kept in `extra`) are slotted in by the same table, so they keep the
 * place libvirt gives them. */
const DEVICE_ORDER = [
  'emulator', 'disk', 'controller', 'lease', 'filesystem', 'interface', 'smartcard', 'serial', 'parallel',
  'console', 'channel', 'input', 'tpm', 'graphics', 'sound', 'audio', 'video', 'hostdev', 'redirdev',
  'redirfilter', 'hub', 'watchdog', 'memballoon', 'rng', 'nvram', 'panic', 'shmem', 'memory', 'iommu',
  'vsock', 'crypto',
];
const rank = (name: string): number => {
  const i = DEVICE_ORDER.indexOf(name);
  return i < 0 ? DEVICE_ORDER.length : i;
};

function devicesXml(v: Devices): XmlElement {
  const modelled: XmlElement[] = [
    textEl('emulator', v.emulator),
    ...v.disks.map(writeDiskXml),
    ...v.controllers.map(writeControllerXml),
    ...v.filesystems.map(writeFilesystemXml),
    ...v.interfaces.map(writeInterfaceXml),
    ...v.smartcards.map(writeSmartcardXml),
    ...v.serials.map((c) => writeChardevXml('serial', c)),
    ...v.parallels.map((c) => writeChardevXml('parallel', c)),
    ...v.consoles.map((c) => writeChardevXml('console', c)),
    ...v.channels.map((c) => writeChardevXml('channel', c)),
    ...v.inputs.map(writeInputXml),
    ...v.tpms.map(writeTpmXml),
    ...v.graphics.map(writeGraphicsXml),
    ...v.sounds.map(writeSoundXml),
    ...v.audios.map(writeAudioXml),
    ...v.videos.map(writeVideoXml),
    ...v.hostdevs.map(writeHostdevXml),
    ...v.redirdevs.map(writeRedirdevXml),
    v.redirfilter ? writeRedirfilterXml(v.redirfilter) : undefined,
    ...v.hubs.map(writeHubXml),
    ...v.watchdogs.map(writeWatchdogXml),
    v.memballoon ? writeMemballoonXml(v.memballoon) : undefined,
    ...v.rngs.map(writeRngXml),
    ...v.memories.map(writeMemoryDeviceXml),
    ...v.panics.map(writePanicXml),
    ...v.shmems.map(writeShmemXml),
    v.iommu ? writeIommuXml(v.iommu) : undefined,
    v.vsock ? writeVsockXml(v.vsock) : undefined,
  ].filter((e): e is XmlElement => e !== undefined);
  // a stable sort: within one kind, document order is kept
  const all = [...modelled, ...v.extra].map((e, i) => ({ e, i })).sort((a, b) => rank(a.e.name) - rank(b.e.name) || a.i - b.i);
  return el('devices', {}, all.map((x) => x.e));
}

export function domainToXml(d: Domain): string {
  return writeXml(domainToElement(d));
}
