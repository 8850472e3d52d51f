import * as pulumi from '@pulumi/pulumi';

// One registry per program run: keyed by the run's Stack resource (a fresh object
// for every `pulumi up` and every mocked test run). A component built by a provider's
// Construct has no Stack resource in its process; there the project/stack pair
// stands for the deployment.
interface Claim {
  owner: object;
  label: string;
}

const byStackResource = new WeakMap<object, Map<string, Claim>>();
const byStackName = new Map<string, Map<string, Claim>>();

function claimsOfThisRun(): Map<string, Claim> {
  const stack = pulumi.runtime.getStackResource();
  if (stack) {
    let claims = byStackResource.get(stack);
    if (!claims) byStackResource.set(stack, (claims = new Map<string, Claim>()));
    return claims;
  }
  const key = `${pulumi.getProject()}/${pulumi.getStack()}`;
  let claims = byStackName.get(key);
  if (!claims) byStackName.set(key, (claims = new Map<string, Claim>()));
  return claims;
}

/**
 * Records that `owner` (described by `label`) names its resources `<prefix>-…` in this
 * stack. Throws, naming both, when another component already did: every table,
 * function, queue, topic, log group, role and state machine of the two would share a
 * physical name, and AWS would only say so half-way through the deployment.
 */
export function claimPrefix(prefix: string, owner: object, label: string): void {
  const claims = claimsOfThisRun();
  const holder = claims.get(prefix);
  if (holder !== undefined && holder.owner !== owner) {
    throw new Error(
      `${label}: physical-name prefix "${prefix}" is already used by ${holder.label} in this stack; ` +
        'their tables, functions, queues, topics and state machines would have the same names. ' +
        'Give each instance its own `prefix`.',
    );
  }
  claims.set(prefix, { owner, label });
}
