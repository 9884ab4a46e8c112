/**
 * The constraints of Mock's buildroot_lock.json schemas 1.0.0 and 1.1.0
 * (type, const, required, additionalProperties), as JSON Schema for ajv.
 * The two versions differ only in the bootstrap section.
 */
const rpmFields = ['arch', 'epoch', 'license', 'name', 'release', 'sigmd5', 'signature', 'url', 'version'] as const;
const nullable = new Set(['epoch', 'signature']);

function lockfileSchema(version: '1.0.0' | '1.1.0'): object {
  const bootstrapFields =
    version === '1.0.0' ? ['image_digest'] : ['image_digest', 'pull_digest', 'architecture', 'id'];
  return {
    type: 'object',
    additionalProperties: false,
    required: ['buildroot', 'config', 'version'],
    properties: {
      version: { const: version },
      buildroot: {
        type: 'object',
        additionalProperties: false,
        required: ['rpms'],
        properties: {
          rpms: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: [...rpmFields],
              properties: Object.fromEntries(
                rpmFields.map((f) => [f, { type: nullable.has(f) ? ['string', 'null'] : 'string' }]),
              ),
            },
          },
        },
      },
      bootstrap: {
        type: 'object',
        additionalProperties: false,
        ...(version === '1.1.0' ? { required: bootstrapFields } : {}),
        properties: Object.fromEntries(bootstrapFields.map((f) => [f, { type: 'string' }])),
      },
      config: { type: 'object' },
    },
  };
}

export const lockfileSchemas = {
  '1.0.0': lockfileSchema('1.0.0'),
  '1.1.0': lockfileSchema('1.1.0'),
} as const;

export type LockfileVersion = keyof typeof lockfileSchemas;
