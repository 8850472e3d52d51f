/**
 * One SDK client per container, created on first use: the endpoint (for example
 * AWS_ENDPOINT_URL_DYNAMODB, which the SDK honours natively) is read once the
 * environment is final, and warm invocations reuse the client's connections.
 */
export function perContainer<C extends { destroy(): void }>(create: () => C): { get: () => C; reset: () => void } {
  let client: C | undefined;
  return {
    get: () => (client ??= create()),
    // Tests (or a changed endpoint) drop the cached client.
    reset: () => {
      client?.destroy();
      client = undefined;
    },
  };
}
