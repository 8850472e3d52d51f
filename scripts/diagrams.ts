/**
 * npm run diagrams — draws the command machine for the README (docs/command-machine.svg)
 * with the same code as the stack report: the definition the components build with the
 * stack defaults (the dev stack), laid out by Graphviz. `--check` fails when the committed
 * picture is not what the code draws today (tests/report/diagrams.test.ts runs it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_SCHEMA, defaultPrefix } from '../components';
import { arns, physicalName } from '../components/naming';
import { buildCommandDefinition } from '../components/workflows';
import { renderMachineSvg } from './report/render-svg';

export const COMMAND_DIAGRAM = path.join(__dirname, '..', 'docs', 'command-machine.svg');

/** The README's picture: the command machine of a stack with default settings and no registered sync target. */
export async function renderCommandDiagram(): Promise<string> {
  const prefix = defaultPrefix('dev');
  const context = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };
  const definition = buildCommandDefinition({
    commandStepArn: arns.lambda(context, physicalName(prefix, 'command-step', 'lambdaFunction')),
    syncTargets: [],
    waitTimeoutSeconds: CONFIG_SCHEMA.commandWaitTimeoutSeconds.default,
    waitHeartbeatSeconds: CONFIG_SCHEMA.commandWaitHeartbeatSeconds.default,
    syncMaxConcurrency: CONFIG_SCHEMA.syncMaxConcurrency.default,
  });
  const { svg } = await renderMachineSvg(
    'command',
    definition,
    `${physicalName(prefix, 'command', 'stateMachine')} · STANDARD`,
  );
  return svg;
}

async function main(): Promise<number> {
  const svg = await renderCommandDiagram();
  const relative = path.relative(process.cwd(), COMMAND_DIAGRAM);
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(COMMAND_DIAGRAM) ? fs.readFileSync(COMMAND_DIAGRAM, 'utf8') : '';
    if (committed === svg) return 0;
    console.error(`${relative} is not what the code draws today: run npm run diagrams`);
    return 1;
  }
  fs.writeFileSync(COMMAND_DIAGRAM, svg);
  console.log(`Wrote ${relative}`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`error: ${e.message}`);
      process.exit(1);
    },
  );
}
