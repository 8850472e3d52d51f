import type * as pulumi from '@pulumi/pulumi';

/**
 * Whether a child of `resource` that sets no `protect` of its own will be protected.
 * The SDK resolves `protect` from the parent chain when a resource is constructed and
 * keeps the result on it (`__protect`); it is not part of the typed API, so it is read
 * here, in one place, and a test pins the behaviour.
 */
export function effectiveProtect(resource: pulumi.Resource): boolean {
  return (resource as unknown as { __protect?: boolean }).__protect === true;
}

// The engine, not the SDK, passes `retainOnDelete` down to children, so the SDK keeps
// no trace of it. Our own components record what they were given or inherited from
// one of ours; a `retainOnDelete` set on a foreign parent is not visible here (the
// engine still applies it).
const retained = new WeakMap<pulumi.Resource, boolean>();

/** Records `resource`'s `retainOnDelete` (own option, else its parent's recorded one). */
export function recordRetainOnDelete(resource: pulumi.Resource, opts: pulumi.ResourceOptions | undefined): void {
  const own = opts?.retainOnDelete;
  const inherited = opts?.parent ? retained.get(opts.parent) : undefined;
  const value = own ?? inherited;
  if (value !== undefined) retained.set(resource, value);
}

/** Whether `resource` is known to be retained on delete (see `recordRetainOnDelete`). */
export function knownRetainOnDelete(resource: pulumi.Resource): boolean {
  return retained.get(resource) === true;
}

/**
 * Whether a bucket created under `owner` may be emptied on delete (`forceDestroy`): never
 * when it will be protected (its own `protect`, else the one it inherits) or retained.
 */
export function mayForceDestroy(owner: pulumi.Resource, ownProtect: boolean | undefined): boolean {
  return !((ownProtect ?? effectiveProtect(owner)) || knownRetainOnDelete(owner));
}
