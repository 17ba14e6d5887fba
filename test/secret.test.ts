// Secrets: the AES-256-CBC encryption of secret objects (a known answer from libvirt's tests), the
// secrets directory store, and how secret objects are printed with and without a value.
import { createDecipheriv } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingBytes, encryptSecret, secretStoreFromDir } from '../src/families/secret.js';
import { domainFromArgvText, domainFromXml, domainToArgv, printArgvLine } from '../src/index.js';

const decrypt = (data: string, key: Uint8Array, iv: Uint8Array) => {
  const d = createDecipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([d.update(Buffer.from(data, 'base64')), d.final()]).toString();
};

describe('encryptSecret', () => {
  test('known answer: the secret object data of libvirt 9.0 qemuxml2argv tests (key 00..1f, IV 00..0f)', () => {
    // the value libvirt's test secret driver returns, and the data its .args files carry for it
    const value = Buffer.from('AQCVn5hO6HzFAhAAq0NCv8jtJcIcE+HOBlMQ1A');
    expect(encryptSecret(value, countingBytes(32), countingBytes(16))).toBe('9eao5F8qtkGt+seB1HYivWIxbtwUu6MQtg1zpj/oDtUsPr1q8wBYM91uEHCn6j/1');
  });

  test('an empty value is one block of padding', () => {
    expect(encryptSecret(new Uint8Array(0), countingBytes(32), countingBytes(16))).toBe('6cPvirI0U+bwdJzWNueojg==');
  });
});

const DOMAIN = (disk: string) => `<domain type='qemu'><name>s</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${disk}<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`;

const ISCSI = `<disk type='network' device='disk'><driver name='qemu' type='raw'/>
  <source protocol='iscsi' name='iqn.2024-01.org.example:t/1'><host name='h.example' port='3260'/>
  <auth username='u'><secret type='iscsi' usage='chap-t'/></auth></source><target dev='vda' bus='virtio'/></disk>`;
const LUKS = `<disk type='file' device='disk'><driver name='qemu' type='raw'/>
  <source file='/img/luks.raw'><encryption format='luks'><secret type='passphrase' uuid='7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6'/></encryption></source>
  <target dev='vda' bus='virtio'/></disk>`;

function secretsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'domxml-secret-test-'));
  const def = (uuid: string, usage: string) => `<secret ephemeral='no' private='yes'><uuid>${uuid}</uuid>${usage}</secret>`;
  writeFileSync(join(dir, '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9.xml'), def('0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9', "<usage type='iscsi'><target>chap-t</target></usage>"));
  writeFileSync(join(dir, '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9.base64'), Buffer.from('chap-password').toString('base64'));
  writeFileSync(join(dir, '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6.xml'), def('7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6', "<usage type='volume'><volume>/img/luks.raw</volume></usage>"));
  writeFileSync(join(dir, '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6.base64'), Buffer.from('luks-passphrase').toString('base64'));
  writeFileSync(join(dir, 'broken.xml'), '<secret');
  return dir;
}

const secretData = (line: string, id: string) => new RegExp(`"id":"${id}","data":"([^"]*)"`).exec(line)?.[1];

describe('secrets directory', () => {
  let dir: string;
  beforeAll(() => (dir = secretsDir()));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('lookup by usage and by uuid; unknown and unparsable ones are absent', () => {
    const store = secretStoreFromDir(dir);
    expect(Buffer.from(store.lookup({ usageType: 'iscsi', usage: 'chap-t' })!).toString()).toBe('chap-password');
    expect(Buffer.from(store.lookup({ usageType: 'volume', uuid: '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6' })!).toString()).toBe('luks-passphrase');
    expect(store.lookup({ usageType: 'ceph', usage: 'chap-t' })).toBeUndefined();
    expect(store.lookup({ usageType: 'iscsi', uuid: '00000000-0000-4000-8000-000000000000' })).toBeUndefined();
  });

  test.each([
    ['iscsi CHAP password', ISCSI, 'libvirt-1-storage-auth-secret0', 'chap-password'],
    ['LUKS passphrase', LUKS, 'libvirt-1-format-encryption-secret0', 'luks-passphrase'],
  ])('%s: encrypted with the counting key and IV, no warning', (_, disk, id, value) => {
    const { argv, diagnostics } = domainToArgv(domainFromXml(DOMAIN(disk)).domain, { secretsDir: dir });
    const data = secretData(printArgvLine(argv), id);
    expect(decrypt(data!, countingBytes(32), countingBytes(16))).toBe(value);
    expect(diagnostics.items.filter((d) => d.code === 'SecretUnavailable')).toEqual([]);
  });
});

