import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SaxesParser } from 'saxes';
import { parseXmlStream, XmlSyntaxError } from '../src/repo/xml-stream.js';
import { buildFixtureRpms, compsXml, makeRepo } from './helpers/repo-fixture.js';

type Event = [string, string, unknown?];
const textElements = new Set([
  'name',
  'arch',
  'checksum',
  'file',
  'changelog',
  'id',
  'packagereq',
  'description',
  'x',
  'y',
]);

/** saxes, the field-standard parser, as the oracle for the scanner's events. */
function saxesEvents(xml: string): Event[] {
  const events: Event[] = [];
  const parser = new SaxesParser({ xmlns: false });
  let collecting: string | undefined;
  let text = '';
  parser.on('opentag', (tag) => {
    events.push(['open', tag.name, { ...tag.attributes }]);
    if (collecting === undefined && textElements.has(tag.name)) [collecting, text] = [tag.name, ''];
  });
  parser.on('text', (t) => (text += collecting === undefined ? '' : t));
  parser.on('cdata', (t) => (text += collecting === undefined ? '' : t));
  parser.on('closetag', (tag) => {
    if (tag.name === collecting) {
      events.push(['text', tag.name, text]);
      collecting = undefined;
    }
    events.push(['close', tag.name]);
  });
  parser.write(xml).close();
  return events;
}

async function scannerEvents(xml: string, chunkSize: number): Promise<Event[]> {
  const events: Event[] = [];
  const bytes = Buffer.from(xml);
  const chunks = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  await parseXmlStream(
    chunks,
    {
      open: (name, attributes) => events.push(['open', name, attributes.all()]),
      text: (name, text) => events.push(['text', name, text]),
      close: (name) => events.push(['close', name]),
    },
    textElements,
  );
  return events;
}

const tricky = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<!-- a comment with <tags> & ampersands -->
<root a='single "quoted"' b="gt > and &lt;&amp;&#x41;&#66;" c="line
break&#10;tab	end">
  <x>ünïcödé – text &amp; &lt;entities&gt; <![CDATA[<raw> & ]]> ok</x>
  <y/><y attr = "spaced" ></y  >
  <?pi inside?>
  <empty></empty>
  <x>€𝄞</x>
</root>
`;

let scratch: string;
const documents: [string, string][] = [
  ['tricky', tricky],
  ['comps', compsXml],
];

before(() => {
  mkdirSync('/tmp/iso-repo', { recursive: true });
  scratch = mkdtempSync('/tmp/iso-repo/xml-');
  const rpms = buildFixtureRpms(join(scratch, 'build'));
  mkdirSync(join(scratch, 'gz'));
  const repodata = join(makeRepo(rpms, join(scratch, 'gz', 'repo'), 'gz'), 'repodata');
  for (const file of readdirSync(repodata)) {
    const data = readFileSync(join(repodata, file));
    documents.push([file, (file.endsWith('.gz') ? gunzipSync(data) : data).toString('utf8')]);
  }
});

after(() => rmSync(scratch, { recursive: true, force: true }));

test('the scanner reports what saxes does, whatever the chunking', async () => {
  assert.ok(documents.length >= 6);
  for (const [name, xml] of documents) {
    const expected = saxesEvents(xml);
    for (const chunkSize of [1, 3, 7, 64, 1 << 20]) {
      assert.deepEqual(await scannerEvents(xml, chunkSize), expected, `${name} in chunks of ${chunkSize}`);
    }
  }
});

// Entities are checked where values are decoded: in collected text and in attributes read.
test('malformed documents are refused, as saxes refuses them', async () => {
  const bad = [
    '<a><b></a>',
    '<a>',
    '<a></a><b/>',
    '<a x="1" x="2"/>',
    '<a x=1/>',
    '<x>&bogus;</x>',
    '',
    '<a><!DOCTYPE x [ <!ENTITY e "v"> ]></a>',
  ];
  for (const xml of bad) {
    assert.throws(() => saxesEvents(xml), Error, `saxes accepts ${xml}`);
    await assert.rejects(scannerEvents(xml, 2), XmlSyntaxError, xml);
  }
});
