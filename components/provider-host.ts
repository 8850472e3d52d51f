/**
 * The plugin entry point (package.json `main`). Pulumi's Node.js language host runs a
 * source plugin by requiring its directory and calling the exported function; this one
 * serves `CqrsWorkflowsProvider` to the engine on the address it was started with.
 * Requiring it does nothing else: library users import the package through `exports`.
 */
import { main } from '@pulumi/pulumi/provider';
import { CqrsWorkflowsProvider } from './provider';

export = function hostCqrsWorkflowsProvider(): Promise<void> {
  return main(new CqrsWorkflowsProvider(), process.argv.slice(2));
};
