// Facts about the host that libvirt reads when it starts a domain (not from the XML or qemu.conf):
// given to the emitter explicitly, so output never depends on the machine the converter runs on
// unless asked (`--probe-host`, src/cli/host-probe.ts, reads them from this machine).

/** One mounted hugetlbfs (libvirt's virFileFindHugeTLBFS). */
export interface HugetlbfsMount {
  readonly path: string;
  /** Page size in KiB. */
  readonly pageKiB: number;
}

export interface HostFacts {
  /**
   * DRM render nodes, in the order libvirt tries them (virHostGetDRMRenderNode: the first
   * /dev/dri/renderD* it finds): egl-headless and SPICE OpenGL without a <gl rendernode> get the first.
   */
  readonly renderNodes?: readonly string[];
  /**
   * Mounted hugetlbfs file systems, the one with the system's default page size first: used when
   * qemu.conf names no hugetlbfs_mount (libvirt detects them at start-up then).
   */
  readonly hugetlbfs?: readonly HugetlbfsMount[];
  /**
   * The host's own SMBIOS tables (libvirt reads them with dmidecode), which <smbios mode='host'>
   * copies into the guest: each table's fields by libvirt's names (bios: vendor, version, date,
   * release; system: manufacturer, product, …).
   */
  readonly smbios?: HostSmbios;
}

export interface HostSmbios {
  readonly bios: readonly HostSmbiosField[];
  readonly system: readonly HostSmbiosField[];
  readonly baseBoard: readonly HostSmbiosField[];
  readonly chassis: readonly HostSmbiosField[];
}

export interface HostSmbiosField {
  readonly name: string;
  readonly value: string;
}

/** Nothing known about the host: every host-dependent choice falls back to a stock Debian default. */
export const NO_HOST_FACTS: HostFacts = {};
