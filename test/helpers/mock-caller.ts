/**
 * An unprivileged member of group `mock`, as Koji's, Copr's and Konflux's
 * builders run Mock: group mock (made if absent), a fresh system user in it
 * with its home under the test's scratch directory, and this checkout's
 * sudoers drop-in installed by scripts/install-mock-group under a name of
 * the test's own (that of ISOMOCK_BIN's checkout when it is set). remove() takes away only what create() made.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from './paths.js';

export interface MockCaller {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Words that run a command as this user (setpriv: its uid, gid and groups). */
  wrapper: string[];
  /** A user outside group mock, with its own wrapper. */
  outsider: { name: string; uid: number; wrapper: string[] };
  remove(): void;
}

const run = (argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const exists = (db: string, key: string): boolean => {
  try {
    run(['getent', db, key]);
    return true;
  } catch {
    return false;
  }
};

function wrapperFor(name: string): { uid: number; gid: number; wrapper: string[] } {
  const uid = Number(run(['id', '-u', name]).trim());
  const gid = Number(run(['id', '-g', name]).trim());
  return { uid, gid, wrapper: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--'] };
}

export function createMockCaller(scratch: string): MockCaller {
  const madeGroup = !exists('group', 'mock');
  if (madeGroup) run(['groupadd', '--system', ...(exists('group', '135') ? [] : ['--gid', '135']), 'mock']);
  const tag = randomBytes(3).toString('hex');
  const name = `isomock-t${tag}`;
  const outsiderName = `isomock-o${tag}`;
  const home = join(scratch, 'home');
  const sudoers = `/etc/sudoers.d/isomock-test-${tag}`;
  const made: (() => void)[] = [];
  const remove = (): void => {
    for (const undo of made.reverse()) {
      try {
        undo();
      } catch {
        // Go on: each undo takes away one thing of ours.
      }
    }
  };
  try {
    mkdirSync(home, { recursive: true });
    for (const [user, groups] of [
      [name, ['-G', 'mock']],
      [outsiderName, []],
    ] as const) {
      run([
        'useradd',
        '--system',
        '--no-create-home',
        '--home-dir',
        home,
        '--shell',
        '/usr/sbin/nologin',
        ...groups,
        user,
      ]);
      made.push(() => run(['userdel', user]));
    }
    if (madeGroup) made.unshift(() => run(['groupdel', 'mock']));
    const own = wrapperFor(name);
    chownSync(home, own.uid, own.gid);
    // With ISOMOCK_BIN (an older build), the drop-in is that checkout's, for its own launcher.
    const old = process.env['ISOMOCK_BIN'];
    const install = join(old ? resolve(dirname(old), '..') : repoRoot, 'scripts', 'install-mock-group');
    run([install, '--sudoers', sudoers, '--no-links']);
    made.push(() => run([install, '--uninstall', '--sudoers', sudoers]));
    const outsider = wrapperFor(outsiderName);
    return {
      name,
      home,
      ...own,
      outsider: { name: outsiderName, uid: outsider.uid, wrapper: outsider.wrapper },
      remove,
    };
  } catch (err) {
    remove();
    throw err;
  }
}
