/**
 * Pluggable import validation: a schema checks the header, then transforms and validates
 * one row into a command draft (`pk`, `code`, optional `version`, `attributes`).
 *
 * The default schema is header-driven: columns `pk` (required), `code` or `sk` (required;
 * `sk` may be `<code>` or `<code>@<version>`), `version` (optional positive integer); every
 * other column becomes an attribute. A header cell `name:type` declares a type
 * (string | number | integer | boolean | json | date) and a trailing `!` marks it required,
 * e.g. `price:number!`. Custom schemas: `defineImportSchema` + `registerImportSchema`, then
 * set `schema` on the import job.
 */

export type ColumnType = 'string' | 'number' | 'integer' | 'boolean' | 'json' | 'date';

export interface ColumnSpec {
  /** Header name in the file. */
  name: string;
  type?: ColumnType;
  required?: boolean;
  /** Attribute name (default: `name`). */
  attribute?: string;
}

export interface CommandDraft {
  pk: string;
  code: string;
  version?: number;
  attributes: Record<string, unknown>;
}

export interface RowResult {
  command?: CommandDraft;
  errors: string[];
}

export interface ImportSchema {
  readonly name: string;
  /** Errors that make the whole file unusable (missing required columns, duplicate names). */
  checkHeader(header: readonly string[]): string[];
  /** Transform + validate one row (cell values by header name). */
  toCommand(row: Readonly<Record<string, string>>, header: readonly string[]): RowResult;
}

const TYPES: readonly ColumnType[] = ['string', 'number', 'integer', 'boolean', 'json', 'date'];
const KEY_COLUMNS = new Set(['pk', 'sk', 'code', 'version']);

function convert(type: ColumnType, raw: string, column: string): { value?: unknown; error?: string } {
  const v = raw.trim();
  switch (type) {
    case 'string':
      return { value: raw };
    case 'number': {
      const n = Number(v);
      return v !== '' && Number.isFinite(n)
        ? { value: n }
        : { error: `invalid number in column "${column}": "${raw}"` };
    }
    case 'integer': {
      const n = Number(v);
      return /^[-+]?\d+$/.test(v) && Number.isSafeInteger(n)
        ? { value: n }
        : { error: `invalid integer in column "${column}": "${raw}"` };
    }
    case 'boolean': {
      const l = v.toLowerCase();
      if (['true', '1', 'yes', 'y'].includes(l)) return { value: true };
      if (['false', '0', 'no', 'n'].includes(l)) return { value: false };
      return { error: `invalid boolean in column "${column}": "${raw}"` };
    }
    case 'json':
      try {
        return { value: JSON.parse(v) };
      } catch {
        return { error: `invalid JSON in column "${column}"` };
      }
    case 'date': {
      const t = Date.parse(v);
      return Number.isNaN(t)
        ? { error: `invalid date in column "${column}": "${raw}"` }
        : { value: new Date(t).toISOString() };
    }
  }
}

/** Parse a header cell `name[:type][!]`. */
export function parseHeaderCell(cell: string): ColumnSpec {
  let text = cell.trim();
  let required = false;
  if (text.endsWith('!')) {
    required = true;
    text = text.slice(0, -1);
  }
  const colon = text.lastIndexOf(':');
  if (colon > 0 && (TYPES as readonly string[]).includes(text.slice(colon + 1).trim())) {
    return {
      name: cell,
      attribute: text.slice(0, colon).trim(),
      type: text.slice(colon + 1).trim() as ColumnType,
      required,
    };
  }
  return { name: cell, attribute: text, type: 'string', required };
}

function keyFromRow(
  row: Readonly<Record<string, string>>,
  specs: readonly ColumnSpec[],
  errors: string[],
): Omit<CommandDraft, 'attributes'> | undefined {
  const byAttr = new Map(specs.map((s) => [s.attribute ?? s.name, s]));
  const cell = (attr: string): string | undefined => {
    const spec = byAttr.get(attr);
    return spec ? row[spec.name] : undefined;
  };
  const pk = cell('pk')?.trim() ?? '';
  if (!pk) errors.push('empty required field "pk"');
  let code = cell('code')?.trim() ?? '';
  let version: number | undefined;
  const sk = cell('sk')?.trim() ?? '';
  if (!code && sk) {
    const at = sk.lastIndexOf('@');
    if (at > 0 && /^\d+$/.test(sk.slice(at + 1))) {
      code = sk.slice(0, at);
      version = Number(sk.slice(at + 1));
    } else {
      code = sk;
    }
  }
  if (!code)
    errors.push(byAttr.has('code') || !byAttr.has('sk') ? 'empty required field "code"' : 'empty required field "sk"');
  const rawVersion = cell('version')?.trim() ?? '';
  if (rawVersion !== '') {
    const n = Number(rawVersion);
    if (!/^\d+$/.test(rawVersion) || !Number.isSafeInteger(n) || n < 1)
      errors.push(`invalid integer in column "version": "${rawVersion}" (expected a positive integer)`);
    else if (version !== undefined && version !== n)
      errors.push(`"version" (${n}) disagrees with the version in "sk" (${version})`);
    else version = n;
  }
  if (errors.length > 0) return undefined;
  return version === undefined ? { pk, code } : { pk, code, version };
}

