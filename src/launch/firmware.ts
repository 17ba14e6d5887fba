// UEFI guests on this host: <os firmware='efi'> resolved from this host's firmware descriptors
// (as libvirt does at start-up), and the guest's own variable store created from the firmware's
// template on its first start (libvirt's qemuPrepareNVRAMFile).
import { chmodSync, chownSync, closeSync, copyFileSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hostFirmwareDirs } from '../cli/host-probe.js';
import { applyDefaults } from '../ir/defaults.js';
import type { Domain } from '../ir/domain.js';
import { DEBIAN_OVMF, readFirmwareDirs, resolveFirmware } from '../families/firmware.js';
import { capsFor } from '../qemu/caps.js';
import { DEFAULT_CONF, type QemuConf } from '../qemu/config.js';
import type { QemuVersion } from '../qemu/version.js';
import { refuse } from './errors.js';

/**
 * The domain with <os firmware> replaced by this host's firmware: the descriptors in
 * /usr/share/qemu/firmware and /etc/qemu/firmware (the built-in Debian set when there are none).
 * A guest's variable store goes to qemu.conf's nvram_dir when it names one, else next to the
 * launcher's other per-domain state (libDir/nvram), not into libvirt's own directory.
 */
export function resolveHostFirmware(dom: Domain, conf: QemuConf, libDir: string, version: QemuVersion): Domain {
  if (!dom.os.firmware) return dom;
  const dirs = hostFirmwareDirs();
  const firmware = dirs.length ? readFirmwareDirs(dirs) : DEBIAN_OVMF;
  const nvramDir = conf.nvramDir === DEFAULT_CONF.nvramDir ? join(libDir, 'nvram') : conf.nvramDir;
  const caps = capsFor(version, dom.os.arch ?? 'x86_64');
  return resolveFirmware(applyDefaults(dom, {}), { caps, firmware, nvramDir });
}

/** An NVRAM file the guest needs but does not have yet, and the template it is made from. */
export function missingNvram(dom: Domain): { readonly path: string; readonly template: string } | undefined {
  const nv = dom.os.nvram;
  if (!nv?.path || !nv.template || existsSync(nv.path)) return undefined;
  return { path: nv.path, template: nv.template };
}

/**
 * Creates the guest's variable store from its template (first start), owned by the guest's user;
 * an existing store is the guest's and is never overwritten. Returns the file created, if any.
 */
export function prepareNvram(dom: Domain, owner: { uid: number; gid: number } | undefined): string | undefined {
  const missing = missingNvram(dom);
  if (!missing) return undefined;
  if (!existsSync(missing.template)) return refuse(`NVRAM template ${missing.template} does not exist: install the firmware package (apt-get install ovmf) or give <nvram> an existing file`);
  mkdirSync(dirname(missing.path), { recursive: true, mode: 0o755 });
  // NB: created exclusively, so two launches racing cannot both copy over each other
  closeSync(openSync(missing.path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  copyFileSync(missing.template, missing.path);
  // NB: the copy takes the template's mode: the guest's variables are its own
  chmodSync(missing.path, 0o600);
  if (owner) chownSync(missing.path, owner.uid, owner.gid);
  return missing.path;
}