describe('secret objects without a value', () => {
  test('no store: the object is printed with an empty value and a warning', () => {
    const { argv, diagnostics } = domainToArgv(domainFromXml(DOMAIN(ISCSI)).domain);
    const line = printArgvLine(argv);
    expect(line).toContain('"password-secret":"libvirt-1-storage-auth-secret0"');
    expect(decrypt(secretData(line, 'libvirt-1-storage-auth-secret0')!, countingBytes(32), countingBytes(16))).toBe('');
    expect(diagnostics.items.map((d) => d.code)).toContain('SecretUnavailable');
  });

  test('runnable with the master key a launch writes: a fresh IV, decryptable with that key', () => {
    const masterKey = Buffer.alloc(32, 7);
    const dir = secretsDir();
    try {
      const { argv } = domainToArgv(domainFromXml(DOMAIN(LUKS)).domain, { runnable: true, masterKey, secretsDir: dir });
      const line = printArgvLine(argv);
      const iv = /"iv":"([^"]*)"/.exec(line)![1]!;
      expect(iv).not.toBe(countingBytes(16).toString('base64'));
      expect(decrypt(secretData(line, 'libvirt-1-format-encryption-secret0')!, masterKey, Buffer.from(iv, 'base64'))).toBe('luks-passphrase');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('runnable without a master key file: the value in clear, with a warning', () => {
    const { argv, diagnostics } = domainToArgv(domainFromXml(DOMAIN(ISCSI)).domain, { runnable: true });
    expect(printArgvLine(argv)).toMatch(/"qom-type":"secret","id":"libvirt-1-storage-auth-secret0","data":"","format":"base64"/);
    expect(diagnostics.items.map((d) => d.code)).toContain('RunnableSubstitute');
  });
});

describe('from-native', () => {
  test('secret objects are claimed, each with a warning; the auth and LUKS layers read back', () => {
    const { argv } = domainToArgv(domainFromXml(DOMAIN(ISCSI)).domain);
    const { domain, diagnostics } = domainFromArgvText(printArgvLine(argv));
    const disk = domain.devices.disks[0]!;
    // the <secret> is named by a placeholder usage derived from the secret object's id
    expect(disk.source.type === 'network' && disk.source.auth).toEqual({ username: 'u', secretType: 'iscsi', secretUsage: 'domxml-libvirt-1-storage-auth-secret0' });
    expect(domain.qemuCommandline).toBeUndefined();
    expect(diagnostics.items.map((d) => d.code)).toEqual(expect.arrayContaining(['SecretNotRecovered', 'SecretUsagePlaceholder']));
    expect(diagnostics.items.find((d) => d.code === 'SecretUsagePlaceholder')?.message).toContain("usage='domxml-libvirt-1-storage-auth-secret0'");
    const luks = domainFromArgvText(printArgvLine(domainToArgv(domainFromXml(DOMAIN(LUKS)).domain).argv)).domain.devices.disks[0]!;
    expect([luks.driver?.type, luks.encryption]).toEqual(['raw', { format: 'luks', secretUsage: 'domxml-libvirt-1-format-encryption-secret0', inSource: true }]);
  });
});
