/**
 * Drives a Pulumi component plugin the way the engine does, without the Pulumi CLI:
 * one gRPC server plays the engine and the resource monitor (registrations are
 * recorded and answered like the synth harness answers its mocks), the plugin is
 * started exactly as the Node.js language host starts a source plugin
 * (`@pulumi/pulumi/cmd/run-plugin <plugin dir> <engine address>`, cwd = the program),
 * and the provider is called over gRPC: GetPluginInfo, GetSchema, Construct.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { answerInvoke, computedState } from '../../scripts/synth/run-program';

// The generated gRPC stubs ship with @pulumi/pulumi; load them (and the protobuf and
// gRPC runtimes) from where that package resolves them.
const sdkDir = path.dirname(require.resolve('@pulumi/pulumi/package.json'));
const fromSdk = (id: string) => require(require.resolve(id, { paths: [sdkDir] }));
const grpc = fromSdk('@grpc/grpc-js');
const { Struct } = fromSdk('google-protobuf/google/protobuf/struct_pb');
const { Empty } = fromSdk('google-protobuf/google/protobuf/empty_pb');
const engineRpc = require(path.join(sdkDir, 'proto', 'engine_grpc_pb'));
const engineProto = require(path.join(sdkDir, 'proto', 'engine_pb'));
const resourceRpc = require(path.join(sdkDir, 'proto', 'resource_grpc_pb'));
const resourceProto = require(path.join(sdkDir, 'proto', 'resource_pb'));
const providerRpc = require(path.join(sdkDir, 'proto', 'provider_grpc_pb'));
const providerProto = require(path.join(sdkDir, 'proto', 'provider_pb'));

export interface Registration {
  type: string;
  name: string;
  custom: boolean;
  parent: string;
  protect: boolean;
  inputs: Record<string, unknown>;
}

export interface ConstructOutcome {
  urn: string;
  state: Record<string, unknown>;
}

export interface PluginSession {
  registrations: Registration[];
  logs: string[];
  pluginInfo(): Promise<{ version: string }>;
  getSchema(): Promise<string>;
  construct(type: string, name: string, inputs: Record<string, unknown>, protect?: boolean): Promise<ConstructOutcome>;
  close(): Promise<void>;
}

type Callback = (error: Error | null, response?: unknown) => void;
interface Call {
  request: Record<string, (...args: unknown[]) => unknown>;
}

/** Starts the engine double and the plugin in `pluginDir`; `close()` stops both. */
export async function startPlugin(
  pluginDir: string,
  options: { project: string; stack: string; region: string },
): Promise<PluginSession> {
  const { project, stack, region } = options;
  const registrations: Registration[] = [];
  const logs: string[] = [];
  const supported = new Set(['secrets', 'resourceReferences', 'outputValues', 'aliasSpecs', 'deletedWith']);

  const server = new grpc.Server();
  server.addService(engineRpc.EngineService, {
    log: (call: Call, cb: Callback) => {
      logs.push(String(call.request.getMessage()));
      cb(null, new Empty());
    },
    getRootResource: (_call: Call, cb: Callback) => cb(null, new engineProto.GetRootResourceResponse()),
    setRootResource: (_call: Call, cb: Callback) => cb(null, new engineProto.SetRootResourceResponse()),
  });
  server.addService(resourceRpc.ResourceMonitorService, {
    supportsFeature: (call: Call, cb: Callback) => {
      const response = new resourceProto.SupportsFeatureResponse();
      response.setHassupport(supported.has(String(call.request.getId())));
      cb(null, response);
    },
    invoke: (call: Call, cb: Callback) => {
      try {
        const token = String(call.request.getTok());
        const args = (
          call.request.getArgs() as { toJavaScript(): Record<string, unknown> } | undefined
        )?.toJavaScript();
        const answer = answerInvoke({ token, inputs: args ?? {}, provider: '' } as pulumi.runtime.MockCallArgs, region);
        const response = new resourceProto.ResourceInvokeResponse();
        response.setReturn(Struct.fromJavaScript(answer));
        cb(null, response);
      } catch (e) {
        cb(e as Error);
      }
    },
    registerResource: (call: Call, cb: Callback) => {
      const req = call.request;
      const type = String(req.getType());
      const name = String(req.getName());
      const custom = Boolean(req.getCustom());
      const inputs = (req.getObject() as { toJavaScript(): Record<string, unknown> } | undefined)?.toJavaScript() ?? {};
      registrations.push({
        type,
        name,
        custom,
        parent: String(req.getParent()),
        protect: Boolean(req.getProtect()),
        inputs,
      });
      const parentType = String(req.getParent()).split('::')[2];
      const qualified = parentType && parentType !== 'pulumi:pulumi:Stack' ? `${parentType}$${type}` : type;
      const response = new resourceProto.RegisterResourceResponse();
      response.setUrn(`urn:pulumi:${stack}::${project}::${qualified}::${name}`);
      if (custom) {
        const { id, state } = computedState({ type, name, inputs, custom } as pulumi.runtime.MockResourceArgs, region);
        response.setId(id);
        // The archive travels back as the engine would return it: as it was sent.
        response.setObject(Struct.fromJavaScript(JSON.parse(JSON.stringify(state)) as Record<string, unknown>));
      } else {
        response.setObject(Struct.fromJavaScript({}));
      }
      cb(null, response);
    },
    registerResourceOutputs: (_call: Call, cb: Callback) => cb(null, new Empty()),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err: Error | null, p: number) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const engineAddress = `127.0.0.1:${port}`;

  // As pulumi-language-nodejs RunPlugin does: node run-plugin <program dir> <engine address>.
  const runPlugin = path.join(sdkDir, 'cmd', 'run-plugin');
  const child: ChildProcess = spawn(process.execPath, [runPlugin, pluginDir, engineAddress], {
    cwd: pluginDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const providerPort = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => /^\d+$/.test(l.trim()));
      if (line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`plugin exited with ${code} before serving:\n${out}\n${stderr}`)));
  });
  const client = new providerRpc.ResourceProviderClient(`127.0.0.1:${providerPort}`, grpc.credentials.createInsecure());
  const rpc = <T>(method: string, request: unknown) =>
    new Promise<T>((resolve, reject) =>
      client[method](request, (err: Error | null, response: T) => (err ? reject(err) : resolve(response))),
    );

  return {
    registrations,
    logs,
    async pluginInfo() {
      const response = await rpc<{ getVersion(): string }>('getPluginInfo', new Empty());
      return { version: response.getVersion() };
    },
    async getSchema() {
      const response = await rpc<{ getSchema(): string }>('getSchema', new providerProto.GetSchemaRequest());
      return response.getSchema();
    },
    async construct(type, name, inputs, protect = false) {
      const request = new providerProto.ConstructRequest();
      request.setProject(project);
      request.setStack(stack);
      request.setOrganization('organization');
      request.setDryrun(false);
      request.setParallel(4);
      request.setMonitorendpoint(engineAddress);
      request.setType(type);
      request.setName(name);
      request.setProtect(protect);
      request.setInputs(Struct.fromJavaScript(inputs));
      const response = await rpc<{ getUrn(): string; getState(): { toJavaScript(): Record<string, unknown> } }>(
        'construct',
        request,
      );
      return { urn: response.getUrn(), state: response.getState().toJavaScript() };
    },
    async close() {
      client.close();
      child.kill();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