function validateWith(specs: readonly ColumnSpec[], row: Readonly<Record<string, string>>): RowResult {
  const errors: string[] = [];
  const key = keyFromRow(row, specs, errors);
  const attributes: Record<string, unknown> = {};
  for (const spec of specs) {
    const attr = spec.attribute ?? spec.name;
    if (KEY_COLUMNS.has(attr)) continue;
    const raw = row[spec.name];
    if (raw === undefined || raw.trim() === '') {
      if (spec.required) errors.push(`empty required field "${attr}"`);
      continue;
    }
    const { value, error } = convert(spec.type ?? 'string', raw, attr);
    if (error) errors.push(error);
    else attributes[attr] = value;
  }
  if (errors.length > 0 || !key) return { errors };
  return { command: { ...key, attributes }, errors: [] };
}

function duplicateNames(header: readonly string[], specs: readonly ColumnSpec[]): string[] {
  const seen = new Set<string>();
  const errors: string[] = [];
  specs.forEach((s, i) => {
    const attr = s.attribute ?? s.name;
    if (!header[i]?.trim()) errors.push(`header column ${i + 1} is empty`);
    else if (seen.has(attr)) errors.push(`duplicate column "${attr}" in header`);
    seen.add(attr);
  });
  return errors;
}

/** The default, header-driven schema. */
export const defaultImportSchema: ImportSchema = {
  name: 'default',
  checkHeader(header) {
    const specs = header.map(parseHeaderCell);
    const attrs = new Set(specs.map((s) => s.attribute ?? s.name));
    const errors = duplicateNames(header, specs);
    if (!attrs.has('pk')) errors.push('missing required column "pk"');
    if (!attrs.has('code') && !attrs.has('sk')) errors.push('missing required column "code" (or "sk")');
    return errors;
  },
  toCommand(row, header) {
    return validateWith(header.map(parseHeaderCell), row);
  },
};

export interface SchemaDefinition {
  name: string;
  /** Declared columns (key columns pk / code|sk / version are recognised by name). */
  columns: ColumnSpec[];
  /** Accept (and import as string attributes) columns not declared. Default false. */
  allowExtraColumns?: boolean;
  /** Optional final transformation of the validated draft (e.g. rename, derive the code). */
  transform?: (draft: CommandDraft, row: Readonly<Record<string, string>>) => CommandDraft;
}

export function defineImportSchema(def: SchemaDefinition): ImportSchema {
  const declared = new Map(def.columns.map((c) => [c.name, c]));
  const specsFor = (header: readonly string[]): ColumnSpec[] =>
    header.map((h) => declared.get(h) ?? { name: h, attribute: h, type: 'string' });
  return {
    name: def.name,
    checkHeader(header) {
      const errors = duplicateNames(header, specsFor(header));
      for (const c of def.columns)
        if (c.required && !header.includes(c.name)) errors.push(`missing required column "${c.name}"`);
      if (!def.allowExtraColumns) for (const h of header) if (!declared.has(h)) errors.push(`unexpected column "${h}"`);
      const attrs = new Set(specsFor(header).map((s) => s.attribute ?? s.name));
      if (!attrs.has('pk')) errors.push('missing required column "pk"');
      if (!attrs.has('code') && !attrs.has('sk')) errors.push('missing required column "code" (or "sk")');
      return errors;
    },
    toCommand(row, header) {
      const result = validateWith(specsFor(header), row);
      if (result.command && def.transform) {
        try {
          return { command: def.transform(result.command, row), errors: [] };
        } catch (err) {
          return { errors: [`transform failed: ${err instanceof Error ? err.message : String(err)}`] };
        }
      }
      return result;
    },
  };
}

const schemas = new Map<string, ImportSchema>([[defaultImportSchema.name, defaultImportSchema]]);

export function registerImportSchema(schema: ImportSchema): void {
  schemas.set(schema.name, schema);
}

export function resolveImportSchema(name: string | undefined): ImportSchema {
  const schema = schemas.get(name || 'default');
  if (!schema) throw new Error(`import schema "${name}" is not registered in this function`);
  return schema;
}

/** Identity of a row's target for duplicate detection within a file. */
export function dedupeKey(c: CommandDraft): string {
  return JSON.stringify([c.pk, c.code, c.version ?? null]);
}

export function describeKey(c: CommandDraft): string {
  return `pk=${c.pk}, code=${c.code}${c.version !== undefined ? `, version=${c.version}` : ''}`;
}
