// Types of dist/src/lockfile/validators.js, which scripts/generate-validators.mjs
// writes at build time from schema.ts (ajv standalone code).
import type { ValidateFunction } from 'ajv';

export const validate_1_0_0: ValidateFunction;
export const validate_1_1_0: ValidateFunction;
