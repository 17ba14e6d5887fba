import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const v = createRequire(import.meta.url)('./schemas/domain.validate.cjs');
const { readXml } = await import('./dist/xml/read.js');
const { toJson } = await import('./dist/validate/to-json.js');
const doc = toJson(readXml(readFileSync(process.argv[2], 'utf8')));
v(doc.instance);
for (const e of v.errors) console.log(e.instancePath, e.schemaPath, e.keyword, JSON.stringify(e.params));
