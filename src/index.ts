// domxml as a library: the conversions the CLI offers, as functions.
export { domainFromXml, domainFromElement } from './ir/from-xml.js';
export { domainToXml, domainToElement } from './ir/to-xml.js';
export { domainFromArgvText, domainFromCommandLine, type FromArgvOptions } from './ir/from-argv.js';
export { domainToArgv, type EmitOptions, type EmitResult } from './emit/to-argv.js';
export { DEBIAN_OVMF, parseFirmwareDescriptor, readFirmwareDirs, type FirmwareDescriptor, type FirmwareSet } from './families/firmware.js';
export { printArgvLine, printArgvPretty, argvWords, shellQuote, type Argv } from './emit/argv.js';
export { NO_HOST_FACTS, type HostFacts, type HugetlbfsMount } from './emit/host.js';
export { parseCommandLine, type CommandLine, type ParsedOption } from './lexer/argv-parser.js';
export { shellWords } from './lexer/shell-lexer.js';
export { applyDefaults } from './ir/defaults.js';
export { capsFor, CAPABILITIES, DEFAULT_QEMU_VERSION, type Caps } from './qemu/caps.js';
export { parseQemuConf, DEFAULT_CONF, type QemuConf } from './qemu/config.js';
export { OPTIONS, lookupOption, type OptionSpec } from './qemu/options.js';
export { CATALOGUE, Diagnostics, DomxmlError, formatDiagnostic, type Diagnostic, type Code, type Span } from './errors.js';
export { validateDomainXml, formatText as formatValidationDiagnostic, RULE_DOCS, type ValidateOptions, type ValidationDiagnostic, type ValidationResult } from './validate/index.js';
export type * from './ir/domain.js';
