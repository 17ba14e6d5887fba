// The error catalogue: every diagnostic domxml can report, by code, with its message template.
//
// Modelled on Babel's parse-error catalogue: a code names the problem, the template turns its
// parameters into a sentence, and every report carries the source span it is about. Lossy
// conversions are warnings reported through the same catalogue, never silent.

export interface Span {
  readonly file?: string;
  /** 1-based line */
  readonly line: number;
  /** 1-based column */
  readonly column: number;
  readonly offset?: number;
}

export type Severity = 'error' | 'warning';

type Params = Record<string, string | number>;
interface Entry<P extends Params> {
  readonly severity: Severity;
  readonly message: (p: P) => string;
}
const entry = <P extends Params = Record<string, never>>(severity: Severity, message: (p: P) => string): Entry<P> => ({
  severity,
  message,
});

export const CATALOGUE = {
  // --- reading command lines ---------------------------------------------------------------
  UnterminatedQuote: entry<{ quote: string }>('error', (p) => `unterminated ${p.quote} quote`),
  TrailingBackslash: entry('error', () => 'backslash at the end of input escapes nothing'),
  EmptyCommandLine: entry('error', () => 'no emulator found: the command line is empty'),
  MissingOptionValue: entry<{ option: string }>('error', (p) => `option ${p.option} needs a value`),
  BadOptionValue: entry<{ option: string; value: string; reason: string }>(
    'error',
    (p) => `bad value '${p.value}' for ${p.option}: ${p.reason}`,
  ),
  BadJson: entry<{ option: string; reason: string }>('error', (p) => `${p.option}: invalid JSON value: ${p.reason}`),
  UnknownOption: entry<{ option: string }>(
    'warning',
    (p) => `unknown option ${p.option}: kept verbatim in <qemu:commandline>`,
  ),
  RemovedOption: entry<{ option: string; version: string; hint: string }>(
    'warning',
    (p) => `option ${p.option} was removed in QEMU ${p.version}${p.hint ? ` (${p.hint})` : ''}: kept verbatim in <qemu:commandline>`,
  ),
  UnmappedOption: entry<{ option: string; detail: string }>(
    'warning',
    (p) => `${p.option}${p.detail ? ` ${p.detail}` : ''} has no domain XML equivalent: kept verbatim in <qemu:commandline>`,
  ),
  IgnoredProperty: entry<{ option: string; property: string }>(
    'warning',
    (p) => `${p.option}: property '${p.property}' is not mapped and was dropped`,
  ),
  SlirpHostForward: entry<{ option: string; rule: string; suggestion: string }>(
    'warning',
    (p) => `${p.option}: hostfwd=${p.rule} was dropped: libvirt 9.0 forwards host ports only with the passt backend of <interface type='user'>; there it is <backend type='passt'/>${p.suggestion}`,
  ),
  PlacementLeftToLibvirt: entry<{ option: string; bus: string }>(
    'warning',
    (p) => `${p.option}: bus=${p.bus} without addr= has no <address>: libvirt places the device on a bus of its choosing`,
  ),
  KeptAsOverride: entry<{ option: string; property: string; alias: string }>(
    'warning',
    (p) => `${p.option}: property '${p.property}' has no domain XML equivalent: kept in <qemu:override> of device '${p.alias}'`,
  ),
  NumaInitiatorDerived: entry<{ node: number; given: number; derived: string }>(
    'warning',
    (p) => `-numa node,nodeid=${p.node}: initiator=${p.given} is not kept: libvirt derives a node's initiator (the node itself when it has CPUs, else the one with the lowest latency or highest bandwidth to it, else the first node with CPUs), here ${p.derived}`,
  ),
  MachineRenamed: entry<{ written: string; machine: string; why: string }>(
    'warning',
    (p) => `machine type ${p.written} is written as ${p.machine} (${p.why})`,
  ),
  RelativePath: entry<{ path: string; resolved: string; why: string }>(
    'warning',
    (p) => `relative path ${p.path}: libvirt needs an absolute one: ${p.resolved} (${p.why})`,
  ),
  EmulatorPath: entry<{ written: string; path: string }>(
    'warning',
    (p) => `emulator '${p.written}' is not an absolute path, which libvirt needs: written as ${p.path}`,
  ),
  AssumedDiskFormat: entry<{ path: string; format: string }>(
    'warning',
    (p) => `${p.path}: no format given (QEMU would probe the image): ${p.format}, as its name says`,
  ),
  PositionalArgument: entry<{ value: string }>(
    'warning',
    (p) => `positional argument '${p.value}' (a disk image for QEMU): read as the first IDE disk`,
  ),
  PassedDescriptor: entry<{ option: string; what: string }>(
    'warning',
    (p) => `${p.option}: ${p.what} is a descriptor the parent process passed; its path is not on the command line`,
  ),
  HostSideUnknown: entry<{ option: string; what: string; outcome: string }>(
    'warning',
    (p) => `${p.option}: ${p.what} is set up on the host, not on the command line: ${p.outcome}`,
  ),
  HostConfig: entry<{ option: string; what: string; setting: string }>(
    'warning',
    (p) => `${p.option}: ${p.what} is qemu.conf's ${p.setting}, not the domain's: to-native prints it again from a qemu.conf (--config) that sets it`,
  ),
  ArgvLimit: entry<{ what: string; size: number; limit: number }>(
    'error',
    (p) => `${p.what} ${p.size} exceeds the limit of ${p.limit} (Linux's execve limits)`,
  ),
  DanglingReference: entry<{ option: string; ref: string; kind: string }>(
    'error',
    (p) => `${p.option} refers to ${p.kind} '${p.ref}', which no option defines`,
  ),

  // --- reading XML -------------------------------------------------------------------------
  XmlSyntax: entry<{ reason: string }>('error', (p) => `XML syntax error: ${p.reason}`),
  XmlDoctype: entry('error', () => 'DOCTYPE and ENTITY declarations are not accepted (no entity expansion)'),
  XmlTooDeep: entry<{ limit: number }>('error', (p) => `elements nested more than ${p.limit} deep`),
  XmlNotDomain: entry<{ root: string }>('error', (p) => `expected a <domain> root element, found <${p.root}>`),
  XmlMissingElement: entry<{ element: string; parent: string }>(
    'error',
    (p) => `missing <${p.element}> in <${p.parent}>`,
  ),
  XmlMissingAttribute: entry<{ attribute: string; element: string }>(
    'error',
    (p) => `missing attribute '${p.attribute}' on <${p.element}>`,
  ),
  XmlBadValue: entry<{ what: string; value: string; expected: string }>(
    'error',
    (p) => `invalid ${p.what} '${p.value}': expected ${p.expected}`,
  ),
  XmlUnsupportedElement: entry<{ element: string; detail: string }>(
    'warning',
    (p) => `<${p.element}>${p.detail ? ` ${p.detail}` : ''} is not supported yet: ignored for the command line`,
  ),
  XmlUnsupportedAttribute: entry<{ element: string; attribute: string; detail: string }>(
    'warning',
    (p) => `<${p.element} ${p.attribute}>${p.detail ? ` ${p.detail}` : ''} is not supported: ignored for the command line`,
  ),

  // --- building command lines --------------------------------------------------------------
  UnsupportedForTarget: entry<{ what: string; target: string }>(
    'warning',
    (p) => `${p.what} cannot be expressed for ${p.target}: left out`,
  ),
  UnsupportedDevice: entry<{ what: string }>('error', (p) => `${p.what} is not supported`),
  PciOutOfRange: entry<{ what: string; value: number; limit: number }>(
    'error',
    (p) => `${p.what} ${p.value} is out of range: PCI allows at most ${p.limit}`,
  ),
  AddressOutOfRange: entry<{ what: string; value: number; limit: number }>('error', (p) => `${p.what} ${p.value} is out of range: at most ${p.limit}`),
  IdOutOfRange: entry<{ text: string; limit: number }>('error', (p) => `the id set '${p.text}' names an id past ${p.limit}`),
  ReplacedByLibvirt: entry<{ what: string; instead: string }>(
    'warning',
    (p) => `${p.what} is left out: ${p.instead}`,
  ),
  NewerThanLibvirt: entry<{ what: string; instead: string }>(
    'warning',
    (p) => `${p.what} is newer than libvirt 9.0's domain XML: ${p.instead}`,
  ),
  Unrepresentable: entry<{ what: string; target: string; why: string }>(
    'error',
    (p) => `${p.what} cannot be written for ${p.target}: ${p.why}`,
  ),
  RunnableSubstitute: entry<{ what: string; instead: string }>(
    'warning',
    (p) => `${p.what} needs what libvirt sets up on the host: the runnable command line uses ${p.instead} instead`,
  ),
  HostDeviceUnresolved: entry<{ what: string; instead: string }>(
    'warning',
    (p) => `${p.what} is found on the host, and this host does not have it: ${p.instead} stands in`,
  ),
  GeneratedValue: entry<{ what: string; value: string }>(
    'warning',
    (p) => `${p.what} is generated by libvirt when the domain is defined: ${p.value}, derived from the domain's name and uuid, stands in (reproducible output)`,
  ),
  NvramFromTemplate: entry<{ path: string; template: string }>(
    'warning',
    (p) => `the UEFI variable store ${p.path} must exist before QEMU starts: on a first start, copy it from ${p.template} (libvirt and domxml launch do)`,
  ),
  SecretUnavailable: entry<{ what: string; secret: string; why: string }>(
    'warning',
    (p) => `${p.what}: the value of ${p.secret} is unknown (${p.why}): its secret object is written with an empty value`,
  ),
  SecretUsagePlaceholder: entry<{ what: string; usage: string }>(
    'warning',
    (p) => `${p.what}: the command line does not say which libvirt secret holds the password: the domain refers to it as usage='${p.usage}' (define a secret with that usage, or change the reference)`,
  ),
  SecretNotRecovered: entry<{ option: string; what: string }>(
    'warning',
    (p) => `${p.option}: the secret object holding ${p.what} is encrypted under a key the command line does not carry: the <secret> it comes from is unknown and left out`,
  ),
  TapFdOrigin: entry<{ option: string; fd: string }>(
    'warning',
    (p) => `${p.option}: tap fd=${p.fd} was opened by whoever started QEMU: read as <interface type='ethernet'>, the bridge or network behind it is unknown`,
  ),
  AddressClash: entry<{ address: string; other: string }>(
    'error',
    (p) => `address ${p.address} is already used by ${p.other}`,
  ),
  FirmwareNotFound: entry<{ firmware: string; wanted: string; source: string }>(
    'error',
    (p) => `Unable to find any firmware to satisfy '${p.firmware}': none of ${p.source} offers ${p.wanted}`,
  ),
  FirmwareConflict: entry<{ reason: string }>('error', (p) => p.reason),
  BadVersion: entry<{ value: string }>('error', (p) => `bad QEMU version '${p.value}': expected X.Y or X.Y.Z`),
  NumadPlacement: entry<{ mode: string }>(
    'warning',
    (p) => `automatic NUMA placement: libvirt asks numad for the host nodes when it starts the domain and binds guest RAM to them (mode ${p.mode}); that binding is left out of the command line`,
  ),
  NumaInvalid: entry<{ reason: string }>('error', (p) => `guest NUMA topology: ${p.reason}`),
  ShmemInvalid: entry<{ name: string; reason: string }>('error', (p) => `<shmem name='${p.name}'>: ${p.reason}`),

  // --- configuration and CLI ---------------------------------------------------------------
  ConfigSyntax: entry<{ reason: string }>('error', (p) => `qemu.conf: ${p.reason}`),
  FirmwareDescriptorInvalid: entry<{ file: string; reason: string }>('error', (p) => `firmware descriptor ${p.file}: ${p.reason}`),
  InputTooLarge: entry<{ what: string; size: number; limit: number }>(
    'error',
    (p) => `${p.what} too large: ${p.size} exceeds the limit of ${p.limit}`,
  ),
  BadEncoding: entry<{ what: string }>('error', (p) => `${p.what} is not valid UTF-8`),
  Io: entry<{ reason: string }>('error', (p) => p.reason),
} as const;

