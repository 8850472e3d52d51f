/**
 * Drives the policy pack through the analyzer's own gRPC protocol, the way
 * `pulumi preview --policy-pack policies` does: the pack is started by
 * `@pulumi/pulumi/cmd/run-policy-pack` (what the CLI's `pulumi-analyzer-policy` shim runs,
 * ts-node and all), prints its port, and is asked GetAnalyzerInfo, Configure,
 * ConfigureStack and Analyze for each resource, with properties marshalled as the engine
 * marshals them (unknowns as the engine's typed sentinels, archives with their signature).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb';
import { Struct, type JavaScriptValue } from 'google-protobuf/google/protobuf/struct_pb';
import { AnalyzerClient } from '@pulumi/pulumi/proto/analyzer_grpc_pb';
import * as analyzer from '@pulumi/pulumi/proto/analyzer_pb';
import type { OfflinePolicyConfig } from '../../../policies/run-offline';

/** The engine's signature key and the signatures of archives and assets (sdk/go/common/resource/properties.go). */
const SIG = '4dabf18193072939515e22adb298388d';
const ARCHIVE_SIG = '0def7320c3a5731c473e5ecbe6d01bc7';
const ASSET_SIG = 'c44067f5952c0a294b673a41bacd8c17';
export const UNKNOWN_OBJECT = 'dd056dcd-154b-4c76-9bd3-c8f88648b5ff';
const UNKNOWNS = new Set([
  '1c4a061d-8072-4f0a-a4cb-0ff528b18fe7',
  '3eeb2bf0-c639-47a8-9e75-3b44932eb421',
  '04da6b54-80e4-46f7-96ec-b56ff0331ba9',
  '6a19a0b0-7e62-4c92-b797-7f8e31da9cc2',
  UNKNOWN_OBJECT,
]);

export interface AnalyzerVerdict {
  urn: string;
  policy: string;
  enforcementLevel: string;
  message: string;
}
export interface AnalyzerNotApplicable {
  urn: string;
  policy: string;
  reason: string;
}

const LEVELS: Record<number, string> = {
  [analyzer.EnforcementLevel.ADVISORY]: 'advisory',
  [analyzer.EnforcementLevel.MANDATORY]: 'mandatory',
  [analyzer.EnforcementLevel.REMEDIATE]: 'remediate',
  [analyzer.EnforcementLevel.DISABLED]: 'disabled',
};
const LEVEL_OF: Record<string, analyzer.EnforcementLevel> = {
  advisory: analyzer.EnforcementLevel.ADVISORY,
  mandatory: analyzer.EnforcementLevel.MANDATORY,
  remediate: analyzer.EnforcementLevel.REMEDIATE,
  disabled: analyzer.EnforcementLevel.DISABLED,
};

/** A value as the engine puts it on the wire: `undefined` dropped, archives and assets signed. */
export function marshal(value: unknown): JavaScriptValue {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') return value as JavaScriptValue;
  if (Array.isArray(value)) return value.map(marshal);
  const obj = value as Record<string, unknown>;
  if ('assets' in obj && Object.keys(obj).length === 1) {
    const assets = obj.assets as Record<string, { text?: string }>;
    return {
      [SIG]: ARCHIVE_SIG,
      assets: Object.fromEntries(Object.entries(assets).map(([k, a]) => [k, { [SIG]: ASSET_SIG, text: a.text ?? '' }])),
    };
  }
  return Object.fromEntries(
    Object.entries(obj)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, marshal(v)]),
  );
}

/**
 * What a provider's Check may hand the engine when a nested value is computed: the whole
 * enclosing object unknown. Applied below the top level.
 */
export function collapseUnknownObjects(props: Record<string, unknown>): Record<string, unknown> {
  const hasUnknown = (v: unknown): boolean =>
    typeof v === 'string'
      ? UNKNOWNS.has(v)
      : Array.isArray(v)
        ? v.some(hasUnknown)
        : !!v && typeof v === 'object' && Object.values(v).some(hasUnknown);
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) => [
      k,
      v && typeof v === 'object' && !Array.isArray(v) && hasUnknown(v) ? UNKNOWN_OBJECT : v,
    ]),
  );
}

