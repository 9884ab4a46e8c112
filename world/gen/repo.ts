/** Repository metadata for the world: comps.xml groups and createrepo_c. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from './exec.js';

export function compsXml(groupId: string, packages: string[]): string {
  const lines = packages.map((p) => `      <packagereq type="mandatory">${p}</packagereq>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>${groupId}</id>
    <name>Buildsystem building group</name>
    <description>The minimal buildroot for building RPMs.</description>
    <default>false</default>
    <uservisible>false</uservisible>
    <packagelist>
${lines.join('\n')}
    </packagelist>
  </group>
</comps>
`;
}

/** Runs createrepo_c on dir; with a comps group the repo also gets group metadata. */
export async function createRepo(dir: string, comps?: string): Promise<void> {
  const args = ['createrepo_c', '--quiet', '--no-database'];
  if (comps !== undefined) {
    const compsPath = join(dir, 'comps.xml');
    await writeFile(compsPath, comps);
    args.push('--groupfile', compsPath);
  }
  await exec([...args, dir]);
}