export type Code = keyof typeof CATALOGUE;
type ParamsOf<C extends Code> = (typeof CATALOGUE)[C] extends Entry<infer P> ? P : never;

export interface Diagnostic {
  readonly code: Code;
  readonly severity: Severity;
  readonly message: string;
  readonly span?: Span;
}

export function diagnostic<C extends Code>(code: C, params: ParamsOf<C>, span?: Span): Diagnostic {
  const e = CATALOGUE[code] as unknown as Entry<ParamsOf<C>>;
  return { code, severity: e.severity, message: e.message(params), ...(span ? { span } : {}) };
}

/** Thrown for any error-level diagnostic; the CLI prints it as FILE:LINE:COL: message. */
export class DomxmlError extends Error {
  readonly diagnostic: Diagnostic;
  constructor(d: Diagnostic) {
    super(d.message);
    this.name = 'DomxmlError';
    this.diagnostic = d;
  }
}

export function fail<C extends Code>(code: C, params: ParamsOf<C>, span?: Span): never {
  throw new DomxmlError(diagnostic(code, params, span));
}

/** Collects warnings; errors are thrown at once. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];
  warn<C extends Code>(code: C, params: ParamsOf<C>, span?: Span): void {
    this.items.push(diagnostic(code, params, span));
  }
  error<C extends Code>(code: C, params: ParamsOf<C>, span?: Span): never {
    return fail(code, params, span);
  }
}

export function formatSpan(span: Span | undefined, fallbackFile?: string): string {
  const file = span?.file ?? fallbackFile;
  if (!span) return file ?? '';
  return `${file ?? '<input>'}:${span.line}:${span.column}`;
}

export function formatDiagnostic(d: Diagnostic, file?: string): string {
  const where = formatSpan(d.span, file);
  return `${d.severity}: ${where ? `${where}: ` : ''}${d.message}`;
}
