/**
 * Whole-file replacement that readers never see half-written. The implementation lives with
 * the other root-safe primitives in safe_fs.ts; this module keeps the import path stable.
 * @module
 */
export { writeFileAtomic } from "./safe_fs.ts";
