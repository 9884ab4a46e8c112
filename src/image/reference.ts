/**
 * Container image references, parsed the way containers/image does
 * (registry with port, repository path, tag, digest, docker.io defaults).
 * Mock splits references at the first ':', which breaks `host:port/name`;
 * this parser does not.
 */
import { ExitCode, IsomockError } from '../errors.js';

export interface ImageReference {
  /** Registry host, with port if any (`127.0.0.1:5000`, `docker.io`). */
  registry: string;
  /** Repository path inside the registry (`world/bootstrap`, `library/alpine`). */
  repository: string;
  tag?: string;
  /** `sha256:<hex>` when the reference pins a digest. */
  digest?: string;
}

const dockerHub = 'docker.io';
const defaultTag = 'latest';

const componentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^sha256:[a-f0-9]{64}$/;
const hostRe =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

function bad(text: string, why: string): IsomockError {
  return new IsomockError(`invalid image reference '${text}': ${why}`, ExitCode.config);
}

/** Split `name[:tag][@digest]`; the name may still lack a registry (a short name). */
export function splitReference(text: string): { name: string; tag?: string; digest?: string } {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw bad(text, `'${digest}' is not a sha256 digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A ':' after the last '/' starts the tag; one before it is a registry port.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw bad(text, `'${tag}' is not a valid tag`);
  }
  if (rest === '') throw bad(text, 'no repository name');
  return { name: rest, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Whether the first path component names a registry (as in containers/image). */
function hasRegistry(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash < 0) return false;
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

/** True when `text` names no registry, so it must be resolved through registries.conf. */
export function isShortName(text: string): boolean {
  return !hasRegistry(splitReference(text).name);
}

/** Parse a fully qualified reference, or qualify a short name with `registry`. */
export function parseReference(text: string, registry?: string): ImageReference {
  const { name, tag, digest } = splitReference(text);
  let host: string;
  let repository: string;
  if (hasRegistry(name)) {
    const slash = name.indexOf('/');
    host = name.slice(0, slash);
    repository = name.slice(slash + 1);
  } else if (registry !== undefined) {
    host = registry;
    repository = name;
  } else {
    throw bad(text, 'a short name needs a registry (see registries.conf)');
  }
  if (host === 'index.docker.io') host = dockerHub;
  if (!hostRe.test(host)) throw bad(text, `'${host}' is not a registry host`);
  // Docker Hub keeps single-component official images under library/.
  if (host === dockerHub && !repository.includes('/')) repository = `library/${repository}`;
  for (const part of repository.split('/')) {
    if (!componentRe.test(part)) throw bad(text, `'${part}' is not a valid repository component`);
  }
  return {
    registry: host,
    repository,
    ...(tag === undefined && digest === undefined ? { tag: defaultTag } : tag !== undefined && { tag }),
    ...(digest !== undefined && { digest }),
  };
}

/** `registry/repository` */
function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The canonical text form, `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return (
    repositoryName(ref) +
    (ref.tag !== undefined ? `:${ref.tag}` : '') +
    (ref.digest !== undefined ? `@${ref.digest}` : '')
  );
}

/** What to ask the registry's manifest endpoint for: the digest if pinned, else the tag. */
export function manifestSelector(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? defaultTag;
}
