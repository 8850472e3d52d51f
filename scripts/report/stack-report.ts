/**
 * Gathers what the stack report shows from an offline synthesis: resources, outputs, bundle
 * sizes, the policy pack's outcome per policy, and each state machine laid out by Graphviz.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import type { StateMachineDefinition } from '../../components/asl/types';
import { resolveEnforcementLevel, type OfflinePolicyConfig, type RunResult } from '../../policies/run-offline';
import { UNKNOWN, type SynthResource } from '../synth/run-program';
import { graphvizVersion, renderMachineSvg } from './render-svg';
import type { ReportBundle, ReportData, ReportMachine, ReportPolicy } from './page';

export interface StackReportInput {
  project: string;
  stack: string;
  mode: string;
  resources: SynthResource[];
  outputValues: Record<string, unknown>;
  bundles: ReportBundle[];
  policies: ResourceValidationPolicy[];
  policyResult: RunResult;
  policyConfig?: OfflinePolicyConfig;
}

const STATE_MACHINE = 'aws:sfn/stateMachine:StateMachine';

/** A state machine's name as an SVG id prefix. */
export function machineKey(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

async function machines(resources: SynthResource[]): Promise<ReportMachine[]> {
  const out: ReportMachine[] = [];
  const sorted = resources
    .filter((r) => r.type === STATE_MACHINE)
    .sort((a, b) => String(a.inputs.name).localeCompare(String(b.inputs.name)));
  for (const r of sorted) {
    const name = String(r.inputs.name);
    const type = typeof r.inputs.type === 'string' ? r.inputs.type : 'STANDARD';
    if (typeof r.inputs.definition !== 'string' || r.inputs.definition === UNKNOWN) {
      out.push({ name, type, states: [] });
      continue;
    }
    const definition = JSON.parse(r.inputs.definition) as StateMachineDefinition;
    const { svg, states } = await renderMachineSvg(machineKey(name), definition, `${name} · ${type}`);
    out.push({ name, type, svg, states, timeoutSeconds: definition.TimeoutSeconds, comment: definition.Comment });
  }
  return out;
}

function policies(input: StackReportInput): ReportPolicy[] {
  const custom = input.resources.filter((r) => r.custom).length;
  return input.policies.map((p) => {
    const level = resolveEnforcementLevel(p, input.policyConfig);
    const notApplicable = new Set(
      input.policyResult.notApplicable.filter((n) => n.policy === p.name).map((n) => n.resource.urn),
    ).size;
    return {
      name: p.name,
      description: p.description,
      enforcementLevel: level,
      checked: level === 'disabled' ? 0 : custom - notApplicable,
      violations: input.policyResult.violations
        .filter((v) => v.policy === p.name)
        .map((v) => ({
          resource: v.resource.name,
          type: v.resource.type,
          message: v.message,
          enforcementLevel: v.enforcementLevel,
        })),
    };
  });
}

export async function buildStackReport(input: StackReportInput): Promise<ReportData> {
  return {
    project: input.project,
    stack: input.stack,
    mode: input.mode,
    outputs: input.outputValues,
    unknownSentinel: UNKNOWN,
    resources: input.resources,
    bundles: input.bundles,
    machines: await machines(input.resources),
    policies: policies(input),
    layoutEngine: await graphvizVersion(),
  };
}
