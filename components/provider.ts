/**
 * The multi-language side of the package: a Pulumi component provider serving
 * `CqrsWorkflows` to Python, Go, .NET, Java and YAML programs (`pulumi package add`).
 *
 * The schema is inferred from the TypeScript sources by Pulumi's own analyzer
 * (`@pulumi/pulumi/provider/experimental`) when the package is built, refined where the
 * analyzer cannot express what the Args mean (integers), and committed as
 * `schema.json`. The running provider serves that file and constructs from it, so a
 * plugin start needs neither TypeScript nor a type-check of the sources; a test keeps
 * the file equal to a fresh inference (`npm run schema` regenerates it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type * as provider from '@pulumi/pulumi/provider';
import { CqrsWorkflows } from './cqrs-workflows';
import { packageRoot } from './package-root';

/** Package name in the schema and in every type token (`cqrs-workflows:index:<Class>`). */
export const PROVIDER_NAME = 'cqrs-workflows';

type ComponentClass = new (
  name: string,
  args: never,
  opts?: pulumi.ComponentResourceOptions,
) => pulumi.ComponentResource;

/** The components other languages can use. The other exported components stay TypeScript-only. */
export const PROVIDED_COMPONENTS: Record<string, ComponentClass> = { CqrsWorkflows };

/** The committed schema, next to package.json. */
export function schemaPath(root = packageRoot()): string {
  return path.join(root, 'schema.json');
}

/** The subset of a Pulumi package schema this provider reads and refines. */
export interface PackageSchema {
  name: string;
  version: string;
  resources: Record<
    string,
    { inputProperties: Record<string, SchemaProperty>; properties: Record<string, SchemaProperty> }
  >;
  types: Record<string, { properties?: Record<string, SchemaProperty> }>;
  [key: string]: unknown;
}

export interface SchemaProperty {
  type?: string;
  description?: string;
  items?: SchemaProperty;
  additionalProperties?: SchemaProperty;
  [key: string]: unknown;
}

const INTEGER = /\bintegers?\b/i;

/**
 * TypeScript has one `number`, so the analyzer writes `number` for every count, size and
 * duration. The Args say "integer" in the property's documentation where an integer is
 * meant (the project's convention); those become `integer`, which SDKs type as int.
 */
function refineProperty(property: SchemaProperty): void {
  if (property.type === 'number' && INTEGER.test(property.description ?? '')) property.type = 'integer';
  if (property.type === 'array' && property.items?.type === 'number' && INTEGER.test(property.description ?? '')) {
    property.items.type = 'integer';
  }
}

/** Applies the refinements to every property of every resource and type; returns the schema. */
export function refineSchema(schema: PackageSchema): PackageSchema {
  for (const resource of Object.values(schema.resources)) {
    Object.values(resource.inputProperties).forEach(refineProperty);
    Object.values(resource.properties).forEach(refineProperty);
  }
  for (const type of Object.values(schema.types)) Object.values(type.properties ?? {}).forEach(refineProperty);
  return schema;
}

/**
 * Runs Pulumi's analyzer over the TypeScript sources under `root` (it reads
 * `root/tsconfig.json`) and returns the refined schema. Takes several seconds: it builds
 * a whole TypeScript program. Development-time only.
 */
export function inferSchema(root = packageRoot()): PackageSchema {
  // Loaded here, not at the top: it loads TypeScript, which a running provider does not need.
  type AnalyzerModule = typeof import('@pulumi/pulumi/provider/experimental/analyzer');
  type SchemaModule = typeof import('@pulumi/pulumi/provider/experimental/schema');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Analyzer } = require('@pulumi/pulumi/provider/experimental/analyzer') as AnalyzerModule;
  const { generateSchema } = require('@pulumi/pulumi/provider/experimental/schema') as SchemaModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
    description?: string;
  };
  // The analyzer starts from the package's entry point; ours point at the build, so
  // name the component sources explicitly.
  const analyzer = new Analyzer(
    root,
    PROVIDER_NAME,
    { ...pkg, exports: undefined, main: 'components/index.ts' },
    new Set(Object.keys(PROVIDED_COMPONENTS)),
  );
  const { components, typeDefinitions, dependencies } = analyzer.analyze();
  const schema = generateSchema(
    PROVIDER_NAME,
    pkg.version,
    pkg.description ?? '',
    components,
    typeDefinitions,
    dependencies,
  ) as unknown as PackageSchema;
  return refineSchema(JSON.parse(JSON.stringify(schema)) as PackageSchema);
}

/** The committed schema as the provider serves it. */
export function readCommittedSchema(root = packageRoot()): PackageSchema {
  return JSON.parse(fs.readFileSync(schemaPath(root), 'utf8')) as PackageSchema;
}

/** The text `npm run schema` writes: stable key order as inferred, two-space indent, final newline. */
export function formatSchema(schema: PackageSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/**
 * The component provider the engine talks to: GetSchema answers with the committed
 * schema, Construct builds the component and returns the outputs the schema lists.
 */
export class CqrsWorkflowsProvider implements provider.Provider {
  readonly version: string;
  private readonly root: string;
  private schemaText?: string;

  constructor(root = packageRoot()) {
    this.root = root;
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    this.version = pkg.version;
  }

  getSchema(): Promise<string> {
    this.schemaText ??= fs.readFileSync(schemaPath(this.root), 'utf8');
    return Promise.resolve(this.schemaText);
  }

  async construct(
    name: string,
    type: string,
    inputs: pulumi.Inputs,
    options: pulumi.ComponentResourceOptions,
  ): Promise<provider.ConstructResult> {
    const [pkg, module, className, ...rest] = type.split(':');
    if (pkg !== PROVIDER_NAME || module !== 'index' || rest.length > 0 || !className) {
      throw new Error(`${PROVIDER_NAME} cannot construct ${type}: expected ${PROVIDER_NAME}:index:<Component>`);
    }
    const Component = PROVIDED_COMPONENTS[className];
    const schema = JSON.parse(await this.getSchema()) as PackageSchema;
    const definition = schema.resources[type];
    if (!Component || !definition) {
      throw new Error(
        `${PROVIDER_NAME} has no component ${className}; it provides ${Object.keys(PROVIDED_COMPONENTS).join(', ')}`,
      );
    }
    // Inputs arrive as the schema describes them: plain values, or Outputs where they
    // carry secrets or dependencies. The component accepts both.
    const instance = new Component(name, inputs as never, options);
    const state: Record<string, unknown> = {};
    for (const output of Object.keys(definition.properties)) {
      state[output] = (instance as unknown as Record<string, unknown>)[output];
    }
    return { urn: instance.urn, state };
  }
}
