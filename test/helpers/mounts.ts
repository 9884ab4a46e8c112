import { readFileSync } from 'node:fs';

/**
 * Host mounts that could be isomock's: below dir, or one of the sandbox's
 * named mounts. Only these are compared: other test files (podman) mount
 * and unmount elsewhere at any time.
 */
export function isomockMounts(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(dir) || /\sisomock-[a-z]+\s/.test(line));
}
