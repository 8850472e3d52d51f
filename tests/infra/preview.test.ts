import { strict as assert } from 'node:assert';
import { MACHINE_KEYS } from '../../components/function-catalog';
import { validateDefinition } from '../../components/asl/validate';
import { UNKNOWN } from '../../scripts/synth/run-program';
import { ofType, synthStack, T } from '../support/synth';

for (const stack of ['dev', 'prod']) {
  describe(`stack ${stack} in preview mode with every resource output unknown`, () => {
    it('still knows every state machine definition, and nothing else that comes from a resource', async () => {
      const result = await synthStack(stack, { preview: true, unknownOutputs: true });
      assert.deepEqual(
        result.errors.map((e) => e.message),
        [],
      );
      const machines = ofType(result.resources, T.stateMachine);
      assert.deepEqual(machines.map((m) => m.inputs.name).sort(), MACHINE_KEYS.map((k) => `cqrs-${stack}-${k}`).sort());
      for (const m of machines) {
        // The mocks really hid the outputs: the role ARN, a resource output, is unknown.
        assert.equal(m.inputs.roleArn, UNKNOWN, `${String(m.inputs.name)}: roleArn should be unknown in this mode`);
        assert.equal(typeof m.inputs.definition, 'string', `${String(m.inputs.name)}: definition unknown at preview`);
        const def = JSON.parse(m.inputs.definition as string);
        validateDefinition(String(m.inputs.name), def);
        assert.ok(!(m.inputs.definition as string).includes(UNKNOWN), 'no unknown sentinel inside');
      }
    });
  });
}
