/** Reads a comps (group) file: the groups and the packages each one pulls in. */
import { parseXmlStream } from './xml-stream.js';

export type GroupPackageType = 'mandatory' | 'default' | 'optional' | 'conditional';

export interface GroupPackage {
  name: string;
  type: GroupPackageType;
  /** For a conditional package: the package whose presence brings it in. */
  requires?: string;
}

export interface CompsGroup {
  id: string;
  /** The untranslated name and description. */
  name: string;
  description: string;
  default: boolean;
  userVisible: boolean;
  packages: GroupPackage[];
}

const textElements = new Set(['id', 'name', 'description', 'default', 'uservisible', 'packagereq']);
const packageTypes = new Set<string>(['mandatory', 'default', 'optional', 'conditional']);

/** Throws XmlSyntaxError for malformed XML and Error for an unknown packagereq type. */
export async function readComps(source: AsyncIterable<Uint8Array>): Promise<CompsGroup[]> {
  const groups: CompsGroup[] = [];
  let group: CompsGroup | undefined;
  let translated = false;
  let req: Omit<GroupPackage, 'name'> = { type: 'mandatory' };
  await parseXmlStream(
    source,
    {
      open(name, a) {
        if (name === 'group') {
          group = { id: '', name: '', description: '', default: false, userVisible: true, packages: [] };
        } else if (name === 'name' || name === 'description') {
          translated = a.get('xml:lang') !== undefined;
        } else if (name === 'packagereq') {
          // A packagereq without a type is taken as mandatory.
          const type = a.get('type') ?? 'mandatory';
          if (!packageTypes.has(type)) throw new Error(`unknown packagereq type "${type}"`);
          const requires = a.get('requires');
          req = requires ? { type: type as GroupPackageType, requires } : { type: type as GroupPackageType };
        }
      },
      text(name, text) {
        if (!group) return;
        const value = text.trim();
        if (name === 'id') group.id = value;
        else if ((name === 'name' || name === 'description') && !translated) group[name] = value;
        else if (name === 'default') group.default = value === 'true';
        else if (name === 'uservisible') group.userVisible = value === 'true';
        else if (name === 'packagereq') group.packages.push({ name: value, ...req });
      },
      close(name) {
        if (name === 'group' && group) {
          groups.push(group);
          group = undefined;
        }
      },
    },
    textElements,
  );
  return groups;
}
