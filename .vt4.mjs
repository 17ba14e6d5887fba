import { readFileSync } from 'node:fs';
const { validateDomainXml, formatText } = await import('./dist/validate/index.js');
const t0 = Date.now();
let ok = 0;
for (const f of process.argv.slice(2)) {
  const r = validateDomainXml(readFileSync(f, 'utf8'), { file: f });
  if (r.valid) ok++;
  for (const d of r.diagnostics) console.log(formatText(d));
}
console.log(ok, process.argv.length - 2, Date.now() - t0, 'ms');
