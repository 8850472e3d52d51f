/**
 * npm run diagrams — draws the command machines for the README with the same code as the stack
 * report: the definitions the components build with the stack defaults (the dev stack), laid out
 * by Graphviz:
 * - docs/command-machine.svg: the EXPRESS command machine (the default `commandPath`);
 * - docs/command-wait-machine.svg: the STANDARD command-wait machine a version waits in;
 * - docs/command-machine-standard.svg: the seed-shaped STANDARD command machine (`commandPath` STANDARD).
 * `--check` fails when a committed picture is not what the code draws today
 * (tests/report/graph.test.ts runs the same comparison).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_SCHEMA, defaultPrefix } from '../components';
import type { StateMachineDefinition } from '../components/asl/types';
import { machineName } from '../components/function-catalog';
import { CommandPath } from '../core/status';
import { arns, physicalName } from '../components/naming';
import {
  buildCommandDefinition,
  buildCommandExpressDefinition,
  buildCommandWaitDefinition,
} from '../components/workflows';
import { renderMachineSvg } from './report/render-svg';

const DOCS = path.join(__dirname, '..', 'docs');
/** The README's main picture: the command machine of a stack with default settings. */
export const COMMAND_DIAGRAM = path.join(DOCS, 'command-machine.svg');

interface Diagram {
  file: string;
  machine: 'command' | 'command-wait';
  type: 'EXPRESS' | 'STANDARD';
  definition: StateMachineDefinition;
}

/** The three command machines of a stack with default settings and no registered sync target. */
export function commandDiagrams(): Diagram[] {
  const prefix = defaultPrefix('dev');
  const context = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };
  const fn = (name: string) => arns.lambda(context, physicalName(prefix, name, 'lambdaFunction'));
  const wait = {
    waitTimeoutSeconds: CONFIG_SCHEMA.commandWaitTimeoutSeconds.default,
    waitHeartbeatSeconds: CONFIG_SCHEMA.commandWaitHeartbeatSeconds.default,
  };
  const syncMaxConcurrency = CONFIG_SCHEMA.syncMaxConcurrency.default;
  return [
    {
      file: COMMAND_DIAGRAM,
      machine: 'command',
      type: 'EXPRESS',
      definition: buildCommandExpressDefinition({
        commandStepArn: fn('command-step'),
        syncTargets: [],
        syncMaxConcurrency,
      }),
    },
    {
      file: path.join(DOCS, 'command-wait-machine.svg'),
      machine: 'command-wait',
      type: 'STANDARD',
      definition: buildCommandWaitDefinition({
        commandStepArn: fn('command-step'),
        commandRunnerArn: fn('stream-router'),
        ...wait,
      }),
    },
    {
      file: path.join(DOCS, 'command-machine-standard.svg'),
      machine: 'command',
      type: 'STANDARD',
      definition: buildCommandDefinition({
        commandStepArn: fn('command-step'),
        syncTargets: [],
        syncMaxConcurrency,
        ...wait,
      }),
    },
  ];
}

export async function renderDiagram(d: Diagram): Promise<string> {
  // the command machine's name follows its type (the path it belongs to)
  const commandPath = d.type === 'EXPRESS' ? CommandPath.EXPRESS : CommandPath.STANDARD;
  const name = physicalName(defaultPrefix('dev'), machineName(d.machine, commandPath), 'stateMachine');
  const { svg } = await renderMachineSvg(d.machine, d.definition, `${name} · ${d.type}`);
  return svg;
}

/** The README's main picture as the code draws it today. */
export async function renderCommandDiagram(): Promise<string> {
  return renderDiagram(commandDiagrams()[0]);
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const d of commandDiagrams()) {
    const svg = await renderDiagram(d);
    const relative = path.relative(process.cwd(), d.file);
    if (check) {
      const committed = fs.existsSync(d.file) ? fs.readFileSync(d.file, 'utf8') : '';
      if (committed !== svg) {
        console.error(`${relative} is not what the code draws today: run npm run diagrams`);
        stale++;
      }
      continue;
    }
    fs.writeFileSync(d.file, svg);
    console.log(`Wrote ${relative}`);
  }
  return stale > 0 ? 1 : 0;
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