function call<Req, Res>(
  fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

export class AnalyzerSession {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: AnalyzerClient,
    readonly stderr: () => string,
  ) {}

  /** Starts the pack in `packDir` as the CLI does and connects to it. */
  static async start(root: string, packDir: string): Promise<AnalyzerSession> {
    const runner = path.join(root, 'node_modules', '@pulumi', 'pulumi', 'cmd', 'run-policy-pack');
    // The engine address is only used to log errors back; nothing listens there.
    const child = spawn(process.execPath, [runner, '127.0.0.1:1', '.'], {
      cwd: packDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`the pack exited (${String(code)}) before serving:\n${stderr}`)));
    });
    const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 400 * 1024 * 1024,
      'grpc.max_send_message_length': 400 * 1024 * 1024,
    });
    return new AnalyzerSession(child, client, () => stderr);
  }

  async info(): Promise<analyzer.AnalyzerInfo> {
    return call(this.client.getAnalyzerInfo.bind(this.client), new Empty());
  }

  /**
   * Configure, as the CLI does after reading `--policy-pack-config`: every policy gets its
   * level (config entry, else `all`, else the policy's own) and its settings (configSchema
   * defaults overlaid with the file's).
   */
  async configure(config: OfflinePolicyConfig, stack: string): Promise<void> {
    const info = await this.info();
    const req = new analyzer.ConfigureAnalyzerRequest();
    const map = req.getPolicyconfigMap();
    const all = config.all;
    const allLevel = typeof all === 'string' ? all : (all?.enforcementLevel as string | undefined);
    for (const p of info.getPoliciesList()) {
      const entry = config[p.getName()];
      const level =
        (typeof entry === 'string' ? entry : (entry?.enforcementLevel as string | undefined)) ??
        allLevel ??
        LEVELS[p.getEnforcementlevel()];
      const defaults = Object.fromEntries(
        Object.entries(
          (p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}) as Record<string, { default?: unknown }>,
        )
          .filter(([, s]) => s.default !== undefined)
          .map(([k, s]) => [k, s.default]),
      );
      const own =
        typeof entry === 'object'
          ? Object.fromEntries(Object.entries(entry).filter(([k]) => k !== 'enforcementLevel'))
          : {};
      const pc = new analyzer.PolicyConfig();
      pc.setEnforcementlevel(LEVEL_OF[level]);
      pc.setProperties(Struct.fromJavaScript({ ...defaults, ...own } as Record<string, JavaScriptValue>));
      map.set(p.getName(), pc);
    }
    await call(this.client.configure.bind(this.client), req);
    const stackReq = new analyzer.AnalyzerStackConfigureRequest();
    stackReq.setStack(stack);
    stackReq.setProject('cqrs-workflows');
    stackReq.setOrganization('organization');
    await call(this.client.configureStack.bind(this.client), stackReq);
  }

  /** Analyze one resource; returns its violations and not-applicable outcomes. */
  async analyze(resource: {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    protect?: boolean;
    parent?: string;
  }): Promise<{ violations: AnalyzerVerdict[]; notApplicable: AnalyzerNotApplicable[] }> {
    const req = new analyzer.AnalyzeRequest();
    req.setType(resource.type);
    req.setName(resource.name);
    req.setUrn(resource.urn);
    req.setProperties(Struct.fromJavaScript(marshal(resource.props) as Record<string, JavaScriptValue>));
    const options = new analyzer.AnalyzerResourceOptions();
    options.setProtect(resource.protect ?? false);
    if (resource.parent) options.setParent(resource.parent);
    req.setOptions(options);
    const res = await call<analyzer.AnalyzeRequest, analyzer.AnalyzeResponse>(
      this.client.analyze.bind(this.client),
      req,
    );
    return {
      violations: res.getDiagnosticsList().map((d) => ({
        urn: d.getUrn() || resource.urn,
        policy: d.getPolicyname(),
        enforcementLevel: LEVELS[d.getEnforcementlevel()],
        message: d.getMessage(),
      })),
      notApplicable: res.getNotApplicableList().map((n) => ({
        urn: resource.urn,
        policy: n.getPolicyName(),
        reason: n.getReason(),
      })),
    };
  }

  stop(): void {
    this.client.close();
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill('SIGTERM');
  }
}
