import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * asl-validator 4 builds a new Ajv instance and compiles its fifteen JSON schemas on every
 * call (`checks/json-schema-errors.js`), about a quarter of a second per definition. This
 * module is the same check with one compiled Ajv per option set, installed in place of the
 * library's own (`validator.js` looks the function up on the module at each call). It
 * follows asl-validator 4.0.0, which package.json pins exactly; `useCompiledSchemaCheck`
 * refuses any other version rather than guess.
 */

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  message?: string;
}
interface AjvInstance {
  addFormat(name: string, format: (value: string) => boolean): AjvInstance;
  validate(schemaId: string, data: unknown): boolean;
  errors?: AjvError[] | null;
}
type AjvClass = new (options: { schemas: unknown[]; allowUnionTypes: boolean }) => AjvInstance;

interface Options {
  checkPaths: boolean;
  checkArn: boolean;
}
interface SchemaError {
  'Error code': string;
  Message: string;
  schemaError: { instancePath: string; schemaPath: string };
}

const SCHEMAS = [
  'common',
  'paths',
  'jsonata',
  'choice',
  'fail',
  'parallel',
  'pass',
  'base-state-machine',
  'state-machine',
  'state',
  'succeed',
  'task',
  'wait',
  'map',
  'errors',
];

function createAjv(options: Options): AjvInstance {
  // The library's own copies of its dependencies, wherever npm placed them.
  const main = require.resolve('asl-validator');
  const req = createRequire(main);
  const src = path.dirname(main);
  const Ajv = (req('ajv') as { default: AjvClass }).default;
  const addFormats = (req('ajv-formats') as { default: (ajv: AjvInstance) => void }).default;
  const jsonata =
    (req('jsonata') as { default?: (expr: string) => unknown }).default ??
    (req('jsonata') as (expr: string) => unknown);
  const { registerAll } = req('asl-path-validator') as { registerAll: (ajv: AjvInstance) => void };
  const { isArnFormatValid } = req(path.join(src, 'checks', 'formats.js')) as {
    isArnFormatValid: (value: string) => boolean;
  };
  const ajv = new Ajv({
    schemas: SCHEMAS.map((name) => req(path.join(src, 'schemas', `${name}.json`)) as unknown),
    allowUnionTypes: true,
  });
  addFormats(ajv);
  const validJsonata = (value: string): boolean => {
    const trimmed = value.trim();
    try {
      let expr = trimmed.startsWith('{%') ? trimmed.slice(2) : trimmed;
      expr = expr.endsWith('%}') ? expr.slice(0, -2) : expr;
      jsonata(expr);
      return true;
    } catch {
      return false;
    }
  };
  ajv.addFormat('jsonata_string', validJsonata);
  ajv.addFormat('maybe_jsonata_string', (value) => {
    const trimmed = value.trim();
    return trimmed.startsWith('{%') || trimmed.endsWith('%}') ? validJsonata(trimmed) : true;
  });
  if (options.checkPaths) registerAll(ajv);
  else
    for (const f of ['asl_path', 'asl_ref_path', 'asl_payload_template', 'asl_result_path'])
      ajv.addFormat(f, () => true);
  ajv.addFormat('asl_arn', options.checkArn ? isArnFormatValid : () => true);
  return ajv;
}

const compiled = new Map<string, AjvInstance>();

/** asl-validator's `jsonSchemaErrors`, with the schemas compiled once per option set. */
export function compiledSchemaErrors(definition: unknown, options: Options): SchemaError[] {
  const key = `${options.checkPaths}/${options.checkArn}`;
  let ajv = compiled.get(key);
  if (!ajv) compiled.set(key, (ajv = createAjv(options)));
  ajv.validate('http://asl-validator.cloud/state-machine.json#', definition);
  const errors = ajv.errors;
  if (!errors) return [];
  // As the library does: keep the errors with the deepest instance path, and where a
  // oneOf failed there, only the oneOf error (it explains the others).
  let deepest = 0;
  let selected: AjvError[] = [];
  for (const error of errors) {
    const depth = error.instancePath.split('/').length;
    if (depth === deepest) selected.push(error);
    else if (depth > deepest) selected = [error];
    deepest = Math.max(deepest, depth);
  }
  const withOneOf = new Set(selected.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const out = selected
    .filter((e) => e.keyword === 'oneOf' || !withOneOf.has(e.instancePath))
    .map((e) => ({
      'Error code': 'SCHEMA_VALIDATION_FAILED',
      Message: `${e.instancePath} is invalid. ${e.message ?? ''}`,
      schemaError: { instancePath: e.instancePath, schemaPath: decodeURIComponent(e.schemaPath) },
    }));
  return out.filter(
    (v, i, all) =>
      all.findIndex(
        (w) =>
          w.schemaError.schemaPath === v.schemaError.schemaPath &&
          w.schemaError.instancePath === v.schemaError.instancePath,
      ) === i,
  );
}

let installed = false;
let libraryCheck: typeof compiledSchemaErrors | undefined;

/** asl-validator's own check as it was before `useCompiledSchemaCheck` (tests compare the two). */
export function librarySchemaErrors(definition: unknown, options: Options): SchemaError[] {
  if (!libraryCheck) throw new Error('useCompiledSchemaCheck has not run');
  return libraryCheck(definition, options);
}

/** Puts `compiledSchemaErrors` in place of asl-validator's own check (once per process). */
export function useCompiledSchemaCheck(): void {
  if (installed) return;
  const main = require.resolve('asl-validator');
  const req = createRequire(main);
  const src = path.dirname(main);
  const pkg = req(path.join(src, '..', '..', 'package.json')) as { version: string };
  const { StateMachineErrorCode } = req(path.join(src, 'types.js')) as {
    StateMachineErrorCode: { SchemaValidationFailed: string };
  };
  if (pkg.version !== '4.0.0' || StateMachineErrorCode.SchemaValidationFailed !== 'SCHEMA_VALIDATION_FAILED') {
    // Another version may check differently: leave the library's own check in place.
    installed = true;
    return;
  }
  const checks = req(path.join(src, 'checks', 'json-schema-errors.js')) as {
    jsonSchemaErrors: typeof compiledSchemaErrors;
  };
  libraryCheck = checks.jsonSchemaErrors;
  checks.jsonSchemaErrors = compiledSchemaErrors;
  installed = true;
}
