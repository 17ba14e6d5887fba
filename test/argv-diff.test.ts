// argv-diff: semantic equality of command lines and what it reports when they differ.
import { diffArgv, formatArgvDiff } from '../src/compare/argv-diff.js';

const base = `LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=g -machine pc,usb=off -m 512 \\
-device '{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0","mac":"52:54:00:00:00:01","bus":"pci.0","addr":"0x3"}' \\
-serial pty -serial null -sandbox on`;

describe('argv-diff', () => {
  test('JSON and QemuOpts spellings of the same option are equal', () => {
    const keyval = `LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=g -M pc,usb=false -m 512 -device virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:00:00:01,bus=pci.0,addr=0x3 -serial pty -serial null -sandbox on`;
    const d = diffArgv(base, keyval);
    expect(d.equal).toBe(true);
    expect(formatArgvDiff(d)).toBe('equal\n');
  });

  test('options QEMU reads in any order may move', () => {
    const moved = `LC_ALL=C /usr/bin/qemu-system-x86_64 -m 512 -name guest=g -sandbox on -machine pc,usb=off -serial pty -serial null -device virtio-net-pci,id=net0,netdev=hostnet0,mac=52:54:00:00:00:01,bus=pci.0,addr=0x3`;
    expect(diffArgv(base, moved).equal).toBe(true);
  });

  test('serial ports are numbered by position, so their order counts', () => {
    const swapped = base.replace('-serial pty -serial null', '-serial null -serial pty');
    const d = diffArgv(base, swapped);
    expect(d.equal).toBe(false);
    expect(d.reordered).toEqual(['-serial']);
  });

  test('a changed property is reported against the option id', () => {
    const d = diffArgv(base, base.replace('52:54:00:00:00:01', '52:54:00:00:00:02'));
    expect(d.changed).toEqual([{ identity: '-device net0', removed: [], added: [], modified: [['mac', '52:54:00:00:00:01', '52:54:00:00:00:02']] }]);
    expect(formatArgvDiff(d)).toContain('~ -device net0: mac: 52:54:00:00:00:01 -> 52:54:00:00:00:02');
  });

  test('missing and extra options and environment', () => {
    const d = diffArgv(base, base.replace('LC_ALL=C', 'LC_ALL=C FOO=1').replace(' -sandbox on', ' -no-acpi'));
    expect(d.env.extra).toEqual(['FOO=1']);
    expect(d.missing.map((m) => `${m.name} ${m.text}`)).toEqual(['-sandbox enable=on']);
    expect(d.extra.map((m) => m.name)).toEqual(['-no-acpi']);
    expect(formatArgvDiff(d).trim().split('\n').pop()).toBe('1 missing, 2 extra, 0 changed');
  });
});
